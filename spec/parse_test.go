package spec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

func TestParseValid(t *testing.T) {
	src := `port: 27015
autostart: true
arguments: ["+map", "c1m1_hotel", "-tickrate", 100]
config:
  - 'hostname "My server"'
overlays:
  - {path: competitive, alias: overlay_12}
  - workshop/maps
  - path: admins
start_timeout: 30
hang_timeout: 0
`
	s, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Spec{
		Port: 27015, Autostart: true,
		Arguments:    []string{"+map", "c1m1_hotel", "-tickrate", "100"},
		Config:       []string{`hostname "My server"`},
		Overlays:     []Overlay{{Path: "competitive", Alias: "overlay_12"}, {Path: "workshop/maps"}, {Path: "admins"}},
		StartTimeout: 30 * time.Second,
	}
	if l, c := s.OverlayPosition(1); l != 8 || c != 5 {
		t.Errorf("overlays[1] at %d:%d, want 8:5", l, c)
	}
	if s.Ports != (Ports{27015, 28015, 29015, 30015}) {
		t.Errorf("ports %v", s.Ports)
	}
	s.raw, s.portLine, s.portCol, s.overlayPos, s.portPos, s.portDefault, s.Ports = nil, 0, 0, nil, nil, nil, Ports{}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("a.yaml", []byte("port: 1024\narguments:\nconfig: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Autostart || s.Arguments != nil || len(s.Config) != 0 || s.Overlays != nil ||
		s.StartTimeout != DefaultStartTimeout || s.HangTimeout != DefaultHangTimeout {
		t.Fatalf("defaults: %+v", s)
	}
}

// Each case names the text that must appear in the error, which always
// starts with file:line:col.
func TestParseErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"empty", "", "a.yaml: empty file"},
		{"not mapping", "- 1\n", "a.yaml:1:1: the spec must be a mapping"},
		{"missing port", "autostart: true\n", "a.yaml:1:1: port: required"},
		{"port string", "port: abc\n", "a.yaml:1:7: port: must be a whole number"},
		{"port zero", "port: 0\n", "a.yaml:1:7: port: 0 is out of range"},
		{"port big", "port: 70000\n", "a.yaml:1:7: port: 70000 is out of range"},
		{"port privileged", "port: 80\n", "a.yaml:1:7: port: 80 is below 1024: the server runs unprivileged"},
		{"arg port", "port: 27015\narguments: [-port, \"27016\"]\n", "a.yaml:2:13: arguments[0]: -port is set by left4me: the port is the spec's port:"},
		{"arg hostport any case", "port: 27015\narguments: [+map, c1m1_hotel, +HostPort, \"27016\"]\n", "a.yaml:2:31: arguments[2]: +HostPort is set by left4me"},
		{"arg game", "port: 27015\narguments: [-game, left4dead]\n", "arguments[0]: -game is set by left4me: the unit always runs -game left4dead2"},
		{"arg norestart", "port: 27015\narguments: [-norestart]\n", "arguments[0]: -norestart is set by left4me: systemd restarts"},
		{"arg reuse", "port: 27015\narguments: [\"-tickrate\", \"30\", \"-REUSE\"]\n", "arguments[2]: -REUSE is set by left4me: it lets another process bind"},
		{"arg srcds_run option", "port: 27015\narguments: [-autoupdate]\n", "arguments[0]: -autoupdate is set by left4me: a srcds_run option"},
		{"arg quote", "port: 27015\narguments: [+hostname, 'Tom \"the\" server']\n", "arguments[1]: contains a double quote, which the engine's command line cannot carry"},
		{"arg ip missing", "port: 27015\narguments: [-ip]\n", "arguments[0]: -ip needs an IPv4 address"},
		{"arg ip v6", "port: 27015\narguments: [-ip, \"::1\"]\n", "a.yaml:2:18: arguments[1]: -ip takes an IPv4 address of this host"},
		{"arg two words", "port: 27015\narguments: [\"+map c2m1_highway\"]\n", "a.yaml:2:13: arguments[0]: \"+map c2m1_highway\" is one argument with a space in it, which the engine takes as one word; write each word as its own item: [+map, c2m1_highway]"},
		{"arg ip twice", "port: 27015\narguments: [-ip, 10.0.0.1, +ip, 10.0.0.2]\n", "arguments[2]: a second, different listen address (10.0.0.2, and 10.0.0.1 before)"},
		{"arg cmdline long", "port: 27015\narguments: [" + strings.Repeat("+sv_tags,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,", 20) + "]\n", "arguments: the server's command line would be"},
		{"port float", "port: 1.5\n", "port: must be a whole number"},
		{"unknown key", "port: 1\nmaxplayers: 8\n", "a.yaml:2:1: maxplayers: unknown key"},
		{"autostart string", "port: 1\nautostart: yes\n", "a.yaml:2:12: autostart: must be true or false"},
		{"args not list", "port: 1\narguments: +map\n", "a.yaml:2:12: arguments: must be a list"},
		{"arg map", "port: 1\narguments: [{a: b}]\n", "a.yaml:2:13: arguments[0]: must be a string"},
		{"arg null", "port: 1\narguments: [~]\n", "arguments[0]: must be a string, got nothing"},
		{"arg newline", "port: 1\narguments: [\"a\\nb\"]\n", "arguments[0]: contains the control character '\\n'"},
		{"config NUL", "port: 1\nconfig: [\"a\\0b\"]\n", "a.yaml:2:10: config[0]: contains the control character '\\x00'"},
		{"config CR", "port: 1\nconfig:\n  - \"x\\ry\"\n", "a.yaml:3:5: config[0]"},
		{"overlay abs", "port: 1\noverlays: [/etc]\n", "a.yaml:2:12: overlays[0]: \"/etc\" is absolute"},
		{"overlay dotdot", "port: 1\noverlays: [a/../../etc]\n", "overlays[0]: \"a/../../etc\" has a \"..\" component"},
		{"overlay dot", "port: 1\noverlays: [./a]\n", "has a \".\" component"},
		{"overlay empty comp", "port: 1\noverlays: [a//b]\n", "empty path component"},
		{"overlay colon", "port: 1\noverlays: [\"a:b\"]\n", "forbidden character ':'"},
		{"overlay comma", "port: 1\noverlays: [\"a,b\"]\n", "forbidden character ','"},
		{"overlay alias bad", "port: 1\noverlays: [{path: a, alias: \"x y\"}]\n", "a.yaml:2:29: overlays[0].alias: \"x y\" must be"},
		{"overlay alias slash", "port: 1\noverlays: [{path: a, alias: ../x}]\n", "overlays[0].alias"},
		{"overlay no path", "port: 1\noverlays: [{alias: x}]\n", "overlays[0].path: required"},
		{"overlay unknown key", "port: 1\noverlays: [{path: a, lower: true}]\n", "overlays[0].lower: unknown key"},
		{"overlay dup path", "port: 1\noverlays: [a, {path: a}]\n", "overlays[1].path: \"a\" is already listed as overlays[0]"},
		{"overlay dup alias", "port: 1\noverlays: [{path: a, alias: x}, {path: b, alias: x}]\n", "overlays[1].alias: \"x\" is already used"},
		{"overlay list", "port: 1\noverlays: [[a]]\n", "overlays[0]: must be a path or"},
		{"overlays map", "port: 1\noverlays: {a: b}\n", "overlays: must be a list"},
		{"syntax", "port: 1\n  bad: [\n", "a.yaml:2:1:"},
		{"dup key", "port: 1\nport: 2\n", "a.yaml:2:1: port: given twice (first on line 1)"},
		{"dup overlay key", "port: 1\noverlays: [{path: a, path: b}]\n", "overlays[0].path: given twice"},
		{"two docs", "port: 1\n---\nport: 2\n", "more than one YAML document"},
		{"start_timeout low", "port: 1\nstart_timeout: 5\n", "a.yaml:2:16: start_timeout: 5 is out of range 10..3600 seconds"},
		{"start_timeout zero", "port: 1\nstart_timeout: 0\n", "start_timeout: 0 is out of range"},
		{"hang_timeout string", "port: 1\nhang_timeout: 1m\n", "hang_timeout: must be a whole number of seconds"},
		{"hang_timeout high", "port: 1\nhang_timeout: 7200\n", "(or 0 for never)"},
		{"resources list", "port: 1\nresources: [a]\n", "a.yaml:2:12: resources: must be a mapping"},
		{"memory small", "port: 1\nresources: {memory_max: 10M}\n", "resources.memory_max: \"10M\" is below 64M"},
		{"memory junk", "port: 1\nresources: {memory_max: lots}\n", "is not a size"},
		{"quota", "port: 1\nresources: {cpu_quota: 150}\n", "resources.cpu_quota: \"150\" is not a percentage"},
		{"weight", "port: 1\nresources: {cpu_weight: 0}\n", "resources.cpu_weight: must be a whole number 1..10000"},
		{"affinity", "port: 1\nresources: {cpu_affinity: 3-1}\n", "is not a CPU list"},
		{"nice", "port: 1\nresources: {nice: -21}\n", "resources.nice: must be a whole number -20..19"},
		{"tasks", "port: 1\nresources: {tasks_max: 1}\n", "resources.tasks_max"},
		{"log days", "port: 1\nresources: {log_days: 0}\n", "a.yaml:2:23: resources.log_days: must be a whole number 1..3650"},
		{"log size", "port: 1\nresources: {log_size: 10K}\n", "a.yaml:2:23: resources.log_size: \"10K\" is below 1M"},
		{"resources unknown", "port: 1\nresources: {io_weight: 1}\n", "resources.io_weight: unknown key"},
		{"alias node", "port: &p 1\nautostart: *p\n", "autostart: must be true or false, got a YAML alias"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("a.yaml", []byte(c.src))
			if err == nil {
				t.Fatalf("no error; spec %+v", s)
			}
			if s != nil {
				t.Fatalf("spec returned with error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if !errors.Is(err, layout.ErrInvalidSpec) {
				t.Fatalf("error %v is not layout.ErrInvalidSpec", err)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	_, err := Parse("a.yaml", []byte("port: 0\nautostart: 1\noverlays: [/x]\n"))
	for _, want := range []string{"a.yaml:1:7: port", "a.yaml:2:12: autostart", "a.yaml:3:12: overlays[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("a.yaml", make([]byte, MaxSpecSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v", err)
	}
}

// Where the probe looks for the server: the address its -ip binds.
func TestQueryAddr(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"port: 27015\n", "127.0.0.1:27015"},
		{"port: 27016\narguments: [-ip, 0.0.0.0]\n", "127.0.0.1:27016"},
		{"port: 27017\narguments: [+map, c2m1_highway, -IP, 127.0.0.2]\n", "127.0.0.2:27017"},
		{"port: 27018\narguments: [+ip, 10.1.2.3, -ip, 10.1.2.3]\n", "10.1.2.3:27018"},
	} {
		s, err := Parse("a.yaml", []byte(c.src))
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		if got := s.QueryAddr(); got != c.want {
			t.Errorf("%q: QueryAddr %s, want %s", c.src, got, c.want)
		}
	}
}

