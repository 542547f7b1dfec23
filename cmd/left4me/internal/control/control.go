// Package control talks to systemd over D-Bus (go-systemd, no cgo): unit
// state, start/stop/restart waiting for the job result, and daemon-reload.
package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// Conn is a connection to the system manager.
type Conn struct {
	c      *sd.Conn
	cancel context.CancelFunc
}

// Connect tries the system bus first and, as root, systemd's private socket
// (/run/systemd/private): containers and rescue systems may have no
// dbus-daemon while systemd itself runs fine. godbus closes a connection
// when the context it was made with ends, so ctx must outlive the
// connection; timeout bounds only the connecting.
func Connect(ctx context.Context, timeout time.Duration) (*Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(timeout, cancel)
	c, err := sd.NewWithContext(ctx)
	if !timer.Stop() {
		err = errors.Join(err, fmt.Errorf("no answer within %v", timeout))
	}
	if err != nil {
		if c != nil {
			c.Close()
		}
		cancel()
		return nil, connectError(err)
	}
	return &Conn{c: c, cancel: cancel}, nil
}

// Close ends the connection.
func (c *Conn) Close() {
	c.c.Close()
	c.cancel()
}

func connectError(err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: cannot talk to systemd (%v): its private socket needs root and the system bus did not answer; run this as root (sudo)", fail.ErrPermission, err)
	}
	return fmt.Errorf("%w: neither the system bus nor /run/systemd/private answered (%v); is systemd running on this host?", fail.ErrNoSystemd, err)
}

// callError classifies an error of a D-Bus call: polkit refusing a
// non-root caller is the common case and has a clear fix.
func callError(what string, err error) error {
	name := ""
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &de):
		name = de.Name
	case errors.As(err, &dep):
		name = dep.Name
	}
	switch name {
	case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
		return fmt.Errorf("%w: %s: systemd refused (%v); run this as root (sudo)", fail.ErrPermission, what, err)
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NoReply", "org.freedesktop.DBus.Error.Disconnected":
		return fmt.Errorf("%w: %s: %v", fail.ErrNoSystemd, what, err)
	}
	if errors.Is(err, dbus.ErrClosed) {
		return fmt.Errorf("%w: %s: connection closed", fail.ErrNoSystemd, what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Reload is `systemctl daemon-reload`: reruns the generator so spec
// changes reach the units. systemd answers once the reload is done.
func (c *Conn) Reload(ctx context.Context) error {
	if err := c.c.ReloadContext(ctx); err != nil {
		return callError("daemon-reload", err)
	}
	return nil
}

// ResetFailed forgets a unit's failed state (after its spec was deleted).
func (c *Conn) ResetFailed(ctx context.Context, unit string) error {
	if err := c.c.ResetFailedUnitContext(ctx, unit); err != nil {
		return callError("reset-failed "+unit, err)
	}
	return nil
}
