// Package meter measures what a lab run costs the machine it runs on: the
// CPU time and memory of every process in the lab's network namespace (the
// control plane, KEDA, Karpenter, kwok, the emulators and one consumer
// process per pod), which is the lab and nothing else.
package meter

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// architecture the lab builds for.
const userHZ = 100

// Reading is the lab's use of the machine at one moment.
type Reading struct {
	// CPU is the cores the lab kept busy since the previous reading.
	CPU float64
	// MemoryMiB is the proportional set size of its processes: shared pages
	// (such as the text of 500 copies of the consumer) counted once.
	MemoryMiB float64
	// Processes is how many there are.
	Processes int
}

// Meter reads /proc for the processes that share its network namespace.
type Meter struct {
	proc    string
	netns   string
	self    string
	lastCPU float64
	lastAt  time.Time
}

// New returns a meter for the processes in the caller's network namespace.
func New() (*Meter, error) { return newAt("/proc", os.Getpid()) }

func newAt(proc string, self int) (*Meter, error) {
	ns, err := os.Readlink(filepath.Join(proc, strconv.Itoa(self), "ns", "net"))
	if err != nil {
		return nil, fmt.Errorf("meter: own network namespace: %w", err)
	}
	m := &Meter{proc: proc, netns: ns, self: strconv.Itoa(self)}
	_, err = m.Read()
	return m, err
}

// Read measures the lab now. CPU is averaged since the previous Read.
func (m *Meter) Read() (Reading, error) {
	entries, err := os.ReadDir(m.proc)
	if err != nil {
		return Reading{}, fmt.Errorf("meter: %w", err)
	}
	// The lab first: it reaps nearly every process. A process that ends
	// after its reaper was read is missed once and counted at the next
	// Read; read the other way round, it would count twice.
	pids := []string{m.self}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.Name() != m.self {
			pids = append(pids, e.Name())
		}
	}
	now := time.Now()
	var r Reading
	var cpu float64
	for _, pid := range pids {
		dir := filepath.Join(m.proc, pid)
		if ns, err := os.Readlink(filepath.Join(dir, "ns", "net")); err != nil || ns != m.netns {
			continue
		}
		// A process may end between the listing and these reads: it then
		// counts in its parent's reaped time at the next Read.
		own, reaped, err := cpuSeconds(dir)
		if err != nil {
			continue
		}
		cpu += own
		// Every process the lab ends up reaping is a descendant of the lab:
		// its time (and that of the children it reaped in turn) lands in
		// the reaper's. Counting it for every process keeps the total
		// whole as processes come and go.
		cpu += reaped
		pss, err := pssKiB(dir)
		if err != nil {
			continue
		}
		r.MemoryMiB += pss / 1024
		r.Processes++
	}
	if !m.lastAt.IsZero() {
		if dt := now.Sub(m.lastAt).Seconds(); dt > 0 {
			r.CPU = max(0, cpu-m.lastCPU) / dt
		}
	}
	m.lastCPU, m.lastAt = cpu, now
	return r, nil
}

// cpuSeconds reads a process's own CPU time and that of the children it
// reaped, from fields 14-17 of /proc/<pid>/stat.
func cpuSeconds(dir string) (own, reaped float64, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("%s/stat: no command name", dir)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14.
	const utime = 14 - 3
	if len(f) < utime+4 {
		return 0, 0, fmt.Errorf("%s/stat: %d fields", dir, len(f)+2)
	}
	var t [4]float64
	for k := range t {
		if t[k], err = strconv.ParseFloat(f[utime+k], 64); err != nil {
			return 0, 0, fmt.Errorf("%s/stat field %d: %w", dir, 14+k, err)
		}
	}
	return (t[0] + t[1]) / userHZ, (t[2] + t[3]) / userHZ, nil
}

// pssKiB reads a process's proportional set size from smaps_rollup.
func pssKiB(dir string) (float64, error) {
	f, err := os.Open(filepath.Join(dir, "smaps_rollup"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s/smaps_rollup: no Pss line", dir)
}
