package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// The first version, made by hand as an operator might have: no marker.
const gameV1 = "100-20251101T000000Z"

func gameManifest(build string) string {
	return "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"4\"\n\t\"buildid\"\t\t\"" + build + "\"\n}\n"
}

// depot sets what the stand-in steamcmd serves: build and files.
func depot(t *testing.T, c *Container, build, who string, extra map[string]string) {
	t.Helper()
	dir := filepath.Join(c.Root, "opt/steamcmd/depot")
	if err := os.RemoveAll(filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"build":                           build,
		"files/left4dead2/who.txt":        who,
		"files/left4dead2/keep.txt":       "same in every build",
		"files/left4dead2/cfg/build.cfg":  `hostname "build ` + build + `"` + "\n",
		"files/left4dead2/cfg/server.cfg": "// shipped by the game, replaced by each instance's own\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	installStandin(t, filepath.Join(dir, "files"))
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func currentLink(t *testing.T, state string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(state, "installation"))
	if err != nil {
		t.Fatal(err)
	}
	return target
}
