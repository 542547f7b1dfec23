package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProbe(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want probeConfig
		err  string
	}{
		{"127.0.0.1:27015 1m54s 1m0s", probeConfig{"127.0.0.1:27015", 114 * time.Second, time.Minute}, ""},
		{"10.0.0.2:27016 9.5s 0s", probeConfig{"10.0.0.2:27016", 9500 * time.Millisecond, 0}, ""},
		{"127.0.0.1:27015 1m54s", probeConfig{}, "three fields"},
		{"[::1]:27015 1m 1m", probeConfig{}, "bad address"},
		{"127.0.0.1:0 1m 1m", probeConfig{}, "bad address"},
		{"127.0.0.1:27015 0s 1m", probeConfig{}, "bad timeout"},
		{"127.0.0.1:27015 1m -1s", probeConfig{}, "bad timeout"},
	} {
		got, err := parseProbe(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "LEFT4ME_PROBE") {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}
