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

	"github.com/left4me/left4me/layout"
	"github.com/left4me/left4me/specfile"
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
func ReadFile(path string) (*Spec, error) {
	data, err := specfile.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", path, ErrNoSpec)
	case errors.Is(err, specfile.ErrNotRegular):
		return nil, &Error{File: path, Msg: "not a regular file"}
	case err != nil:
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
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
func Walk(dir string, fn func(Instance)) error {
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
	loadInOrder(dir, names, func(in Instance) {
		if s := in.Spec; s != nil {
			if prev, taken := owner[s.Port]; taken {
				in.Err = &Error{File: in.File, Line: s.portLine, Column: s.portCol, Field: "port",
					Msg: fmt.Sprintf("%d is already used by instance %q", s.Port, prev), kind: ErrPortConflict}
				in.Spec = nil
			} else {
				owner[s.Port] = in.Name
			}
		}
		fn(in)
	})
	return nil
}

// walkChunk bounds how many parsed specs are held at once.
const walkChunk = 64

// loadInOrder reads and parses the named specs on every CPU (parsing is
// most of the generator's time) and hands them to fn in the given order.
func loadInOrder(dir string, names []string, fn func(Instance)) {
	workers := runtime.GOMAXPROCS(0)
	buf := make([]Instance, min(walkChunk, len(names)))
	for start := 0; start < len(names); start += walkChunk {
		part := names[start:min(start+walkChunk, len(names))]
		var next atomic.Int64
		work := func() {
			for i := int(next.Add(1) - 1); i < len(part); i = int(next.Add(1) - 1) {
				buf[i] = loadOne(dir, part[i])
			}
		}
		var wg sync.WaitGroup
		for range min(workers, len(part)) - 1 {
			wg.Go(work)
		}
		work()
		wg.Wait()
		for i := range part {
			fn(buf[i])
			buf[i] = Instance{}
		}
	}
}

func loadOne(dir, name string) Instance {
	in := Instance{Name: name, File: filepath.Join(dir, name+".yaml")}
	if err := layout.ValidateName(name); err != nil {
		in.Err = &Error{File: in.File, Msg: fmt.Sprintf("file name is not a valid instance name: %v", err)}
	} else {
		in.Spec, in.Err = ReadFile(in.File)
	}
	return in
}
