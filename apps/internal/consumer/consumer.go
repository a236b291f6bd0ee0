// Package consumer moves messages from a queue into a store without losing
// any: a message is deleted only after its row is durable, a message that
// can never be stored is set aside, and shutdown finishes or hands back
// what is in flight.
package consumer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/retry"
	"github.com/edw-project/edw/apps/internal/store"
)

// Options tune a Consumer. All are required.
type Options struct {
	// Workers is the number of concurrent receive-write-delete loops.
	Workers int
	// Lease is the visibility timeout asked for each received message; it
	// is extended while a write keeps failing. It must exceed twice the
	// longest store call (the SDKs' own retries included).
	Lease time.Duration
	// MaxDeliveries sets aside a message received more often than this.
	MaxDeliveries int
	// ShutdownTimeout bounds the work done on messages in flight once Run's
	// context ends; what is unfinished then is released.
	ShutdownTimeout time.Duration
}

// releaseTimeout bounds the calls that hand messages back at shutdown. It
// comes on top of ShutdownTimeout, so the pod's grace period must cover
// both.
const releaseTimeout = 5 * time.Second

// Consumer moves messages from a queue into a store.
type Consumer struct {
	queue   queue.Receiver
	store   store.Store
	opts    Options
	log     *slog.Logger
	metrics *metrics
}

// New returns a consumer whose metrics are registered in reg.
func New(q queue.Receiver, s store.Store, opts Options, log *slog.Logger, reg prometheus.Registerer) *Consumer {
	return &Consumer{queue: q, store: s, opts: opts, log: log, metrics: newMetrics(reg)}
}

// Run receives until ctx ends. Then it stops receiving at once, gives the
// messages in flight ShutdownTimeout to be written and deleted, releases
// the rest, and returns.
func (c *Consumer) Run(ctx context.Context) {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopDeadline := context.AfterFunc(ctx, func() {
		time.AfterFunc(c.opts.ShutdownTimeout, cancelWork)
	})
	defer stopDeadline()

	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.loop(ctx, work) })
	}
	wg.Wait()
}

// loop receives batches until ctx ends; work is the context for writes and
// deletes, which outlives ctx by the shutdown timeout.
func (c *Consumer) loop(ctx, work context.Context) {
	for failures := 0; ctx.Err() == nil; {
		msgs, err := c.queue.Receive(ctx, c.queue.MaxReceiveBatch(), c.opts.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Nothing is held: wait and try again rather than exit, so a
			// queue outage never turns into a crash loop.
			c.log.Warn("receive failed", "err", err, "failures", failures+1)
			retry.Sleep(ctx, retry.Default.Delay(failures))
			failures++
			continue
		}
		failures = 0
		c.metrics.oldestAge.Set(oldestAge(msgs, time.Now()).Seconds())
		if len(msgs) > 0 {
			c.handle(ctx, work, msgs)
		}
	}
}

// item is one record to write and every message that carries it (the same
// id can arrive twice in one batch when a producer retried a send).
type item struct {
	rec  message.Record
	msgs []queue.Message
}

func (c *Consumer) handle(ctx, work context.Context, msgs []queue.Message) {
	start := time.Now()
	defer func() { c.metrics.batchSeconds.Observe(time.Since(start).Seconds()) }()
	c.metrics.received.Add(float64(len(msgs)))

	var items []*item
	byID := map[string]*item{}
	for _, m := range msgs {
		payload, err := message.Decode(m.Body)
		if err != nil {
			// Malformed: no retry can fix it, so set it aside now and let
			// the rest of the batch through.
			c.setAside(work, m, err)
			continue
		}
		if m.Deliveries > c.opts.MaxDeliveries {
			// Received too often: something about it fails every time.
			c.setAside(work, m, errTooManyDeliveries)
			continue
		}
		if it, ok := byID[payload.ID]; ok {
			it.msgs = append(it.msgs, m)
			continue
		}
		it := &item{rec: message.Record{Message: payload, DestStamp: start}, msgs: []queue.Message{m}}
		byID[payload.ID] = it
		items = append(items, it)
	}
	c.persist(ctx, work, items)
}

var errTooManyDeliveries = errors.New("delivered more often than the maximum deliveries")

