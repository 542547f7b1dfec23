package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// loaded is what loadGameFiles mapped and read.
type loaded struct {
	libs, vpks         int
	libBytes, vpkBytes int64
}

func (l loaded) String() string {
	return fmt.Sprintf("mapped %d shared objects (%.1f MiB), read %d VPK archives (%.1f MiB)",
		l.libs, float64(l.libBytes)/(1<<20), l.vpks, float64(l.vpkBytes)/(1<<20))
}

// loadGameFiles does to the game tree what the engine's start does to the
// page cache, harsher. The real srcds_linux dlopens dedicated_srv.so, which
// loads engine_srv.so, the other libraries of bin/ and GAME/bin/server_srv.so
// (dedicated_main/main.cpp and the engine's Sys_LoadModule in the published
// Source engine, nillerusr/source-engine), each mapped MAP_PRIVATE with
// PROT_READ|PROT_EXEC by ld.so, so their pages are shared page cache; the
// stand-in maps every *.so there and touches every page, where the real
// loader faults in only what runs. The engine's filesystem reads the VPK
// archives (GAME/pak01_dir.vpk and its pak01_NNN.vpk chunks) with read(2)
// as assets are needed; the stand-in reads every *.vpk in GAME once, whole.
// The mappings stay for the life of the process, like loaded libraries.
// A file it cannot open or map is reported and skipped.
func loadGameFiles(game string, logf func(string, ...any)) loaded {
	var l loaded
	libs, _ := filepath.Glob("bin/*.so")
	more, _ := filepath.Glob(filepath.Join(game, "bin", "*.so"))
	for _, p := range append(libs, more...) {
		n, err := mapLibrary(p)
		if err != nil {
			logf("load %s: %v", p, err)
			continue
		}
		l.libs++
		l.libBytes += n
	}
	vpks, _ := filepath.Glob(filepath.Join(game, "*.vpk"))
	buf := make([]byte, 1<<20)
	for _, p := range vpks {
		n, err := readAll(p, buf)
		if err != nil {
			logf("read %s: %v", p, err)
			continue
		}
		l.vpks++
		l.vpkBytes += n
	}
	return l
}

// mapLibrary maps path as ld.so maps a library's text and reads one byte
// of every page, so that each page is in the page cache and mapped.
func mapLibrary(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size() == 0 {
		return 0, errors.New("file too short") // ld.so's words
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_EXEC, syscall.MAP_PRIVATE)
	if err != nil {
		return 0, err
	}
	var sum byte
	for i := 0; i < len(m); i += os.Getpagesize() {
		sum += m[i]
	}
	runtime.KeepAlive(sum) // the reads must happen
	return st.Size(), nil
}

// readAll reads path to its end through buf.
func readAll(path string, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for {
		k, err := f.Read(buf)
		n += int64(k)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
	}
}
