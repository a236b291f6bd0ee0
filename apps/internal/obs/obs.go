// Package obs gives the apps their structured logger, their Prometheus
// registry, an HTTP client that counts cloud API calls, and the health and
// metrics endpoints.
package obs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric the apps export.
const Namespace = "edw"

// Logger returns a JSON logger on stderr at the level named by level
// ("debug", "info", "warn", "error"; empty means info).
func Logger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); level != "" && err != nil {
		return nil, err
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// APIRequests counts HTTP requests to cloud APIs by service and outcome,
// and pools their connections.
type APIRequests struct {
	vec       *prometheus.CounterVec
	transport *http.Transport
}

// NewAPIRequests registers the counter in reg.
func NewAPIRequests(reg prometheus.Registerer) *APIRequests {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace,
		Name:      "api_requests_total",
		Help:      "HTTP requests made to cloud APIs, by service and outcome (ok, error).",
	}, []string{"service", "outcome"})
	reg.MustRegister(vec)
	return &APIRequests{vec: vec, transport: keepIdleConns()}
}

// keepIdleConns returns http.DefaultTransport's settings without its limits
// on idle connections (100 in all, 2 per host). The apps make many calls at
// once to one host: the consumer up to 32 per worker (a Storage Queue
// deletes one message per call), the producer EDW_PRODUCER_CONCURRENCY.
// Past those limits each finished call closed its connection, so nearly
// every call opened a new one: a TCP handshake per delete, which cost the
// single-threaded Azurite 10 to 20 % more CPU per message, and against the
// cloud a TLS handshake too. The apps bound their own concurrency, and so
// the connections kept; idle ones close after IdleConnTimeout.
func keepIdleConns() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit
	t.MaxIdleConnsPerHost = math.MaxInt
	return t
}

// Client returns an HTTP client for calls to service that counts them.
func (a *APIRequests) Client(service string) *http.Client {
	return &http.Client{Transport: &countingTransport{
		next: a.transport,
		ok:   a.vec.WithLabelValues(service, "ok"),
		err:  a.vec.WithLabelValues(service, "error"),
	}}
}

type countingTransport struct {
	next    http.RoundTripper
	ok, err prometheus.Counter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := rewindable(req); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode >= 400 {
		t.err.Inc()
	} else {
		t.ok.Inc()
	}
	return resp, err
}

// rewindable buffers a streamed request body and sets GetBody, so that the
// transport may resend the request when a kept-alive connection turns out
// to be closed by the server; without GetBody it fails the call instead.
func rewindable(req *http.Request) error {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Body, _ = req.GetBody()
	return nil
}

// Server serves /healthz, /readyz and /metrics.
type Server struct {
	srv   *http.Server
	ready atomic.Bool
}

// shutdownGrace bounds how long Close waits for scrapes in progress.
const shutdownGrace = 2 * time.Second

// NewServer returns a server for addr; it reports not ready until SetReady.
func NewServer(addr string, reg *prometheus.Registry) *Server {
	s := &Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.srv = &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s
}

// Listen binds the address, so that a busy port fails start-up, and serves
// in the background. It returns the bound address.
func (s *Server) Listen(log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return "", err
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// SetReady sets what /readyz reports.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
