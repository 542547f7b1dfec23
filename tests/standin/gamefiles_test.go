package main

import (
	"os"
	"strings"
	"testing"

	"github.com/left4me/left4me/tests/treetest"
)

func TestLoadGameFiles(t *testing.T) {
	dir := t.TempDir()
	page := strings.Repeat("x", 4096)
	if err := treetest.Write(dir, map[string]string{
		"bin/engine_srv.so":              page + page + "tail",
		"left4dead2/bin/server_srv.so":   page,
		"left4dead2/pak01_dir.vpk":       page + "idx",
		"left4dead2/pak01_000.vpk":       page,
		"left4dead2/maps/c1m1_hotel.bsp": page, // not read at start
		"bin/empty.so":                   "",
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir+"/left4dead2/pak01_000.vpk", 0); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var lines []string
	l := loadGameFiles("left4dead2", func(f string, a ...any) { lines = append(lines, f) })
	vpks, vpkBytes, failures := 2, int64(2*4096+3), 1 // bin/empty.so
	if os.Getuid() != 0 {                             // root reads a mode-0 file; others get EACCES
		vpks, vpkBytes, failures = 1, 4096+3, 2
	}
	if l.libs != 2 || l.libBytes != 3*4096+4 || l.vpks != vpks || l.vpkBytes != vpkBytes {
		t.Errorf("loaded %+v", l)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, so := range []string{"/bin/engine_srv.so", "/left4dead2/bin/server_srv.so"} {
		if !strings.Contains(string(maps), dir+so) {
			t.Errorf("%s is not mapped", so)
		}
	}
	if len(lines) != failures {
		t.Errorf("reported %q, want %d failure(s)", lines, failures)
	}
}
