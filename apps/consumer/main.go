// Command consumer moves messages from the work queue into the table: it
// writes each message's row, then deletes the message.
//
// Settings come from the environment, each mirrored by a flag (see -h).
// Exit codes: 0 after a clean stop (SIGTERM, SIGINT), 1 on a start-up
// failure, 2 on invalid settings.
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/edw-project/edw/apps/internal/cloud"
	"github.com/edw-project/edw/apps/internal/config"
	"github.com/edw-project/edw/apps/internal/consumer"
	"github.com/edw-project/edw/apps/internal/obs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := config.New(fs, getenv)
	backend := cloud.Declare(s, true)
	workers := s.Int("workers", "EDW_WORKERS", 4, 1, 256, "concurrent receive loops")
	lease := s.Duration("visibility-timeout", "EDW_VISIBILITY_TIMEOUT", 30*time.Second, time.Second, 12*time.Hour, "lease on each received message")
	maxDeliveries := s.Int("max-deliveries", "EDW_MAX_DELIVERIES", 5, 1, 1000, "set a message aside when received more often than this")
	shutdown := s.Duration("shutdown-timeout", "EDW_SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, 10*time.Minute, "time to finish in-flight messages after SIGTERM")
	addr := s.String("http-addr", "EDW_HTTP_ADDR", ":8080", "address of /healthz, /readyz and /metrics")
	level := s.Choice("log-level", "EDW_LOG_LEVEL", "info", []string{"debug", "info", "warn", "error"}, "log level")
	if err := s.Parse(args); err != nil {
		return config.Report(stderr, fs, err)
	}
	opts := consumer.Options{Workers: *workers, Lease: *lease, MaxDeliveries: *maxDeliveries, ShutdownTimeout: *shutdown}

	log, _ := obs.Logger(*level) // the level was validated above
	reg := obs.NewRegistry()
	q, st, err := backend.Open(ctx, obs.NewAPIRequests(reg))
	if err != nil {
		if config.IsError(err) {
			return config.Report(stderr, fs, err)
		}
		log.Error("opening the queue and store", "err", err)
		return 1
	}
	srv := obs.NewServer(*addr, reg)
	bound, err := srv.Listen(log)
	if err != nil {
		log.Error("http listen", "addr", *addr, "err", err)
		return 1
	}
	defer srv.Close()

	c := consumer.New(q, st, opts, log, reg)
	log.Info("consumer started", "cloud", *backend.Cloud, "http", bound, "workers", opts.Workers,
		"lease", opts.Lease.String(), "maxDeliveries", opts.MaxDeliveries, "shutdownTimeout", opts.ShutdownTimeout.String())
	srv.SetReady(true)
	context.AfterFunc(ctx, func() {
		srv.SetReady(false)
		log.Info("stopping: no new receives; finishing in-flight messages")
	})
	c.Run(ctx)
	log.Info("consumer stopped")
	return 0
}
