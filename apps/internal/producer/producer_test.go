package producer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/memqueue"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// flaky fails the first entry of every other call, like a SendMessageBatch
// answer with a failed entry.
type flaky struct {
	queue.Sender
	mu    sync.Mutex
	calls int
}

func (f *flaky) Send(ctx context.Context, bodies [][]byte) ([]int, error) {
	f.mu.Lock()
	f.calls++
	odd := f.calls%2 == 1
	f.mu.Unlock()
	if odd {
		_, err := f.Sender.Send(ctx, bodies[1:])
		return []int{0}, err
	}
	return f.Sender.Send(ctx, bodies)
}

func TestSendsCountMessagesRetryingOnlyFailedEntries(t *testing.T) {
	q := memqueue.New()
	sum := Run(context.Background(), &flaky{Sender: q}, Options{Count: 95, Concurrency: 3, Progress: time.Hour}, discard)
	if sum.Sent != 95 || sum.Failed != 0 {
		t.Fatalf("summary %+v, want 95 sent, 0 failed", sum)
	}
	if q.Len() != 95 {
		t.Fatalf("queue holds %d, want 95: a retry resent an accepted entry", q.Len())
	}
	msgs, err := q.Receive(context.Background(), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := message.Decode(m.Body); err != nil {
			t.Fatalf("producer sent an invalid message: %v", err)
		}
	}
}

func TestIDPrefixNumbersEveryMessageOnce(t *testing.T) {
	q := memqueue.New()
	sum := Run(context.Background(), q, Options{Count: 25, Concurrency: 4, Progress: time.Hour, IDPrefix: "run7"}, discard)
	if sum.Sent != 25 {
		t.Fatalf("summary %+v, want 25 sent", sum)
	}
	seen := map[string]bool{}
	for q.Len() > 0 {
		msgs, err := q.Receive(context.Background(), 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			decoded, err := message.Decode(m.Body)
			if err != nil {
				t.Fatalf("producer sent an invalid message: %v", err)
			}
			seen[decoded.ID] = true
		}
		if err := q.Delete(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	for n := range 25 {
		if id := fmt.Sprintf("run7-%d", n); !seen[id] {
			t.Errorf("id %s never sent", id)
		}
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct ids, want 25", len(seen))
	}
}

func TestStopsWhenContextEnds(t *testing.T) {
	q := memqueue.New()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	sum := Run(ctx, q, Options{Count: 0, Rate: 50, Concurrency: 2, Progress: time.Hour}, discard)
	if sum.Sent == 0 || sum.Failed != 0 || int(sum.Sent) != q.Len() {
		t.Fatalf("summary %+v with %d queued: want some sent, none failed, all queued", sum, q.Len())
	}
}

func TestBatchSizeFollowsSlowRates(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{{0, 10}, {0.5, 1}, {2, 2}, {9.9, 9}, {10, 10}, {500, 10}} {
		if got := batchSize(10, tc.rate); got != tc.want {
			t.Errorf("batchSize(10, %v) = %d, want %d", tc.rate, got, tc.want)
		}
	}
}
