// Package backend is the lab's side of the emulators that stand in for the
// cloud's queue and table: it creates what the stack would have created,
// under the names the rendered Deployment uses, reads back queue depth and
// the rows written, and sends what the producer would not.
package backend

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Backend is one cloud's queue and table on the emulators.
type Backend interface {
	// Prepare creates the queue, its dead-letter or poison queue, and the
	// table, all empty.
	Prepare(ctx context.Context) error
	// Depth is the number of messages in the queue, in flight included.
	Depth(ctx context.Context) (int, error)
	// SetAside is the number of messages in the dead-letter or poison queue.
	SetAside(ctx context.Context) (int, error)
	// Rows reads the whole table.
	Rows(ctx context.Context) (Rows, error)
	// Env is what a process needs, beyond the Deployment's own environment,
	// to use the emulators instead of the cloud: endpoints, credentials,
	// and the queue and table the lab prepared (a deploy through the engine
	// names the cloud's own).
	Env() []string
	// QueueURL is the queue's address on the emulator (SQS only).
	QueueURL() string
	// Send puts bodies on the work queue as they are, bypassing the
	// producer: the lab's poison messages, which no producer would send.
	Send(ctx context.Context, bodies []string) error
}

// Rows is what the table holds: the rows of each message id, and each
// id's latency, from the producer's stamp to the consumer's (of the row
// read last, where there are more).
type Rows struct {
	Count   map[string]int
	Latency map[string]time.Duration
}

func newRows() Rows { return Rows{Count: map[string]int{}, Latency: map[string]time.Duration{}} }

// add counts a row of id, and its latency where the consumer's stamps
// parse: a row without them still counts, so that losses are not hidden.
func (r Rows) add(id, srcStamp, destStamp string) {
	r.Count[id]++
	src, err1 := time.Parse(time.RFC3339Nano, srcStamp)
	dest, err2 := time.Parse(time.RFC3339Nano, destStamp)
	if err1 == nil && err2 == nil {
		r.Latency[id] = dest.Sub(src)
	}
}

// New returns the backend for cloud, named after the consumer's environment
// as rendered (env) and reached with the emulator settings in emulators.
func New(ctx context.Context, cloud string, env, emulators map[string]string) (Backend, error) {
	switch cloud {
	case "aws":
		return newAWS(ctx, env, emulators)
	case "azure":
		return newAzure(env, emulators)
	}
	return nil, fmt.Errorf("cloud %q: want aws or azure", cloud)
}

// ReadEnvFile reads the `export NAME=value` lines of a shell file, such as
// the one the emulator script writes.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not NAME=value", path, line)
		}
		env[name] = strings.Trim(value, `'"`)
	}
	return env, sc.Err()
}

func required(env map[string]string, names ...string) error {
	for _, n := range names {
		if env[n] == "" {
			return fmt.Errorf("%s is not set; the rendered consumer Deployment or the emulator settings lack it", n)
		}
	}
	return nil
}

func atoi(env map[string]string, name string) (int, error) {
	n, err := strconv.Atoi(env[name])
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want an integer", name, env[name])
	}
	return n, nil
}
