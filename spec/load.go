package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	f, err := os.OpenFile(path, os.O_RDONLY|nonblock, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoSpec)
		}
		return nil, fmt.Errorf("read spec: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: "not a regular file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSpecSize+1))
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	return Parse(path, data)
}

// LoadInstance validates name, then reads its spec from the layout.
func LoadInstance(l Layout, name string) (*Spec, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	return ReadFile(l.SpecPath(name))
}

// LoadAll reads every *.yaml in dir, sorted by name, and applies the checks
// that span specs: a port is kept by the first instance (in name order) and
// refused for the others, so adding a spec never takes a port from one that
// already had it under the same names. A missing dir is no instances.
func LoadAll(dir string) ([]Instance, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read spec dir: %w", err)
	}
	var out []Instance
	for _, e := range entries {
		file, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok || strings.HasPrefix(e.Name(), ".") {
			continue // editors' backups and temp files are not specs
		}
		in := Instance{Name: file, File: filepath.Join(dir, e.Name())}
		if err := ValidateName(file); err != nil {
			in.Err = &Error{File: in.File, Msg: fmt.Sprintf("file name is not a valid instance name: %v", err)}
		} else {
			in.Spec, in.Err = ReadFile(in.File)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	checkPorts(out)
	return out, nil
}

func checkPorts(all []Instance) {
	owner := map[int]string{}
	for i := range all {
		in := &all[i]
		if in.Spec == nil {
			continue
		}
		if prev, taken := owner[in.Spec.Port]; taken {
			in.Err = &Error{File: in.File, Line: in.Spec.portLine, Column: in.Spec.portCol, Field: "port",
				Msg: fmt.Sprintf("%d is already used by instance %q", in.Spec.Port, prev), kind: ErrPortConflict}
			in.Spec = nil
			continue
		}
		owner[in.Spec.Port] = in.Name
	}
}
