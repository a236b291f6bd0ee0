package kubelet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// cfsPeriod is the CPU quota period kubelets use, in microseconds.
const cfsPeriod = 100_000

// cpuGroup is a CPU cgroup that holds one pod's process to the pod's CPU
// limit, as a kubelet would, so a pod does the work its limit allows and
// scale-out is what adds throughput.
type cpuGroup struct{ dir string }

// cgroupRoot finds where to create CPU cgroups: the v2 unified hierarchy, or
// v1's cpu controller. It returns "" where neither is writable.
func cgroupRoot(name string) (root string, v2 bool) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		dir := filepath.Join("/sys/fs/cgroup", name)
		if os.MkdirAll(dir, 0o755) == nil && os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+cpu"), 0o644) == nil &&
			os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+cpu"), 0o644) == nil {
			return dir, true
		}
		return "", false
	}
	dir := filepath.Join("/sys/fs/cgroup/cpu", name)
	if os.MkdirAll(dir, 0o755) == nil {
		return dir, false
	}
	return "", false
}

// newCPUGroup creates root/pod limited to milliCPU.
func newCPUGroup(root string, v2 bool, pod string, milliCPU int64) (*cpuGroup, error) {
	dir := filepath.Join(root, pod)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	quota := milliCPU * cfsPeriod / 1000
	var err error
	if v2 {
		err = os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, cfsPeriod), 0o644)
	} else {
		err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.FormatInt(quota, 10)), 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("cpu limit of %s: %w", pod, err)
	}
	return &cpuGroup{dir: dir}, nil
}

func (g *cpuGroup) add(pid int) error {
	return os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

func (g *cpuGroup) remove() { _ = os.Remove(g.dir) }
