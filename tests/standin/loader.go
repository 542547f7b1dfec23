package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The real srcds_linux is a small launcher that dlopens bin/dedicated_srv.so
// and prints "Failed to open %s (%s)" with dlerror() when that fails, then
// returns -1 (dedicated_main/main.cpp of the Source engine, as published in
// nillerusr/source-engine; the L4D2 message as users report it:
// ValveSoftware/Source-1-Games#1542, GameServerManagers/LinuxGSM#124).
// dedicated_srv.so needs libtier0_srv.so and libvstdlib_srv.so from bin/,
// which the dynamic loader only finds through LD_LIBRARY_PATH (hence
// srcds_run's export; nillerusr/source-engine#277 is that failure when it
// is missing). The stand-in checks the first of them.
const (
	launcherLib = "dedicated_srv.so"
	tier0Lib    = "libtier0_srv.so"
	// loaderExit is main's "return -1" as an exit status.
	loaderExit = 255
)

// findLibrary looks for name in the directories of ldLibraryPath as ld.so(8)
// does: entries are separated by colons or semicolons, a zero-length entry
// is the working directory and relative entries are relative to it. A
// candidate counts if it opens for reading and is not a directory. The
// system directories are not searched: nothing installs Valve's libraries
// there. The error is dlerror()'s text.
func findLibrary(name, ldLibraryPath string) (string, error) {
	errno := syscall.ENOENT
	var dirs []string
	if ldLibraryPath != "" { // glibc ignores an empty variable
		dirs = strings.Split(strings.ReplaceAll(ldLibraryPath, ";", ":"), ":")
	}
	for _, dir := range dirs {
		if dir == "" {
			dir = "."
		}
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				var e syscall.Errno
				if errors.As(err, &e) {
					errno = e
				}
			}
			continue
		}
		st, err := f.Stat()
		f.Close()
		if err == nil && !st.IsDir() {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: cannot open shared object file: %s", name, errnoText(errno))
}

// errnoText is strerror(3)'s text, which Go's Errno.Error() lower-cases.
func errnoText(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// baseDir is where the engine changes directory before loading the game:
// UTIL_ComputeBaseDir (dedicated/sys_ded.cpp) takes argv[0] up to its last
// '/', lower-cases it (Q_strlower) and main() chdirs there without checking.
// Started as ./srcds_linux, that is "." and nothing changes.
func baseDir(argv0 string) string {
	dir := argv0
	if i := strings.LastIndexByte(argv0, '/'); i >= 0 {
		dir = argv0[:i]
		if dir == "" {
			dir = "/"
		}
	}
	return strings.ToLower(dir)
}
