// Package netns runs the lab inside a network namespace of its own: its
// servers cannot clash with the machine's ports, and no traffic leaves the
// namespace, which has loopback and one extra address on it.
package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

const (
	// insideEnv names the namespace a process already runs in.
	insideEnv = "EDW_LAB_NETNS"
	// prefix starts every lab namespace's name; the creator's pid ends it.
	prefix = "edw-lab-"
)

// Inside reports whether this process runs in a lab's namespace.
func Inside() bool { return os.Getenv(insideEnv) != "" }

// Name is this lab's namespace: one per run, so that labs on one machine
// do not meet.
func Name() string {
	if n := os.Getenv(insideEnv); n != "" {
		return n
	}
	return prefix + strconv.Itoa(os.Getpid())
}

// Exec creates the namespace with address on its loopback, runs this program
// again inside it with args, and deletes the namespace and anything left in
// it afterwards. It returns the inner run's exit code.
func Exec(address string, args []string) (int, error) {
	if os.Geteuid() != 0 {
		return 0, errors.New("the lab creates a network namespace and CPU cgroups: run it as root (make lab asks sudo)")
	}
	sweep()
	name := Name()
	for _, cmd := range [][]string{
		{"netns", "add", name},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "addr", "add", address + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			remove(name)
			return 0, fmt.Errorf("ip %s: %v: %s", strings.Join(cmd, " "), err, out)
		}
	}
	defer remove(name)
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// nsenter rather than `ip netns exec`, which mounts a sysfs of its own
	// and so hides the cgroup hierarchy the lab's kubelet needs.
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + name, self}, args...)...)
	cmd.Env = append(os.Environ(), insideEnv+"="+name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	// The run inside stops on its own at SIGINT or SIGTERM; this side stays
	// to delete the namespace after it.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// sweep deletes the namespaces of earlier runs whose process is gone (a run
// killed with SIGKILL cannot delete its own).
func sweep() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pid, ok := strings.CutPrefix(fields[0], prefix)
		n, err := strconv.Atoi(pid)
		if !ok || err != nil {
			continue
		}
		if syscall.Kill(n, 0) == syscall.ESRCH {
			remove(fields[0])
		}
	}
}

// remove ends every process in the namespace and deletes it.
func remove(name string) {
	out, _ := exec.Command("ip", "netns", "pids", name).Output()
	for _, pid := range strings.Fields(string(out)) {
		var n int
		if _, err := fmt.Sscan(pid, &n); err == nil {
			_ = syscall.Kill(n, syscall.SIGKILL)
		}
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
}
