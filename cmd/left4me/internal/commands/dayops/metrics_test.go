package dayops

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupStats(t *testing.T) {
	const cg = "/system.slice/system-l4d2.slice/l4d2@srv1.service"
	v2 := t.TempDir()
	mkdirAll(t, filepath.Join(v2, cg))
	writeFile(t, filepath.Join(v2, cg, "memory.current"), "1048576\n")
	writeFile(t, filepath.Join(v2, cg, "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\n")
	v1 := t.TempDir()
	mkdirAll(t, filepath.Join(v1, "memory", cg), filepath.Join(v1, "cpuacct", cg))
	writeFile(t, filepath.Join(v1, "memory", cg, "memory.usage_in_bytes"), "1048576\n")
	writeFile(t, filepath.Join(v1, "cpuacct", cg, "cpuacct.usage"), "2500000000\n")
	for name, root := range map[string]string{"v2": v2, "v1": v1} {
		mem, cpu := cgroupStats(root, cg)
		if mem == nil || *mem != 1<<20 || cpu == nil || *cpu != 2.5 {
			t.Errorf("%s: mem %v cpu %v", name, mem, cpu)
		}
	}
	if mem, cpu := cgroupStats(t.TempDir(), cg); mem != nil || cpu != nil {
		t.Errorf("nothing to read, yet %v %v", mem, cpu)
	}
}

func mkdirAll(t *testing.T, dirs ...string) {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
