package commands

import (
	"net"
	"net/url"
	"slices"
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
