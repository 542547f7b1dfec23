package ovbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// standinSteamcmd builds the stand-in steamcmd (tests/steamcmd) with a
// depot of Workshop items: ID -> file name -> body, or ID.fail -> result.
func standinSteamcmd(t *testing.T, items map[string]map[string]string) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Skipf("go env GOMOD: %v", err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "steamcmd")
	build := exec.Command("go", "build", "-o", exe, "./tests/steamcmd")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in steamcmd: %v\n%s", err, out)
	}
	for id, files := range items {
		for name, body := range files {
			p := filepath.Join(dir, "depot", "workshop", id, name)
			if strings.HasSuffix(id, ".fail") {
				p = filepath.Join(dir, "depot", "workshop", id)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(body, "->") {
				if err := os.Symlink(strings.TrimPrefix(body, "->"), p); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return exe
}

func TestWorkshopHelper(t *testing.T) {
	sc := standinSteamcmd(t, map[string]map[string]string{
		"123":      {"5566_legacy.bin": "VPK 123"},
		"124":      {"map.vpk": "VPK 124", "readme.txt": "hi"},
		"456.fail": {"": "Access Denied\n"},
		"777":      {"a.vpk": "a", "b.vpk": "b"},
		"888":      {"x.vpk": "->/etc/passwd"},
	})
	pre := "export LEFT4ME_STEAMCMD=" + sc + "\n"
	layer, out, err := runHelpers(t, pre+"workshop 123 124\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for p, want := range map[string]string{"left4dead2/addons/123.vpk": "VPK 123", "left4dead2/addons/124.vpk": "VPK 124"} {
		if b, err := os.ReadFile(filepath.Join(layer, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	if !strings.Contains(out, "Success. Downloaded item 123 to ") || !strings.Contains(out, "workshop: item 124 -> addons/124.vpk") {
		t.Errorf("output:\n%s", out)
	}
	for _, c := range []struct{ args, want string }{
		{"123 456", "workshop: item 456 was not downloaded: ERROR! Download item 456 failed (Access Denied)."},
		{"999", "workshop: item 999 was not downloaded: ERROR! Download item 999 failed (File Not Found)."},
		{"777", "workshop: item 777 holds more than one vpk"},
		{"888", "workshop: item 888 holds no vpk"},
		{"12a", "workshop: 12a: not an item ID (digits only)"},
		{"", "workshop: give one or more item IDs"},
	} {
		t.Run(c.args, func(t *testing.T) {
			_, out, err := runHelpers(t, pre+"workshop "+c.args+"\necho after\n")
			if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, "\nafter") {
				t.Errorf("%v\n%s\nwant %q", err, out, c.want)
			}
		})
	}
}
