package units

import (
	"errors"
	"testing"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// RunningAddr reads back what Command wrote: for every spec, the address
// taken from the relay's argv is the spec's QueryAddr.
func TestRunningAddrRoundTrip(t *testing.T) {
	l := layout.Layout{Root: "/var/lib/left4me", ConfigDir: "/etc/left4me"}
	for _, text := range []string{
		"port: 27015\n",
		"port: 27016\narguments: [-ip, 127.0.0.2]\n",
		"port: 27017\narguments: [+hostname, 'Tom''s', +ip, 10.0.0.3]\n",
		"port: 27018\narguments: [-IP, 0.0.0.0]\n",
		"port: 27019\nports: {client: 27005, tv: off, steam: 26901}\n",
	} {
		s, err := spec.Parse("t.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		argv := append([]string{"/usr/lib/left4me/left4me-relay"}, Command(l, "t", s)...)
		got, err := RunningAddr(argv)
		if err != nil || got != s.QueryAddr() {
			t.Errorf("%q: RunningAddr = %q, %v; want %q", text, got, err, s.QueryAddr())
		}
		if ports, err := RunningPorts(argv); err != nil || ports != s.Ports {
			t.Errorf("%q: RunningPorts = %+v, %v; want %+v", text, ports, err, s.Ports)
		}
	}
}

func TestRunningAddrRefuses(t *testing.T) {
	for _, argv := range [][]string{nil, {"srcds_linux", "-game", "left4dead2"}, {"x", "-port", "http"}, {"x", "-port"}} {
		if got, err := RunningAddr(argv); !errors.Is(err, ErrNoAddress) {
			t.Errorf("%q: %q, %v; want ErrNoAddress", argv, got, err)
		}
	}
}
