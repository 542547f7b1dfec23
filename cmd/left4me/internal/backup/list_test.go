package backup

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if _, err := Find(dir, ""); !errors.Is(err, ErrNone) {
		t.Errorf("empty: %v", err)
	}
	for _, id := range []string{"20261204T100000Z", "20261205T100000Z", "20261205T100000Z-2"} {
		write(t, filepath.Join(dir, id+Suffix), "x")
	}
	if b, err := Find(dir, ""); err != nil || b.ID != "20261205T100000Z-2" {
		t.Errorf("newest: %v %v", b.ID, err)
	}
	if b, err := Find(dir, "20261204T100000Z"); err != nil || b.ID != "20261204T100000Z" {
		t.Errorf("by id: %v %v", b.ID, err)
	}
	if _, err := Find(dir, "20261204T100001Z"); !errors.Is(err, ErrNone) {
		t.Errorf("missing: %v", err)
	}
}
