package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"
)

// The demo is what a newcomer runs first, so `make test` runs it too,
// including an interrupt halfway, rather than letting it rot.

// requireHost skips unless the demo can run here; with CI=true a missing
// prerequisite fails instead, as in tests/e2e.
func requireHost(t *testing.T) {
	t.Helper()
	if probs := checkHost(); len(probs) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("demo prerequisites missing (CI=true): %+v", probs)
		}
		t.Skipf("demo prerequisites missing: %+v", probs)
	}
	// The demo runs where `make demo` runs it: the repository root.
	t.Chdir("../..")
}

func TestDemo(t *testing.T) {
	requireHost(t)
	var out syncbuf.Buffer
	if code := run(&out); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	for _, want := range []string{
		"Active: active (running)",
		`alpha  127.0.0.1:27015  name "alpha: competitive + maps"  map c2m1_highway`,
		`bravo  127.0.0.1:27016  name "bravo: casual + maps"  map c1m1_hotel`,
		`runtime/alpha/merged: left4dead2/layer.txt reads "competitive"`,
		`runtime/bravo/merged: left4dead2/layer.txt reads "casual"`,
		"left4me-prestart[",
		"alpha: inactive, overlay mounted 0 times",
		"no container, process or mount left behind",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
	checkNothingLeft(t)
}

// TestDemoInterrupted sends SIGINT as a terminal's Ctrl-C would, once the
// container is booting, and expects everything to be gone afterwards.
func TestDemoInterrupted(t *testing.T) {
	requireHost(t)
	var out syncbuf.Buffer
	done := make(chan int)
	go func() { done <- run(&out) }()
	deadline := time.After(time.Minute)
	for !strings.Contains(out.String(), "==> booting systemd") {
		select {
		case code := <-done:
			t.Fatalf("finished (exit %d) before it could be interrupted:\n%s", code, out.String())
		case <-deadline:
			t.Fatalf("never started booting:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The demo has caught SIGINT since before its first step.
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if !strings.Contains(out.String(), "no container, process or mount left behind") {
		t.Errorf("output:\n%s", out.String())
	}
	checkNothingLeft(t)
}

// checkNothingLeft looks for mounts of this process's container; a
// leftover cgroup or process already fails the demo's own cleanup check.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	tag := prefix + strconv.Itoa(os.Getpid()) + "-"
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), tag) {
		t.Errorf("mounts of %s left:\n%s", tag, mi)
	}
}
