package e2e

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/cloud"
	"github.com/edw-project/edw/apps/internal/config"
	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/store"
)

// BenchmarkConsume preloads b.N messages and drains them, once with the
// consumer command and once with a loop built like the reference samples'
// consumer (one message per receive, one put, one delete, one at a time;
// without the samples' one-second sleep). It reports messages per second
// and cloud API requests per message. Run it with a fixed count:
//
//	go test ./e2e -run '^$' -bench Consume -benchtime 2000x
func BenchmarkConsume(b *testing.B) {
	requireEmulators(b)
	for _, c := range clouds {
		b.Run(c.name+"/edw", func(b *testing.B) {
			f := c.new(b, fixtureOptions{})
			enqueue(b, f, b.N)
			b.ResetTimer()
			p := startConsumer(b, f.env(""))
			for p.metric("edw_consumer_messages_processed_total") < float64(b.N) {
				time.Sleep(20 * time.Millisecond)
			}
			b.StopTimer()
			report(b, p.metric("edw_api_requests_total"))
			stop(b, p)
		})
		b.Run(c.name+"/sample-loop", func(b *testing.B) {
			f := c.new(b, fixtureOptions{})
			enqueue(b, f, b.N)
			reg := prometheus.NewRegistry()
			q, s := open(b, f, obs.NewAPIRequests(reg))
			b.ResetTimer()
			sampleLoop(b, q, s, b.N)
			b.StopTimer()
			report(b, sumCounter(b, reg, obs.Namespace+"_api_requests_total"))
		})
	}
}

func report(b *testing.B, requests float64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(requests/float64(b.N), "requests/msg")
	b.ReportMetric(0, "ns/op")
}

// sampleLoop is the reference samples' consumer without its sleep.
func sampleLoop(b *testing.B, q queue.Receiver, s store.Store, n int) {
	ctx := context.Background()
	for done := 0; done < n; {
		msgs, err := q.Receive(ctx, 1, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range msgs {
			payload, err := message.Decode(m.Body)
			if err != nil {
				b.Fatal(err)
			}
			if errs := s.Put(ctx, []message.Record{{Message: payload, DestStamp: time.Now()}}); errs[0] != nil {
				b.Fatal(errs[0])
			}
			if err := q.Delete(ctx, []queue.Message{m}); err != nil {
				b.Fatal(err)
			}
			done++
		}
	}
}

// open builds the queue and store the way the consumer command does.
func open(b testing.TB, f fixture, api *obs.APIRequests) (queue.Queue, store.Store) {
	env := map[string]string{}
	for _, kv := range append(os.Environ(), f.env("")...) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	s := config.New(flag.NewFlagSet("bench", flag.ContinueOnError), func(k string) string { return env[k] })
	settings := cloud.Declare(s, true)
	if err := s.Parse(nil); err != nil {
		b.Fatal(err)
	}
	q, st, err := settings.Open(context.Background(), api)
	if err != nil {
		b.Fatal(err)
	}
	return q, st
}

// sumCounter adds up every series of a counter in reg.
func sumCounter(b *testing.B, reg *prometheus.Registry, name string) float64 {
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	sum := 0.0
	for _, fam := range families {
		if fam.GetName() == name {
			for _, m := range fam.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
