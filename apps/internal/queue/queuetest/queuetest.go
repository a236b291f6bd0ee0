// Package queuetest is the behaviour every queue.Queue must show; each
// implementation's tests run it (the cloud ones against the emulators).
package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/edw-project/edw/apps/internal/queue"
)

const (
	// lease is long enough that no lease in the suite ends by itself
	// unless a case waits for it.
	lease = time.Minute
	// quiet is how long a receive must find nothing to count the queue as
	// empty for others.
	quiet = 2 * time.Second
)

// Run checks the contract on queues from newQueue, each new and empty.
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	t.Run("SendReceiveDelete", func(t *testing.T) { sendReceiveDelete(t, newQueue(t)) })
	t.Run("LeaseHidesUntilRelease", func(t *testing.T) { leaseHidesUntilRelease(t, newQueue(t)) })
	t.Run("ExtendRenewsTheLease", func(t *testing.T) { extendRenewsTheLease(t, newQueue(t)) })
	t.Run("SetAside", func(t *testing.T) { setAside(t, newQueue(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func send(t *testing.T, q queue.Queue, bodies ...string) {
	t.Helper()
	for start := 0; start < len(bodies); start += q.MaxSendBatch() {
		var batch [][]byte
		for _, b := range bodies[start:min(start+q.MaxSendBatch(), len(bodies))] {
			batch = append(batch, []byte(b))
		}
		if failed, err := q.Send(ctx(t), batch); err != nil || len(failed) > 0 {
			t.Fatalf("Send: failed %v, err %v", failed, err)
		}
	}
}

// receive collects n messages, failing if they do not come.
func receive(t *testing.T, q queue.Queue, n int, lease time.Duration) []queue.Message {
	t.Helper()
	var got []queue.Message
	for deadline := time.Now().Add(20 * time.Second); len(got) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		msgs, err := q.Receive(ctx(t), n-len(got), lease)
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		got = append(got, msgs...)
	}
	return got
}

// requireEmpty checks that no message is visible for a while.
func requireEmpty(t *testing.T, q queue.Queue) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	msgs, err := q.Receive(c, q.MaxReceiveBatch(), lease)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) > 0 {
		t.Fatalf("received %d messages (first %q), want none", len(msgs), msgs[0].Body)
	}
}

func sendReceiveDelete(t *testing.T, q queue.Queue) {
	sent := time.Now()
	var want []string
	for i := range q.MaxReceiveBatch() + 3 {
		want = append(want, fmt.Sprintf(`{"n":%d,"text":"<&>"}`, i))
	}
	send(t, q, want...)
	got := receive(t, q, len(want), lease)
	seen := map[string]bool{}
	for _, m := range got {
		if m.ID == "" || m.Receipt == "" {
			t.Fatalf("message %q has no id or receipt", m.Body)
		}
		if m.Deliveries < 0 || m.Deliveries > 1 {
			t.Fatalf("first receive reports %d deliveries, want 1 (or 0: unknown)", m.Deliveries)
		}
		// The backlog's age is read from it; clocks may differ by a second.
		if m.Enqueued.Before(sent.Add(-time.Minute)) || m.Enqueued.After(time.Now().Add(time.Minute)) {
			t.Fatalf("message %q enqueued at %v, sent at %v", m.Body, m.Enqueued, sent)
		}
		seen[string(m.Body)] = true
	}
	for _, w := range want {
		if !seen[w] {
			t.Fatalf("body %q not received intact", w)
		}
	}
	if err := q.Delete(ctx(t), got); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	requireEmpty(t, q)
}

func leaseHidesUntilRelease(t *testing.T, q queue.Queue) {
	send(t, q, "a")
	first := receive(t, q, 1, lease)
	requireEmpty(t, q)
	if err := q.Release(ctx(t), first); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again := receive(t, q, 1, lease)
	if !bytes.Equal(again[0].Body, first[0].Body) {
		t.Fatalf("after Release received %q, want %q", again[0].Body, first[0].Body)
	}
	if err := q.Delete(ctx(t), again); err != nil {
		t.Fatalf("Delete after redelivery: %v", err)
	}
	requireEmpty(t, q)
}

func extendRenewsTheLease(t *testing.T, q queue.Queue) {
	const short = 2 * time.Second
	send(t, q, "b")
	msgs := receive(t, q, 1, short)
	if err := q.Extend(ctx(t), msgs, lease); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	time.Sleep(short + time.Second)
	requireEmpty(t, q) // the first lease is over; the extension still hides it
	if err := q.Delete(ctx(t), msgs); err != nil {
		t.Fatalf("Delete with the renewed receipt: %v", err)
	}
	requireEmpty(t, q)
}

func setAside(t *testing.T, q queue.Queue) {
	send(t, q, "not json")
	msgs := receive(t, q, 1, lease)
	disposal, err := q.SetAside(ctx(t), msgs[0])
	if err != nil {
		t.Fatalf("SetAside: %v", err)
	}
	switch disposal {
	case queue.MovedToPoison, queue.LeftForRedrive:
		// Either way the message is out of the consumers' way for now.
		requireEmpty(t, q)
	default:
		t.Fatalf("SetAside disposal %q", disposal)
	}
}
