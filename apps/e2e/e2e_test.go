package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edw-project/edw/apps/internal/message"
)

// enqueue sends n fresh messages and returns their ids.
func enqueue(t testing.TB, f fixture, n int) []string {
	t.Helper()
	q := f.queue()
	ids := make([]string, 0, n)
	var batch [][]byte
	flush := func() {
		failed, err := q.Send(ctxTimeout(t, 30*time.Second), batch)
		if err != nil || len(failed) > 0 {
			t.Fatalf("enqueue: %v (failed entries %v)", err, failed)
		}
		batch = batch[:0]
	}
	for range n {
		m := message.New(json.RawMessage(`{"amount":1}`), time.Now())
		body, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		if batch = append(batch, body); len(batch) == q.MaxSendBatch() {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return ids
}

// requireExactly checks that the table holds exactly the rows of ids, each
// once, and that the queue is empty.
func requireExactly(t testing.TB, f fixture, ids []string) {
	t.Helper()
	var got []string
	for _, r := range f.rows(t) {
		got = append(got, r.ID)
	}
	want := slices.Clone(ids)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		missing, extra := diff(want, got), diff(got, want)
		t.Fatalf("table has %d rows, want %d: %d missing (e.g. %.3q), %d unexpected (e.g. %.3q)", len(got), len(want), len(missing), missing, len(extra), extra)
	}
	if d := f.depth(t); d != 0 {
		t.Fatalf("queue holds %d messages, want 0", d)
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// slowStore puts a faultProxy that delays every request by d in front of
// the fixture's store.
func slowStore(t testing.TB, f fixture, d time.Duration) *faultProxy {
	p := newFaultProxy(t, f.storeEndpoint())
	p.delay.Store(int64(d))
	return p
}

// drained waits until the table has n rows and the queue is empty.
func drained(t testing.TB, f fixture, n int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%d rows and an empty queue", n), func() bool {
		return len(f.rows(t)) == n && f.depth(t) == 0
	})
}

// stop sends SIGTERM and requires a clean exit within the shutdown timeout
// and the release calls' bound.
func stop(t testing.TB, p *proc) time.Duration {
	t.Helper()
	start := time.Now()
	p.signal(syscall.SIGTERM)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("consumer exit code %d after SIGTERM, want 0", code)
	}
	return time.Since(start)
}

// Case 1: the producer's messages all land in the table, once each.
func TestEndToEnd(t *testing.T) {
	const n = 1000
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{})
		prod := start(t, "producer", f.env(""), "--count", fmt.Sprint(n), "--concurrency", "8")
		if code := prod.wait(2 * time.Minute); code != 0 {
			t.Fatalf("producer exit code %d, want 0", code)
		}
		if !strings.Contains(prod.log(), fmt.Sprintf(`"sent":%d,"failed":0`, n)) {
			t.Fatalf("producer summary does not report %d sent, 0 failed:\n%s", n, prod.log())
		}
		c := startConsumer(t, f.env(""))
		drained(t, f, n, 2*time.Minute)
		if got := c.metric("edw_consumer_messages_poisoned_total"); got != 0 {
			t.Fatalf("poisoned = %v, want 0", got)
		}
		stop(t, c)

		rows := f.rows(t)
		seen := map[string]bool{}
		for _, r := range rows {
			if seen[r.ID] {
				t.Fatalf("id %s stored twice", r.ID)
			}
			seen[r.ID] = true
			var tx map[string]any
			if err := json.Unmarshal([]byte(r.Msg), &tx); err != nil || tx["account"] == nil {
				t.Fatalf("row %s: msg %q is not the producer's transaction", r.ID, r.Msg)
			}
			src, err1 := time.Parse(time.RFC3339Nano, r.SrcStamp)
			dst, err2 := time.Parse(time.RFC3339Nano, r.DestStamp)
			if err1 != nil || err2 != nil || dst.Before(src) {
				t.Fatalf("row %s: srcStamp %q, destStamp %q: want two stamps, destStamp not before srcStamp", r.ID, r.SrcStamp, r.DestStamp)
			}
		}
	})
}

// Case 2: SIGKILL in the middle of a batch, twice, loses nothing and
// duplicates nothing.
func TestCrashMidBatch(t *testing.T) {
	const n = 600
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{})
		ids := enqueue(t, f, n)
		// A slow store keeps every batch in flight for a while, so each kill
		// lands between receive and delete.
		slow := slowStore(t, f, 150*time.Millisecond)
		env := append(f.env(slow.URL), "EDW_VISIBILITY_TIMEOUT=2s")
		for kill := 1; kill <= 2; kill++ {
			c := startConsumer(t, env)
			eventually(t, time.Minute, "some messages processed", func() bool {
				return c.metric("edw_consumer_messages_processed_total") >= 40
			})
			c.signal(syscall.SIGKILL)
			c.wait(10 * time.Second)
			t.Logf("kill %d: %d rows stored, %d messages queued", kill, len(f.rows(t)), f.depth(t))
		}
		slow.delay.Store(0)
		c := startConsumer(t, env)
		drained(t, f, n, 2*time.Minute)
		stop(t, c)
		requireExactly(t, f, ids)
	})
}

