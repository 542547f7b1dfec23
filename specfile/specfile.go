// Package specfile reads a spec file the way every part of left4me must:
// a regular file of bounded size, opened so that a FIFO cannot hang the
// reader. It imports no YAML code, so the start helper can compare a spec
// with its start plan without linking the parser.
package specfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSize bounds a spec file.
const MaxSize = 1 << 20

// ErrNotRegular is wrapped by Read for a FIFO, device, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// Read returns the content of the spec file at path. A missing file is an
// error that matches fs.ErrNotExist; a FIFO, device or directory matches
// ErrNotRegular; a file over MaxSize is read up to MaxSize+1 bytes and
// returned, so the caller reports it with its own location rules.
func Read(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	// One read of the stat size (+1 to see growth) covers nearly every file.
	data := make([]byte, 0, min(fi.Size(), MaxSize)+1)
	data, err = readAll(f, data, MaxSize+1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

func readAll(r io.Reader, b []byte, limit int) ([]byte, error) {
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}
