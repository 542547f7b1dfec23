package dayops

import (
	"errors"
	"testing"

	"github.com/left4me/left4me/tests/treetest"
)

func TestCgroupStats(t *testing.T) {
	const cg = "/system.slice/system-l4d2.slice/l4d2@srv1.service"
	v2, v1 := t.TempDir(), t.TempDir()
	if err := errors.Join(
		treetest.Write(v2, map[string]string{cg + "/memory.current": "1048576\n", cg + "/cpu.stat": "usage_usec 2500000\nuser_usec 2000000\n"}),
		treetest.Write(v1, map[string]string{"memory" + cg + "/memory.usage_in_bytes": "1048576\n", "cpuacct" + cg + "/cpuacct.usage": "2500000000\n"}),
	); err != nil {
		t.Fatal(err)
	}
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
