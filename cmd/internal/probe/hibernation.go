package probe

import "strings"

// hibernatingStatus begins the unit's status line (sd_notify's STATUS=,
// systemd's StatusText) while the server's console last said that it
// hibernates. Only the relay sets it (NotifyAccess=exec; the server has
// no notification socket), and its other status lines begin otherwise,
// so `left4me list` reads from it that a server which answers no query
// has nobody on it (Hibernating).
const hibernatingStatus = "hibernating: "

// HibernatingStatus is the status line of a server whose console said it
// hibernates: nobody is on it, since the engine hibernates only with no
// human connected and punts its bots as it does (CGameServer::
// UpdateHibernationState and SetHibernating, engine/sv_main.cpp,
// cstrike15_src). how, unless "", says how it shows that it is alive.
func HibernatingStatus(how string) string {
	s := hibernatingStatus + "no players (its console said so), not answering A2S_INFO"
	if how != "" {
		s += "; alive (" + how + ")"
	}
	return s
}

// Hibernating reports whether a unit's status line (StatusText) says that
// its server hibernates.
func Hibernating(status string) bool { return strings.HasPrefix(status, hibernatingStatus) }
