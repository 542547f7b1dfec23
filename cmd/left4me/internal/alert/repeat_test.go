package alert

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The same event within Every is held back and counted; after Every, or
// with anything of it changed, it goes; a record only counts once sent.
func TestHold(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	h := Hold{Dir: filepath.Join(t.TempDir(), "alerts"), Every: 4 * time.Hour, Now: func() time.Time { return now }}
	refused := Event{Kind: StartRefused, Instance: "srv1", Summary: "srv1: its start helper refused to start it", Detail: "overlay missing"}
	check := func(ev Event) (bool, Sent, string) {
		t.Helper()
		hold, last, key, err := h.Check(ev)
		if err != nil {
			t.Fatal(err)
		}
		return hold, last, key
	}
	hold, _, key := check(refused)
	if hold {
		t.Fatal("a first event held back")
	}
	// Not sent (every way failed): not recorded, so the next try goes.
	if hold, _, _ := check(refused); hold {
		t.Fatal("held back after a send that was never recorded")
	}
	if err := h.Record(key); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Duration{time.Minute, 3 * time.Minute, 3*time.Hour + 59*time.Minute} {
		now = now.Add(at - now.Sub(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)))
		hold, last, _ := check(refused)
		if !hold || last.Held != i+1 {
			t.Fatalf("after %v: hold %v, held %d", at, hold, last.Held)
		}
	}
	other := refused
	other.Detail = "game not installed"
	if hold, _, _ := check(other); hold {
		t.Error("another reason held back")
	}
	other = refused
	other.Instance = "srv2"
	if hold, _, _ := check(other); hold {
		t.Error("another instance held back")
	}
	now = time.Date(2026, 12, 7, 16, 0, 0, 0, time.UTC)
	hold, last, _ := check(refused)
	if hold || last.Held != 3 {
		t.Fatalf("after 4h: hold %v, held %d (want sent, saying 3 were held back)", hold, last.Held)
	}
	if err := h.Record(key); err != nil {
		t.Fatal(err)
	}
	if hold, last, _ := check(refused); !hold || last.Held != 1 {
		t.Errorf("the count did not start over when it went out: hold %v, held %d", hold, last.Held)
	}
	// A record that is not one (torn, or a link) sends, and no link is
	// followed.
	os.WriteFile(filepath.Join(h.Dir, key), []byte("{"), 0o600)
	if hold, _, _ := check(refused); hold {
		t.Error("held back on a torn record")
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	os.WriteFile(target, []byte(`{"at":"2026-12-07T16:00:00Z"}`), 0o600)
	os.Remove(filepath.Join(h.Dir, key))
	os.Symlink(target, filepath.Join(h.Dir, key))
	if _, _, _, err := h.Check(refused); err == nil {
		t.Error("read a record through a link")
	}
}
