// Package producer sends emulated financial transactions to a queue at a
// bounded rate, in batches, retrying only the entries that failed.
package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/retry"
)

// Options tune a run. All are required.
type Options struct {
	// Count is the number of messages to send; 0 sends until ctx ends.
	Count int
	// Rate is messages per second; 0 sends as fast as the queue takes them.
	Rate float64
	// Concurrency is the number of sends in flight.
	Concurrency int
	// Progress is the interval between progress logs.
	Progress time.Duration
	// IDPrefix, when set, makes the ids "<IDPrefix>-<n>" for n from 0, so a
	// load test can tell exactly which messages reached the store; otherwise
	// ids are random UUIDs.
	IDPrefix string
}

const (
	// sendAttempts bounds the tries of one entry before it counts as failed.
	sendAttempts = 5
	// drainTimeout bounds the sends still in flight once ctx ends.
	drainTimeout = 10 * time.Second
)

// Summary is the outcome of a run.
type Summary struct {
	Sent    int64
	Failed  int64
	Elapsed time.Duration
}

// PerSecond is the achieved send rate.
func (s Summary) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Elapsed.Seconds()
}

// Run sends messages until Count is reached or ctx ends, then waits for the
// batches in flight (up to drainTimeout) and returns the summary.
func Run(ctx context.Context, q queue.Sender, opts Options, log *slog.Logger) Summary {
	start := time.Now()
	var sent, failed atomic.Int64
	batches := make(chan [][]byte)
	go generate(ctx, batches, batchSize(q.MaxSendBatch(), opts.Rate), opts)

	progress := time.NewTicker(opts.Progress)
	defer progress.Stop()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-progress.C:
				log.Info("progress", "sent", sent.Load(), "failed", failed.Load(), "perSecond", math.Round(float64(sent.Load())/time.Since(start).Seconds()))
			case <-done:
				return
			}
		}
	}()

	// Sends get their own context so that a batch taken before ctx ended is
	// still delivered (or counted as failed) instead of dropped silently.
	send, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })

	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() {
			for b := range batches {
				n := sendBatch(send, q, b, log)
				sent.Add(int64(len(b) - n))
				failed.Add(int64(n))
			}
		})
	}
	wg.Wait()
	close(done)
	return Summary{Sent: sent.Load(), Failed: failed.Load(), Elapsed: time.Since(start)}
}

// batchSize keeps a slow rate smooth: at 2 messages/s, batches of 2 each
// second rather than 10 every five seconds.
func batchSize(max int, perSecond float64) int {
	if perSecond > 0 && perSecond < float64(max) {
		return int(math.Max(1, math.Floor(perSecond)))
	}
	return max
}

// generate fills batches at the configured rate and closes it when Count is
// reached or ctx ends.
func generate(ctx context.Context, batches chan<- [][]byte, size int, opts Options) {
	defer close(batches)
	limit := rate.Inf
	if opts.Rate > 0 {
		limit = rate.Limit(opts.Rate)
	}
	limiter := rate.NewLimiter(limit, size)
	for n := 0; opts.Count == 0 || n < opts.Count; {
		k := size
		if opts.Count > 0 {
			k = min(k, opts.Count-n)
		}
		if err := limiter.WaitN(ctx, k); err != nil {
			return
		}
		b := make([][]byte, k)
		for i := range b {
			b[i] = newBody(opts.IDPrefix, n+i)
		}
		select {
		case batches <- b:
			n += k
		case <-ctx.Done():
			return
		}
	}
}

// sendBatch sends bodies, retrying the entries that fail, and returns how
// many were never accepted.
func sendBatch(ctx context.Context, q queue.Sender, bodies [][]byte, log *slog.Logger) int {
	pending := bodies
	for attempt := 0; ; attempt++ {
		failed, err := q.Send(ctx, pending)
		if err == nil && len(failed) == 0 {
			return 0
		}
		if err == nil {
			retryOnly := make([][]byte, len(failed))
			for i, idx := range failed {
				retryOnly[i] = pending[idx]
			}
			pending = retryOnly
		}
		if attempt+1 == sendAttempts || !retry.Sleep(ctx, retry.Default.Delay(attempt)) {
			log.Error("send failed", "err", err, "messages", len(pending), "attempts", attempt+1)
			return len(pending)
		}
	}
}

// transaction is the emulated payload.
type transaction struct {
	Account  string  `json:"account"`
	Payee    string  `json:"payee"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

var currencies = []string{"EUR", "USD", "GBP", "JPY", "CHF"}

func newBody(idPrefix string, n int) []byte {
	tx := transaction{
		Account:  fmt.Sprintf("ACC-%08d", rand.N(100_000_000)),
		Payee:    fmt.Sprintf("ACC-%08d", rand.N(100_000_000)),
		Amount:   math.Round(rand.Float64()*1_000_000) / 100,
		Currency: currencies[rand.N(len(currencies))],
	}
	payload, _ := json.Marshal(tx) // a struct of strings and numbers always marshals
	m := message.New(payload, time.Now())
	if idPrefix != "" {
		m = message.WithID(fmt.Sprintf("%s-%d", idPrefix, n), payload, time.Now())
	}
	body, _ := m.Encode()
	return body
}
