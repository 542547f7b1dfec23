package backup

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name   string
		ages   []time.Duration // of the backups, oldest first
		keep   int
		maxAge time.Duration
		left   int
	}{
		{"by count", []time.Duration{5 * day, 4 * day, 3 * day, 2 * day}, 2, 0, 2},
		{"by age", []time.Duration{40 * day, 31 * day, 2 * day}, 10, 30 * day, 1},
		{"the newest stays however old", []time.Duration{90 * day, 60 * day}, 10, 30 * day, 1},
		{"keep 0 is keep 1", []time.Duration{2 * day, day}, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, a := range tc.ages {
				write(t, filepath.Join(dir, t0.Add(-a).Format("20060102T150405Z")+Suffix), "x")
			}
			write(t, filepath.Join(dir, "notes.txt"), "not a backup")
			gone, err := Prune(dir, tc.keep, tc.maxAge, t0)
			must(t, err)
			left, err := List(dir)
			must(t, err)
			if len(left) != tc.left || len(gone)+len(left) != len(tc.ages) {
				t.Fatalf("left %v, removed %v", left, gone)
			}
			if newest := t0.Add(-tc.ages[len(tc.ages)-1]); !left[len(left)-1].Time.Equal(newest) {
				t.Errorf("the newest was removed")
			}
			if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
				t.Errorf("a file that is no backup was removed")
			}
		})
	}
}

// Of the backups restores took, only the newest stays (trial restores
// would push the real ones out of keep); it counts as any backup.
func TestPruneRestoreBackups(t *testing.T) {
	runtime, _ := fixture(t)
	dir := t.TempDir()
	var ids []string
	for i, why := range []string{"", "", BeforeRestore, BeforeRestore, BeforeRestore, ""} {
		r, err := Create(runtime, dir, t0.Add(time.Duration(i)*time.Minute), Options{Why: why})
		must(t, err)
		ids = append(ids, r.ID)
	}
	gone, err := Prune(dir, 2, 0, t0.Add(time.Hour))
	must(t, err)
	left, err := ListWhy(dir)
	must(t, err)
	var got []string
	for _, b := range left {
		got = append(got, b.ID)
	}
	// The older restores' (2, 3) go; of the rest the two newest stay.
	want := []string{ids[4], ids[5]}
	if !slices.Equal(got, want) || len(gone) != 4 {
		t.Errorf("left %v, want %v (removed %v)", got, want, gone)
	}
	if left[0].Why != BeforeRestore || left[1].Why != "" {
		t.Errorf("why: %+v", left)
	}
}
