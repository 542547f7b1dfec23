package prestart

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// AutoRestarted reports whether this start of unit is one systemd made
// by itself (Restart=, after a crash or a hang kill), asking PID 1 for
// the unit's NRestarts: service_enter_restart counts each automatic
// restart, and a start nobody asked for keeps the count, while a start
// after the unit ended without restarting (a stop, a failure past
// Restart=, reset-failed) begins at 0 (flush_n_restarts, applied in
// service_start; src/core/service.c, systemd 252).
func AutoRestarted(socket, unit string) (bool, error) {
	conn, err := dialManager(socket)
	if err != nil {
		return false, fmt.Errorf("ask how %s was started: %w", unit, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limitsTimeout)
	defer cancel()
	var path dbus.ObjectPath
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path); err != nil {
		return false, fmt.Errorf("ask how %s was started: %w", unit, err)
	}
	var v dbus.Variant
	err = conn.Object("org.freedesktop.systemd1", path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		"org.freedesktop.systemd1.Service", "NRestarts").Store(&v)
	if err != nil {
		return false, fmt.Errorf("ask how %s was started: %w", unit, err)
	}
	n, ok := v.Value().(uint32)
	if !ok {
		return false, fmt.Errorf("ask how %s was started: NRestarts is %s", unit, v.Signature())
	}
	return n > 0, nil
}
