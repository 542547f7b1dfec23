package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestStatus(t *testing.T) {
	te := newEnv(t)
	p := te.spec(t, "srv1", "port: 27015\nautostart: true\noverlays: [maps]\n")
	te.sd.units["l4d2@srv1.service"] = control.Unit{Name: "l4d2@srv1.service", LoadState: "loaded", ActiveState: "active",
		SubState: "running", Result: "success", MainPID: 4242, NeedReload: true,
		Since: time.Date(2025, 11, 26, 11, 55, 0, 0, time.UTC)}
	if err := te.run("status", "srv1"); err != nil {
		t.Fatal(err)
	}
	want := "srv1 - l4d2@srv1.service\n" +
		"  spec:      " + p + " (port 27015, autostart yes)\n" +
		"  overlays:  maps\n" +
		"  state:     active (running) since 2025-11-26 11:55:00 UTC; 5m0s ago\n" +
		"  main PID:  4242\n" +
		"  mounted:   no\n" +
		"\nlast log lines:\n  server said goodbye\n"
	if te.out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", te.out, want)
	}
	if !strings.Contains(te.err.String(), "spec changed since systemd last loaded it") {
		t.Errorf("stderr %q", te.err)
	}
	if got := strings.Join(te.journal[0], " "); got != "--unit l4d2@srv1.service --lines 10 --no-pager --quiet" {
		t.Errorf("journalctl %s", got)
	}
}

func TestStatusWithoutSystemd(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: x\n")
	te.noSystemd()
	err := te.run("status", "srv1")
	if fail.Code(err) != fail.CodeNoSystemd {
		t.Fatalf("err %v", err)
	}
	out := te.out.String()
	for _, w := range []string{"problems:  invalid: see `left4me validate srv1`", "state:     unknown", "mounted:   no", "server said goodbye"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}
