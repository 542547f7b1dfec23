package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/internal/yamlsubset"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
)

// Instance is one spec file with its parse result.
type Instance struct {
	Name string
	File string
	Spec *Spec // nil when Err != nil
	Err  error
}

// ReadFile reads and parses one spec file, refusing anything that is not a
// regular file (a FIFO would hang the generator at boot) or is too large.
func ReadFile(path string) (*Spec, error) { return readAt(nil, unix.AT_FDCWD, path, path) }

func readAt(b *yamlsubset.Buffers, dirfd int, name, path string) (*Spec, error) {
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
	return parse(b, path, data)
}

// LoadInstance validates name, then reads its spec from the layout.
func LoadInstance(l layout.Layout, name string) (*Spec, error) {
	if err := layout.ValidateName(name); err != nil {
		return nil, err
	}
	return ReadFile(l.SpecPath(name))
}

// LoadAll reads every *.yaml in dir in name order (see Walk).
func LoadAll(dir string) ([]Instance, error) {
	var out []Instance
	err := Walk(dir, func(in Instance) { out = append(out, in) })
	return out, err
}

// Walk reads every *.yaml in dir and hands each to fn in name order,
// holding one parsed spec at a time (the generator runs at every boot, with
// possibly thousands of specs). It applies the check that spans specs: a
// port is kept by the first instance in name order and refused for the
// others, so adding a spec never takes a port from one that had it. A
// missing dir is no instances.
func Walk(dir string, fn func(Instance)) error { return Visit(dir, nil, fn) }

// Visit is Walk with the per-instance work split in two: work (when not
// nil) runs on every CPU, after the port check, and must be safe for
// concurrent use; done then runs in name order. The generator writes each
// instance's files in work, which on this path is most of boot-time cost.
func Visit(dir string, work func(*Instance), done func(Instance)) error {
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
	sort.Strings(names)
	owner := map[int]string{}
	checkPort := func(in *Instance) {
		s := in.Spec
		if s == nil {
			return
		}
		if prev, taken := owner[s.Port]; taken {
			in.Err = &Error{File: in.File, Line: s.portLine, Column: s.portCol, Field: "port",
				Msg: fmt.Sprintf("%d is already used by instance %q", s.Port, prev), kind: ErrPortConflict}
			in.Spec = nil
		} else {
			owner[s.Port] = in.Name
		}
	}
	dirfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("read spec dir: %w", err)
	}
	defer unix.Close(dirfd)
	loadInOrder(dirfd, dir, names, checkPort, work, done)
	return nil
}

// walkChunk bounds how many parsed specs are held at once.
const walkChunk = 64

// loadInOrder reads and parses the named specs on every CPU (parsing is
// much of the generator's time), applies check in name order, runs work on
// every CPU again and hands the specs to done in the given order.
func loadInOrder(dirfd int, dir string, names []string, check, work func(*Instance), done func(Instance)) {
	buf := make([]Instance, min(walkChunk, len(names)))
	workers := runtime.GOMAXPROCS(0)
	yb := make([]yamlsubset.Buffers, workers) // one per goroutine, reused
	for start := 0; start < len(names); start += walkChunk {
		part := buf[:min(walkChunk, len(names)-start)]
		parallel(workers, len(part), func(w, i int) { part[i] = loadOne(&yb[w], dirfd, dir, names[start+i]) })
		for i := range part {
			check(&part[i])
		}
		if work != nil {
			parallel(workers, len(part), func(_, i int) { work(&part[i]) })
		}
		for i := range part {
			done(part[i])
			part[i] = Instance{}
		}
	}
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

func loadOne(b *yamlsubset.Buffers, dirfd int, dir, name string) Instance {
	in := Instance{Name: name, File: filepath.Join(dir, name+".yaml")}
	if err := layout.ValidateName(name); err != nil {
		in.Err = &Error{File: in.File, Msg: fmt.Sprintf("file name is not a valid instance name: %v", err)}
	} else {
		in.Spec, in.Err = readAt(b, dirfd, name+".yaml", in.File)
	}
	return in
}
