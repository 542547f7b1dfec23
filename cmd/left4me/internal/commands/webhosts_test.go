package commands

import (
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type fakeListener struct {
	net.Listener
	addr net.Addr
}

func (f fakeListener) Addr() net.Addr { return f.addr }

func TestWebHosts(t *testing.T) {
	tcp := func(ip string, port int) net.Listener {
		return fakeListener{addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}}
	}
	pub, _ := url.Parse("https://Panel.Example.org")
	tests := []struct {
		ls     []net.Listener
		public *url.URL
		want   []string
	}{
		{[]net.Listener{tcp("127.0.0.1", 9780)}, nil, []string{"localhost:9780", "127.0.0.1:9780", "[::1]:9780"}},
		{[]net.Listener{tcp("0.0.0.0", 80)}, pub, []string{"localhost:80", "127.0.0.1:80", "[::1]:80", "panel.example.org"}},
		{[]net.Listener{tcp("10.0.0.5", 9780)}, nil, []string{"localhost:9780", "127.0.0.1:9780", "[::1]:9780", "10.0.0.5:9780"}},
	}
	for _, tt := range tests {
		if got := webHosts(tt.ls, tt.public); !slices.Equal(got, tt.want) {
			t.Errorf("%v %v: %q, want %q", tt.ls[0].Addr(), tt.public, got, tt.want)
		}
	}
}

// TestWebLoginLink: the token is in the link's fragment, which the browser
// sends to no server (nor a proxy's access log).
func TestWebLoginLink(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	mkdirs(t, filepath.Join(te.Layout.ConfigDir, "web"))
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "web", "users"), "alice admin\n")
	te.sd.set("left4me-web.socket", "active", "listening")
	if err := te.run("web", "login", "--url", "https://panel.example.org/", "alice"); err != nil {
		t.Fatal(err)
	}
	link := strings.TrimSpace(te.out.String())
	u, err := url.Parse(link)
	if err != nil || u.Path != "/login" || u.RawQuery != "" || !strings.HasPrefix(u.Fragment, "token=") || len(u.Fragment) < 30 {
		t.Errorf("link %q", link)
	}
}

// TestWebLoginNeedsThePanel: while neither the panel's socket nor its
// service holds its address, a local user may bind it and read the token
// a link carries, so no link is made (none is stored either).
func TestWebLoginNeedsThePanel(t *testing.T) {
	tests := []struct {
		socket, service string
		refused         bool
	}{
		{"inactive", "inactive", true},
		{"failed", "inactive", true},
		{"active", "inactive", false},
		{"inactive", "active", false}, // the socket stopped, the service still serves its fd
		{"active", "active", false},
	}
	for _, tt := range tests {
		te := newEnv(t)
		te.Euid = 0
		mkdirs(t, filepath.Join(te.Layout.ConfigDir, "web"))
		writeFile(t, filepath.Join(te.Layout.ConfigDir, "web", "users"), "alice admin\n")
		te.sd.set("left4me-web.socket", tt.socket, "dead")
		te.sd.set("left4me-web.service", tt.service, "dead")
		err := te.run("web", "login", "alice")
		if !tt.refused {
			if err != nil || !strings.Contains(te.out.String(), "#token=") {
				t.Errorf("socket %s, service %s: %v %q", tt.socket, tt.service, err, te.out.String())
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "left4me-web.socket is "+tt.socket) || !strings.Contains(err.Error(), "systemctl enable --now left4me-web.socket") {
			t.Errorf("socket %s, service %s: %v, want a refusal naming the socket's state", tt.socket, tt.service, err)
		}
		if te.out.Len() != 0 {
			t.Errorf("socket %s: printed %q", tt.socket, te.out.String())
		}
		if links, _ := filepath.Glob(filepath.Join(te.Layout.Root, "web", "*", "*")); len(links) != 0 {
			t.Errorf("socket %s: stored %v", tt.socket, links)
		}
	}
}
