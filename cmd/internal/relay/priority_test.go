package relay

import (
	"bytes"
	"testing"
)

// Each line gets the fixed prefix in front of whatever it starts with.
func TestAtPriority(t *testing.T) {
	var b bytes.Buffer
	w := AtPriority(&b, 6)
	for _, l := range []string{"<0>emergency, says the server\n", "plain\n"} {
		if n, err := w.Write([]byte(l)); err != nil || n != len(l) {
			t.Fatalf("%d %v", n, err)
		}
	}
	if got := b.String(); got != "<6><0>emergency, says the server\n<6>plain\n" {
		t.Errorf("%q", got)
	}
}
