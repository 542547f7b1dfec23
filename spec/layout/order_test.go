package layout

import (
	"slices"
	"testing"
)

func TestCompareNames(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"s10", "s2", "s1", "s3", "s20", "s11"}, []string{"s1", "s2", "s3", "s10", "s11", "s20"}},
		{[]string{"b", "a10", "a9", "a"}, []string{"a", "a9", "a10", "b"}},
		{[]string{"vs-2b", "vs-2a", "vs-10", "vs-1"}, []string{"vs-1", "vs-2a", "vs-2b", "vs-10"}},
		{[]string{"s1", "s01", "s001"}, []string{"s001", "s01", "s1"}},
		{[]string{"x99999999999999999999999", "x100000000000000000000000"}, []string{"x99999999999999999999999", "x100000000000000000000000"}},
		{[]string{"srv_b", "srv-b", "srvb"}, []string{"srv-b", "srv_b", "srvb"}},
	} {
		got := slices.Clone(tc.in)
		slices.SortFunc(got, CompareNames)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.in, got, tc.want)
		}
	}
}
