package commands

import (
	"regexp"
	"strings"
)

// emptyValue is how urfave/cli's man template shows a flag that takes a
// value (--deadline=""), which reads as if "" were its default.
var emptyValue = regexp.MustCompile(`(\\fB--[a-z-]+(?:, -[a-z])?\\fP)="": `)

// finishMan turns urfave/cli's page into one a man reader expects: flag
// values shown as VALUE, and the spec format, the files and the exit
// status in sections of their own.
func finishMan(page string) string {
	page = emptyValue.ReplaceAllString(page, `$1=\fIVALUE\fP: `)
	return strings.TrimRight(page, "\n") + "\n" + manSections
}

const manSections = `
.SH SPEC FORMAT
An instance is one YAML file, \fI/etc/left4me/instances/NAME.yaml\fP (NAME:
1 to 64 of A-Z a-z 0-9 _ -, starting with a letter or digit). Keys:
.TP
.B port
the game port (required; 1024-65535; no two instances share one).
.TP
.B autostart
true to start it at boot with l4d2.target (default false).
.TP
.B arguments
the engine's command line after -game left4dead2 -port PORT, one word per
item, e.g. [+map, c2m1_highway, -tickrate, "100"]; no +map means +map
c1m1_hotel.
.TP
.B config
lines of the instance's server.cfg (for example 'hostname "My server"').
.TP
.B overlays
directories below /var/lib/left4me/overlays/, top layer first, each a path
or {path: P, alias: A}; an aliased overlay's left4dead2/cfg/server.cfg is
staged as server_A.cfg and exec'd from server.cfg, lowest overlay first.
.TP
.B start_timeout, hang_timeout, resources
how long a start may take, when a server that stopped answering is
restarted, and memory, CPU and task limits (see left4me validate and the
README).
.PP
Errors name FILE:LINE:COLUMN and the field. left4me validate checks every
spec as the generator does.

.SH FILES
.TP
.I /etc/left4me/instances/NAME.yaml
instance specs (0640, root's: they may hold rcon_password).
.TP
.I /etc/left4me/limits.yaml
the host's ceilings on resources:.
.TP
.I /etc/left4me/overlays/NAME.yaml
overlay definitions for left4me overlay build.
.TP
.I /etc/left4me/update.env, /etc/left4me/steam-password
settings and the Steam password of left4me-update.service.
.TP
.I /var/lib/left4me/installation
the current game version (a link into installations/).
.TP
.I /var/lib/left4me/overlays/
overlays, one directory each.
.TP
.I /var/lib/left4me/runtime/NAME/
an instance's upper layer (what its server wrote), work and merged
directories, and crash dumps.
.TP
.I /run/left4me/console/NAME/console.sock
the console of a running server (root and left4me-admin).
.TP
.I /run/left4me/retry/NAME
the back-off of left4me-retry@NAME.service after systemd gave up on it.

.SH EXIT STATUS
.TP
.B 0
success.
.TP
.B 1
failure: an invalid spec, a failed job, a server left running because it
was occupied, the game not installed.
.TP
.B 2
usage: a wrong flag, argument or name.
.TP
.B 3
not running (status, is-active), as systemctl.
.TP
.B 4
no such instance.
.TP
.B 5
systemd not reachable.
.TP
.B 6
permission denied: run it as root.
.TP
.B 7
the spec directory is missing.

.SH SEE ALSO
systemctl(1), journalctl(1), systemd.service(5)
`
