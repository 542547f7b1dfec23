package layout

import "path/filepath"

// ConsoleDir holds each running server's console socket, in a directory
// of its own, all owned by root and writable by root only: the server
// cannot replace its socket with a link to another server's or with its
// own listener (issue 26), since the relay, running as the server's user,
// never creates it. The start helper binds it and hands the listening
// socket to systemd's file descriptor store of the unit (FDSTORE=1, name
// ConsoleFDName), which passes it to the relay at ExecStart (LISTEN_FDS).
const ConsoleDir = "/run/left4me/console"

// AdminGroup may use the consoles besides root (the package creates it):
// the start helper gives each socket to root and this group, mode 0660,
// so nobody else can even connect (a server or local user flooding a
// neighbour's relay with connections would cost its CPU and lock its
// operators out), and the relay serves only these (SO_PEERCRED).
const AdminGroup = "left4me-admin"

// ConsoleFDName names the console socket in the unit's descriptor store.
const ConsoleFDName = "console"

// NotifyFDName names, in the unit's descriptor store, the datagram socket
// the start helper connects to systemd's notification socket for the relay:
// l4d2@.service hides that socket's path from the server (see
// prestart.StoreNotify), so the relay reaches it only through this one.
const NotifyFDName = "notify"

// ConsoleSocket is the socket of instance name below dir.
func ConsoleSocket(dir, name string) string { return filepath.Join(dir, name, "console.sock") }
