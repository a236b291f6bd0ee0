package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// bin holds the commands built once for all tests.
var bin = map[string]string{}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "edw-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		for _, name := range []string{"producer", "consumer"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, "../"+name)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n", name, err)
				return 1
			}
			bin[name] = out
		}
		return m.Run()
	}())
}

// requireEmulators skips without emulators, except under CI.
func requireEmulators(t testing.TB) {
	t.Helper()
	if os.Getenv("EDW_EMULATORS") != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but the emulators are not running: source build/emulators.env after scripts/emulators.sh start")
	}
	t.Skip("emulators not running (scripts/emulators.sh start; source build/emulators.env)")
}

// proc is a running command whose stderr is kept for inspection.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	addr   chan string
	done   chan error
	http   string
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// start runs a command with env on top of this process's environment.
func start(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan error, 1), addr: make(chan string, 1)}
	p.cmd = exec.Command(bin[name], args...)
	p.cmd.Env = append(os.Environ(), env...)
	r, w := io.Pipe()
	p.cmd.Stderr = w
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			p.Write(append(line, '\n'))
			var entry struct{ Msg, HTTP string }
			if json.Unmarshal(line, &entry) == nil && entry.Msg == "consumer started" {
				p.addr <- entry.HTTP
			}
		}
	}()
	// Done once the last line is kept too: a command that exits at once
	// (a bad setting) is judged by what it wrote.
	go func() { err := p.cmd.Wait(); w.Close(); <-scanned; p.done <- err }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (the end):\n%s", name, tail(p.log(), 6000))
		}
	})
	return p
}

// consumer starts the consumer and waits until it serves its endpoints.
func startConsumer(t testing.TB, env []string) *proc {
	t.Helper()
	p := start(t, "consumer", append([]string{"EDW_HTTP_ADDR=127.0.0.1:0"}, env...))
	select {
	case p.http = <-p.addr:
	case err := <-p.done:
		t.Fatalf("consumer exited at start: %v\n%s", err, p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("consumer did not start\n%s", p.log())
	}
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait waits for exit and returns the exit code.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.t.Fatalf("%s still running after %v\n%s", p.cmd.Path, timeout, p.log())
		return -1
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// metric sums the samples of a series in the consumer's /metrics, label
// sets included.
func (p *proc) metric(name string) float64 {
	p.t.Helper()
	resp, err := http.Get("http://" + p.http + "/metrics")
	if err != nil {
		p.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			p.t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// eventually polls cond until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// faultProxy stands between the consumer and a store emulator: it can
// fail every request (an outage) or delay each one (a slow store).
type faultProxy struct {
	URL   string
	down  atomic.Bool
	delay atomic.Int64
	fails atomic.Int64
}

func newFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Requests the consumer abandons (SIGKILL, shutdown) are expected here.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(fp.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if fp.down.Load() {
			fp.fails.Add(1)
			http.Error(w, "store unavailable (injected)", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	fp.URL = srv.URL
	return fp
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
