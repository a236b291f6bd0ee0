package obs

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The consumer deletes a received batch with one call per message, all at
// once; the next batch must reuse the connections of the last one rather
// than open as many new ones.
func TestClientKeepsConnectionsOfConcurrentCalls(t *testing.T) {
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	client := NewAPIRequests(prometheus.NewRegistry()).Client("test")
	const concurrent, batches = 32, 4
	for range batches {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	// A connection goes back to the pool just after its response is read,
	// so a call of the next batch may still open a new one now and then;
	// without the pool every batch after the first opens about 30.
	if n := opened.Load(); n > concurrent+concurrent/2 {
		t.Fatalf("%d batches of %d concurrent calls opened %d connections, want about %d", batches, concurrent, n, concurrent)
	}
}
