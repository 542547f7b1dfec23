package relay

import (
	"errors"
	"net"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier tells systemd the relay's state (sd_notify(3)): over Conn, the
// socket the start helper connected to the manager's and stored for us,
// since l4d2@.service hides the manager's socket from the unit; without it
// (run by hand, or by an older start helper), at $NOTIFY_SOCKET.
type Notifier struct {
	Conn *net.UnixConn
}

// Notify sends state, such as "READY=1" or "WATCHDOG=1".
func (n Notifier) Notify(state string) error {
	if n.Conn != nil {
		_, err := n.Conn.Write([]byte(state))
		return err
	}
	ok, err := daemon.SdNotify(false, state)
	if err == nil && !ok {
		err = errors.New("NOTIFY_SOCKET is not set, and the start helper stored no notification socket")
	}
	return err
}
