package main

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	odd := []time.Duration{5, 1, 3}
	even := []time.Duration{4, 1, 3, 2}
	var twenty []time.Duration
	for i := 20; i >= 1; i-- {
		twenty = append(twenty, time.Duration(i))
	}
	cases := []struct {
		d    []time.Duration
		q    float64
		want time.Duration
	}{
		{odd, 0.5, 3},
		{even, 0.5, 2}, // (2+3)/2 in integer nanoseconds
		{twenty, 0.95, 19},
		{twenty, 0.5, 10},
		{[]time.Duration{7}, 0.95, 7},
		{nil, 0.5, 0},
	}
	for _, c := range cases {
		if got := quantile(c.d, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.d, c.q, got, c.want)
		}
	}
	if odd[0] != 5 {
		t.Errorf("quantile sorted its input in place")
	}
}