// Case 3: while the store fails, nothing leaves the queue without its row;
// the messages are held (not poisoned) and all land after recovery.
func TestStoreOutage(t *testing.T) {
	const n = 400
	const lease = 6 * time.Second
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{})
		ids := enqueue(t, f, n)
		store := slowStore(t, f, 20*time.Millisecond)
		c := startConsumer(t, append(f.env(store.URL), "EDW_VISIBILITY_TIMEOUT="+lease.String()))
		eventually(t, time.Minute, "some messages processed", func() bool {
			return c.metric("edw_consumer_messages_processed_total") >= 50
		})
		store.down.Store(true)
		eventually(t, time.Minute, "failed writes", func() bool {
			return c.metric("edw_consumer_write_failures_total") > 0
		})
		// Hold the outage past two leases: the held messages must have their
		// leases extended, not be redelivered into poison. A row may exist
		// while its message still waits for its delete, so the sum may
		// exceed n; below n, a message would have left without its row.
		time.Sleep(time.Second) // writes under way when the outage began settle
		rowsAtStart := len(f.rows(t))
		for end := time.Now().Add(2 * lease); time.Now().Before(end); time.Sleep(time.Second) {
			rows, depth := len(f.rows(t)), f.depth(t)
			if rows+depth < n {
				t.Fatalf("during the outage: %d rows + %d queued < %d: a message left the queue without its row", rows, depth, n)
			}
			if rows != rowsAtStart {
				t.Fatalf("during the outage the table went from %d to %d rows: the outage does not hold", rowsAtStart, rows)
			}
		}
		if store.fails.Load() == 0 {
			t.Fatal("the outage failed no request")
		}
		store.down.Store(false)
		drained(t, f, n, 2*time.Minute)
		if got := c.metric("edw_consumer_messages_poisoned_total"); got != 0 {
			t.Fatalf("poisoned = %v after the outage, want 0", got)
		}
		stop(t, c)
		requireExactly(t, f, ids)
		if dl := f.deadLetters(t); len(dl) != 0 {
			t.Fatalf("dead letters after the outage: %q", dl)
		}
	})
}

// Case 4: a poison message ends in the dead-letter or poison queue; the
// valid messages around it are all stored.
func TestPoisonMessage(t *testing.T) {
	const n = 60
	poison := `{"id": "oops", "msg": ` // truncated JSON
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{maxReceiveCount: 2})
		ids := enqueue(t, f, n/2)
		if failed, err := f.queue().Send(ctxTimeout(t, 10*time.Second), [][]byte{[]byte(poison)}); err != nil || len(failed) > 0 {
			t.Fatalf("send poison: %v %v", err, failed)
		}
		ids = append(ids, enqueue(t, f, n/2)...)
		c := startConsumer(t, append(f.env(""), "EDW_VISIBILITY_TIMEOUT=1s"))
		drained(t, f, n, time.Minute)
		var dead []string
		eventually(t, time.Minute, "the poison message in the dead-letter queue", func() bool {
			dead = f.deadLetters(t)
			return len(dead) > 0
		})
		if len(dead) != 1 || dead[0] != poison {
			t.Fatalf("dead letters = %q, want just %q", dead, poison)
		}
		stop(t, c)
		requireExactly(t, f, ids)
	})
}

// Case 5: SIGTERM under load exits 0 within the deadline; what was in
// flight is finished or released, and a new consumer stores everything.
func TestGracefulShutdown(t *testing.T) {
	const n = 800
	const deadline = 3 * time.Second
	forEachCloud(t, func(t *testing.T, newFixture func(fixtureOptions) fixture) {
		f := newFixture(fixtureOptions{})
		ids := enqueue(t, f, n)
		slow := slowStore(t, f, 100*time.Millisecond)
		env := append(f.env(slow.URL), "EDW_VISIBILITY_TIMEOUT=60s", "EDW_SHUTDOWN_TIMEOUT="+deadline.String())
		c := startConsumer(t, env)
		eventually(t, time.Minute, "some messages processed", func() bool {
			return c.metric("edw_consumer_messages_processed_total") >= 50
		})
		took := stop(t, c)
		// The deadline, plus the release calls' own bound (5 s).
		if limit := deadline + 5*time.Second; took > limit {
			t.Fatalf("exit took %v after SIGTERM, want at most %v", took, limit)
		}
		t.Logf("exit %v after SIGTERM; %d rows stored", took.Round(time.Millisecond), len(f.rows(t)))
		if !strings.Contains(c.log(), `"msg":"consumer stopped"`) {
			t.Fatalf("no clean stop in the log:\n%s", c.log())
		}
		// The lease is 60 s: if the stopped consumer had kept messages
		// without releasing them, this drain would time out.
		slow.delay.Store(0)
		c2 := startConsumer(t, env)
		drained(t, f, n, 45*time.Second)
		stop(t, c2)
		requireExactly(t, f, ids)
	})
}

