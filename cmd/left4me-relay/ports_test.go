package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/internal/probe"
)

func TestOtherPorts(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []rolePort
	}{
		{[]string{"-port", "27015", "+clientport", "28015", "+tv_port", "29015", "-steamport", "30014"}, []rolePort{{"client", 28015}, {"SourceTV", 29015}}},
		{[]string{"+clientport", "28015", "+tv_port", "29015", "-nohltv"}, []rolePort{{"client", 28015}}},
		{[]string{"+CLIENTPORT", "28015", "+clientport", "1"}, []rolePort{{"client", 28015}}}, // the first counts
		{[]string{"+clientport", "x", "+tv_port"}, nil},
		{nil, nil},
	} {
		if got := otherPorts(tt.args); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %v, want %v", tt.args, got, tt.want)
		}
	}
}

// TestOwnsOthers: the engine must hold its client and SourceTV ports; one
// held by another process only fails the start, naming its role.
func TestOwnsOthers(t *testing.T) {
	mine, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Close()
	theirs, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handOver(t, theirs.(*net.UDPConn))
	held := uint16(mine.LocalAddr().(*net.UDPAddr).Port)
	taken := uint16(theirs.LocalAddr().(*net.UDPAddr).Port)
	l := &life{eng: &probe.Engine{Proc: "/proc", PID: os.Getpid()}, others: []rolePort{{"client", held}}}
	if err := l.ownsOthers(); err != nil {
		t.Errorf("its own client port: %v", err)
	}
	l.others = append(l.others, rolePort{"SourceTV", taken})
	err = l.ownsOthers()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("SourceTV port %d is taken by another process", taken)) || strings.Contains(err.Error(), "client") {
		t.Errorf("SourceTV's port held by another: %v", err)
	}
}

// handOver gives the socket c to another process (a sleep) and closes it
// here: from then on only that process holds it. stop kills the process.
func handOver(t *testing.T, c interface{ File() (*os.File, error) }) (stop func()) {
	t.Helper()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	if cl, ok := c.(interface{ Close() error }); ok {
		cl.Close()
	}
	holder := exec.Command("sleep", "30")
	holder.ExtraFiles = []*os.File{f}
	err = holder.Start()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	stop = func() { _ = holder.Process.Kill(); _ = holder.Wait() }
	t.Cleanup(stop)
	return stop
}
