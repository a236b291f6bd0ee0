// Package memqueue is an in-memory queue.Queue with leases, delivery counts
// and a poison list: the reference the other implementations are held to,
// and the queue of the consumer's unit tests.
package memqueue

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/edw-project/edw/apps/internal/queue"
)

// maxBatch mirrors the cloud queues' batch limits.
const maxBatch = 10

// Queue is safe for concurrent use.
type Queue struct {
	mu      sync.Mutex
	next    int
	msgs    map[string]*entry
	poison  [][]byte
	arrived chan struct{}
	// Wait is how long Receive waits on an empty queue.
	Wait time.Duration
}

type entry struct {
	body       []byte
	deliveries int
	receipt    string
	visibleAt  time.Time
	enqueued   time.Time
	seq        int
}

var _ queue.Queue = (*Queue)(nil)

// New returns an empty queue whose receives wait up to 100 ms.
func New() *Queue {
	return &Queue{msgs: map[string]*entry{}, arrived: make(chan struct{}, 1), Wait: 100 * time.Millisecond}
}

// MaxSendBatch implements queue.Sender.
func (q *Queue) MaxSendBatch() int { return maxBatch }

// MaxReceiveBatch implements queue.Receiver.
func (q *Queue) MaxReceiveBatch() int { return maxBatch }

// Send implements queue.Sender.
func (q *Queue) Send(_ context.Context, bodies [][]byte) ([]int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.next++
		q.msgs[strconv.Itoa(q.next)] = &entry{body: append([]byte(nil), b...), seq: q.next, enqueued: time.Now()}
	}
	select {
	case q.arrived <- struct{}{}:
	default:
	}
	return nil, nil
}

// Receive implements queue.Receiver.
func (q *Queue) Receive(ctx context.Context, max int, lease time.Duration) ([]queue.Message, error) {
	deadline := time.NewTimer(q.Wait)
	defer deadline.Stop()
	for {
		if msgs := q.take(max, lease); len(msgs) > 0 {
			return msgs, nil
		}
		select {
		case <-q.arrived:
		case <-time.After(10 * time.Millisecond):
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (q *Queue) take(max int, lease time.Duration) []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var out []queue.Message
	for seq := 1; seq <= q.next && len(out) < max; seq++ {
		id := strconv.Itoa(seq)
		e, ok := q.msgs[id]
		if !ok || now.Before(e.visibleAt) {
			continue
		}
		e.deliveries++
		e.receipt = fmt.Sprintf("%s/%d", id, e.deliveries)
		e.visibleAt = now.Add(lease)
		out = append(out, queue.Message{ID: id, Body: e.body, Deliveries: e.deliveries, Receipt: e.receipt, Enqueued: e.enqueued})
	}
	return out
}

// leased returns the entry for m when m's receipt is current.
func (q *Queue) leased(m queue.Message) (*entry, error) {
	e, ok := q.msgs[m.ID]
	if !ok || e.receipt != m.Receipt || time.Now().After(e.visibleAt) {
		return nil, fmt.Errorf("memqueue: message %s: receipt %q is not the current lease", m.ID, m.Receipt)
	}
	return e, nil
}

// Delete implements queue.Receiver.
func (q *Queue) Delete(_ context.Context, msgs []queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range msgs {
		if _, err := q.leased(m); err != nil {
			return err
		}
		delete(q.msgs, m.ID)
	}
	return nil
}

// Extend implements queue.Receiver.
func (q *Queue) Extend(_ context.Context, msgs []queue.Message, lease time.Duration) error {
	return q.setVisibility(msgs, lease)
}

// Release implements queue.Receiver.
func (q *Queue) Release(_ context.Context, msgs []queue.Message) error {
	return q.setVisibility(msgs, 0)
}

func (q *Queue) setVisibility(msgs []queue.Message, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range msgs {
		e, err := q.leased(msgs[i])
		if err != nil {
			return err
		}
		e.visibleAt = time.Now().Add(d)
		e.receipt += "+"
		msgs[i].Receipt = e.receipt
	}
	return nil
}

// SetAside implements queue.Receiver: the message moves to the poison list.
func (q *Queue) SetAside(_ context.Context, m queue.Message) (queue.Disposal, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, err := q.leased(m)
	if err != nil {
		return "", err
	}
	q.poison = append(q.poison, e.body)
	delete(q.msgs, m.ID)
	return queue.MovedToPoison, nil
}

// Len counts the messages in the queue, leased ones included.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Poison returns the bodies set aside.
func (q *Queue) Poison() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.poison...)
}

// Deliveries reports how often each message still queued was received.
func (q *Queue) Deliveries() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{}
	for id, e := range q.msgs {
		out[id] = e.deliveries
	}
	return out
}
