package e2e

import (
	"maps"
	"testing"
)

// bootPaged boots a host with the game installed, the state files given
// (overlays, below the state root) and the files given in the root (specs),
// whose alerts go to a command that appends each event to
// /run/events.jsonl. It returns the container and the state root.
func bootPaged(t *testing.T, stateFiles, rootFiles map[string]string) (*Container, string) {
	t.Helper()
	return bootPagedAt(t, t.TempDir(), stateFiles, rootFiles)
}

// bootPagedAt is bootPaged with the state root in state (a filesystem the
// test mounted there).
func bootPagedAt(t *testing.T, state string, stateFiles, rootFiles map[string]string) (*Container, string) {
	t.Helper()
	installGame(t, state)
	if err := writeFiles(state, stateFiles); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"etc/left4me/alerts.yaml": "command: /usr/local/bin/page\n",
		"usr/local/bin/page":      "#!/bin/sh\ncat >>/run/events.jsonl; echo >>/run/events.jsonl\n",
	}
	maps.Copy(files, rootFiles)
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, files) }})
	c.MustRun(t, "chmod", "0755", "/usr/local/bin/page")
	return c, state
}
