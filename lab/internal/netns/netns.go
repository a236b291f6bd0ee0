// Package netns runs the lab inside a network namespace of its own: its
// servers cannot clash with the machine's ports, and no traffic leaves the
// namespace, which has loopback and one extra address on it.
package netns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// insideEnv names the namespace a process already runs in.
const insideEnv = "EDW_LAB_NETNS"

// Inside reports whether this process runs in a lab's namespace.
func Inside() bool { return os.Getenv(insideEnv) != "" }

// Name is this lab's namespace: one per run, so that labs on one machine
// do not meet.
func Name() string {
	if n := os.Getenv(insideEnv); n != "" {
		return n
	}
	return "edw-lab-" + strconv.Itoa(os.Getpid())
}

// Exec creates the namespace with address on its loopback, runs this program
// again inside it with args, and deletes the namespace and anything left in
// it afterwards. It returns the inner run's exit code.
func Exec(address string, args []string) (int, error) {
	if os.Geteuid() != 0 {
		return 0, errors.New("the lab creates a network namespace and CPU cgroups: run it as root (make lab asks sudo)")
	}
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
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	return 0, err
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
