// Package treetest writes file trees for tests from a map of relative
// path to body, so every package's fixtures follow one convention.
package treetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Write creates files below dir, making parent directories 0755 and files
// 0644. A key ending in / makes a directory; a body of the form "->TARGET"
// makes a symlink to TARGET instead of a file.
func Write(dir string, files map[string]string) error {
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("tree %s: %w", dir, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("tree %s: %w", dir, err)
		}
		var err error
		if target, ok := strings.CutPrefix(body, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(body), 0o644)
		}
		if err != nil {
			return fmt.Errorf("tree %s: %w", dir, err)
		}
	}
	return nil
}
