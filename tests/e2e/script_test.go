package e2e

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

// TestScripts runs each testdata/scripts/*.txt on one booted host. A
// script is a txtar archive, in the manner of quadlet's test files: its
// comment holds the steps and the assertions each carries, its files
// are the host's state (state/PATH, before boot) and root filesystem
// (root/PATH, e.g. etc/left4me/instances/NAME.yaml). The verbs are in
// scriptVerbs' comment below; a failed command ends its step (==), a
// failed assertion is reported with its script line and the step goes on.
func TestScripts(t *testing.T) {
	requireE2E(t)
	files, err := filepath.Glob(filepath.Join("testdata", "scripts", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			a, err := txtar.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			runScript(t, f, a)
		})
	}
}

// script is the state of one script's run.
type script struct {
	file  string
	state string // the host's state root
	c     *Container
	vars  map[string]string
	out   string // stdout of the last command
	err   string // its stderr (the error text of Container.Run)
	code  int
}

// scriptVerbs:
//
//	install-game          the stand-in installation in the state root
//	install-standin DIR   the stand-in server into DIR of the state root
//	copy-build NAME PATH  build/NAME of the repository to PATH in the host
//	boot                  boot the host (state/ and root/ files written)
//	== NAME               a step (a subtest) until the next ==
//	$ ARGS                run ARGS in the host; exit 0 expected
//	$N ARGS, $! ARGS      exit N expected; any non-zero
//	let VAR $ ARGS        VAR is ARGS's trimmed stdout (${VAR} later)
//	wait DUR ARGS         run ARGS until it exits 0, for DUR at most
//	active NAME           wait until l4d2@NAME is active and listening
//	a2s PORT              A2S_INFO as stdout: name="…" map="…" folder="…"
//	journal UNIT          the unit's journal as stdout
//	depot BUILD WHO K=V…  what the stand-in steamcmd in /opt/steamcmd
//	                      serves next: build, who.txt, its control files
//	save PATH             stdout into PATH in the host (for sh to read)
//	report NAME           the stand-in's report as stdout: argv=[…] uid=N
//	                      hostname=… cfg_files=… cfg0=[…] cfg0_lines=N
//	                      (one per line)
//	> TEXT, !> TEXT       stdout holds (lacks) TEXT
//	>= TEXT               stdout is TEXT (spaces around it aside)
//	count N TEXT          stdout holds TEXT N times
//	2> TEXT, !2> TEXT     stderr holds (lacks) TEXT
//	row F1 F2 …           a line of stdout has exactly these fields
//	~ REGEXP              stdout matches REGEXP ((?m) for ^ and $ per line)
//	lines N               stdout has 1 to N lines
//	state NAME STATE      l4d2@NAME is STATE (systemctl is-active)
//	mounts NAME N         NAME's merged dir is mounted N times
//	ne A B, eq A B        A differs from (equals) B
//	sleep DUR             wait
func runScript(t *testing.T, file string, a *txtar.Archive) {
	s := &script{file: file, state: t.TempDir(), vars: map[string]string{}}
	rootFiles := map[string]string{}
	stateFiles := map[string]string{}
	for _, f := range a.Files {
		switch dir, rest, _ := strings.Cut(f.Name, "/"); dir {
		case "state":
			stateFiles[rest] = linkOrFile(f.Data)
		case "root":
			rootFiles[rest] = linkOrFile(f.Data)
		default:
			t.Fatalf("%s: file %s: neither state/ nor root/", file, f.Name)
		}
	}
	copies := map[string]string{} // host path: file of the repository
	lines := strings.Split(string(a.Comment), "\n")
	var step string
	var stepLines []int
	flush := func() {
		if step == "" {
			return
		}
		body := stepLines
		t.Run(step, func(t *testing.T) {
			for _, n := range body {
				s.line(t, n+1, lines[n])
			}
		})
		step, stepLines = "", nil
	}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "== "):
			flush()
			step = strings.TrimPrefix(l, "== ")
		case step != "":
			stepLines = append(stepLines, i)
		case l == "install-game":
			installGame(t, s.state)
		case strings.HasPrefix(l, "install-standin "):
			installStandin(t, filepath.Join(s.state, strings.TrimPrefix(l, "install-standin ")))
		case strings.HasPrefix(l, "copy-build "):
			f := strings.Fields(l)
			copies[f[2]] = filepath.Join(repoRoot(t), "build", f[1])
		case l == "boot":
			if err := writeFiles(s.state, stateFiles); err != nil {
				t.Fatal(err)
			}
			s.c = Boot(t, Options{State: s.state, Install: installProject(t),
				Setup: func(root string) error {
					for dst, src := range copies {
						b, err := os.ReadFile(src)
						if err == nil {
							err = os.MkdirAll(filepath.Dir(filepath.Join(root, dst)), 0o755)
						}
						if err == nil {
							err = os.WriteFile(filepath.Join(root, dst), b, 0o755)
						}
						if err != nil {
							return err
						}
					}
					return writeFiles(root, rootFiles)
				}})
		default:
			t.Fatalf("%s:%d: %q before the first step", file, i+1, l)
		}
	}
	flush()
}

