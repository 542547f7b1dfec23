package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"golang.org/x/sys/unix"
)

// A sparse file is stored in GNU tar's PAX sparse format 1.0 (GNU tar
// manual, "Storing Sparse Files", format 1.0): a PAX header with
// GNU.sparse.{major,minor,name,realsize}, then an entry whose data is the
// map (entry count, then offset and length of each piece of data, one
// number a line, padded to a block) followed by the data pieces. GNU tar,
// bsdtar and Go's archive/tar (so Restore) read it back with the holes;
// Go's tar.Writer drops GNU.sparse records, so the blocks are made here.

// segment is a run of data in a file; what lies between two is a hole.
type segment struct{ off, n int64 }

// maxSegments bounds a file's map: Go's tar reader refuses a map of
// more than 1 MiB (40 bytes an entry at most); a file with more pieces
// has the rest stored as one, zeros and all, and counted so.
const maxSegments = 16384

// extents lists the data of fd's first size bytes (SEEK_DATA/SEEK_HOLE,
// lseek(2)): a filesystem without them reports one piece, the whole.
func extents(fd int, size int64) ([]segment, error) {
	var segs []segment
	for off := int64(0); off < size; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) { // only a hole is left
			break
		}
		if err != nil {
			return nil, err
		}
		if start >= size {
			break
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		if end > size || len(segs) == maxSegments-1 {
			end = size
		}
		if end <= start { // the file changed under the lseeks
			return nil, ErrChanged
		}
		segs = append(segs, segment{start, end - start})
		off = end
	}
	return segs, nil
}

// stored is the bytes of data segs hold.
func stored(segs []segment) int64 {
	var n int64
	for _, s := range segs {
		n += s.n
	}
	return n
}

// dense: segs are the whole file of size bytes, no hole to keep.
func dense(segs []segment, size int64) bool {
	return size == 0 || len(segs) == 1 && segs[0] == segment{0, size}
}

// sparseMap is the map of format 1.0, padded to a block. The file's size
// closes it as an empty piece when it ends in a hole, as GNU tar writes
// it, so a reader that sizes the file by the map gets it right.
func sparseMap(segs []segment, size int64) []byte {
	if n := len(segs); n == 0 || segs[n-1].off+segs[n-1].n < size {
		segs = append(segs[:n:n], segment{size, 0})
	}
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(len(segs)) + "\n")
	for _, s := range segs {
		b.WriteString(strconv.FormatInt(s.off, 10) + "\n" + strconv.FormatInt(s.n, 10) + "\n")
	}
	b.Write(make([]byte, padding(int64(b.Len()))))
	return b.Bytes()
}

func padding(n int64) int64 { return -n & (blockSize - 1) }

const blockSize = 512

// paxRecord is one "LEN KEY=VALUE\n" record (POSIX pax, extended header),
// LEN counting itself.
func paxRecord(k, v string) string {
	n := len(k) + len(v) + 3
	n += len(strconv.Itoa(n))
	rec := strconv.Itoa(n) + " " + k + "=" + v + "\n"
	if len(rec) != n { // LEN grew a digit by counting itself
		rec = strconv.Itoa(len(rec)) + " " + k + "=" + v + "\n"
	}
	return rec
}

// ustarBlock is a ustar header block. A number that does not fit its
// octal field is left 0: the PAX records before it carry it.
func ustarBlock(name string, typ byte, h *tar.Header, size int64) []byte {
	b := make([]byte, blockSize)
	copy(b[0:100], name)
	octal(b[100:108], h.Mode)
	octal(b[108:116], int64(h.Uid))
	octal(b[116:124], int64(h.Gid))
	octal(b[124:136], size)
	octal(b[136:148], h.ModTime.Unix())
	b[156] = typ
	copy(b[257:265], "ustar\x0000")
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func octal(f []byte, v int64) {
	s := strconv.FormatInt(v, 8)
	if v < 0 || len(s) > len(f)-1 {
		s = "0"
	}
	copy(f, fmt.Sprintf("%0*s\x00", len(f)-1, s))
}

// writeSparse writes h (Size the file's, realsize) as a sparse entry of
// segs, whose data data writes in order.
func (w *walker) writeSparse(h *tar.Header, segs []segment, data func(io.Writer) error) error {
	m := sparseMap(segs, h.Size)
	size := int64(len(m)) + stored(segs)
	var pax bytes.Buffer
	for _, kv := range [][2]string{
		{"GNU.sparse.major", "1"}, {"GNU.sparse.minor", "0"},
		{"GNU.sparse.name", h.Name}, {"GNU.sparse.realsize", strconv.FormatInt(h.Size, 10)},
		{"size", strconv.FormatInt(size, 10)},
		{"uid", strconv.Itoa(h.Uid)}, {"gid", strconv.Itoa(h.Gid)},
		{"mtime", strconv.FormatInt(h.ModTime.Unix(), 10)},
	} {
		pax.WriteString(paxRecord(kv[0], kv[1]))
	}
	recs := int64(pax.Len()) // the padding after them is not theirs
	pax.Write(make([]byte, padding(recs)))
	if err := w.tw.Flush(); err != nil { // the previous entry's padding
		return fmt.Errorf("archive %s: %w", w.where(h.Name), err)
	}
	for _, b := range [][]byte{ustarBlock("PaxHeaders/sparse", tar.TypeXHeader, h, recs), pax.Bytes(), ustarBlock("GNUSparseFile.0/sparse", tar.TypeReg, h, size), m} {
		if _, err := w.raw.Write(b); err != nil {
			return fmt.Errorf("archive %s: %w", w.where(h.Name), err)
		}
	}
	cw := &countWriter{w: w.raw}
	if err := data(cw); err != nil {
		return err
	}
	if cw.n != stored(segs) { // the tar would be out of step
		return fmt.Errorf("archive %s: %d bytes of data, not %d", w.where(h.Name), cw.n, stored(segs))
	}
	if _, err := w.raw.Write(make([]byte, padding(size))); err != nil {
		return fmt.Errorf("archive %s: %w", w.where(h.Name), err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
