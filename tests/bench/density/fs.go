package main

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// xfs is the loop-mounted XFS filesystem everything lives on.
type xfs struct {
	image, dev, mnt string
}

func sh(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// newXFS makes a sparse image of sizeMB in dir, a direct-I/O loop device
// over it and an XFS filesystem (reflink is on by default since xfsprogs
// 5.1) mounted below dir.
func newXFS(dir string, sizeMB int) (*xfs, error) {
	base, err := os.MkdirTemp(dir, "left4me-density.")
	if err != nil {
		return nil, err
	}
	x := &xfs{image: filepath.Join(base, "image"), mnt: filepath.Join(base, "mnt")}
	if err := os.Chmod(base, 0o755); err != nil { // the servers' user walks through
		return nil, err
	}
	f, err := os.Create(x.image)
	if err == nil {
		err = f.Truncate(int64(sizeMB) << 20)
		f.Close()
	}
	if err == nil {
		err = os.Mkdir(x.mnt, 0o755)
	}
	if err == nil {
		x.dev, err = sh("losetup", "--find", "--show", "--direct-io=on", x.image)
	}
	if err == nil {
		_, err = sh("mkfs.xfs", "-q", "-m", "reflink=1", x.dev)
	}
	if err == nil {
		_, err = sh("mount", "-t", "xfs", x.dev, x.mnt)
	}
	if err != nil {
		return nil, fmt.Errorf("%w; %v", err, x.close())
	}
	return x, nil
}

// close unmounts everything below the mount point, detaches the loop
// device and removes the image.
func (x *xfs) close() error {
	var errs []string
	if x.mnt != "" {
		if _, err := sh("umount", "-R", x.mnt); err != nil && isMount(x.mnt) {
			if _, err := sh("umount", "-R", "-l", x.mnt); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if x.dev != "" {
		if _, err := sh("losetup", "-d", x.dev); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := os.RemoveAll(filepath.Dir(x.image)); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

func isMount(p string) bool {
	var a, b syscall.Stat_t
	return syscall.Lstat(p, &a) == nil && syscall.Lstat(filepath.Dir(p), &b) == nil && a.Dev != b.Dev
}

// makeInstallation writes the game: the stand-in's srcds_run and
// srcds_linux, 16 shared objects of libMB/16 MiB in bin/ and
// left4dead2/bin/ (libtier0_srv.so among them: the engine needs it), a
// 1 MiB VPK directory and a vpkMB VPK chunk. Random bytes: nothing
// below the page cache may share or compress them.
func makeInstallation(dir, bin string, libMB, vpkMB int) error {
	rng := rand.New(rand.NewChaCha8([32]byte{7}))
	lib := int64(libMB) << 20 / 16
	files := map[string]int64{
		"bin/libtier0_srv.so":          lib,
		"left4dead2/bin/server_srv.so": lib,
		"left4dead2/pak01_dir.vpk":     1 << 20,
		"left4dead2/pak01_000.vpk":     int64(vpkMB) << 20,
	}
	for i := range 14 {
		files[fmt.Sprintf("bin/lib%02d_srv.so", i)] = lib
	}
	for rel, size := range files {
		if err := writeRandom(filepath.Join(dir, rel), size, rng); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "left4dead2", "cfg"), 0o755); err != nil {
		return err
	}
	for _, exe := range []string{"srcds_run", "srcds_linux"} {
		data, err := os.ReadFile(filepath.Join(bin, exe))
		if err != nil {
			return fmt.Errorf("%w (make standin builds it)", err)
		}
		if err := os.WriteFile(filepath.Join(dir, exe), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func writeRandom(path string, size int64, rng *rand.Rand) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// usage is what a tree stores: allocated bytes (st_blocks) and file
// sizes, not crossing into other filesystems (the merged mount).
type usage struct{ allocated, apparent int64 }

func diskUsage(root string) (usage, error) {
	var u usage
	var rootDev uint64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		if p == root {
			rootDev = st.Dev
		} else if st.Dev != rootDev {
			return fs.SkipDir // a mount point: the merged tree
		}
		u.allocated += st.Blocks * 512
		if !d.IsDir() {
			u.apparent += st.Size
		}
		return nil
	})
	return u, err
}