// linkOrFile is a file's text for writeFiles, where "->TARGET" is a
// symlink (txtar ends every file with a newline, not part of the target).
func linkOrFile(b []byte) string {
	if s := string(b); strings.HasPrefix(s, "->") {
		return strings.TrimSuffix(s, "\n")
	}
	return string(b)
}

var varRef = regexp.MustCompile(`\$\{(\w+)\}`)

// line runs one line of a step.
func (s *script) line(t *testing.T, n int, l string) {
	t.Helper()
	l = strings.TrimSpace(varRef.ReplaceAllStringFunc(strings.TrimSpace(l), func(m string) string {
		return s.vars[m[2:len(m)-1]]
	}))
	if l == "" || strings.HasPrefix(l, "#") {
		return
	}
	at := fmt.Sprintf("%s:%d", s.file, n)
	verb, rest, _ := strings.Cut(l, " ")
	c := s.c
	switch {
	case verb == ">" || verb == "!>" || verb == "2>" || verb == "!2>":
		text := s.out
		if strings.HasSuffix(verb, "2>") {
			text = s.err
		}
		if strings.Contains(text, rest) == strings.HasPrefix(verb, "!") {
			t.Errorf("%s: %s %q:\nstdout:\n%s\nstderr: %s", at, verb, rest, s.out, s.err)
		}
	case verb == ">=":
		if got := strings.TrimSpace(s.out); got != rest {
			t.Errorf("%s: stdout %q, want %q", at, got, rest)
		}
	case verb == "count":
		ns, text, _ := strings.Cut(rest, " ")
		if got := strings.Count(s.out, text); strconv.Itoa(got) != ns {
			t.Errorf("%s: %q %d times, want %s:\n%s", at, text, got, ns, s.out)
		}
	case verb == "report":
		r := readReport(t, s.state, rest)
		argv, _ := json.Marshal(r.Argv)
		var files []string
		cfg0, n0 := []byte("[]"), 0
		for i, f := range r.CfgChain {
			files = append(files, f.File)
			if i == 0 {
				cfg0, _ = json.Marshal(f.Lines)
				n0 = len(f.Lines)
			}
		}
		s.out = fmt.Sprintf("argv=%s\nuid=%d\nhostname=%s\ncfg_files=%s\ncfg0=%s\ncfg0_lines=%d\n", argv, r.UID, r.Hostname, strings.Join(files, " "), cfg0, n0)
		s.err = ""
	case strings.HasPrefix(verb, "$"):
		s.run(t, at, verb[1:], words(t, at, rest))
	case verb == "let":
		name, cmd, _ := strings.Cut(rest, " $ ")
		s.run(t, at, "", words(t, at, cmd))
		s.vars[name] = strings.TrimSpace(s.out)
	case verb == "wait":
		ds, cmd, _ := strings.Cut(rest, " ")
		d := duration(t, at, ds)
		args := words(t, at, cmd)
		c.WaitFor(t, at+": "+cmd, d, func() bool {
			_, err := c.Run(t, args...)
			return err == nil
		})
	case verb == "active":
		waitActive(t, c, rest)
	case verb == "a2s":
		port, err := strconv.Atoi(rest)
		if err != nil {
			t.Fatalf("%s: a2s %q", at, rest)
		}
		info := query(t, c, port)
		s.out, s.err = fmt.Sprintf("name=%q map=%q folder=%q players=%d bots=%d", info.Name, info.Map, info.Folder, info.Players, info.Bots), ""
	case verb == "depot":
		w := words(t, at, rest)
		if len(w) < 2 {
			t.Fatalf("%s: depot BUILD WHO [K=V...]", at)
		}
		extra := map[string]string{}
		for _, kv := range w[2:] {
			k, v, _ := strings.Cut(kv, "=")
			extra[k] = v
		}
		depot(t, c, w[0], w[1], extra)
	case verb == "save":
		if err := os.WriteFile(filepath.Join(c.Root, rest), []byte(s.out), 0o644); err != nil {
			t.Fatalf("%s: %v", at, err)
		}
	case verb == "journal":
		s.out, s.err = c.Journal(t, rest), ""
	case verb == "~":
		re, err := regexp.Compile(rest)
		if err != nil {
			t.Fatalf("%s: %v", at, err)
		}
		if !re.MatchString(s.out) {
			t.Errorf("%s: stdout does not match %s:\n%s", at, rest, s.out)
		}
	case verb == "row":
		if !hasRow(s.out, words(t, at, rest)...) {
			t.Errorf("%s: no row %s in:\n%s", at, rest, s.out)
		}
	case verb == "lines":
		most, _ := strconv.Atoi(rest)
		if got := strings.Count(strings.TrimSpace(s.out), "\n") + 1; s.out == "" || got > most {
			t.Errorf("%s: %d lines, want 1 to %d:\n%s", at, got, most, s.out)
		}
	case verb == "state":
		name, want, _ := strings.Cut(rest, " ")
		if got := unitState(t, c, name); got != want {
			t.Errorf("%s: %s is %s, want %s", at, name, got, want)
		}
	case verb == "mounts":
		name, want, _ := strings.Cut(rest, " ")
		if got := mountCount(t, c, name); strconv.Itoa(got) != want {
			t.Errorf("%s: %s mounted %d times, want %s", at, name, got, want)
		}
	case verb == "ne" || verb == "eq":
		w := words(t, at, rest)
		if len(w) != 2 || (w[0] == w[1]) == (verb == "ne") {
			t.Errorf("%s: %s %q", at, verb, w)
		}
	case verb == "sleep":
		time.Sleep(duration(t, at, rest))
	default:
		t.Fatalf("%s: unknown verb %q", at, verb)
	}
}

