package prestart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookupUser(t *testing.T) {
	passwd := filepath.Join(t.TempDir(), "passwd")
	body := "root:x:0:0:root:/root:/bin/bash\nleft4mex:x:5:5::/:/bin/false\nleft4me:x:998:997:left4me:/var/lib/left4me:/usr/sbin/nologin\nbad:x:1\nneg:x:-1:3:::\n"
	if err := os.WriteFile(passwd, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		uid, gid int
		err      string
	}{
		{"left4me", 998, 997, ""},
		{"root", 0, 0, ""},
		{"left4", 0, 0, "unknown user"},
		{"bad", 0, 0, "malformed entry"},
		{"neg", 0, 0, "malformed uid"},
	}
	for _, c := range cases {
		uid, gid, err := lookupUser(passwd, c.name)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %d %d %v, want error %q", c.name, uid, gid, err, c.err)
			}
			continue
		}
		if err != nil || uid != c.uid || gid != c.gid {
			t.Errorf("%s: %d %d %v, want %d %d", c.name, uid, gid, err, c.uid, c.gid)
		}
	}
}
