package main

import "testing"

func TestUnitOf(t *testing.T) {
	for _, tc := range []struct{ cgroup, want string }{
		{"0::/machine.slice/machine-x.scope/payload/system.slice/system-l4d2.slice/l4d2@s3.service\n", "l4d2@s3.service"},
		{"12:pids:/system.slice/system-l4d2.slice/l4d2@eu-1.service\n1:name=systemd:/system.slice/system-l4d2.slice/l4d2@eu-1.service\n", "l4d2@eu-1.service"},
		{"0::/system.slice/floor@27600.service\n", ""},
		{"0::/system.slice/l4d2.target\n", ""},
		{"0::/user.slice/l4d2@x.servicefoo/x\n", ""},
	} {
		if got := unitOf(tc.cgroup); got != tc.want {
			t.Errorf("unitOf(%q) = %q, want %q", tc.cgroup, got, tc.want)
		}
	}
}
