package main

import (
	"reflect"
	"testing"
)

func TestParseEngineArgs(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		want    engineArgs
		wantErr bool
	}{
		{"defaults", nil, engineArgs{game: "hl2", port: 27015}, false},
		{"srcds_run line",
			[]string{"-game", "left4dead2", "-norestart", "-port", "27016", "+map", "c2m1_highway", "-tickrate", "100",
				"+hostname", "My server", "+map", "c1m1_hotel"},
			// +map repeated: stuffcmds runs "map" with the first value twice.
			engineArgs{game: "left4dead2", port: 27016, mapName: "c2m1_highway", hostname: "My server"}, false},
		{"split by srcds_run", []string{"-game", "left4dead2", "+hostname", "Tom's", "server"},
			engineArgs{game: "left4dead2", port: 27015, hostname: "Tom's"}, false},
		{"first -port wins", []string{"-port", "1", "-port", "2"}, engineArgs{game: "hl2", port: 1}, false},
		{"+hostport overrides -port", []string{"+hostport", "27030", "-port", "27020"},
			engineArgs{game: "hl2", port: 27030}, false},
		{"+port by mistake", []string{"+port", "27031"}, engineArgs{game: "hl2", port: 27031}, false},
		{"case-insensitive", []string{"-GAME", "left4dead2", "-Port", "27032", "+MAP", "c5m1_waterfront"},
			engineArgs{game: "left4dead2", port: 27032, mapName: "c5m1_waterfront"}, false},
		{"value that looks like an option", []string{"-game", "-port", "27033"},
			engineArgs{game: "hl2", port: 27033}, false},
		{"-ip", []string{"-ip", "127.0.0.2"}, engineArgs{game: "hl2", ip: "127.0.0.2", port: 27015}, false},
		{"+ip overrides -ip", []string{"+ip", "127.0.0.3", "-ip", "127.0.0.2"},
			engineArgs{game: "hl2", ip: "127.0.0.3", port: 27015}, false},
		{"localhost is every address", []string{"-ip", "localhost"}, engineArgs{game: "hl2", port: 27015}, false},
		{"ip with port", []string{"-ip", "127.0.0.4:9"}, engineArgs{game: "hl2", ip: "127.0.0.4", port: 27015}, false},
		{"-strictportbind", []string{"-StrictPortBind"}, engineArgs{game: "hl2", port: 27015, strict: true}, false},
		{"semicolon ends a command", []string{"+hostname", "a;hostport 27040"},
			engineArgs{game: "hl2", port: 27040, hostname: "a"}, false},
		{"quoted cvar value", []string{"+hostname", `"x y"`}, engineArgs{game: "hl2", port: 27015, hostname: "x y"}, false},
		{"sv_lan", []string{"+sv_lan", "1"}, engineArgs{game: "hl2", port: 27015, svLan: true}, false},
		{"sv_lan 0", []string{"+sv_lan", "0"}, engineArgs{game: "hl2", port: 27015}, false},
		{"bad port", []string{"-port", "70000"}, engineArgs{}, true},
		{"port 0", []string{"-port", "0"}, engineArgs{}, true},
		{"bad hostport", []string{"+hostport", "x"}, engineArgs{}, true},
		{"host name", []string{"-ip", "example.org"}, engineArgs{}, true},
		{"IPv6", []string{"+ip", "::1"}, engineArgs{}, true},
		{"-port without a value", []string{"-port"}, engineArgs{game: "hl2", port: 27015}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseEngineArgs(tc.argv)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestStuffcmds(t *testing.T) {
	tests := []struct {
		argv []string
		want []string
	}{
		{nil, nil},
		{[]string{"-game", "left4dead2", "+map", "c1m1_hotel"}, []string{"map c1m1_hotel"}},
		// A +word is never the value of the -option before it.
		{[]string{"-x", "+notacmd"}, []string{"notacmd"}},
		{[]string{"-port", "1", "+sv_tags", "versus,", "casual"}, []string{"sv_tags versus,"}},
		{[]string{"+map", "a", "+map", "b"}, []string{"map a", "map a"}},
		{[]string{"+quit"}, []string{"quit"}},
		{[]string{"c1m1.bsp"}, nil},
	}
	for _, tc := range tests {
		if got := cmdline(tc.argv).stuffcmds(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("stuffcmds(%q) = %q, want %q", tc.argv, got, tc.want)
		}
	}
}

func TestSplitCommands(t *testing.T) {
	tests := map[string][]string{
		"a":                  {"a"},
		"a;b":                {"a", "b"},
		`say "x;y";b`:        {`say "x;y"`, "b"},
		`hostname "a;b`:      {`hostname "a;b`},
		"hostname x;;quit  ": {"hostname x", "", "quit  "},
	}
	for in, want := range tests {
		if got := splitCommands(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitCommands(%q) = %q, want %q", in, got, want)
		}
	}
}
