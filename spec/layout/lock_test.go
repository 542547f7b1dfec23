package layout

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A lock held by another process is refused, naming that process, and
// taken by Wait once the holder is gone.
func TestHolderNamed(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("no flock(1)")
	}
	dir := t.TempDir()
	// -o: sleep does not inherit the lock, which dies with flock(1).
	holder := exec.Command("flock", "-o", "-x", dir, "sleep", "30")
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { syscall.Kill(-holder.Process.Pid, syscall.SIGKILL) }
	defer kill()
	var held *HeldError
	deadline := time.Now().Add(5 * time.Second)
	for {
		release, err := TryLock(dir)
		if errors.As(err, &held) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		release()
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !errors.Is(held, ErrLocked) || !strings.Contains(held.Error(), "(flock -o -x "+dir) {
		t.Errorf("error %q does not name the holder", held)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	waited := 0
	if _, err := WaitLock(ctx, dir, func(*HeldError) { waited++ }); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrLocked) || waited != 1 {
		t.Errorf("Wait on a held lock: %v (told %d times)", err, waited)
	}
	kill()
	holder.Wait()
	release, err := WaitLock(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestTryLockMissingDir(t *testing.T) {
	if _, err := TryLock(t.TempDir() + "/none"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}
