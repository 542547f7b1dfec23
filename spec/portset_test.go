package spec

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPortSet(t *testing.T) {
	cases := []struct {
		src  string
		want Ports
	}{
		{"port: 27015\n", Ports{27015, 28015, 29015, 30015}},
		{"port: 65000\n", Ports{65000, 64000, 63000, 62000}}, // plus would pass 65535
		{"port: 27015\nports: {client: 27005, tv: off}\n", Ports{27015, 27005, 0, 30015}},
		{"port: 27015\nports: {tv: false, steam: 26901}\n", Ports{27015, 28015, 0, 26901}},
		{"port: 27015\nports:\n  tv: 27020\n", Ports{27015, 28015, 27020, 30015}},
	}
	for _, c := range cases {
		s, err := Parse("a.yaml", []byte(c.src))
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if s.Ports != c.want {
			t.Errorf("%q: %v, want %v", c.src, s.Ports, c.want)
		}
	}
}

func TestPortSetErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"port: 27015\nports: 5\n", "a.yaml:2:8: ports: must be a mapping"},
		{"port: 27015\nports: {client: 80}\n", "a.yaml:2:17: ports.client: 80 is out of range 1024..65535"},
		{"port: 27015\nports: {steam: 1024}\n", "a.yaml:2:16: ports.steam: 1024 is out of range 1025..65535"},
		{"port: 27015\nports: {tv: on}\n", "a.yaml:2:13: ports.tv: must be a whole number"},
		{"port: 27015\nports: {hltv: 27020}\n", "a.yaml:2:9: ports.hltv: unknown key"},
		{"port: 27015\nports: {client: 27015}\n", "a.yaml:2:17: ports.client: the client port 27015 is also this instance's game port"},
		{"port: 27015\nports: {client: 29015}\n", "a.yaml:1:7: port: the tv port 29015 (port + 2000, the default) is also this instance's client port"},
		{"port: 27015\narguments: [+clientport, \"27005\"]\n", "arguments[0]: +clientport is set by left4me: the client port is the spec's ports: client:"},
		{"port: 27015\narguments: [-nohltv]\n", "arguments[0]: -nohltv is set by left4me: SourceTV is the spec's ports: tv:"},
		{"port: 27015\narguments: [-steamport, \"26900\"]\n", "arguments[0]: -steamport is set by left4me"},
	}
	for _, c := range cases {
		_, err := Parse("a.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v\nwant %q", c.src, err, c.want)
		}
	}
}

// Every port of a set against every port of the older specs' sets,
// whatever role each has.
func TestClaimPortsWholeSet(t *testing.T) {
	now := time.Now()
	specs := []struct{ name, src string }{
		{"old", "port: 27015\n"},                          // 27015 28015 29015 30015
		{"tv", "port: 27016\nports: {tv: 28015}\n"},       // its tv is old's client
		{"game", "port: 29015\nports: {client: 27005}\n"}, // its game port is old's tv
		{"dflt", "port: 26015\n"},                         // its client (27015) is old's game port
		{"next", "port: 27017\n"},                         // disjoint from old
	}
	ins := make([]Instance, len(specs))
	for i, sp := range specs {
		s, err := Parse(sp.name+".yaml", []byte(sp.src))
		if err != nil {
			t.Fatal(err)
		}
		ins[i] = Instance{Name: sp.name, File: sp.name + ".yaml", Spec: s, ModTime: now.Add(time.Duration(i) * time.Second)}
	}
	ClaimPorts(ins, nil)
	want := map[string]string{
		"tv":   `tv.yaml:2:13: ports.tv: 28015 is already used by instance "old" (its client port), whose spec is older`,
		"game": `game.yaml:1:7: port: 29015 is already used by instance "old" (its tv port)`,
		"dflt": `dflt.yaml:1:7: port: its client port 27015 (port + 1000, the default) is already used by instance "old" (its game port), whose spec is older; pick another port, or give ports: {client: N}`,
	}
	for _, in := range ins {
		w, bad := want[in.Name]
		switch {
		case !bad && in.Err != nil:
			t.Errorf("%s: %v", in.Name, in.Err)
		case bad && (in.Err == nil || !errors.Is(in.Err, ErrPortConflict) || !strings.Contains(in.Err.Error(), w)):
			t.Errorf("%s: %v\nwant %s", in.Name, in.Err, w)
		}
	}
}

// The default rule keeps consecutive game ports apart: 12 on 27015–27026
// and 50 on 27100–27149, as the end-to-end tests run them.
func TestDefaultRuleDisjoint(t *testing.T) {
	for _, r := range []struct{ first, n int }{{27015, 12}, {27100, 50}} {
		seen := map[int]string{}
		for i := range r.n {
			s, err := Parse("a.yaml", []byte("port: "+itoa(r.first+i)+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			for _, rp := range s.Ports.List() {
				if prev, dup := seen[rp.Port]; dup {
					t.Fatalf("%d is %s and %s of instance %d", rp.Port, prev, rp.Role, i)
				}
				seen[rp.Port] = string(rp.Role)
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
