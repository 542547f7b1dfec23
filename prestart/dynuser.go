package prestart

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Each server runs as a user of its own (layout.ServerUser), which systemd
// allocates at its start (DynamicUser= in l4d2@.service): servers of one
// host cannot read, write, signal or trace each other, and ProtectProc=
// invisible hides the others' processes. The start helper runs as root
// ("+") and must give the upper layer, the dumps and the idmapped layers
// that user, so it asks systemd which uid it got.

// DynamicUserSocket is PID 1's user database service for the users of
// DynamicUser= (systemd's docs/USER_GROUP_API.md, "io.systemd.DynamicUser").
const DynamicUserSocket = "/run/systemd/userdb/io.systemd.DynamicUser"

// errNoRecord: the service knows no such user.
var errNoRecord = errors.New("no such user")

// InstanceUser is the uid and gid instance name's server runs as: the
// dynamic user systemd allocated for its unit (socket is DynamicUserSocket)
// or, when an operator made a static user of that name, its passwd entry
// (systemd then uses that one).
func InstanceUser(socket, passwd, name string) (uid, gid int, err error) {
	user := layout.ServerUser(name)
	uid, gid, err = lookupUser(passwd, user)
	if err == nil {
		return checkServerID(user, uid, gid)
	}
	uid, gid, derr := lookupDynamicUser(socket, user)
	if derr != nil {
		return 0, 0, fmt.Errorf("the user of %s's server (%s): not in %s, and systemd's dynamic users (%s): %w; is it started by its unit (DynamicUser=)?", name, user, passwd, socket, derr)
	}
	return checkServerID(user, uid, gid)
}

func checkServerID(user string, uid, gid int) (int, int, error) {
	if uid == 0 || gid == 0 {
		return 0, 0, fmt.Errorf("user %s has uid %d, gid %d; the server must never run as root", user, uid, gid)
	}
	return uid, gid, nil
}

// lookupDynamicUser asks the varlink service at socket for user's record:
// one JSON request, one answer, each ended by a NUL byte (varlink.org,
// "Transport").
func lookupDynamicUser(socket, user string) (uid, gid int, err error) {
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := json.Marshal(map[string]any{
		"method":     "io.systemd.UserDatabase.GetUserRecord",
		"parameters": map[string]any{"userName": user, "service": "io.systemd.DynamicUser"},
	})
	if err != nil {
		return 0, 0, err
	}
	if _, err := conn.Write(append(req, 0)); err != nil {
		return 0, 0, err
	}
	// A user record is small; the bound keeps a stray answer from growing
	// the helper.
	buf, err := bufio.NewReader(io.LimitReader(conn, 64<<10)).ReadBytes(0)
	if err != nil {
		return 0, 0, fmt.Errorf("read answer (at most 64 KiB up to a NUL): %w", err)
	}
	buf = buf[:len(buf)-1]
	var reply struct {
		Error      string `json:"error"`
		Parameters struct {
			Record struct {
				UID *int `json:"uid"`
				GID *int `json:"gid"`
			} `json:"record"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(buf, &reply); err != nil {
		return 0, 0, fmt.Errorf("answer: %w", err)
	}
	switch {
	case reply.Error == "io.systemd.UserDatabase.NoRecordFound":
		return 0, 0, errNoRecord
	case reply.Error != "":
		return 0, 0, errors.New(reply.Error)
	case reply.Parameters.Record.UID == nil:
		return 0, 0, errors.New("answer without a uid")
	}
	uid = *reply.Parameters.Record.UID
	gid = uid // a dynamic user's group has its uid (systemd.exec(5))
	if g := reply.Parameters.Record.GID; g != nil {
		gid = *g
	}
	return uid, gid, nil
}

// LastUser is the owner of instance name's upper layer: the user its
// server last ran as, for a start helper run by hand (no dynamic user
// exists outside the unit's start). ok is false when there is none yet.
func LastUser(l layout.Layout, name string) (uid, gid int, ok bool) {
	if layout.ValidateName(name) != nil {
		return 0, 0, false
	}
	var st unix.Stat_t
	if err := unix.Lstat(rundir.Of(l, name).Part(layout.Upper), &st); err != nil || st.Uid == 0 || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
