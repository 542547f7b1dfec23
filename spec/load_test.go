package spec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/testroot"

	"github.com/left4me/left4me/spec/layout"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Specs of the same age: name order decides, the same way every time.
func TestClaimPortsTie(t *testing.T) {
	now := time.Now()
	ins := []Instance{{Name: "b", ModTime: now}, {Name: "a", ModTime: now}, {Name: "c", ModTime: now.Add(-time.Second)}}
	for i := range ins {
		s, err := Parse(ins[i].Name+".yaml", []byte("port: 27015\n"))
		if err != nil {
			t.Fatal(err)
		}
		ins[i].Spec, ins[i].File = s, ins[i].Name+".yaml"
	}
	ClaimPorts(ins, nil)
	if ins[2].Err != nil || ins[1].Err == nil || ins[0].Err == nil || !strings.Contains(ins[1].Err.Error(), `instance "c"`) {
		t.Fatalf("%v / %v / %v", ins[0].Err, ins[1].Err, ins[2].Err)
	}
	s, _ := Parse("new.yaml", []byte("port: 27015\n"))
	if err := PortClash(ins, nil, "new", "new.yaml", s); err == nil || !strings.Contains(err.Error(), `new.yaml:1:7: port: 27015 is already used by instance "c" (its game port)`) {
		t.Errorf("PortClash = %v", err)
	}
}

func TestLoadAll(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b.yaml", "port: 27015\n")
	write(t, dir, "a.yaml", "port: 27015\n")
	// b claimed the port first (its spec is older), although a sorts first:
	// a newcomer never takes a port from an instance that had it.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "b.yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "c.yaml", "port: nope\n")
	write(t, dir, "bad.name.yaml", "port: 1\n")
	write(t, dir, ".hidden.yaml", "port: 1\n")
	write(t, dir, "notes.txt", "x")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := LoadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]error{}
	var order []string
	for _, in := range all {
		got[in.Name] = in.Err
		order = append(order, in.Name)
	}
	if strings.Join(order, ",") != "a,b,bad.name,c,fifo" {
		t.Fatalf("order %v", order)
	}
	if got["b"] != nil {
		t.Errorf("b: %v", got["b"])
	}
	if !errors.Is(got["a"], ErrPortConflict) || !strings.Contains(got["a"].Error(), "a.yaml:1:7: port: 27015 is already used by instance \"b\" (its game port), whose spec is older") {
		t.Errorf("a: %v", got["a"])
	}
	if !errors.Is(got["c"], layout.ErrInvalidSpec) {
		t.Errorf("c: %v", got["c"])
	}
	if got["bad.name"] == nil || !strings.Contains(got["bad.name"].Error(), "not a valid instance name") {
		t.Errorf("bad.name: %v", got["bad.name"])
	}
	if got["fifo"] == nil || !strings.Contains(got["fifo"].Error(), "not a regular file") {
		t.Errorf("fifo: %v", got["fifo"])
	}
}