// Text of the spec's author is escaped and cut short in messages: an ESC
// sequence or a newline in a key or value must not reach a terminal or
// forge a journal line, and a long value must not flood it.
func TestParseErrorsEscaped(t *testing.T) {
	_, err := Parse("a.yaml", []byte("port: \"\\e]52;c;aGk=\\a\\nfake: line\"\n\"k\\e[2J\": 1\nconfig: 5\nautostart: \""+strings.Repeat("x", 500)+"\"\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\a") || strings.Count(msg, "\n") != 3 || strings.Contains(msg, strings.Repeat("x", 65)) {
		t.Fatalf("unescaped or uncut:\n%s", msg)
	}
	for _, want := range []string{`port: must be a whole number 1..65535, got the string "\x1b]52;c;aGk=\a\nfake: line"`, `"k\x1b[2J": unknown key`, `"` + strings.Repeat("x", 64) + `"...`} {
		if !strings.Contains(msg, want) {
			t.Errorf("lacks %s:\n%s", want, msg)
		}
	}
}

// A config or arguments given as one string instead of a list is refused
// without its text: it may hold a password, and the error reaches the
// journal, the panel's viewers and alerts.
func TestParseErrorsHideSecrets(t *testing.T) {
	for _, y := range []string{"config: 'rcon_password \"hunter2\"'\n", "arguments: '+rcon_password hunter2'\n", "config: !x rcon_password hunter2\n"} {
		_, err := Parse("a.yaml", []byte("port: 27015\n"+y))
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "must be a list of strings, got a ") || !strings.Contains(err.Error(), "not shown: it may hold a password") {
			t.Errorf("%q: %v", y, err)
		}
	}
}

