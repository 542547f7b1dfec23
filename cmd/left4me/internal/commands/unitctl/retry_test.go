package unitctl

import (
	"testing"
	"time"
)

func TestRetryDelay(t *testing.T) {
	m := time.Minute
	for count, want := range []time.Duration{m, 2 * m, 4 * m, 8 * m, 16 * m, 30 * m, 30 * m} {
		if got := retryDelay(m, count); got != want {
			t.Errorf("retryDelay(1m, %d) = %v, want %v", count, got, want)
		}
	}
}
