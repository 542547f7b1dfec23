package specedit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart/fsat"
)

// WriteNew writes path atomically and durably (fsat.WriteFile), and only
// if it does not exist yet: a reader (the generator at a reload) sees
// either no file or all of it. The mode is 0640 (root's group may read): a
// spec may hold the instance's RCON password.
func WriteNew(path string, data []byte) error {
	err := fsat.WriteFile(path, data, fsat.WriteOptions{Perm: 0o640, NoReplace: true})
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s; edit it, or remove it first (left4me delete)", fail.ErrExists, path)
	}
	return err
}

// Replace atomically and durably replaces path's content, keeping its
// owner and its mode narrowed to at most 0640 (Mode): a spec written by hand
// with the shell's 0644 may hold the RCON password, and a rewrite must not
// keep it readable by every local user.
func Replace(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	o := fsat.WriteOptions{Perm: Mode(st.Mode())}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		o.Owner = &[2]int{int(sys.Uid), int(sys.Gid)}
	}
	return fsat.WriteFile(path, data, o)
}

// Mode is the mode a rewritten spec gets: its own, without any bit beyond
// 0640 (no write for the group, nothing for others, no execute), so a
// stricter mode (0600) stays and a wider one is narrowed, never widened.
func Mode(old fs.FileMode) fs.FileMode { return old.Perm() & 0o640 }
