package meter

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeProc writes a /proc with the given processes: pid -> namespace, CPU
// ticks (own and reaped) and PSS in kB.
type fakeProc struct {
	t   *testing.T
	dir string
}

func (f fakeProc) process(pid int, ns string, own, reaped int, pssKB int) {
	dir := filepath.Join(f.dir, strconv.Itoa(pid))
	if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
		f.t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "ns", "net"))
	if err := os.Symlink("net:["+ns+"]", filepath.Join(dir, "ns", "net")); err != nil {
		f.t.Fatal(err)
	}
	// A command name with a space and a ')' in it, as comm may have.
	stat := fmt.Sprintf("%d (kube apiserver) x) S 1 1 1 0 -1 4194560 100 0 0 0 %d 0 %d 0 20 0 12 0 100 0 0\n", pid, own, reaped)
	rollup := fmt.Sprintf("00400000-7fff [rollup]\nRss:   %d kB\nPss:   %d kB\n", 2*pssKB, pssKB)
	for name, body := range map[string]string{"stat": stat, "smaps_rollup": rollup} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestReadCountsTheLabsNamespaceOnly(t *testing.T) {
	f := fakeProc{t, t.TempDir()}
	f.process(10, "lab", 100, 0, 2048)
	f.process(11, "lab", 50, 0, 1024)
	f.process(12, "host", 900, 0, 999_999)
	m, err := newAt(f.dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	// 11 ends and 10 reaps it: its 0.5 s move into 10's reaped time; 10
	// itself runs 2 s more.
	if err := os.RemoveAll(filepath.Join(f.dir, "11")); err != nil {
		t.Fatal(err)
	}
	f.process(10, "lab", 300, 50, 2048)
	m.lastAt = m.lastAt.Add(-2 * time.Second) // the reading two seconds later
	r, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if r.Processes != 1 || r.MemoryMiB != 2 {
		t.Errorf("got %d processes, %g MiB; want 1, 2 (the host's process left out)", r.Processes, r.MemoryMiB)
	}
	// 2 s of CPU over 2 s: one core, the reaped process's time not
	// counted twice.
	if math.Abs(r.CPU-1) > 0.01 {
		t.Errorf("CPU %g cores, want 1", r.CPU)
	}
}

func TestReadOnThisMachine(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if r.Processes < 1 || r.MemoryMiB <= 0 {
		t.Errorf("reading %+v: want this test's own process and memory at least", r)
	}
}
