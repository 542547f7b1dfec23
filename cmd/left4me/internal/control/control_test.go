package control

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{connectError(fmt.Errorf("dial: %w", syscall.EACCES)), fail.ErrPermission},
		{connectError(fmt.Errorf("dial: %w", syscall.ENOENT)), fail.ErrNoSystemd},
		{callError("start x", dbus.Error{Name: "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"}), fail.ErrPermission},
		{callError("start x", &dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}), fail.ErrPermission},
		{callError("start x", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}), fail.ErrNoSystemd},
		{callError("start x", dbus.ErrClosed), fail.ErrNoSystemd},
		{&JobError{Op: "start", Unit: "l4d2@x.service", Result: "failed"}, fail.ErrJobFailed},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%v is not %v", c.err, c.want)
		}
	}
	other := callError("start x", dbus.Error{Name: "org.freedesktop.systemd1.NoSuchUnit"})
	if errors.Is(other, fail.ErrPermission) || errors.Is(other, fail.ErrNoSystemd) {
		t.Errorf("misclassified %v", other)
	}
}
