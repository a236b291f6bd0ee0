package consumer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/queue"
)

// metrics are the consumer's Prometheus series.
type metrics struct {
	received      prometheus.Counter
	processed     prometheus.Counter
	writeFailures prometheus.Counter
	deleteErrors  prometheus.Counter
	released      prometheus.Counter
	poisoned      *prometheus.CounterVec
	batchSeconds  prometheus.Histogram
	oldestAge     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: obs.Namespace, Subsystem: "consumer", Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		received:      counter("messages_received_total", "Messages received from the queue, redeliveries included."),
		processed:     counter("messages_processed_total", "Messages whose row was written and whose delete was then sent (failed deletes also count in delete_failures_total)."),
		writeFailures: counter("write_failures_total", "Record writes that failed and were retried or left for redelivery."),
		deleteErrors:  counter("delete_failures_total", "Messages written but not deleted; they are redelivered and rewritten."),
		released:      counter("messages_released_total", "Messages handed back to the queue unprocessed at shutdown."),
		poisoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: obs.Namespace, Subsystem: "consumer", Name: "messages_poisoned_total",
			Help: "Messages set aside as unprocessable, by disposal (moved to the poison queue, or left for the dead-letter redrive, counted on the first delivery that sets it aside).",
		}, []string{"disposal"}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: obs.Namespace, Subsystem: "consumer", Name: "batch_duration_seconds",
			Help:    "Time from receiving a batch to settling every message in it.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	m.oldestAge = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: obs.Namespace, Subsystem: "consumer", Name: "oldest_message_age_seconds",
		Help: "Time the oldest message of the latest receive waited in the queue; 0 after an empty receive. High while a backlog waits.",
	})
	reg.MustRegister(m.poisoned, m.batchSeconds, m.oldestAge)
	for _, d := range []queue.Disposal{queue.MovedToPoison, queue.LeftForRedrive} {
		m.poisoned.WithLabelValues(string(d))
	}
	return m
}
