package journal

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	if got := Args("l4d2@a.service", 5, true); !reflect.DeepEqual(got, []string{"--unit", "l4d2@a.service", "--lines", "5", "--follow"}) {
		t.Errorf("got %q", got)
	}
	if got := Args("u", 0, false); !reflect.DeepEqual(got, []string{"--unit", "u"}) {
		t.Errorf("got %q", got)
	}
}

func TestExecMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Exec(context.Background(), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "journalctl not found") {
		t.Fatalf("got %v", err)
	}
}
