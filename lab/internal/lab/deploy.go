package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/edw-project/edw/lab/internal/scenario"
)

const (
	// teardownPrefix numbers the messages of the burst that keeps the
	// consumers and their nodes busy while the stack is destroyed.
	teardownPrefix = "teardown"
	// objectsFile holds the objects the deploy command swaps in.
	objectsFile = "swapped.json"
)

// swappedKinds are the stack's objects whose spec the deploy takes from the
// lab.
var swappedKinds = []string{"NodePool", "ScaledObject", "TriggerAuthentication"}

// deploy brings the stack up with Options.Deploy: the node classes
// Karpenter's kwok provider reads first, the stack with the lab's swaps,
// then the emulator's credentials (in the stack's namespace, which exists
// only then).
func (l *Lab) deploy(ctx context.Context, swapped []*unstructured.Unstructured) error {
	of := func(kinds ...string) []*unstructured.Unstructured {
		return slices.DeleteFunc(slices.Clone(swapped), func(o *unstructured.Unstructured) bool { return !slices.Contains(kinds, o.GetKind()) })
	}
	if err := l.applier.Apply(ctx, of("KWOKNodeClass")...); err != nil {
		return err
	}
	var objs []map[string]any
	for _, o := range of(swappedKinds...) {
		objs = append(objs, o.Object)
	}
	b, err := json.Marshal(objs)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.opts.Out, objectsFile), b, 0o644); err != nil {
		return err
	}
	start := time.Now()
	if err := l.runDeploy(ctx, "up"); err != nil {
		return err
	}
	l.log.Info("deployed through the engine", "seconds", int(time.Since(start).Seconds()))
	return l.applier.Apply(ctx, of("Secret")...)
}

// runDeploy runs Options.Deploy with op, its output in logs/engine-<op>.log.
func (l *Lab) runDeploy(ctx context.Context, op string) error {
	logFile, err := os.Create(filepath.Join(l.opts.Out, "logs", "engine-"+op+".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := append(slices.Clone(l.opts.Deploy[1:]), op)
	cmd := exec.CommandContext(ctx, l.opts.Deploy[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "KUBECONFIG="+l.cp.AdminKubeconfig, "EDW_LAB_OBJECTS="+filepath.Join(l.opts.Out, objectsFile))
	l.log.Info("running the engine", "op", op, "log", logFile.Name())
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w (see %s)", strings.Join(l.opts.Deploy, " "), op, err, logFile.Name())
	}
	return nil
}

// Teardown sends a second burst, waits until consumers run on Karpenter's
// nodes, destroys the stack with Options.Deploy while they do, and reports
// what the destroy left and whether a message of that burst was lost.
func (l *Lab) Teardown(ctx context.Context) (scenario.Teardown, error) {
	var t scenario.Teardown
	defer l.startKubelet(ctx)()

	t.Messages = max(1, l.opts.Messages/4)
	l.log.Info("sending the teardown burst", "messages", t.Messages)
	if err := l.produce(ctx, t.Messages, teardownPrefix); err != nil {
		return t, err
	}
	var busy scenario.Sample
	if err := l.until(ctx, "consumers on Karpenter's nodes", func(s scenario.Sample) bool {
		busy = s
		return s.Running > 0 && s.Nodes > 0
	}); err != nil {
		return t, err
	}
	t.Pods, t.Nodes = busy.Running, busy.Nodes
	start := time.Now()
	if err := l.runDeploy(ctx, "destroy"); err != nil {
		return t, err
	}
	t.Seconds = time.Since(start).Seconds()
	claims, err := l.applier.Client().Resource(nodeClaims).List(ctx, metav1.ListOptions{})
	if err != nil {
		return t, err
	}
	nodes, err := l.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "karpenter.sh/nodepool"})
	if err != nil {
		return t, err
	}
	t.NodeClaimsLeft, t.NodesLeft = len(claims.Items), len(nodes.Items)
	if _, err := l.kube.CoreV1().Namespaces().Get(ctx, l.consumer.Namespace, metav1.GetOptions{}); err == nil {
		t.NamespaceLeft = true
	}
	rows, queued, setAside, err := l.outcome(ctx)
	if err != nil {
		return t, err
	}
	burst := map[string]int{}
	for id, n := range rows.Count {
		if strings.HasPrefix(id, teardownPrefix+"-") {
			burst[id] = n
		}
	}
	t.Lost, _ = scenario.Count(burst, map[string]int{teardownPrefix: t.Messages}, l.unsent(queued, setAside))
	t.Queued = queued
	return t, nil
}