func TestLoadAllMissingDir(t *testing.T) {
	all, err := LoadAll(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(all) != 0 {
		t.Fatalf("%v %v", all, err)
	}
}

func TestJudgeOne(t *testing.T) {
	l := layout.Layout{ConfigDir: t.TempDir(), Root: t.TempDir()}
	if err := os.MkdirAll(l.InstancesDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, l.InstancesDir(), "x.yaml", "port: 27005\n")
	if s, err := Judge(l, "x"); err != nil || s.Port != 27005 {
		t.Fatalf("%v %v", s, err)
	}
	if _, err := Judge(l, "y"); !errors.Is(err, ErrNoSpec) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := Judge(l, "../x"); !errors.Is(err, layout.ErrInvalidName) {
		t.Fatalf("traversal: %v", err)
	}
}

func TestLayoutFromEnv(t *testing.T) {
	t.Setenv("LEFT4ME_CONFIG_DIR", "/tmp/c/")
	t.Setenv("LEFT4ME_ROOT", "/tmp/r")
	l := layout.FromEnv()
	if l.SpecPath("x") != "/tmp/c/instances/x.yaml" || l.MergedDir("x") != "/tmp/r/runtime/x/merged" {
		t.Fatalf("%+v", l)
	}
}

// Two long names whose server users hash alike (found by search): the
// newer spec is refused, so no two servers share a user.
func TestLoadAllServerUserClash(t *testing.T) {
	const a, b = "tournament-server-000317786", "tournament-server-001056240"
	if layout.ServerUser(a) != layout.ServerUser(b) {
		t.Fatalf("%s and %s no longer hash alike: %s, %s", a, b, layout.ServerUser(a), layout.ServerUser(b))
	}
	dir := t.TempDir()
	write(t, dir, b+".yaml", "port: 27015\n")
	write(t, dir, a+".yaml", "port: 27115\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, b+".yaml"), old, old); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "tournament-server-000000001.yaml", "port: 27215\n")
	all, err := LoadAll(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range all {
		switch in.Name {
		case a:
			if !errors.Is(in.Err, ErrUserConflict) || in.Spec != nil ||
				!strings.Contains(in.Err.Error(), a+`.yaml: instance "`+a+`" would run as user `+layout.ServerUser(a)+`, as instance "`+b+`" does, whose spec is older`) {
				t.Errorf("%s: %v", a, in.Err)
			}
		default:
			if in.Err != nil || in.Spec == nil {
				t.Errorf("%s: %v", in.Name, in.Err)
			}
		}
	}
}

// TestJudgeText judges unsaved text as the generator would judge it once
// saved: with the other specs as they are, as the newest of them.
func TestJudgeText(t *testing.T) {
	l := layout.Layout{ConfigDir: t.TempDir(), Root: t.TempDir()}
	if err := os.MkdirAll(l.InstancesDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, l.InstancesDir(), "a.yaml", "port: 27015\n")
	write(t, l.InstancesDir(), "b.yaml", "port: 27115\n")
	if err := os.Symlink(filepath.Join(l.InstancesDir(), "a.yaml"), filepath.Join(l.InstancesDir(), "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text, label string
		port              int
		err               string
	}{
		{"b", "port: 27215\n", "", 27215, ""},                                                      // the file says 27115: the text is judged
		{"c", "port: 27315\n", "", 27315, ""},                                                      // no file yet
		{"b", "port: 27015\n", "", 0, "b.yaml:1:7: port: 27015 is already used by instance \"a\""}, // a's port: a is older
		{"a", "port: 27115\n", "", 0, "a.yaml:1:7: port: 27115 is already used by instance \"b\""}, // b's, and the text is newer than b
		{"a", "port: 27015\nbogus: 1\n", "", 0, "a.yaml:2:1"},                                      // the text's own mistake, on its line
		{"../a", "port: 27015\n", "", 0, layout.ErrInvalidName.Error()},
		{"b", "port: 27215\nbogus: 1\n", "/home/op/edited.yaml", 0, "edited.yaml:2:1"},                    // named as the caller's file
		{"b", "port: 27015\n", "/home/op/edited.yaml", 0, "edited.yaml:1:7: port: 27015 is already used"}, // a clash too
		{"linked", "port: 27415\n", "", 0, "linked.yaml: is a symbolic link"},                             // the generator would refuse the link whatever it holds
	} {
		s, err := JudgeText(l, tc.name, []byte(tc.text), tc.label)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %q: err %v, want %q", tc.name, tc.text, err, tc.err)
			}
			continue
		}
		if err != nil || s.Port != tc.port {
			t.Errorf("%s %q: %v, %v; want port %d", tc.name, tc.text, s, err, tc.port)
		}
	}
	// The files are as they were.
	if s, err := Judge(l, "b"); err != nil || s.Port != 27115 {
		t.Fatalf("b on disk: %v %v", s, err)
	}
}

// judgeTextAsEnv makes TestJudgeTextUnreadable's child run JudgeText.
const judgeTextAsEnv = "LEFT4ME_TEST_JUDGE_TEXT_CONFIG"

// A caller who cannot read the other specs (they are root's, 0640) gets no
// judgement instead of one that overlooks their ports: run by an
// unprivileged user in a child process.
func TestJudgeTextUnreadable(t *testing.T) {
	if cfg := os.Getenv(judgeTextAsEnv); cfg != "" {
		_, err := JudgeText(layout.Layout{ConfigDir: cfg, Root: cfg}, "b", []byte("port: 27015\n"), "")
		fmt.Println(err)
		return
	}
	testroot.Require(t, "it runs a child as another user")
	cfg, err := os.MkdirTemp("", "judge-text-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(cfg) })
	dir := filepath.Join(cfg, "instances")
	if err := os.Mkdir(dir, 0o755); err != nil || os.Chmod(cfg, 0o755) != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"a.yaml": "port: 27015\n", "b.yaml": "port: 27115\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	// The test binary's own directory is root's alone: a copy beside.
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(cfg, "spec.test")
	if err := os.WriteFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestJudgeTextUnreadable$")
	cmd.Env = append(os.Environ(), judgeTextAsEnv+"="+cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "the other specs must be read to judge b's") || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("as nobody: %s", out)
	}
}
