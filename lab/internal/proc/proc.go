// Package proc runs the lab's long-lived processes, each logging to a file of
// its own, and ends them all at once.
package proc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Group is the set of processes a lab run started.
type Group struct {
	logDir string
	mu     sync.Mutex
	procs  []*Process
}

// Process is one started program.
type Process struct {
	Name    string
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// NewGroup returns a group whose processes log to logDir/<name>.log.
func NewGroup(logDir string) *Group { return &Group{logDir: logDir} }

// Start runs bin with args and env added to the lab's own environment.
func (g *Group) Start(name, bin string, args, env []string) (*Process, error) {
	logFile := filepath.Join(g.logDir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a terminal's Ctrl-C reaches the lab only and
	// the lab decides the order things end in.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, LogFile: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// Exited reports whether p ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// KillAll ends every process with SIGKILL, newest first: the control plane
// keeps nothing worth a graceful stop, and an apiserver takes a minute to stop
// gracefully.
func (g *Group) KillAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.procs) - 1; i >= 0; i-- {
		p := g.procs[i]
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	g.procs = nil
}

// WaitHTTP polls url with client until it answers 200, p exits or ctx ends.
func WaitHTTP(ctx context.Context, p *Process, client *http.Client, url string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if exited, werr := p.Exited(); exited {
			return fmt.Errorf("%s exited (%v) before %s answered; see %s", p.Name, werr, url, p.LogFile)
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s: %s did not answer; see %s", p.Name, url, p.LogFile), ctx.Err())
		case <-tick.C:
		}
	}
}
