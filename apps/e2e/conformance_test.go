package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/message"
	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/queuetest"
)

// The queue contract, held against each cloud's emulator.
func TestQueueConformance(t *testing.T) {
	requireEmulators(t)
	for _, c := range clouds {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			queuetest.Run(t, func(t *testing.T) queue.Queue { return c.new(t, fixtureOptions{}).queue() })
		})
	}
}

// The store contract: every record of a call written, and a rewrite
// replaces the row instead of adding one.
func TestStoreConformance(t *testing.T) {
	const n = 60 // more than one DynamoDB batch; several rows per Azure partition
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{})
		_, s := open(t, f, obs.NewAPIRequests(prometheus.NewRegistry()))
		recs := make([]message.Record, n)
		for round := range 2 {
			for i := range recs {
				recs[i] = message.Record{
					Message: message.Message{
						ID:       fmt.Sprintf("id-%03d", i),
						Msg:      json.RawMessage(fmt.Sprintf(`{"round":%d}`, round)),
						SrcStamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
					},
					DestStamp: time.Date(2026, 1, 1, 0, 0, 1, 500_000_000, time.UTC),
				}
			}
			for i, err := range s.Put(ctxTimeout(t, 30*time.Second), recs) {
				if err != nil {
					t.Fatalf("round %d: Put record %d: %v", round, i, err)
				}
			}
			rows := f.rows(t)
			if len(rows) != n {
				t.Fatalf("round %d: %d rows, want %d", round, len(rows), n)
			}
			for _, r := range rows {
				if want := fmt.Sprintf(`{"round":%d}`, round); r.Msg != want {
					t.Fatalf("round %d: row %s msg %s, want %s", round, r.ID, r.Msg, want)
				}
				if r.SrcStamp != "2026-01-01T00:00:00Z" || r.DestStamp != "2026-01-01T00:00:01.5Z" {
					t.Fatalf("row %s stamps %q, %q", r.ID, r.SrcStamp, r.DestStamp)
				}
			}
		}
	})
}
