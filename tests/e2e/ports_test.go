package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/treetest"
)

// TestPortSets runs 12 instances on the consecutive game ports
// 27015–27026 through l4d2.target, the stand-in opening every socket the
// engine and the Steam library open (tests/standin/ports.go): each must
// come up with exactly its own port set, disjoint from the others', as
// `ss -ulpn` sees the sockets. Once with the engine of Source SDK 2013
// (-strictportbind: any socket that moved ends the process) and once with
// the CS:GO source's (the flag ignored: a socket moves without a word).
func TestPortSets(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	const n = 12
	specs := map[string]string{}
	want := map[string][]int{}
	names := make([]string, n)
	for i := range n {
		game := 27015 + i
		name := fmt.Sprintf("p%d", i)
		names[i] = name
		body := fmt.Sprintf("port: %d\nautostart: true\noverlays: [net]\n", game)
		set := []int{game, game + 1000, game + 2000, game + 3000} // the default rule
		switch i {
		case 10:
			// The engine's own defaults, given explicitly: one instance may.
			body += "ports: {client: 27005, steam: 26901}\n"
			set = []int{game, 27005, game + 2000, 26901}
		case 11:
			body += "ports: {tv: off}\n" // -nohltv
			set = []int{game, game + 1000, game + 3000}
		}
		specs["etc/left4me/instances/"+name+".yaml"] = body
		want[name] = set
	}
	mode := func(m string) {
		t.Helper()
		if err := treetest.Write(state, map[string]string{"overlays/net/left4dead2/cfg/standin.env": "STANDIN_NET=" + m + "\n"}); err != nil {
			t.Fatal(err)
		}
	}
	mode("source2013")
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, specs) }})

	for _, m := range []string{"source2013", "csgo"} {
		t.Run(m, func(t *testing.T) {
			if m != "source2013" {
				c.MustRun(t, "systemctl", "stop", "l4d2.target")
				mode(m) // the overlay is a lower layer: changed while unmounted
				c.MustRun(t, "systemctl", "start", "l4d2.target")
			}
			c.WaitFor(t, "12 instances active through l4d2.target", 120*time.Second, func() bool {
				return len(notActive(t, c, names)) == 0
			})
			for _, name := range names {
				if j := c.Journal(t, "l4d2@"+name+".service"); !strings.Contains(j, "standin: sockets as in "+m+" (STANDIN_NET)") {
					t.Errorf("%s: the stand-in did not run as %s:\n%s", name, m, j)
				}
			}
			for _, p := range checkSockets(t, c, want) {
				t.Error(p)
			}
			if t.Failed() {
				t.Log(c.MustRun(t, "ss", "-ulpn"))
			}
		})
	}
}

// ssUser is one socket of `ss -ulpnH`: its local port and owner's pid.
var ssUser = regexp.MustCompile(`:(\d+)\s+\S+\s+users:\(\("[^"]*",pid=(\d+),`)

// checkSockets compares the UDP sockets each instance's server holds, as
// `ss -ulpn` in the container lists them, with want (instance name → its
// port set), and says what differs: a missing or extra port, or a port
// held by two instances. One exec gathers every server's pid and ss.
func checkSockets(t *testing.T, c *Container, want map[string][]int) []string {
	t.Helper()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	// The server is the relay's child (the relay is the unit's MainPID).
	script := `for n in "$@"; do m=$(systemctl show -P MainPID "l4d2@$n.service"); echo "pid $n $(pgrep -P "$m" | head -n1)"; done; ss -ulpnH`
	out := c.MustRun(t, append([]string{"sh", "-c", script, "sh"}, names...)...)
	server := map[string]string{} // pid → instance
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "pid" {
			server[f[2]] = f[1]
		}
	}
	got := map[string][]int{}
	owner := map[int]string{}
	var probs []string
	for _, m := range ssUser.FindAllStringSubmatch(out, -1) {
		name, ok := server[m[2]]
		if !ok {
			continue // not one of our servers (the relay's own sockets, ...)
		}
		port, _ := strconv.Atoi(m[1])
		if prev, dup := owner[port]; dup && prev != name {
			probs = append(probs, fmt.Sprintf("port %d held by %s and %s", port, prev, name))
		}
		owner[port] = name
		got[name] = append(got[name], port)
	}
	for _, n := range names {
		g, w := slices.Sorted(slices.Values(got[n])), slices.Sorted(slices.Values(want[n]))
		if !slices.Equal(g, w) {
			probs = append(probs, fmt.Sprintf("%s holds UDP ports %v, want %v", n, g, w))
		}
	}
	return probs
}

