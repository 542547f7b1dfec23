package spec

import (
	"strings"
	"testing"
	"time"
)

type fileConf struct {
	Builder string        `yaml:"builder"`
	Restart []string      `yaml:"restart"`
	Timeout time.Duration `yaml:"timeout"`
	Tasks   int           `yaml:"tasks_max"`
	Hidden  string        `yaml:"-"`
}

// Every problem at once, each at its key or value, in a spec's words.
func TestDecodeFile(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string // each error line, in order; nil: no error
		got        fileConf
	}{
		{"good", "builder: b.sh\nrestart: [a, b]\ntimeout: 10m\ntasks_max: 64\n", nil,
			fileConf{Builder: "b.sh", Restart: []string{"a", "b"}, Timeout: 10 * time.Minute, Tasks: 64}},
		{"empty", "", nil, fileConf{}},
		{"typo and types", "buidler: b.sh\ntimeout: soon\ntasks_max: many\nrestart: a\n", []string{
			"F:1:1: buidler: unknown key; did you mean builder? (allowed: builder, restart, timeout, tasks_max)",
			`F:2:10: timeout: want a duration such as 90s, 30m or 2h, not the string "soon"`,
			`F:3:12: tasks_max: want a whole number, not the string "many"`,
			`F:4:10: restart: want a list of strings, not the string "a"`,
		}, fileConf{}},
		{"twice", "builder: a.sh\nbuilder: b.sh\n", []string{"F:2:1: builder: given twice (first on line 1)"}, fileConf{}},
		{"not a mapping", "- builder\n", []string{"F:1:1: want a mapping of keys (allowed: builder, restart, timeout, tasks_max)"}, fileConf{}},
		{"tab", "builder: a.sh\n\ttimeout: 1m\n", []string{"F:2:1: a tab in the indentation"}, fileConf{}},
		{"the hidden field is no key", "Hidden: x\n", []string{"F:1:1: Hidden: unknown key"}, fileConf{}},
		{"two documents", "builder: a\n---\nbuilder: b\n", []string{"F:2:1: more than one YAML document"}, fileConf{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c fileConf
			_, err := DecodeFile("F", []byte(tc.data), &c)
			if tc.want == nil {
				if err != nil || !equalConf(c, tc.got) {
					t.Fatalf("%v, %+v", err, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; decoded %+v", c)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got\n%v", err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: got %q, want %q...", i, lines[i], w)
				}
			}
		})
	}
}

func equalConf(a, b fileConf) bool {
	return a.Builder == b.Builder && strings.Join(a.Restart, ",") == strings.Join(b.Restart, ",") && a.Timeout == b.Timeout && a.Tasks == b.Tasks
}

func TestFieldsAt(t *testing.T) {
	var c fileConf
	f, err := DecodeFile("F", []byte("builder: b.sh\ntimeout: 1ms\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.At("timeout", "%v is less than 1s", c.Timeout).Error(); got != "F:2:10: timeout: 1ms is less than 1s" {
		t.Errorf("got %q", got)
	}
	if got := f.At("tasks_max", "must be set").Error(); got != "F: tasks_max: must be set" {
		t.Errorf("got %q", got)
	}
}
