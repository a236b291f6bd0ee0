package retry

import (
	"context"
	"testing"
	"time"
)

func TestDelayStaysUnderCeiling(t *testing.T) {
	b := Backoff{Base: 10 * time.Millisecond, Max: time.Second}
	for attempt, ceiling := range []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000} {
		ceiling *= time.Millisecond
		for range 200 {
			if d := b.Delay(attempt); d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v, want within [0, %v]", attempt, d, ceiling)
			}
		}
	}
	if d := b.Delay(1000); d > b.Max {
		t.Fatalf("Delay(1000) = %v, want at most Max %v", d, b.Max)
	}
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on a cancelled context reported a full wait")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep without cancellation reported an early stop")
	}
}
