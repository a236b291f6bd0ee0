package stacks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edw-project/edw/versions"
)

// kubeScoreAccepted are the findings the workload keeps on purpose: its
// images are pinned by digest, so IfNotPresent pulls exactly what Always
// would.
var kubeScoreAccepted = []string{"ImagePullPolicy is not set to Always"}

// findings are kube-score's critical findings and warnings on the
// manifests in dir, but the accepted ones.
func findings(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	args := append([]string{"score", "--output-format", "ci", "--kubernetes-version", "v" + versions.Kubernetes}, files...)
	out, err := exec.Command(tool(t, "kube-score"), args...).CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("kube-score: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "[CRITICAL]") && !strings.HasPrefix(line, "[WARNING]") {
			continue
		}
		accepted := false
		for _, a := range kubeScoreAccepted {
			accepted = accepted || strings.Contains(line, a)
		}
		if !accepted {
			found = append(found, line)
		}
	}
	return found
}

// The workload passes a widely used manifest linter: NetworkPolicies on
// every pod, ephemeral storage bounded, a disruption budget. The check
// can fail: without the policies, it reports both Deployments.
func TestWorkloadPassesKubeScore(t *testing.T) {
	for _, stack := range []string{"aws", "azure"} {
		t.Run(stack, func(t *testing.T) {
			dir := t.TempDir()
			if err := plan(t, stack).Write(dir); err != nil {
				t.Fatal(err)
			}
			manifests := filepath.Join(dir, "manifests")
			if f := findings(t, manifests); len(f) > 0 {
				t.Errorf("kube-score:\n%s", strings.Join(f, "\n"))
			}
			for _, pattern := range []string{"networkpolicy-*.yaml", "poddisruptionbudget-*.yaml"} {
				matches, _ := filepath.Glob(filepath.Join(manifests, pattern))
				if len(matches) == 0 {
					t.Fatalf("no %s rendered", pattern)
				}
				for _, m := range matches {
					if err := os.Remove(m); err != nil {
						t.Fatal(err)
					}
				}
			}
			if f := findings(t, manifests); len(f) < 2 {
				t.Errorf("without its NetworkPolicies the workload draws %d findings, want one per Deployment: %v", len(f), f)
			}
		})
	}
}
