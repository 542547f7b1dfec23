package mountinfo

import (
	"reflect"
	"testing"
)

const sample = `22 1 0:21 / / rw - ext4 /dev/root rw
40 22 0:35 / /var/lib/left4me/runtime/srv1/merged rw shared:5 - overlay overlay rw,lowerdir=x
41 22 0:36 / /var/lib/left4me/runtime/srv10/merged rw - overlay overlay rw
42 22 0:37 /sub /var/lib/left4me/runtime/srv1/upper/with\040space rw - tmpfs my\134src rw
43 22 0:38 / /var/lib/left4me/runtime/srv1 rw - tmpfs tmpfs rw
garbage line
44 22 0:39 / /short rw - tmpfs
`

func TestParse(t *testing.T) {
	ms := Parse(sample)
	if len(ms) != 5 {
		t.Fatalf("%d mounts: %+v", len(ms), ms)
	}
	want := Mount{Root: "/sub", Point: "/var/lib/left4me/runtime/srv1/upper/with space", FSType: "tmpfs", Source: `my\src`, SuperOpts: "rw"}
	if ms[3] != want {
		t.Fatalf("got %+v\nwant %+v", ms[3], want)
	}
}

func TestUnder(t *testing.T) {
	ms := Parse(sample)
	for _, c := range []struct {
		self bool
		want []string
	}{
		{false, []string{"/var/lib/left4me/runtime/srv1/merged", "/var/lib/left4me/runtime/srv1/upper/with space"}},
		{true, []string{"/var/lib/left4me/runtime/srv1/merged", "/var/lib/left4me/runtime/srv1/upper/with space", "/var/lib/left4me/runtime/srv1"}},
	} {
		if got := Under(ms, "/var/lib/left4me/runtime/srv1/", c.self); !reflect.DeepEqual(got, c.want) {
			t.Errorf("includeSelf %v: %q", c.self, got)
		}
	}
}
