package layout

// MaxSockets bounds the UDP and TCP sockets on the host's ephemeral ports
// one server's user may hold (left4me-relay counts them about every
// SocketsEvery seconds). The host's
// ephemeral ports (32768–60999 by default, net.ipv4.ip_local_port_range)
// are one pool for every process: a server holding them all leaves its
// neighbours, and the host, no port to ask DNS or Steam from. An engine
// holds a handful (game, client, SourceTV, Steam, RCON and its
// connections), SourceMod's extensions a few more.
const MaxSockets = 1024

// SocketsEvery is how often, in seconds, the relay counts them on
// average (at random, from half of it to one and a half).
const SocketsEvery = 5

// SocketKillStatus is left4me-relay's exit status after it killed its
// server for holding more than MaxSockets: l4d2@'s ExecStopPost= starts
// the alert at once, as after a hang kill, and systemd restarts it.
const SocketKillStatus = 75

// RelayWatchdog is the watchdog of a server with hang_timeout: 0, in
// seconds: its relay feeds it while the relay itself runs, whatever the
// server does, so a server that stops its relay (SIGSTOP: same user),
// which would stop the socket count, the log budget and the console, is
// killed and restarted all the same.
const RelayWatchdog = 30
