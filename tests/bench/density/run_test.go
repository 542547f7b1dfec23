package main

import (
	"testing"
	"time"
)

func TestMedianIsFieldByField(t *testing.T) {
	ss := []sample{
		{used: 30, cache: 1, elapsed: 3 * time.Second, disk: usage{allocated: 9}},
		{used: 10, cache: 3, elapsed: 1 * time.Second, disk: usage{allocated: 7}},
		{used: 20, cache: 2, elapsed: 2 * time.Second, disk: usage{allocated: 8}},
	}
	m := median(ss)
	if m.used != 20 || m.cache != 2 || m.elapsed != 2*time.Second || m.disk.allocated != 8 {
		t.Errorf("median %+v", m)
	}
}
