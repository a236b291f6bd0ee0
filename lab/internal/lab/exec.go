package lab

import (
	"context"
	"errors"
	"os"
	"os/exec"
)

// Exec runs Options.Exec in the lab's network with the control plane, KEDA
// and Karpenter up, and returns its exit code. The command reaches the
// apiserver through KUBECONFIG (the lab's admin) and the emulators through
// the endpoints in its environment.
func (l *Lab) Exec(ctx context.Context) (int, error) {
	cmd := exec.CommandContext(ctx, l.opts.Exec[0], l.opts.Exec[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+l.cp.AdminKubeconfig, "EDW_LAB_STACK="+l.opts.Stack)
	cmd.Env = append(cmd.Env, envList(l.emulators)...)
	l.log.Info("running in the lab", "command", l.opts.Exec)
	err := cmd.Run()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
