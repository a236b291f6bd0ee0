package latency

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Every request through the proxy takes at least the round trip, and the
// bodies arrive whole.
func TestEveryRequestWaitsARoundTrip(t *testing.T) {
	body := strings.Repeat("x", 200<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const rtt = 40 * time.Millisecond
	p, err := Start(ctx, strings.TrimPrefix(srv.URL, "http://"), rtt)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		start := time.Now()
		resp, err := http.Get("http://" + p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != body {
			t.Fatalf("body of %d bytes (%v), want %d", len(b), err, len(body))
		}
		if took := time.Since(start); took < rtt {
			t.Errorf("a request took %v, less than the round trip %v", took, rtt)
		}
	}
}

func TestDelayedRewritesEveryEmulatorAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := []string{
		"AWS_ENDPOINT_URL_SQS=http://127.0.0.1:4100",
		"SQS_QUEUE_URL=http://127.0.0.1:4100/100010001000/work",
		"AZURE_STORAGE_CONNECTION_STRING=QueueEndpoint=http://127.0.0.1:10001/dev;TableEndpoint=http://127.0.0.1:10002/dev",
		"EDW_WORKERS=4",
	}
	if same, err := Delayed(ctx, env, 0); err != nil || strings.Join(same, " ") != strings.Join(env, " ") {
		t.Errorf("no latency changed the environment: %v %v", same, err)
	}
	got, err := Delayed(ctx, env, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(got, " ")
	for _, port := range []string{":4100", ":10001", ":10002"} {
		if strings.Contains(joined, "127.0.0.1"+port) {
			t.Errorf("%s still reached directly: %v", port, got)
		}
	}
	sqs, queue := strings.TrimPrefix(got[0], "AWS_ENDPOINT_URL_SQS=http://"), strings.TrimPrefix(got[1], "SQS_QUEUE_URL=http://")
	if !strings.HasPrefix(queue, sqs+"/") || got[3] != "EDW_WORKERS=4" {
		t.Errorf("one emulator, two proxies, or a setting changed: %v", got)
	}
}