// Bounds on what a spec makes the generator parse and write.
func TestParseBounds(t *testing.T) {
	many := "port: 27015\n" + strings.Repeat("bad: 1\n", 100)
	_, err := Parse("a.yaml", []byte(many))
	if err == nil || strings.Count(err.Error(), "\n") != MaxErrors || !strings.Contains(err.Error(), "a.yaml: 80 more problems not shown (at most 20 are reported per spec)") {
		t.Errorf("error cap: %v", err)
	}
	_, err = Parse("a.yaml", []byte("port: 27015\nconfig: ["+strings.Repeat("a,", maxSeparators)+"a]\n"))
	if err == nil || !strings.Contains(err.Error(), "a.yaml: 20002 lines and commas; a spec has at most 20000") {
		t.Errorf("separators: %v", err)
	}
	line := "'" + strings.Repeat("x", 4000) + "',"
	_, err = Parse("a.yaml", []byte("port: 27015\nconfig: ["+strings.Repeat(line, 70)+"]\n"))
	if err == nil || !strings.Contains(err.Error(), "a.yaml:2:9: config: 280070 bytes of lines; at most 262144") {
		t.Errorf("config size: %v", err)
	}
}

// The usual hand-editing mistakes are said in plain words, at the line
// where they are (yaml.v3 often names the line before, or line 1).
func TestParsePlainYAMLErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"port: 27015\nautostart: true\n\toverlays: [a]\n", "a.yaml:3:1: a tab in the indentation; YAML indents with spaces only"},
		{"port: 27015\noverlays:\n  - a\n - b\n", "a.yaml:4:1: this line's indentation does not line up with the lines above it"},
		{"port: 27015\nconfig:\n  - a\n   bad: x\n", "a.yaml:4:1: this line's indentation does not line up"},
		{"port: 27015\nautostart: true\n  overlays: [a]\n", "a.yaml:3:1: this line's indentation does not line up"},
		{"port: 27015\nconfig: [a, b\n", "a.yaml:2:1: the [ opened on this line is not closed (a missing ] or a missing comma)"},
		{"port: 27015\nconfig: 'unterminated\n", "a.yaml:2:1: the ' quote opened on this line is not closed"},
		{"port: 27015\nautostrat: true\n", "a.yaml:2:1: autostrat: unknown key; did you mean autostart?"},
		{"port: 27015\noverlay: [a]\n", "overlay: unknown key; did you mean overlays?"},
		{"port: 27015\noverlays: [{path: a, alais: b}]\n", "overlays[0].alais: unknown key; did you mean alias?"},
		{"port: 27015\nresources: {memory: 2G}\n", "resources.memory: unknown key; did you mean memory_max?"},
		{"port: 27015\nmaxplayers: 8\n", "maxplayers: unknown key (allowed: port,"},
	} {
		_, err := Parse("a.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
}

func TestParseWarnings(t *testing.T) {
	s, err := Parse("a.yaml", []byte("port: 27015\narguments: [+servercfgfile, other.cfg]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "a.yaml:2:13: arguments[0]: +servercfgfile makes the server skip the server.cfg left4me stages") {
		t.Fatalf("warnings %v", s.Warnings)
	}
}

func TestParseResources(t *testing.T) {
	s, err := Parse("a.yaml", []byte("port: 27015\nresources:\n  memory_max: 3G\n  cpu_quota: 150%\n  cpu_weight: 200\n  cpu_affinity: 0-1,3\n  nice: -5\n  tasks_max: 256\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Resources
	if r.MemoryMax != "3G" || r.CPUQuota != "150%" || r.CPUWeight != 200 || r.CPUAffinity != "0-1,3" || r.Nice == nil || *r.Nice != -5 || r.TasksMax != 256 {
		t.Fatalf("%+v", r)
	}
}

// The plan the generator writes for the start helper carries exactly the
// spec's overlays, config lines, port set and bytes.
func TestStartPlan(t *testing.T) {
	data := []byte("port: 27015\nconfig: ['hostname \"A b\"', \"\\tsv_x 1 \"]\noverlays: [{path: a/b, alias: ab}, c]\n")
	s, err := Parse("x.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := startplan.Decode(startplan.Encode(s.StartPlan()))
	if err != nil {
		t.Fatal(err)
	}
	want := startplan.Plan{Spec: data, Config: []string{`hostname "A b"`, "\tsv_x 1 "},
		Overlays: []startplan.Overlay{{Path: "a/b", Alias: "ab"}, {Path: "c"}}, LogDays: DefaultLogDays, LogBytes: 256 << 20,
		Ports:  []startplan.Port{{Role: "game", Port: 27015}, {Role: "client", Port: 28015}, {Role: "tv", Port: 29015}, {Role: "steam", Port: 30015}},
		Limits: startplan.Limits{MemoryMax: 2 << 30, TasksMax: DefaultTasksMax}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("plan\n got %+v\nwant %+v", p, want)
	}
}

// The cgroup limits the start helper sets: the spec's, else the unit's
// defaults; CPU quota in µs per second.
func TestStartPlanLimits(t *testing.T) {
	for _, tt := range []struct {
		res  string
		want startplan.Limits
	}{
		{"", startplan.Limits{MemoryMax: 2 << 30, TasksMax: 512}},
		{"resources: {memory_max: 3G, tasks_max: 256, cpu_quota: 150%, cpu_weight: 200}\n", startplan.Limits{MemoryMax: 3 << 30, TasksMax: 256, CPUQuota: 1500000, CPUWeight: 200}},
		{"resources: {memory_max: 1536M, cpu_quota: 5%}\n", startplan.Limits{MemoryMax: 1536 << 20, TasksMax: 512, CPUQuota: 50000}},
	} {
		s, err := Parse("x.yaml", []byte("port: 27015\n"+tt.res))
		if err != nil {
			t.Fatal(err)
		}
		p, err := startplan.Decode(startplan.Encode(s.StartPlan()))
		if err != nil || p.Limits != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.res, p.Limits, err, tt.want)
		}
	}
}

// A UTF-8 byte-order mark at the start is skipped (YAML allows it; Windows
// editors write it unseen); the spec's raw bytes keep it.
func TestParseBOM(t *testing.T) {
	cases := []struct {
		name, src string
		port      int
		err       string // "": valid
	}{
		{"bom then port", BOM + "port: 27015\n", 27015, ""},
		{"bom then comment", BOM + "# srv4\nport: 27016\nautostart: true\n", 27016, ""},
		{"bom, crlf", BOM + "port: 27017\r\n", 27017, ""},
		{"bom, error placed as seen", BOM + "port: x\n", 0, "a.yaml:1:7: port: must be a whole number"},
		{"only a bom", BOM, 0, "a.yaml: empty file"},
		// Only a leading mark is one; elsewhere it is part of the key.
		{"bom later", "port: 27015\n" + BOM + "autostart: true\n", 0, "unknown key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("a.yaml", []byte(c.src))
			if c.err == "" {
				if err != nil || s.Port != c.port || string(s.raw) != c.src {
					t.Fatalf("%+v %v", s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("err %v, want %q", err, c.err)
			}
		})
	}
}