// A running server keeps its ports against every spec (spec.ClaimPorts):
// a restart into another running server's port is refused before the
// healthy server is stopped; a spec copied in with an old date takes
// nothing from a stopped server that last ran with the port; a new spec
// cannot take the port of a server whose spec was removed while it runs.
// (The older spec alone used to decide: the walkthrough of 2026-12-06.)
func TestPortsHeld(t *testing.T) {
	requireE2E(t)
	c := bootStoreHost(t, "", map[string]string{
		"etc/left4me/instances/s1.yaml": "port: 27015\n",
		"etc/left4me/instances/s4.yaml": "port: 27018\nautostart: true\n",
	})
	dir := "/etc/left4me/instances/"
	c.MustRun(t, "left4me", "start", "s1", "s4")
	pid1 := mainPID(t, c, "s1")

	t.Run("a restart into a running server's port is refused, the server left alone", func(t *testing.T) {
		// s1's port changed by mistake to s4's; then s4's spec is
		// touched: by age, s1 (older) would win and s4 be blamed.
		c.MustRun(t, "sh", "-c", "echo 'port: 27018' >"+dir+"s1.yaml; sleep 1; echo '# edited' >>"+dir+"s4.yaml")
		want := `s1.yaml:1:7: port: 27018 is already used by instance "s4" (its game port), whose server runs with it`
		out, err := c.Run(t, "left4me", "validate")
		if err == nil || !strings.Contains(out+err.Error(), want) || strings.Contains(out+err.Error(), "s4.yaml:1:7") {
			t.Errorf("validate: %v\n%s", err, out)
		}
		out, err = c.Run(t, "left4me", "restart", "s1")
		if err == nil || !strings.Contains(out+err.Error(), want) {
			t.Errorf("restart: %v\n%s", err, out)
		}
		if st, pid := unitState(t, c, "s1"), mainPID(t, c, "s1"); st != "active" || pid != pid1 {
			t.Errorf("s1 is %s (PID %s, was %s) after a refused restart", st, pid, pid1)
		}
		query(t, c, 27015)
		// s4 stays valid: its boot start is kept.
		c.MustRun(t, "systemctl", "daemon-reload")
		if out := c.MustRun(t, "systemctl", "show", "-P", "Wants", "l4d2.target"); !strings.Contains(out, "l4d2@s4.service") {
			t.Errorf("l4d2.target wants: %s", out)
		}
		c.MustRun(t, "sh", "-c", "echo 'port: 27015' >"+dir+"s1.yaml")
	})

	t.Run("a spec copied in with an old date takes nothing from a stopped server", func(t *testing.T) {
		c.MustRun(t, "left4me", "stop", "s4")
		// A reset (all the server wrote goes) keeps what its last start
		// was given.
		if out := c.MustRun(t, "left4me", "reset", "s4", "--yes"); !strings.Contains(out, "s4: removed /var/lib/left4me/runtime/s4 but its ports record") {
			t.Errorf("reset s4:\n%s", out)
		}
		c.MustRun(t, "sh", "-c", "printf 'port: 27018\\nautostart: true\\n' >"+dir+"s99.yaml && touch -d 2024-01-01 "+dir+"s99.yaml")
		c.MustRun(t, "systemctl", "daemon-reload")
		out, err := c.Run(t, "left4me", "validate", "s99")
		if err == nil || !strings.Contains(out+err.Error(), `s99.yaml:1:7: port: 27018 is already used by instance "s4" (its game port), which its last start was given`) {
			t.Errorf("validate s99: %v\n%s", err, out)
		}
		if out := c.MustRun(t, "systemctl", "show", "-P", "Wants", "l4d2.target"); !strings.Contains(out, "l4d2@s4.service") || strings.Contains(out, "s99") {
			t.Errorf("l4d2.target wants: %s", out)
		}
		c.MustRun(t, "left4me", "start", "s4")
		query(t, c, 27018)
		c.MustRun(t, "rm", dir+"s99.yaml")
	})

	t.Run("a new spec cannot take the port of a server whose spec was removed", func(t *testing.T) {
		c.MustRun(t, "rm", dir+"s1.yaml")
		out, err := c.Run(t, "left4me", "create", "s20", "--port", "27015")
		if err == nil || !strings.Contains(out+err.Error(), `port: 27015 is already used by instance "s1" (its game port), whose server runs with it`) {
			t.Errorf("create: %v\n%s", err, out)
		}
		if _, err := c.Run(t, "test", "-e", dir+"s20.yaml"); err == nil {
			t.Error("the refused create wrote its spec")
		}
		query(t, c, 27015)
	})

	t.Run("a port in the ephemeral range is warned of until it is reserved", func(t *testing.T) {
		// The container has a network namespace of its own: its sysctls
		// are not the host's.
		lohi := strings.Fields(c.MustRun(t, "cat", "/proc/sys/net/ipv4/ip_local_port_range"))
		if lo, _ := strconv.Atoi(lohi[0]); lo > 40000 {
			t.Skipf("the ephemeral range %s-%s does not hold 40000", lohi[0], lohi[1])
		}
		if hi, _ := strconv.Atoi(lohi[1]); hi < 43000 {
			t.Skipf("the ephemeral range %s-%s does not hold 40000-43000", lohi[0], lohi[1])
		}
		was := strings.TrimSpace(c.MustRun(t, "cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"))
		out, err := c.Run(t, "sh", "-c", "left4me create eph --port 40000 2>&1")
		want := "eph.yaml:4:7: port: the game port 40000, the client port 41000 (port + 1000, the default), the tv port 42000 (port + 2000, the default), the steam port 43000 (port + 3000, the default) are inside the host's ephemeral range " + lohi[0] + "-" + lohi[1]
		if err != nil || !strings.Contains(out, want) || !strings.Contains(out, "add 40000,41000,42000,43000 to net.ipv4.ip_local_reserved_ports") {
			t.Errorf("create: %v\n%s", err, out)
		}
		c.MustRun(t, "sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports=40000-43000")
		defer c.MustRun(t, "sysctl", "-q", "-w", "net.ipv4.ip_local_reserved_ports="+was)
		if out := c.MustRun(t, "left4me", "validate", "eph"); strings.Contains(out, "warning") || !strings.Contains(out, "1 spec(s) valid") {
			t.Errorf("validate after the ports were reserved:\n%s", out)
		}
		c.MustRun(t, "left4me", "delete", "eph", "--yes")
	})
}
