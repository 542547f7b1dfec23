package backup

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUsage(t *testing.T) {
	runtime, _ := fixture(t)
	f, err := os.Create(filepath.Join(runtime, "upper", "big"))
	must(t, err)
	f.Write(make([]byte, 1<<20))
	f.Close()
	n, err := Usage(runtime)
	must(t, err)
	if n < 1<<20 || n > 2<<20 {
		t.Errorf("usage %d, want about 1 MiB (the link's target not counted)", n)
	}
}
