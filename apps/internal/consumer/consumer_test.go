package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/memqueue"
	"github.com/edw-project/edw/apps/internal/store"
)

// fakeStore keeps rows by id and fails while down is set.
type fakeStore struct {
	mu    sync.Mutex
	rows  map[string]message.Record
	puts  int
	down  bool
	block chan struct{} // when set, Put waits on it (or its context)
}

func newFakeStore() *fakeStore { return &fakeStore{rows: map[string]message.Record{}} }

var errDown = errors.New("store down (injected)")

func (s *fakeStore) Put(ctx context.Context, recs []message.Record) []error {
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return store.Fail(len(recs), ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts++
	if s.down {
		return store.Fail(len(recs), errDown)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			// Real stores reject a batch that names a key twice.
			return store.Fail(len(recs), errors.New("duplicate id in one batch"))
		}
		seen[r.ID] = true
		s.rows[r.ID] = r
	}
	return make([]error, len(recs))
}

func (s *fakeStore) set(f func(s *fakeStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *fakeStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

type harness struct {
	q   *memqueue.Queue
	s   *fakeStore
	c   *Consumer
	reg *prometheus.Registry
}

func newHarness(opts Options) *harness {
	h := &harness{q: memqueue.New(), s: newFakeStore(), reg: prometheus.NewRegistry()}
	h.c = New(h.q, h.s, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), h.reg)
	return h
}

var defaults = Options{Workers: 2, Lease: 2 * time.Second, MaxDeliveries: 3, ShutdownTimeout: time.Second}

// run starts the consumer and returns a stop function that cancels it and
// waits for Run to return, reporting how long that took.
func (h *harness) run() (stop func() time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.c.Run(ctx); close(done) }()
	return func() time.Duration {
		start := time.Now()
		cancel()
		<-done
		return time.Since(start)
	}
}

func (h *harness) send(t *testing.T, bodies ...[]byte) {
	t.Helper()
	if _, err := h.q.Send(context.Background(), bodies); err != nil {
		t.Fatal(err)
	}
}

func body(t *testing.T, id string) []byte {
	t.Helper()
	m := message.New(json.RawMessage(`{"amount":1}`), time.Now())
	if id != "" {
		m.ID = id
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestStoresThenDeletes(t *testing.T) {
	h := newHarness(defaults)
	for range 25 {
		h.send(t, body(t, ""))
	}
	stop := h.run()
	waitFor(t, "an empty queue", func() bool { return h.q.Len() == 0 })
	stop()
	if got := h.s.count(); got != 25 {
		t.Fatalf("stored %d rows, want 25", got)
	}
	if got := testutil.ToFloat64(h.c.metrics.processed); got != 25 {
		t.Fatalf("processed = %v, want 25", got)
	}
}

func TestMalformedIsSetAsideAndTheRestStored(t *testing.T) {
	h := newHarness(defaults)
	h.send(t, body(t, "a"), []byte("{oops"), []byte(`{"id":"b/c","msg":1,"srcStamp":"2026-01-01T00:00:00Z"}`), body(t, "d"))
	stop := h.run()
	waitFor(t, "an empty queue", func() bool { return h.q.Len() == 0 })
	stop()
	if got := len(h.q.Poison()); got != 2 {
		t.Fatalf("poison holds %d messages, want 2", got)
	}
	if got := h.s.count(); got != 2 {
		t.Fatalf("stored %d rows, want 2 (a and d)", got)
	}
}

// redriveQueue is memqueue as SQS with a redrive policy behaves: a
// message set aside stays in the queue (visible again at once here), and
// one received more than maxReceives times moves to the poison list.
type redriveQueue struct {
	*memqueue.Queue
	maxReceives int
}

func (q *redriveQueue) SetAside(ctx context.Context, m queue.Message) (queue.Disposal, error) {
	return queue.LeftForRedrive, q.Release(ctx, []queue.Message{m})
}

func (q *redriveQueue) Receive(ctx context.Context, max int, lease time.Duration) ([]queue.Message, error) {
	msgs, err := q.Queue.Receive(ctx, max, lease)
	kept := msgs[:0]
	for _, m := range msgs {
		if m.Deliveries > q.maxReceives {
			if _, err := q.Queue.SetAside(ctx, m); err != nil {
				return nil, err
			}
			continue
		}
		kept = append(kept, m)
	}
	return kept, err
}

// A poison message the queue redrives itself comes back until its
// redrive, and counts as set aside once, on the first delivery that sets
// it aside: undecodable, or past the maximum deliveries (here the redrive
// allows two more).
func TestRedrivenPoisonCountsOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    func(t *testing.T) []byte
		earlier int
	}{
		{"undecodable", func(*testing.T) []byte { return []byte("{oops") }, 0},
		{"too many deliveries", func(t *testing.T) []byte { return body(t, "tired") }, defaults.MaxDeliveries},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			q := &redriveQueue{Queue: memqueue.New(), maxReceives: defaults.MaxDeliveries + 2}
			c := New(q, newFakeStore(), defaults, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
			if _, err := q.Send(ctx, [][]byte{tc.body(t)}); err != nil {
				t.Fatal(err)
			}
			// Deliveries whose processing never finished (a crashing
			// consumer).
			for range tc.earlier {
				msgs, err := q.Receive(ctx, 1, time.Second)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("receive: %v %v", msgs, err)
				}
				if err := q.Release(ctx, msgs); err != nil {
					t.Fatal(err)
				}
			}
			run, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { c.Run(run); close(done) }()
			waitFor(t, "the redrive", func() bool { return len(q.Poison()) == 1 })
			cancel()
			<-done
			if got := testutil.ToFloat64(c.metrics.poisoned.WithLabelValues(string(queue.LeftForRedrive))); got != 1 {
				t.Errorf("set aside counted %v times over %d deliveries, want once", got, q.maxReceives)
			}
		})
	}
}