// Case 6: bad settings exit 2 with one line that names the variable.
func TestBadSettings(t *testing.T) {
	awsOK := []string{"EDW_CLOUD=aws", "SQS_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/1/q", "AWS_REGION=us-east-1", "DYNAMODB_TABLE=payments"}
	azureOK := []string{"EDW_CLOUD=azure", "AZURE_STORAGE_CONNECTION_STRING=", "AZURE_STORAGE_ACCOUNT_NAME=edwstore", "AZURE_QUEUE_NAME=payments", "AZURE_TABLE_NAME=payments"}
	with := func(base []string, kv ...string) []string { return append(slices.Clone(base), kv...) }
	for _, tc := range []struct {
		name, cmd string
		env       []string
		args      []string
		want      string
	}{
		{"no cloud", "consumer", []string{"EDW_CLOUD="}, nil, "EDW_CLOUD: want one of aws, azure"},
		{"unknown cloud", "producer", []string{"EDW_CLOUD=gcp"}, nil, `EDW_CLOUD: want one of aws, azure, got "gcp"`},
		{"aws queue url", "consumer", with(awsOK, "SQS_QUEUE_URL=payments"), nil, "SQS_QUEUE_URL: want the queue URL"},
		{"aws region", "producer", with(awsOK, "AWS_REGION="), nil, "AWS_REGION: want the region"},
		{"aws table", "consumer", with(awsOK, "DYNAMODB_TABLE="), nil, "DYNAMODB_TABLE: want a DynamoDB table name"},
		{"azure account", "consumer", with(azureOK, "AZURE_STORAGE_ACCOUNT_NAME=Bad_Name"), nil, "AZURE_STORAGE_ACCOUNT_NAME: want a storage account name"},
		{"azure queue", "producer", with(azureOK, "AZURE_QUEUE_NAME=Payments"), nil, "AZURE_QUEUE_NAME: want a storage queue name"},
		{"azure table", "consumer", with(azureOK, "AZURE_TABLE_NAME=pay-ments"), nil, "AZURE_TABLE_NAME: want a storage table name"},
		{"azure table endpoint", "consumer", with(azureOK, "AZURE_TABLE_ENDPOINT=http://edwrows.table.cosmos.azure.com"), nil, "AZURE_TABLE_ENDPOINT: want the table service's https endpoint"},
		{"azure connection string", "consumer", with(azureOK, "AZURE_STORAGE_CONNECTION_STRING=nonsense"), nil, "AZURE_STORAGE_CONNECTION_STRING: want a storage connection string"},
		{"workers", "consumer", with(awsOK, "EDW_WORKERS=many"), nil, `EDW_WORKERS: want an integer from 1 to 256, got "many"`},
		{"shutdown timeout", "consumer", with(awsOK, "EDW_SHUTDOWN_TIMEOUT=20"), nil, "EDW_SHUTDOWN_TIMEOUT: want a duration"},
		{"flag named", "producer", awsOK, []string{"--rate", "-1"}, `--rate: want a number from 0 to 1e+06, got "-1"`},
		{"id prefix", "producer", with(awsOK, "EDW_PRODUCER_ID_PREFIX=run/1"), nil, `EDW_PRODUCER_ID_PREFIX: id "run/1-0": want 1-128 characters`},
		{"count", "producer", with(awsOK, "EDW_PRODUCER_COUNT=-5"), nil, "EDW_PRODUCER_COUNT: want an integer"},
		{"log level", "consumer", with(awsOK, "EDW_LOG_LEVEL=loud"), nil, "EDW_LOG_LEVEL: want one of debug, info, warn, error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.cmd, tc.env, tc.args...)
			if code := p.wait(30 * time.Second); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, p.log())
			}
			out := strings.TrimSpace(p.log())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("stderr = %q, want one line containing %q", out, tc.want)
			}
		})
	}
}
