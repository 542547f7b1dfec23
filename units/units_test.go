package units

import "testing"

func TestQuoteArg(t *testing.T) {
	cases := map[string]string{
		"-tickrate":       "-tickrate",
		"c1m1_hotel":      "c1m1_hotel",
		"":                `""`,
		"My server":       `"My server"`,
		`a"b`:             `"a\"b"`,
		`a\b`:             `"a\\b"`,
		"$HOME":           `"$$HOME"`,
		"100%":            `"100%%"`,
		";":               `";"`,
		"'x'":             `"'x'"`,
		"tab\there":       "\"tab\there\"",
		"ünïcode":         `"ünïcode"`,
		"+sv_tags=a,b@c/": "+sv_tags=a,b@c/",
	}
	for in, want := range cases {
		if got := QuoteArg(in); got != want {
			t.Errorf("QuoteArg(%q) = %s, want %s", in, got, want)
		}
	}
}