func TestDuplicateIDsInABatchAreWrittenOnce(t *testing.T) {
	h := newHarness(Options{Workers: 1, Lease: 2 * time.Second, MaxDeliveries: 3, ShutdownTimeout: time.Second})
	dup := body(t, "same-id")
	h.send(t, dup, dup, body(t, "other"))
	stop := h.run()
	waitFor(t, "an empty queue", func() bool { return h.q.Len() == 0 })
	stop()
	if got := h.s.count(); got != 2 {
		t.Fatalf("stored %d rows, want 2", got)
	}
	if got := testutil.ToFloat64(h.c.metrics.writeFailures); got != 0 {
		t.Fatalf("write failures = %v, want 0: the duplicate reached the store", got)
	}
}

// While the store is down nothing is deleted, the leases are extended so
// nothing is redelivered, and everything lands after recovery.
func TestStoreOutageHoldsMessages(t *testing.T) {
	h := newHarness(Options{Workers: 2, Lease: time.Second, MaxDeliveries: 2, ShutdownTimeout: time.Second})
	h.s.set(func(s *fakeStore) { s.down = true })
	for range 12 {
		h.send(t, body(t, ""))
	}
	stop := h.run()
	waitFor(t, "failed writes", func() bool { return testutil.ToFloat64(h.c.metrics.writeFailures) > 0 })
	time.Sleep(3 * time.Second) // three leases
	if got := h.q.Len(); got != 12 {
		t.Fatalf("during the outage the queue holds %d, want 12", got)
	}
	for id, n := range h.q.Deliveries() {
		if n > 1 {
			t.Fatalf("message %s delivered %d times during the outage: its lease was not extended", id, n)
		}
	}
	h.s.set(func(s *fakeStore) { s.down = false })
	waitFor(t, "an empty queue", func() bool { return h.q.Len() == 0 })
	stop()
	if got, poisoned := h.s.count(), len(h.q.Poison()); got != 12 || poisoned != 0 {
		t.Fatalf("after recovery: %d rows, %d poisoned; want 12 and 0", got, poisoned)
	}
}

func TestTooManyDeliveriesIsSetAside(t *testing.T) {
	h := newHarness(Options{Workers: 1, Lease: 2 * time.Second, MaxDeliveries: 2, ShutdownTimeout: time.Second})
	h.send(t, body(t, "tired"))
	// Two deliveries whose processing never finished (a crashing consumer).
	for range 2 {
		msgs, err := h.q.Receive(context.Background(), 1, time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive: %v %v", msgs, err)
		}
		if err := h.q.Release(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	stop := h.run()
	waitFor(t, "an empty queue", func() bool { return h.q.Len() == 0 })
	stop()
	if p := h.q.Poison(); len(p) != 1 || !strings.Contains(string(p[0]), "tired") {
		t.Fatalf("poison = %q, want the tired message", p)
	}
	if h.s.count() != 0 {
		t.Fatal("a message past its delivery limit was stored")
	}
}

// At shutdown a write that does not finish within the timeout is abandoned
// and its messages released at once, not left leased.
func TestShutdownReleasesUnfinishedWork(t *testing.T) {
	opts := Options{Workers: 1, Lease: time.Minute, MaxDeliveries: 3, ShutdownTimeout: 300 * time.Millisecond}
	h := newHarness(opts)
	h.s.set(func(s *fakeStore) { s.block = make(chan struct{}) })
	for range 5 {
		h.send(t, body(t, ""))
	}
	stop := h.run()
	waitFor(t, "a batch in flight", func() bool { return testutil.ToFloat64(h.c.metrics.received) == 5 })
	took := stop()
	if took > opts.ShutdownTimeout+releaseTimeout {
		t.Fatalf("Run returned %v after cancel, want within %v", took, opts.ShutdownTimeout+releaseTimeout)
	}
	if got := testutil.ToFloat64(h.c.metrics.released); got != 5 {
		t.Fatalf("released = %v, want 5", got)
	}
	// Released: visible at once despite the one-minute lease.
	msgs, err := h.q.Receive(context.Background(), 10, time.Minute)
	if err != nil || len(msgs) != 5 {
		t.Fatalf("after shutdown received %d messages (%v), want 5", len(msgs), err)
	}
}

// The oldest message of a receive sets the age gauge, which an empty
// receive puts back to 0: the backlog alert follows the queue, not the
// last message ever seen.
func TestOldestMessageAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	msgs := []queue.Message{{Enqueued: now.Add(-3 * time.Second)}, {}, {Enqueued: now.Add(-90 * time.Second)}}
	if got := oldestAge(msgs, now); got != 90*time.Second {
		t.Errorf("oldest of a batch = %v, want 90s (a message without a time ignored)", got)
	}
	if got := oldestAge(nil, now); got != 0 {
		t.Errorf("empty receive = %v, want 0", got)
	}

	h := newHarness(defaults)
	h.send(t, body(t, ""))
	time.Sleep(50 * time.Millisecond)
	stop := h.run()
	defer stop()
	waitFor(t, "the age of the received message", func() bool { return testutil.ToFloat64(h.c.metrics.oldestAge) >= 0.05 })
	waitFor(t, "an empty receive", func() bool { return testutil.ToFloat64(h.c.metrics.oldestAge) == 0 })
}
