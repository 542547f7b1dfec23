package prestart

import (
	"math"
	"reflect"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/left4me/left4me/spec/startplan"
)

// Every limit is set at every start: an unset quota or weight resets
// systemd's default, so none lingers from an earlier start.
func TestLimitProps(t *testing.T) {
	for _, tt := range []struct {
		l    startplan.Limits
		want []uint64 // MemoryMax, TasksMax, CPUQuotaPerSecUSec, CPUWeight
	}{
		{startplan.Limits{MemoryMax: 2 << 30, TasksMax: 512}, []uint64{2 << 30, 512, math.MaxUint64, math.MaxUint64}},
		{startplan.Limits{MemoryMax: 3 << 30, TasksMax: 256, CPUQuota: 1500000, CPUWeight: 200}, []uint64{3 << 30, 256, 1500000, 200}},
	} {
		props := limitProps(tt.l)
		var names []string
		var got []uint64
		for _, p := range props {
			names = append(names, p.Name)
			got = append(got, p.Value.Value().(uint64))
			if p.Value.Signature() != dbus.SignatureOf(uint64(0)) {
				t.Errorf("%s: signature %s, want t", p.Name, p.Value.Signature())
			}
		}
		if !reflect.DeepEqual(names, []string{"MemoryMax", "TasksMax", "CPUQuotaPerSecUSec", "CPUWeight"}) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: %v %v, want %v", tt.l, names, got, tt.want)
		}
	}
}

// A plan without limits (written before they were in it) sets none: never
// a MemoryMax of 0. The socket is never dialled.
func TestSetLimitsWithoutLimits(t *testing.T) {
	if err := SetLimits("/nonexistent/socket", "l4d2@x.service", startplan.Limits{}); err != nil {
		t.Errorf("a plan without limits: %v", err)
	}
	if err := SetLimits("/nonexistent/socket", "l4d2@x.service", startplan.Limits{MemoryMax: 1 << 30, TasksMax: 512}); err == nil {
		t.Error("limits set through a socket that does not exist")
	}
}
