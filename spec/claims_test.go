package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
	"github.com/left4me/left4me/tests/testroot"
)

// gamePorts is the default set of game port p, as a record holds it.
func gamePorts(p int) []RolePort {
	return []RolePort{{RoleGame, p}, {RoleClient, p + 1000}, {RoleTV, p + 2000}, {RoleSteam, p + 3000}}
}

// Who holds a port: a running server whatever the specs say, then an
// instance whose last start was given it, then the older spec.
func TestClaimPortsHeld(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name   string
		specs  []string // NAME=PORT, oldest first
		claims map[string]Claim
		bad    map[string]string // refused instance: in its error
	}{
		{"ages alone", []string{"s1=27018", "s4=27018"}, nil,
			map[string]string{"s4": `27018 is already used by instance "s1" (its game port), whose spec is older`}},
		// s1's spec was edited to s4's port: s4 runs with it, s1 (older,
		// running on 27015) is the one refused, so its restart is too.
		{"a running server keeps its ports", []string{"s1=27018", "s4=27018"},
			map[string]Claim{"s1": {gamePorts(27015), true}, "s4": {gamePorts(27018), true}},
			map[string]string{"s1": `27018 is already used by instance "s4" (its game port), whose server runs with it`}},
		// A spec copied in with an old date takes nothing from a stopped
		// server that last started with the port and still names it.
		{"a stopped server's last start", []string{"s99=27021", "s7=27021"},
			map[string]Claim{"s7": {gamePorts(27021), false}},
			map[string]string{"s99": `27021 is already used by instance "s7" (its game port), which its last start was given`}},
		// ... but not a port its spec gave up since.
		{"a port the stopped server's spec gave up", []string{"s1=27016", "s2=27015"},
			map[string]Claim{"s1": {gamePorts(27015), false}}, nil},
		// A server whose spec was removed while it runs.
		{"an orphan's running server", []string{"s20=27023"},
			map[string]Claim{"s9": {gamePorts(27023), true}},
			map[string]string{"s20": `27023 is already used by instance "s9" (its game port), whose server runs with it`}},
		// Its own old ports are no clash: it moves at its restart.
		{"a running server's own new port", []string{"s1=27016"},
			map[string]Claim{"s1": {gamePorts(27015), true}}, nil},
		// x, stopped, last ran with 27015 and still names it, but its
		// spec is refused (its tv port is running y's): it holds nothing,
		// so the older z keeps 27015.
		{"a refused spec holds no last start", []string{"z=27015", "x=27015\nports: {tv: 29100}", "y=29100"},
			map[string]Claim{"x": {gamePorts(27015), false}, "y": {gamePorts(29100), true}},
			map[string]string{"x": `ports.tv: 29100 is already used by instance "y" (its game port), whose server runs with it`}},
		{"another's new spec on a port still running", []string{"s5=27015", "s1=27016"},
			map[string]Claim{"s1": {gamePorts(27015), true}},
			map[string]string{"s5": `27015 is already used by instance "s1" (its game port), whose server runs with it`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ins := make([]Instance, len(tc.specs))
			for i, sp := range tc.specs {
				name, port, _ := strings.Cut(sp, "=")
				s, err := Parse(name+".yaml", []byte("port: "+port+"\n"))
				if err != nil {
					t.Fatal(err)
				}
				ins[i] = Instance{Name: name, File: name + ".yaml", Spec: s, ModTime: now.Add(time.Duration(i) * time.Second)}
			}
			ClaimPorts(ins, tc.claims)
			for _, in := range ins {
				w, bad := tc.bad[in.Name]
				switch {
				case !bad && in.Err != nil:
					t.Errorf("%s refused: %v", in.Name, in.Err)
				case bad && (in.Err == nil || !strings.Contains(in.Err.Error(), w)):
					t.Errorf("%s: %v\nwant %s", in.Name, in.Err, w)
				}
			}
		})
	}
}

// create checks a new spec against running servers too.
func TestPortClashRunning(t *testing.T) {
	s, err := Parse("s20.yaml", []byte("port: 27023\n"))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]Claim{"s9": {gamePorts(27023), true}, "s20": {gamePorts(27023), true}}
	if err := PortClash(nil, claims, "s20", "s20.yaml", s); err == nil || !strings.Contains(err.Error(), `instance "s9" (its game port), whose server runs with it`) {
		t.Errorf("got %v", err)
	}
	delete(claims, "s9") // its own old record is no clash
	if err := PortClash(nil, claims, "s20", "s20.yaml", s); err != nil {
		t.Errorf("got %v", err)
	}
}

// ReadClaims believes only a small regular file of root's, reached
// without a link, and tells a mounted merged/ (running) from one that is
// not.
func TestReadClaims(t *testing.T) {
	testroot.Require(t, "records are root's and a running server is a mount")
	root := t.TempDir()
	l := layout.Layout{Root: root}
	record := string(startplan.FormatPorts([]startplan.Port{{Role: "game", Port: 27015}, {Role: "client", Port: 28015}}))
	write := func(name, data string) string {
		dir := l.RuntimeDir(name)
		if err := os.MkdirAll(filepath.Join(dir, layout.Merged), 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, layout.Ports)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("up", record)
	write("down", record)
	write("junk", "game 27015\nrocket 1\n")
	write("big", strings.Repeat("game 27015\n", 40))
	os.Chown(write("theirs", record), 65534, 65534)
	os.MkdirAll(filepath.Join(l.RuntimeDir("linked"), layout.Merged), 0o755)
	os.Symlink(filepath.Join(l.RuntimeDir("up"), layout.Ports), filepath.Join(l.RuntimeDir("linked"), layout.Ports))
	merged := l.MergedDir("up")
	if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	got := ReadClaims(root)
	if len(got) != 2 || !got["up"].Running || got["down"].Running || len(got["down"].Ports) != 2 || got["up"].Ports[1] != (RolePort{RoleClient, 28015}) {
		t.Errorf("claims %+v", got)
	}
	if c := ReadClaims(filepath.Join(root, "missing")); c != nil {
		t.Errorf("an unreadable root: %+v", c)
	}
}

// What the claims add to every daemon-reload (the generator) and to each
// validate, create and list: one record and two stats per instance that
// ever started.
func BenchmarkReadClaims(b *testing.B) {
	root := b.TempDir()
	l := layout.Layout{Root: root}
	record := startplan.FormatPorts([]startplan.Port{{Role: "game", Port: 27015}, {Role: "client", Port: 28015}, {Role: "tv", Port: 29015}, {Role: "steam", Port: 30015}})
	for i := range 100 {
		dir := l.RuntimeDir("s" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		os.MkdirAll(filepath.Join(dir, layout.Merged), 0o755)
		os.WriteFile(filepath.Join(dir, layout.Ports), record, 0o600)
	}
	for b.Loop() {
		if len(ReadClaims(root)) == 0 && os.Getuid() == 0 {
			b.Fatal("no claims")
		}
	}
}
