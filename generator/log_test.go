package generator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogKmsg(t *testing.T) {
	kmsg := filepath.Join(t.TempDir(), "kmsg")
	if err := os.WriteFile(kmsg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	l := NewLog(&stderr, kmsg)
	l.Errorf("skipping x:\n%s", "a.yaml:1:7: port: bad")
	l.Close()
	got, _ := os.ReadFile(kmsg)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "<3>left4me-generator[") || !strings.HasSuffix(lines[1], "]: a.yaml:1:7: port: bad") {
		t.Fatalf("kmsg records %q", lines)
	}
	if stderr.String() != "left4me-generator: skipping x:\nleft4me-generator: a.yaml:1:7: port: bad\n" {
		t.Fatalf("stderr %q", stderr.String())
	}
}