// persist writes items and deletes the messages of each one written. While
// writes fail it retries with backoff, holding the messages by extending
// their lease, so that a store outage neither loses messages nor uses up
// their delivery count.
func (c *Consumer) persist(ctx, work context.Context, items []*item) {
	for attempt := 0; len(items) > 0; attempt++ {
		recs := make([]message.Record, len(items))
		for i, it := range items {
			recs[i] = it.rec
		}
		errs := c.store.Put(work, recs)

		var written, failed []*item
		var lastErr error
		for i, err := range errs {
			if err == nil {
				written = append(written, items[i])
			} else {
				failed, lastErr = append(failed, items[i]), err
			}
		}
		// Their rows are durable: only now may the messages go.
		c.delete(work, written)
		if items = failed; len(items) == 0 {
			return
		}
		c.metrics.writeFailures.Add(float64(len(items)))
		c.log.Warn("write failed; holding the messages to retry", "err", lastErr, "records", len(items), "attempt", attempt+1)

		if ctx.Err() != nil {
			// Shutting down: hand them back for another consumer.
			c.release(ctx, items)
			return
		}
		// Renew the lease before each wait, so that the next write starts
		// with at least half a lease left.
		if err := c.extend(work, items); err != nil {
			// The lease may lapse: the messages then return to the queue
			// for a later delivery. Nothing is lost.
			c.log.Warn("lease extension failed; leaving the messages to the queue", "err", err, "records", len(items))
			return
		}
		if !retry.Sleep(ctx, min(retry.Default.Delay(attempt), c.opts.Lease/2)) {
			c.release(ctx, items)
			return
		}
	}
}

func (c *Consumer) delete(ctx context.Context, items []*item) {
	msgs := messages(items)
	if len(msgs) == 0 {
		return
	}
	if err := c.queue.Delete(ctx, msgs); err != nil {
		// The rows are written; a message not deleted comes back and
		// rewrites its own row, which changes nothing.
		c.metrics.deleteErrors.Add(float64(len(msgs)))
		c.log.Warn("delete failed; the messages will be redelivered and rewritten", "err", err, "messages", len(msgs))
	}
	c.metrics.processed.Add(float64(len(msgs)))
}

func (c *Consumer) extend(ctx context.Context, items []*item) error {
	msgs := messages(items)
	err := c.queue.Extend(ctx, msgs, c.opts.Lease)
	// Extend renews receipts in place; copy them back to their items.
	i := 0
	for _, it := range items {
		i += copy(it.msgs, msgs[i:])
	}
	return err
}

// release hands messages back; ctx has ended, so the calls get their own
// short deadline.
func (c *Consumer) release(ctx context.Context, items []*item) {
	msgs := messages(items)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := c.queue.Release(rctx, msgs); err != nil {
		// They return when their lease ends instead.
		c.log.Warn("release failed; the messages return when their lease ends", "err", err, "messages", len(msgs))
	}
	c.metrics.released.Add(float64(len(msgs)))
}

func (c *Consumer) setAside(ctx context.Context, m queue.Message, reason error) {
	disposal, err := c.queue.SetAside(ctx, m)
	if err != nil {
		// It stays in the queue and is set aside on a later delivery.
		c.log.Error("setting a poison message aside failed", "queueMessageId", m.ID, "reason", reason, "err", err)
		return
	}
	// A message left for redrive comes back until the redrive moves it, and
	// each delivery sets it aside again: it counts on the first, the one
	// that finds it undecodable (1, or 0 where the queue does not count)
	// or the one past the maximum. The alert then fires on first sight,
	// not after the redrive's remaining leases.
	first := m.Deliveries <= 1 || (errors.Is(reason, errTooManyDeliveries) && m.Deliveries == c.opts.MaxDeliveries+1)
	if disposal == queue.LeftForRedrive && !first {
		c.log.Info("poison message left for redrive again", "queueMessageId", m.ID, "deliveries", m.Deliveries, "reason", reason)
		return
	}
	c.metrics.poisoned.WithLabelValues(string(disposal)).Inc()
	c.log.Warn("poison message set aside", "queueMessageId", m.ID, "deliveries", m.Deliveries, "reason", reason, "disposal", disposal)
}

func messages(items []*item) []queue.Message {
	var msgs []queue.Message
	for _, it := range items {
		msgs = append(msgs, it.msgs...)
	}
	return msgs
}

// oldestAge is how long the oldest of msgs waited in the queue, as of now;
// 0 for none, or when the queue gave no enqueue times.
func oldestAge(msgs []queue.Message, now time.Time) time.Duration {
	var oldest time.Duration
	for _, m := range msgs {
		if !m.Enqueued.IsZero() {
			oldest = max(oldest, now.Sub(m.Enqueued))
		}
	}
	return oldest
}
