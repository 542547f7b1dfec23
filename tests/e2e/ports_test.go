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
