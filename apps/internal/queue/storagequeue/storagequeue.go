// Package storagequeue implements queue.Queue on Azure Storage Queues.
package storagequeue

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/edw-project/edw/apps/internal/fanout"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/retry"
)

const (
	// maxReceive is the service's limit of messages per dequeue.
	maxReceive = 32
	// calls bounds concurrent per-message calls (the service has no batch
	// delete or update).
	calls = maxReceive
	// wait is how long Receive keeps polling an empty queue before it
	// returns nothing; Storage Queues have no server-side long poll.
	wait = 20 * time.Second
	// dequeueTimeout bounds one dequeue call, which Receive lets finish
	// even when its context ends.
	dequeueTimeout = 30 * time.Second
)

// idle paces polls of an empty queue: quick after traffic, then slower.
var idle = retry.Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}

// Queue is one Storage Queue with its poison queue.
type Queue struct {
	work   *azqueue.QueueClient
	poison *azqueue.QueueClient
}

var _ queue.Queue = (*Queue)(nil)

// New returns the queue served by work, setting poison messages aside in
// poison.
func New(work, poison *azqueue.QueueClient) *Queue {
	return &Queue{work: work, poison: poison}
}

// MaxSendBatch implements queue.Sender: the service enqueues one message
// per call.
func (q *Queue) MaxSendBatch() int { return 1 }

// MaxReceiveBatch implements queue.Receiver.
func (q *Queue) MaxReceiveBatch() int { return maxReceive }

// Send implements queue.Sender.
func (q *Queue) Send(ctx context.Context, bodies [][]byte) ([]int, error) {
	var failed []int
	for i, b := range bodies {
		if _, err := q.work.EnqueueMessage(ctx, string(b), nil); err != nil {
			if len(bodies) == 1 {
				return nil, fmt.Errorf("storage queue send: %w", err)
			}
			failed = append(failed, i)
		}
	}
	return failed, nil
}

// Receive implements queue.Receiver, polling until a message arrives, wait
// passes or ctx ends. A dequeue call under way when ctx ends is completed,
// not cut: the service may already have leased its messages, and a lost
// response would hide them until their lease ends.
func (q *Queue) Receive(ctx context.Context, max int, lease time.Duration) ([]queue.Message, error) {
	deadline := time.Now().Add(wait)
	for attempt := 0; ; attempt++ {
		call, cancel := context.WithTimeout(context.WithoutCancel(ctx), dequeueTimeout)
		out, err := q.work.DequeueMessages(call, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(min(max, maxReceive))),
			VisibilityTimeout: seconds(lease),
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("storage queue receive: %w", err)
		}
		if len(out.Messages) > 0 {
			msgs := make([]queue.Message, len(out.Messages))
			for i, m := range out.Messages {
				msgs[i] = queue.Message{
					ID:         deref(m.MessageID),
					Body:       []byte(deref(m.MessageText)),
					Deliveries: int(deref(m.DequeueCount)),
					Receipt:    deref(m.PopReceipt),
					Enqueued:   deref(m.InsertionTime),
				}
			}
			return msgs, nil
		}
		pause := idle.Delay(attempt)
		if time.Now().Add(pause).After(deadline) || !retry.Sleep(ctx, pause) {
			return nil, nil
		}
	}
}

// Delete implements queue.Receiver.
func (q *Queue) Delete(ctx context.Context, msgs []queue.Message) error {
	return fanout.Each(len(msgs), calls, func(i int) error {
		if _, err := q.work.DeleteMessage(ctx, msgs[i].ID, msgs[i].Receipt, nil); err != nil {
			return fmt.Errorf("storage queue delete %s: %w", msgs[i].ID, err)
		}
		return nil
	})
}

// Extend implements queue.Receiver.
func (q *Queue) Extend(ctx context.Context, msgs []queue.Message, lease time.Duration) error {
	return q.setVisibility(ctx, msgs, lease)
}

// Release implements queue.Receiver.
func (q *Queue) Release(ctx context.Context, msgs []queue.Message) error {
	return q.setVisibility(ctx, msgs, 0)
}

// SetAside implements queue.Receiver: it copies the message to the poison
// queue, then deletes it. If the delete fails the message comes back and is
// copied again: a duplicate in the poison queue, never a loss.
func (q *Queue) SetAside(ctx context.Context, m queue.Message) (queue.Disposal, error) {
	if _, err := q.poison.EnqueueMessage(ctx, string(m.Body), &azqueue.EnqueueMessageOptions{TimeToLive: to.Ptr(int32(-1))}); err != nil {
		return "", fmt.Errorf("storage queue copy %s to the poison queue: %w", m.ID, err)
	}
	if _, err := q.work.DeleteMessage(ctx, m.ID, m.Receipt, nil); err != nil {
		return "", fmt.Errorf("storage queue delete %s after copying it to the poison queue: %w", m.ID, err)
	}
	return queue.MovedToPoison, nil
}

// setVisibility updates each message's visibility; the service issues a new
// pop receipt each time, which replaces the old one in msgs.
func (q *Queue) setVisibility(ctx context.Context, msgs []queue.Message, d time.Duration) error {
	return fanout.Each(len(msgs), calls, func(i int) error {
		m := &msgs[i]
		out, err := q.work.UpdateMessage(ctx, m.ID, m.Receipt, string(m.Body), &azqueue.UpdateMessageOptions{VisibilityTimeout: seconds(d)})
		if err != nil {
			return fmt.Errorf("storage queue set visibility of %s to %v: %w", m.ID, d, err)
		}
		m.Receipt = deref(out.PopReceipt)
		return nil
	})
}

func seconds(d time.Duration) *int32 {
	return to.Ptr(int32(d.Round(time.Second) / time.Second))
}

// deref reads an optional response field.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
