// Package latency puts a cloud's round trip between the consumers and the
// emulators. The emulators answer on loopback in well under a millisecond;
// a consumer in the cloud waits a few milliseconds for every queue and
// table request, and that wait, not the emulator, bounds what one pod
// drains.
package latency

import (
	"context"
	"net"
	"regexp"
	"time"
)

// chunkSize is the most one read forwards at once.
const chunkSize = 32 << 10

// Proxy forwards TCP connections to a target, holding every chunk half a
// round trip in each direction. Chunks keep their order and are held from
// the moment they arrive, so a response of many chunks is late by half a
// round trip once, not once per chunk.
type Proxy struct {
	listener net.Listener
	target   string
	half     time.Duration
}

// Start listens on a free loopback port and forwards to target (host:port)
// with round trip rtt, until ctx ends.
func Start(ctx context.Context, target string, rtt time.Duration) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{listener: l, target: target, half: rtt / 2}
	go p.serve(ctx)
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

func (p *Proxy) serve(ctx context.Context) {
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		go p.forward(ctx, c.(*net.TCPConn))
	}
}

func (p *Proxy) forward(ctx context.Context, client *net.TCPConn) {
	defer client.Close()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	server := conn.(*net.TCPConn)
	defer server.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	<-done
}

// pipe copies src to dst, each chunk half a round trip after it arrived,
// then closes dst for writing.
func (p *Proxy) pipe(dst, src *net.TCPConn) {
	type chunk struct {
		b   []byte
		due time.Time
	}
	chunks := make(chan chunk, 256)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, chunkSize)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{buf[:n], time.Now().Add(p.half)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			for range chunks {
			}
			break
		}
	}
	// The other side sees the end of the stream, as it would have.
	_ = dst.CloseWrite()
}

// loopback matches the emulators' addresses in an environment.
var loopback = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// Delayed rewrites every emulator address (127.0.0.1:<port>) in env to a
// proxy that adds rtt to each request; with rtt 0 it returns env as it is.
func Delayed(ctx context.Context, env []string, rtt time.Duration) ([]string, error) {
	if rtt <= 0 {
		return env, nil
	}
	proxies := map[string]string{}
	out := make([]string, len(env))
	var err error
	for i, kv := range env {
		out[i] = loopback.ReplaceAllStringFunc(kv, func(target string) string {
			if _, ok := proxies[target]; !ok && err == nil {
				var p *Proxy
				if p, err = Start(ctx, target, rtt); err == nil {
					proxies[target] = p.Addr()
				}
			}
			return proxies[target]
		})
	}
	return out, err
}
