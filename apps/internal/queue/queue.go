// Package queue is the contract between the apps and a message queue. The
// sqs and storagequeue packages implement it; queuetest holds the suite
// that every implementation must pass.
package queue

import (
	"context"
	"time"
)

// Message is one received message. Its Receipt proves the current lease;
// only the holder of the latest receipt can delete, release or extend it.
type Message struct {
	// ID is the queue's own id for the message (not the payload's id).
	ID string
	// Body is the payload as sent.
	Body []byte
	// Deliveries counts receives, this one included; 0 when the queue does
	// not report it.
	Deliveries int
	// Receipt is the lease handle (SQS receipt handle, Storage pop receipt).
	Receipt string
	// Enqueued is when the queue accepted the message (SQS SentTimestamp,
	// Storage InsertionTime); zero where the queue does not say.
	Enqueued time.Time
}

// Sender enqueues messages.
type Sender interface {
	// MaxSendBatch is the most bodies one Send call may carry.
	MaxSendBatch() int
	// Send enqueues bodies. It returns the indexes of the bodies that were
	// not enqueued; err is set when none of them may have been.
	Send(ctx context.Context, bodies [][]byte) (failed []int, err error)
}

// Receiver takes messages from a queue under a lease (visibility timeout).
// A message whose lease ends without Delete is delivered again.
type Receiver interface {
	// MaxReceiveBatch is the most messages one Receive call may return.
	MaxReceiveBatch() int
	// Receive waits up to the queue's long-poll time for at most max
	// messages, each leased for lease. No message is not an error. It may
	// return messages after ctx ends; the caller then owns their leases.
	Receive(ctx context.Context, max int, lease time.Duration) ([]Message, error)
	// Delete removes messages for good. Call it only once their effect is
	// durable.
	Delete(ctx context.Context, msgs []Message) error
	// Extend renews the lease of msgs to lease from now, updating their
	// receipts in place.
	Extend(ctx context.Context, msgs []Message, lease time.Duration) error
	// Release ends the lease of msgs now so that another consumer can take
	// them at once.
	Release(ctx context.Context, msgs []Message) error
	// SetAside moves a message that can never be processed out of the
	// consumers' way without losing it: to a poison queue, or by leaving it
	// for the queue's own dead-letter redrive. It reports which it did.
	SetAside(ctx context.Context, m Message) (Disposal, error)
}

// Disposal says where SetAside put a message.
type Disposal string

const (
	// MovedToPoison: the message was copied to the poison queue, then
	// deleted from the work queue.
	MovedToPoison Disposal = "moved-to-poison-queue"
	// LeftForRedrive: the message was left alone; the queue's redrive policy
	// moves it to the dead-letter queue after its maximum receive count.
	LeftForRedrive Disposal = "left-for-redrive"
)

// Queue is both ends of one queue.
type Queue interface {
	Sender
	Receiver
}
