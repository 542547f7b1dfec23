package main

import "testing"

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		want    args
		wantErr bool
	}{
		{"defaults", nil, args{game: "left4dead2", port: 27015}, false},
		{"systemd line",
			[]string{"-game", "left4dead2", "-port", "27016", "+map", "c1m1_hotel", "-tickrate", "100", "+hostname", "My server"},
			args{game: "left4dead2", port: 27016, mapName: "c1m1_hotel", hostname: "My server"}, false},
		{"last wins", []string{"-port", "1", "-port", "2"}, args{game: "left4dead2", port: 2}, false},
		{"bad port", []string{"-port", "70000"}, args{}, true},
		{"missing value", []string{"+map"}, args{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(tc.argv)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