// run runs args in the host; want is "" (exit 0), "!" (non-zero) or N.
func (s *script) run(t *testing.T, at, want string, args []string) {
	t.Helper()
	out, err := s.c.Run(t, args...)
	s.out, s.err, s.code = out, errText(err), exitCode(t, err)
	ok := s.code == 0
	switch want {
	case "":
	case "!":
		ok = s.code != 0
	default:
		ok = strconv.Itoa(s.code) == want
	}
	if !ok {
		t.Fatalf("%s: %q: exit %d (want %s)\nstdout:\n%s\nstderr: %s", at, args, s.code, cmp.Or(want, "0"), out, s.err)
	}
}

// words splits a command line as sh does for '…' and "…" (\" and \\
// inside double quotes); nothing else is special.
func words(t *testing.T, at, l string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(l); i++ {
		ch := l[i]
		switch {
		case quote == '\'' && ch == '\'', quote == '"' && ch == '"':
			quote = 0
		case quote == '"' && ch == '\\' && i+1 < len(l) && (l[i+1] == '"' || l[i+1] == '\\'):
			i++
			cur.WriteByte(l[i])
		case quote != 0:
			cur.WriteByte(ch)
		case ch == '\'' || ch == '"':
			quote, in = ch, true
		case ch == ' ' || ch == '\t':
			if in {
				out, in = append(out, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("%s: unclosed %c", at, quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func duration(t *testing.T, at, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", at, err)
	}
	return d
}
