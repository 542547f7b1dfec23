package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeCfgs creates left4dead2/cfg and left4dead2/cfg/NAME for each entry
// below a new directory and returns that directory.
func writeCfgs(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "left4dead2", "cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		path := filepath.Join(root, "left4dead2", "cfg", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadCfgChain(t *testing.T) {
	const dir = "left4dead2/cfg/"
	tests := []struct {
		name     string
		files    map[string]string
		hostname string
		chain    []cfgFile
		output   []string // lines that must appear in order
	}{
		{
			name:     "no server.cfg",
			files:    map[string]string{"other.cfg": "hostname x"},
			hostname: "standin",
			chain:    []cfgFile{},
			output:   []string{"standin: exec server.cfg: missing"},
		},
		{
			name: "comments and blanks",
			files: map[string]string{"server.cfg": "// header\n\n  sv_cheats 0  \r\n\t// indented comment\n" +
				`hostname "My server" // trailing comment` + "\n"},
			hostname: "My server",
			chain:    []cfgFile{{dir + "server.cfg", []string{"sv_cheats 0", `hostname "My server" // trailing comment`}}},
			output: []string{
				"standin: exec " + dir + "server.cfg",
				"standin: cfg " + dir + "server.cfg: sv_cheats 0",
				`standin: cfg ` + dir + `server.cfg: hostname "My server" // trailing comment`,
			},
		},
		{
			name: "nested exec, quoted and bare, with and without suffix",
			files: map[string]string{
				"server.cfg":         "hostname first\nexec \"left4me/a\"\nexec b.cfg\nsv_last 1",
				"left4me/a.cfg":      "EXEC c\nhostname \"from a\"",
				"b.cfg":              "hostname from b",
				"c.cfg":              "",
				"unused.cfg":         "hostname never",
				"left4me/unused.cfg": "hostname never",
			},
			hostname: "from b",
			chain: []cfgFile{
				{dir + "server.cfg", []string{"hostname first", `exec "left4me/a"`, "exec b.cfg", "sv_last 1"}},
				{dir + "left4me/a.cfg", []string{"EXEC c", `hostname "from a"`}},
				{dir + "c.cfg", []string{}},
				{dir + "b.cfg", []string{"hostname from b"}},
			},
			output: []string{
				"standin: exec " + dir + "server.cfg",
				"standin: exec " + dir + "left4me/a.cfg",
				"standin: exec " + dir + "c.cfg",
				"standin: exec " + dir + "b.cfg",
				"standin: cfg " + dir + "server.cfg: sv_last 1",
			},
		},
		{
			name:     "missing exec goes on",
			files:    map[string]string{"server.cfg": "exec \"nothere\"\nhostname after"},
			hostname: "after",
			chain:    []cfgFile{{dir + "server.cfg", []string{`exec "nothere"`, "hostname after"}}},
			output:   []string{"standin: exec nothere: missing", "standin: cfg " + dir + "server.cfg: hostname after"},
		},
		{
			name:     "self exec stops at the depth limit",
			files:    map[string]string{"server.cfg": "exec loop", "loop.cfg": "exec loop"},
			hostname: "standin",
			chain: append([]cfgFile{{dir + "server.cfg", []string{"exec loop"}}},
				repeatCfg(cfgFile{dir + "loop.cfg", []string{"exec loop"}}, maxCfgDepth-1)...),
			output: []string{"standin: exec loop: nested deeper than 8"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeCfgs(t, tc.files)
			var out strings.Builder
			hostname, chain := readCfgChain(root, "left4dead2", "standin", &out)
			if hostname != tc.hostname {
				t.Errorf("hostname %q, want %q", hostname, tc.hostname)
			}
			if !reflect.DeepEqual(chain, tc.chain) {
				t.Errorf("chain\n%+v\nwant\n%+v", chain, tc.chain)
			}
			assertLinesInOrder(t, out.String(), tc.output)
		})
	}
}

func TestReadCfgChainUnreadable(t *testing.T) {
	root := writeCfgs(t, map[string]string{"server.cfg": "exec sub"})
	// A directory where a file should be fails on read, not on open.
	if err := os.Mkdir(filepath.Join(root, "left4dead2", "cfg", "sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	_, chain := readCfgChain(root, "left4dead2", "standin", &out)
	if len(chain) != 1 || !strings.Contains(out.String(), "standin: exec sub: read ") {
		t.Errorf("chain %+v, output:\n%s", chain, out.String())
	}
}

func TestFields(t *testing.T) {
	tests := map[string][]string{
		`hostname "My server"`:         {"hostname", "My server"},
		`exec "a b"   c//comment`:      {"exec", "a b", "c"},
		`say "// not a comment" // is`: {"say", "// not a comment"},
		`hostname "unclosed`:           {"hostname", "unclosed"},
		`a"b"c`:                        {"a", "b", "c"},
		`// all comment`:               nil,
	}
	for line, want := range tests {
		if got := fields(line); !reflect.DeepEqual(got, want) {
			t.Errorf("fields(%q) = %q, want %q", line, got, want)
		}
	}
}

func repeatCfg(f cfgFile, n int) []cfgFile {
	out := make([]cfgFile, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// assertLinesInOrder checks that each of want is a whole line of out, in
// the given order.
func assertLinesInOrder(t *testing.T, out string, want []string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, w := range want {
		for i < len(lines) && lines[i] != w {
			i++
		}
		if i == len(lines) {
			t.Errorf("missing line %q (in order) in output:\n%s", w, out)
			return
		}
	}
}
