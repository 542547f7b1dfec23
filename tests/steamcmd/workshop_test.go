package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// workshop_download_item 550 ID: the item's files below
// steamapps/workshop/content/550/ID, steamcmd's result lines, and status 0
// even for a failed item and with @ShutdownOnFailedCommand 1.
func TestWorkshopDownload(t *testing.T) {
	f := newFixture(t, "1", nil)
	put(t, filepath.Join(f.depot, "workshop/123/987654_legacy.bin"), "VPK")
	put(t, filepath.Join(f.depot, "workshop/456.fail"), "Access Denied\n")
	code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous",
		"+workshop_download_item", "550", "123", "+workshop_download_item", "550", "456",
		"+workshop_download_item", "550", "789", "+quit")
	if code != 0 {
		t.Errorf("exit %d, want 0 (steamcmd does not fail a failed item)", code)
	}
	item := filepath.Join(f.dir, "steamapps/workshop/content/550/123")
	for _, want := range []string{
		"Downloading item 123 ...\n",
		"Success. Downloaded item 123 to \"" + item + "\" (3 bytes)\n",
		"ERROR! Download item 456 failed (Access Denied).\n",
		"ERROR! Download item 789 failed (File Not Found).\n",
		"Unloading Steam API...OK",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(item, "987654_legacy.bin")); err != nil || string(b) != "VPK" {
		t.Errorf("item file: %q %v", b, err)
	}
	code, out = f.run(t, "+force_install_dir", f.dir, "+workshop_download_item", "550", "123", "+quit")
	if code != 8 || !strings.Contains(out, "ERROR! Not logged on.") {
		t.Errorf("without a login: %d\n%s", code, out)
	}
}
