// Command producer sends emulated financial transactions to the work queue.
//
// Settings come from the environment, each mirrored by a flag (see -h).
// Exit codes: 0 when every message was sent or a stop signal ended the run,
// 1 when messages failed to send or start-up failed, 2 on invalid settings.
package main

import (
	"context"
	"flag"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/cloud"
	"github.com/edw-project/edw/apps/internal/config"
	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/producer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.New(fs, getenv)
	backend := cloud.Declare(s, false)
	count := s.Int("count", "EDW_PRODUCER_COUNT", 0, 0, math.MaxInt32, "messages to send; 0 sends until stopped")
	rate := s.Float("rate", "EDW_PRODUCER_RATE", 0, 0, 1e6, "messages per second; 0 is as fast as possible")
	concurrency := s.Int("concurrency", "EDW_PRODUCER_CONCURRENCY", 8, 1, 1024, "sends in flight")
	progress := s.Duration("progress", "EDW_PRODUCER_PROGRESS", 5*time.Second, 100*time.Millisecond, time.Hour, "interval between progress logs")
	idPrefix := s.String("id-prefix", "EDW_PRODUCER_ID_PREFIX", "", "message ids <prefix>-0, <prefix>-1, ... instead of random UUIDs (load tests that check every id arrived)")
	s.Check(func(name func(flagName, env string) string) error {
		if *idPrefix == "" {
			return nil
		}
		if err := message.CheckID(*idPrefix + "-0"); err != nil {
			return &config.Error{Name: name("id-prefix", "EDW_PRODUCER_ID_PREFIX"), Want: err.Error()}
		}
		return nil
	})
	level := s.Choice("log-level", "EDW_LOG_LEVEL", "info", []string{"debug", "info", "warn", "error"}, "log level")
	if err := s.Parse(args); err != nil {
		return config.Report(stderr, fs, err)
	}

	log, _ := obs.Logger(*level) // the level was validated above
	// The producer serves no metrics: its API counter needs a registry, not
	// the runtime collectors obs.NewRegistry adds.
	q, _, err := backend.Open(ctx, obs.NewAPIRequests(prometheus.NewRegistry()))
	if err != nil {
		if config.IsError(err) {
			return config.Report(stderr, fs, err)
		}
		log.Error("opening the queue", "err", err)
		return 1
	}
	opts := producer.Options{Count: *count, Rate: *rate, Concurrency: *concurrency, Progress: *progress, IDPrefix: *idPrefix}
	log.Info("producer started", "cloud", *backend.Cloud, "count", opts.Count, "rate", opts.Rate, "concurrency", opts.Concurrency)
	sum := producer.Run(ctx, q, opts, log)
	log.Info("producer finished", "sent", sum.Sent, "failed", sum.Failed,
		"seconds", math.Round(sum.Elapsed.Seconds()*1000)/1000, "perSecond", math.Round(sum.PerSecond()))
	if sum.Failed > 0 {
		return 1
	}
	return 0
}
