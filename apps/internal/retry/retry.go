// Package retry computes waits between attempts: exponential backoff with
// full jitter, so that many consumers hitting the same failing service do not
// retry in step.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff grows from Base by doubling, capped at Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Default suits calls to cloud storage APIs.
var Default = Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second}

// Delay returns the wait before retry number attempt (0 for the first
// retry): a uniform draw from [0, min(Max, Base*2^attempt)].
func (b Backoff) Delay(attempt int) time.Duration {
	ceiling := b.Max
	if attempt < 32 {
		if d := b.Base << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return rand.N(ceiling + 1)
}

// Sleep waits d or until ctx ends, reporting whether the full wait elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
