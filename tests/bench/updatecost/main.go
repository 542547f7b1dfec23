// Command updatecost measures what a game update stores: a synthetic
// installation with the real one's shape (tens of thousands of small
// files, shared objects, a few large VPKs) is installed, then updated by
// the stand-in steamcmd told to rewrite every file in place while only a
// few change (depot switch rewrite=all, like a validate pass). It reports
// the bytes the new version stores anew and the update's wall time, beside
// a full copy of the installation (cp -a), as Markdown. Run as root by
// tests/bench/run.sh (make bench), in a scratch directory on a tmpfs.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	scratch := flag.String("scratch", "", "empty directory for everything (required)")
	bin := flag.String("bin", "build", "directory with left4me and the stand-in steamcmd")
	small := flag.Int("files", 30000, "small files (1-8 KiB)")
	vpks := flag.Int("vpks", 3, "large VPK archives")
	vpkMB := flag.Int("vpk-mb", 512, "size of each VPK in MiB")
	changed := flag.Int("changed", 20, "small files the update really changes (one VPK of 64 MiB changes too)")
	flag.Parse()
	if *scratch == "" {
		fail(fmt.Errorf("-scratch is required"))
	}
	if err := run(*scratch, *bin, *small, *vpks, *vpkMB, *changed); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "updatecost:", err)
	os.Exit(1)
}

func run(scratch, bin string, small, vpks, vpkMB, changed int) error {
	bin, _ = filepath.Abs(bin)
	depot, state := filepath.Join(scratch, "depot"), filepath.Join(scratch, "state")
	files := filepath.Join(depot, "files")
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	total, err := makeInstallation(files, rng, small, vpks, vpkMB)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(depot, "build"), []byte("100"), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "LEFT4ME_ROOT="+state, "STEAMCMD_STANDIN_DEPOT="+depot, "LEFT4ME_STEAMCMD="+filepath.Join(bin, "steamcmd"))
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	if _, err := left4me(bin, env, "game", "install"); err != nil {
		return err
	}
	old, err := os.Readlink(filepath.Join(state, "installation"))
	if err != nil {
		return err
	}
	old = filepath.Join(state, old)

	// The update: a few small files and one 64 MiB VPK really change;
	// steamcmd rewrites every file in place.
	var changedBytes int64
	for i := range changed {
		p := filepath.Join(files, "left4dead2", fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d.txt", i))
		b := randBytes(rng, 1024+i)
		changedBytes += int64(len(b))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	big := randBytes(rng, 64<<20)
	changedBytes += int64(len(big))
	if err := os.WriteFile(filepath.Join(files, "left4dead2", "pak_update_dir.vpk"), big, 0o644); err != nil {
		return err
	}
	for name, body := range map[string]string{"build": "200", "rewrite": "all"} {
		if err := os.WriteFile(filepath.Join(depot, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	updTime, err := left4me(bin, env, "game", "update")
	if err != nil {
		return err
	}
	cur, err := os.Readlink(filepath.Join(state, "installation"))
	if err != nil {
		return err
	}
	stored, err := newBytes(old, filepath.Join(state, cur))
	if err != nil {
		return err
	}
	start := time.Now()
	if out, err := exec.Command("cp", "-a", old, filepath.Join(scratch, "copy")).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a: %v: %s", err, out)
	}
	cpTime := time.Since(start)
	nfiles := small + vpks + 2 + 100
	fmt.Printf("### Game update: bytes stored anew and wall time\n\n")
	fmt.Printf("A synthetic installation of %d files, %.2f GiB (%d small files, 100 shared objects, %d VPKs of %d MiB), updated by the stand-in steamcmd rewriting every file in place (rewrite=all) while %d small files and one 64 MiB VPK really change (%.1f MiB).\n\n",
		nfiles, float64(total)/(1<<30), small, vpks, vpkMB, changed, float64(changedBytes)/(1<<20))
	fmt.Printf("| | wall time | bytes stored anew | over what really changed |\n|---|---:|---:|---:|\n")
	fmt.Printf("| left4me game update | %.2f s | %.1f MiB | %+.2f%% |\n", updTime.Seconds(), float64(stored)/(1<<20), 100*float64(stored-changedBytes)/float64(changedBytes))
	fmt.Printf("| cp -a of the installation | %.2f s | %.1f MiB | %+.0f%% |\n\n", cpTime.Seconds(), float64(total)/(1<<20), 100*float64(total-changedBytes)/float64(changedBytes))
	target := "met"
	if float64(stored) > 1.01*float64(changedBytes) {
		target = "**MISSED**"
	}
	fmt.Printf("- Target, bytes stored anew within 1%% of those that changed: %s\n", target)
	return nil
}

// makeInstallation writes the synthetic tree and returns its size.
func makeInstallation(dir string, rng *rand.Rand, small, vpks, vpkMB int) (int64, error) {
	var total int64
	put := func(rel string, b []byte, mode os.FileMode) error {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		total += int64(len(b))
		return os.WriteFile(p, b, mode)
	}
	for _, f := range []string{"srcds_run", "srcds_linux"} {
		if err := put(f, randBytes(rng, 8192), 0o755); err != nil {
			return 0, err
		}
	}
	for i := range 100 {
		if err := put(fmt.Sprintf("bin/lib%03d.so", i), randBytes(rng, 200<<10), 0o755); err != nil {
			return 0, err
		}
	}
	for i := range small {
		rel := filepath.Join("left4dead2", fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%05d.txt", i))
		if err := put(rel, randBytes(rng, 1024+rng.IntN(7<<10)), 0o644); err != nil {
			return 0, err
		}
	}
	for i := range vpks {
		if err := put(fmt.Sprintf("left4dead2/pak01_%03d.vpk", i), randBytes(rng, vpkMB<<20), 0o644); err != nil {
			return 0, err
		}
	}
	if err := put("left4dead2/pak_update_dir.vpk", randBytes(rng, 64<<20), 0o644); err != nil {
		return 0, err
	}
	return total, nil
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func left4me(bin string, env []string, args ...string) (time.Duration, error) {
	cmd := exec.Command(filepath.Join(bin, "left4me"), args...)
	cmd.Env = env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("left4me %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return time.Since(start), nil
}

// newBytes sums the regular files of dir whose inodes the old version
// does not have: what the update stored anew.
func newBytes(old, dir string) (int64, error) {
	have := map[uint64]bool{}
	err := filepath.WalkDir(old, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				have[fi.Sys().(*syscall.Stat_t).Ino] = true
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	var n int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !have[fi.Sys().(*syscall.Stat_t).Ino] {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}
