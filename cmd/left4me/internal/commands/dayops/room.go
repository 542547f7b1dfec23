package dayops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
)

// ErrNoRoom: what a command would write does not fit in the free space of
// its filesystem; nothing was stopped or written.
var ErrNoRoom = errors.New("not enough free space")

// write is one thing a command is about to write.
type write struct {
	what  string // for the message: "the backup reset takes first of srv1's upper layer"
	path  string // where it goes
	bytes int64  // at most
	files int64  // inodes it takes at most
	// safety: the backup taken before (--no-backup goes without it, a
	// smaller retention leaves it more room).
	safety bool
}

// margin is what a check keeps to spare beyond n bytes to write: a
// sixteenth, for what the server writes until it is stopped (a restore
// --when-empty waits up to its deadline, then the tree is measured again)
// and for the filesystem's own blocks (directories, extent trees) that
// st_blocks leave out; and prestart.UsersRoom, what every start on that
// filesystem needs left (the servers' trees and their backups share the
// state root's unless one is mounted apart): a backup that left less would
// fail the next start of every server there.
func margin(n int64) int64 { return n/16 + prestart.UsersRoom }

// SafetyBackup is what the backup op (reset, delete, restore) takes
// first of name's upper layer will write, none when there is no upper
// layer to keep.
func (e *Env) SafetyBackup(ctx context.Context, op, name string) ([]write, error) {
	rt := e.Layout.RuntimeDir(name)
	m, err := backup.Measure(ctx, rt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // BackupBefore takes none either
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted while measuring %s for the backup %s takes first; nothing was done: %w", filepath.Join(rt, layout.Upper), op, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: measure %s for the backup %s takes first: %w", name, filepath.Join(rt, layout.Upper), op, err)
	}
	// A backup that would be refused fails after the stop as surely as
	// one that does not fit.
	if err := m.Refusal(); err != nil {
		return nil, fmt.Errorf("%s: %w: %w, so the backup %s takes first could only fail; nothing was stopped or written: make the upper layer smaller (%s), or go without the backup (--no-backup)",
			name, ErrBackupRefused, err, op, filepath.Join(rt, layout.Upper))
	}
	// Its temporary file becomes the backup: one inode, and one for the
	// directory of a first backup.
	return []write{{what: fmt.Sprintf("the backup %s takes first of %s's upper layer", op, name), path: BackupDir(e.Layout, name), bytes: m.Estimate, files: 2, safety: true}}, nil
}

// ErrBackupRefused: the backup taken first would be refused (too deep,
// too long, too much data); nothing was stopped or written.
var ErrBackupRefused = errors.New("a backup of it would be refused")

// unpackedWrite is what a restore of b writes into name's runtime
// directory: the backup unpacked beside the upper layer it replaces
// (the old one goes only once the new one is in place).
func (e *Env) unpackedWrite(ctx context.Context, name string, b backup.Info) ([]write, error) {
	rt := e.Layout.RuntimeDir(name)
	r, err := prestart.RoomAt(rt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	n, files, err := backup.Unpacked(ctx, b, r.Block)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted while reading backup %s of %s for its size; nothing was done: %w", b.ID, name, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: backup %s cannot be restored, so nothing was stopped or written: %w", name, b.ID, err)
	}
	return []write{{what: fmt.Sprintf("backup %s unpacked beside the upper layer it replaces", b.ID), path: rt, bytes: n, files: files}}, nil
}

// CheckRoom refuses writes that would not fit in the free space (for
// users: root's reserve is the host's) of their filesystems, those on one
// filesystem together: called before anything is stopped or asked, so a
// full disk never costs the players their game for a command that could
// only fail.
func (e *Env) CheckRoom(name string, writes []write) error {
	type onFS struct {
		room   prestart.Room
		writes []write
		bytes  int64
		files  int64
	}
	var all []*onFS
	for _, w := range writes {
		r, err := prestart.RoomAt(w.path)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var f *onFS
		for _, g := range all {
			if g.room.Dev == r.Dev {
				f = g
			}
		}
		if f == nil {
			f = &onFS{room: r}
			all = append(all, f)
		}
		f.writes = append(f.writes, w)
		f.bytes += w.bytes
		f.files += w.files
	}
	var errs []error
	for _, f := range all {
		if need := f.bytes + margin(f.bytes); f.room.Counted && f.room.Free < need {
			errs = append(errs, e.noRoom(name, f.room, f.writes, f.bytes, need))
		}
		// Out of inodes, a write fails as out of space does (ENOSPC).
		if need := f.files + f.files/16 + 64; f.room.InodesCounted && f.room.Inodes < need {
			errs = append(errs, e.noInodes(name, f.room, f.writes, need))
		}
	}
	return errors.Join(errs...)
}

// noInodes says which writes need more files than the filesystem r can
// still make (need, with a sixteenth and 64 to spare).
func (e *Env) noInodes(name string, r prestart.Room, writes []write, need int64) error {
	var what, where []string
	for _, w := range writes {
		what = append(what, fmt.Sprintf("%s (%d files and directories)", w.what, w.files))
		where = append(where, w.path)
	}
	return fmt.Errorf("%s: %w for %s, so nothing was stopped or written: with some to spare they need %d inodes on the filesystem of %s, which can make %d more files; remove files there (df -i shows the inodes)",
		name, ErrNoRoom, strings.Join(what, " and "), need, strings.Join(dedupe(where), " and "), r.Inodes)
}

// noRoom says which writes do not fit on the filesystem r (bytes, need
// with the margin), and the ways out.
func (e *Env) noRoom(name string, r prestart.Room, writes []write, bytes, need int64) error {
	var what, where []string
	safety := false
	for _, w := range writes {
		what = append(what, fmt.Sprintf("%s (up to %s)", w.what, prestart.Size(w.bytes)))
		where = append(where, w.path)
		safety = safety || w.safety
	}
	ways := "free space on it"
	if safety {
		dir := BackupDir(e.Layout, name)
		if all, err := backup.List(dir); err == nil && len(all) > 0 {
			var held int64
			for _, b := range all {
				held += b.Size
			}
			ways += fmt.Sprintf(" (%s's %d backup(s) take %s: left4me backups %s lists them; old ones can be removed from %s)", name, len(all), prestart.Size(held), name, dir)
		}
		ways += fmt.Sprintf(", keep fewer backups (backups: {keep: N} in %s, applied from its next backup), or go without the backup (--no-backup)", e.Layout.SpecPath(name))
	}
	it := "it needs"
	if len(writes) > 1 {
		it = "together they need"
	}
	return fmt.Errorf("%s: %w for %s, so nothing was stopped or written: with %s to spare %s %s on the filesystem of %s, which has %s free (for users: root's reserve not counted); %s",
		name, ErrNoRoom, strings.Join(what, " and "), prestart.Size(need-bytes), it, prestart.Size(need),
		strings.Join(dedupe(where), " and "), prestart.Size(r.Free), ways)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
