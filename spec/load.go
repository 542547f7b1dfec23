package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
)

// Instance is one spec file with its parse result.
type Instance struct {
	Name string
	File string
	Spec *Spec // nil when Err != nil
	Err  error
	// ModTime of the spec file: the older spec keeps a port (ClaimPorts).
	ModTime time.Time
	// Parsed is the spec as parsed, kept when a rule across specs (a port
	// another holds) or a ceiling refused it, so that validate can judge
	// the rest of it too and say every problem at once.
	Parsed *Spec
}

// ReadFile reads and parses one spec file, refusing anything that is not a
// regular file (a FIFO would hang the generator at boot) or is too large.
// It judges the file alone: the rules across specs (a port another spec
// claimed first) and the host's ceilings are Judge's and Walk's, which
// every command that shows or starts an instance goes through.
func ReadFile(path string) (*Spec, error) { return readAt(unix.AT_FDCWD, path, path) }

func readAt(dirfd int, name, path string) (*Spec, error) {
	data, err := specfile.ReadAt(dirfd, name, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", path, ErrNoSpec)
	case errors.Is(err, specfile.ErrNotRegular):
		return nil, &Error{File: path, Msg: "not a regular file"}
	case errors.Is(err, specfile.ErrSymlink):
		return nil, &Error{File: path, Msg: specfile.ErrSymlink.Error()}
	case err != nil:
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
}

// Judge reads name's spec as the generator judges it: together with the
// others (a port another spec claimed first) and against the host's
// ceilings, never alone, so that every command refuses what the generator
// refuses, with the same message.
func Judge(l layout.Layout, name string) (*Spec, error) {
	if err := layout.ValidateName(name); err != nil {
		return nil, err
	}
	var out Instance
	found := false
	err := visit(l.InstancesDir(), filepath.Dir(l.InstancesDir()), l.Root, nil, nil, func(in Instance) {
		if in.Name == name {
			out, found = in, true
		}
	})
	switch {
	case !found && err == nil:
		return nil, fmt.Errorf("%s: %w", l.SpecPath(name), ErrNoSpec)
	case !found:
		return nil, err
	case out.Err != nil:
		return nil, out.Err
	}
	return out.Spec, err
}

// JudgeText is Judge with name's spec taken from data instead of its file,
// which need not exist yet: what the generator would make of data once it
// is saved, with the other specs as they are. Saved, it would be the
// newest spec, so it loses a port to any other (ClaimPorts). label names
// the text in messages ("" for name's spec file). A spec file that is a
// link or not a regular file is refused, as the generator refuses it
// whatever is written through it; so is a judgement without every other
// spec (one that cannot be read, for want of permission, claims no port).
func JudgeText(l layout.Layout, name string, data []byte, label string) (*Spec, error) {
	if err := layout.ValidateName(name); err != nil {
		return nil, err
	}
	dir := l.InstancesDir()
	path := filepath.Join(dir, name+".yaml")
	if st, err := os.Lstat(path); err == nil && !st.Mode().IsRegular() {
		msg := "not a regular file"
		if st.Mode()&fs.ModeSymlink != 0 {
			msg = specfile.ErrSymlink.Error()
		}
		return nil, &Error{File: path, Msg: msg}
	}
	if label == "" {
		label = path
	}
	text := &Instance{Name: name, File: label}
	text.Spec, text.Err = Parse(label, data)
	var out Instance
	var unread []error
	err := visit(dir, filepath.Dir(dir), l.Root, text, nil, func(in Instance) {
		switch {
		case in.Name == name:
			out = in
		case errors.Is(in.Err, fs.ErrPermission):
			unread = append(unread, in.Err)
		}
	})
	switch {
	case len(unread) > 0:
		return nil, fmt.Errorf("the other specs must be read to judge %s's: %w", name, errors.Join(unread...))
	case out.Err != nil:
		return nil, out.Err
	case out.Spec == nil && err == nil:
		return nil, fmt.Errorf("%s: %w (its directory is missing)", path, ErrNoSpec)
	}
	return out.Spec, err
}

// LoadAll reads every *.yaml in dir in name order (see Walk).
func LoadAll(dir string) ([]Instance, error) {
	var out []Instance
	err := Walk(dir, func(in Instance) { out = append(out, in) })
	return out, err
}

// Walk reads every *.yaml in dir and hands each to fn in name order, after
// the checks that span specs: ClaimPorts, and the host's ceilings on
// resources (limits.yaml beside dir, see LoadLimits). A missing dir is no
// instances.
func Walk(dir string, fn func(Instance)) error {
	return visit(dir, filepath.Dir(dir), "", nil, nil, fn)
}

// LoadAllIn is LoadAll of l's instances, judged as the generator judges
// them: with the ports l's running servers hold (ReadClaims).
func LoadAllIn(l layout.Layout) ([]Instance, error) {
	var out []Instance
	err := visit(l.InstancesDir(), filepath.Dir(l.InstancesDir()), l.Root, nil, nil, func(in Instance) { out = append(out, in) })
	return out, err
}

// LoadAllAt is LoadAllIn with the specs read from dir instead: `left4me
// validate --specs` checks a staged copy of instances/ against the
// ceilings and running servers of the host it is to be used on.
func LoadAllAt(dir string, l layout.Layout) ([]Instance, error) {
	var out []Instance
	err := visit(dir, l.ConfigDir, l.Root, nil, nil, func(in Instance) { out = append(out, in) })
	return out, err
}

// Visit is LoadAllIn with the per-instance work split in two: work (when
// not nil) runs on every CPU, after the checks, and must be safe for
// concurrent use; done then runs in name order. The generator writes each
// instance's files in work.
func Visit(l layout.Layout, work func(*Instance), done func(Instance)) error {
	return visit(l.InstancesDir(), filepath.Dir(l.InstancesDir()), l.Root, nil, work, done)
}

// visit loads every spec of dir (text, when not nil, stands for its
// instance's file, there or not) and checks them together, with the
// claims of the servers below root ("": none, the ages alone decide).
func visit(dir, configDir, root string, text *Instance, work func(*Instance), done func(Instance)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("read spec dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if ok && !strings.HasPrefix(e.Name(), ".") { // not editors' temp files
			names = append(names, name)
		}
	}
	if text != nil && !slices.Contains(names, text.Name) {
		names = append(names, text.Name)
	}
	sort.Strings(names)
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("read spec dir: %w", err)
	}
	defer unix.Close(dirfd)
	limits, lerr := LoadLimits(configDir)
	ins := make([]Instance, len(names))
	workers := runtime.GOMAXPROCS(0)
	parallel(workers, len(ins), func(_, i int) {
		if text != nil && names[i] == text.Name {
			ins[i] = *text
			return
		}
		ins[i] = loadOne(dirfd, dir, names[i])
	})
	if text != nil {
		// Saved now, it would be the newest spec, whatever the clock says.
		i := slices.Index(names, text.Name)
		for _, in := range ins {
			if !ins[i].ModTime.After(in.ModTime) {
				ins[i].ModTime = in.ModTime.Add(time.Second)
			}
		}
	}
	var claims map[string]Claim
	if root != "" {
		claims = ReadClaims(root)
	}
	for i := range ins {
		ins[i].Parsed = ins[i].Spec
	}
	ClaimPorts(ins, claims)
	for i := range ins {
		in := &ins[i]
		if in.Parsed == nil {
			continue
		}
		// The ceilings also of a spec a port refused: every problem at
		// once, in the order of its lines.
		lerr := in.Parsed.CheckLimits(in.File, limits)
		switch {
		case in.Spec == nil && lerr != nil:
			in.Err = JoinByLine(in.Err, lerr)
		case lerr != nil:
			in.Spec, in.Err = nil, JoinByLine(lerr)
		case in.Spec != nil:
			in.Spec.BindLimits(limits)
		}
	}
	if work != nil {
		parallel(workers, len(ins), func(_, i int) { work(&ins[i]) })
	}
	for _, in := range ins {
		done(in)
	}
	return lerr
}

// parallel runs fn(w, 0..n-1) on up to workers goroutines, this one
// included; w (0..workers-1) names the goroutine.
func parallel(workers, n int, fn func(w, i int)) {
	var next atomic.Int64
	run := func(w int) {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			fn(w, i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < min(workers, n); w++ {
		wg.Go(func() { run(w) })
	}
	run(0)
	wg.Wait()
}

func loadOne(dirfd int, dir, name string) Instance {
	in := Instance{Name: name, File: filepath.Join(dir, name+".yaml")}
	if err := layout.ValidateName(name); err != nil {
		in.Err = &Error{File: in.File, Msg: fmt.Sprintf("file name is not a valid instance name: %v", err)}
	} else {
		in.Spec, in.Err = readAt(dirfd, name+".yaml", in.File)
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name+".yaml", &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			in.ModTime = time.Unix(st.Mtim.Unix())
		}
	}
	return in
}
