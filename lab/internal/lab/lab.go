// Package lab runs a stack's event-driven loop on one machine: the
// control plane, KEDA and Karpenter as processes, the stack's own objects
// applied to it, consumer pods backed by consumer processes, and a burst of
// messages from the producer.
package lab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/edw-project/edw/lab/internal/addons"
	"github.com/edw-project/edw/lab/internal/apply"
	"github.com/edw-project/edw/lab/internal/backend"
	"github.com/edw-project/edw/lab/internal/boot"
	"github.com/edw-project/edw/lab/internal/controlplane"
	"github.com/edw-project/edw/lab/internal/kubelet"
	"github.com/edw-project/edw/lab/internal/latency"
	"github.com/edw-project/edw/lab/internal/meter"
	"github.com/edw-project/edw/lab/internal/netns"
	"github.com/edw-project/edw/lab/internal/price"
	"github.com/edw-project/edw/lab/internal/proc"
	"github.com/edw-project/edw/lab/internal/prometheus"
	"github.com/edw-project/edw/lab/internal/scenario"
	"github.com/edw-project/edw/lab/internal/swap"
)

const (
	// idPrefix numbers the run's messages, so every one can be found in
	// the table.
	idPrefix = "lab"
	// rulesFile is where the render writes the alert rules the stack
	// deploys (internal/render's RulesFile).
	rulesFile = "monitoring/rules.yaml"
	// scrapeFile is where it writes the stack's scrape configuration.
	scrapeFile = "monitoring/scrape.yaml"
)

// Options configure a run.
type Options struct {
	// Stack is aws or azure; RenderDir holds its offline render.
	Stack, RenderDir string
	// Bin holds the control plane, KEDA, Karpenter, kwok, consumer and
	// producer binaries.
	Bin string
	// KedaCRDs and KarpenterCRDs are globs of the CRD manifests.
	KedaCRDs      string
	KarpenterCRDs []string
	// KwokStages are globs of kwok's Stage manifests, which make its nodes
	// Ready and their pods Running (kwok 0.8 has none built in).
	KwokStages []string
	// Emulators is the script that starts and stops the emulators.
	Emulators string
	// Out receives logs, the timeline and the plot; it is emptied first.
	Out string
	// Messages and Rate shape the burst.
	Messages int
	Rate     float64
	// Settle bounds each wait: for the baseline, the drain, zero pods and
	// the nodes' return.
	Settle time.Duration
	// Latency is the round trip the consumers wait for on every queue and
	// table request, as in a cloud; 0 leaves the emulators' loopback.
	Latency time.Duration
	// NodeStartup is how long a Karpenter node boots before pods may run
	// on it; PodStartup how long a pod takes to start its process.
	NodeStartup, PodStartup time.Duration
	// Goal is the pods and nodes a scale run must reach.
	Goal scenario.Goal
	// Hold, when above 0, is the depth the queue is kept at after the
	// burst, for HoldFor.
	Hold    int
	HoldFor time.Duration
	// Exec, when set, is run in the lab's network instead of applying the
	// stack's objects and sending the burst: a command that deploys the
	// stack itself, such as the engine layer's tests.
	Exec []string
	// Dashboard is the stack's Grafana dashboard, whose queries a run
	// evaluates in the lab's Prometheus.
	Dashboard string
	// Poison, when above 0, is how many unprocessable messages a run sends
	// after its burst, to see them set aside and alerted on.
	Poison int
	// Deploy, when set, deploys the stack instead of applying its render:
	// the lab runs it with "up" before the burst and "destroy" at the end
	// (see Teardown), with KUBECONFIG and EDW_LAB_OBJECTS (the objects the
	// lab swapped, which the command applies to what it deploys).
	Deploy []string
}

// Lab is a running lab.
type Lab struct {
	opts    Options
	log     *slog.Logger
	procs   *proc.Group
	cp      *controlplane.ControlPlane
	kube    kubernetes.Interface
	applier *apply.Applier
	backend backend.Backend
	// minReplicas is the ScaledObject's minimum: the consumers at rest.
	minReplicas int
	// consumerEnv and producerEnv are the rendered containers' environments.
	consumerEnv, producerEnv map[string]string
	// cloudEnv is what the consumer processes need to reach the emulators,
	// through the round trip of Options.Latency.
	cloudEnv []string
	// emulators are the emulators' endpoints and credentials.
	emulators map[string]string
	consumer  *appsv1.Deployment
	kubelet   *kubelet.Kubelet
	// meter measures the lab's own CPU and memory.
	meter *meter.Meter
	// prom scrapes the consumer processes and evaluates the stack's alert
	// rules; queries are the dashboard's.
	prom    *prometheus.Server
	queries []prometheus.Query
	// prices are the cloud's; standing is what the stack keeps up
	// whatever the queue holds, priced.
	prices   price.Table
	standing price.Standing
	// objective is the stack's drain objective in seconds, 0 when the
	// stack sets its scaler's target itself.
	objective float64
}

// Start brings the lab up to the moment the stack's objects are applied.
// Close ends it, also when Start fails part way.
func Start(ctx context.Context, opts Options, log *slog.Logger) (*Lab, error) {
	l := &Lab{opts: opts, log: log}
	if err := os.RemoveAll(opts.Out); err != nil {
		return nil, err
	}
	for _, d := range []string{"logs", "pods", "pki"} {
		if err := os.MkdirAll(filepath.Join(opts.Out, d), 0o755); err != nil {
			return nil, err
		}
	}
	l.procs = proc.NewGroup(filepath.Join(opts.Out, "logs"))
	m, err := meter.New()
	if err != nil {
		return l, err
	}
	l.meter = m

	rendered, err := apply.ReadFiles(filepath.Join(opts.RenderDir, "manifests", "*.yaml"))
	if err != nil {
		return l, fmt.Errorf("render of stack %s (run make render): %w", opts.Stack, err)
	}
	if err := l.findDeployments(rendered); err != nil {
		return l, err
	}
	resources, err := os.ReadFile(filepath.Join(opts.RenderDir, "resources.json"))
	if err != nil {
		return l, fmt.Errorf("render of stack %s (run make render): %w", opts.Stack, err)
	}
	zones, err := swap.Zones(opts.Stack, rendered, resources)
	if err != nil {
		return l, err
	}
	if l.prices, err = price.For(opts.Stack); err != nil {
		return l, err
	}
	if l.standing, err = l.prices.Standing(resources); err != nil {
		return l, err
	}
	if l.objective, err = drainObjective(resources); err != nil {
		return l, err
	}
	if l.queries, err = prometheus.Dashboard(opts.Dashboard); err != nil {
		return l, err
	}

	log.Info("starting the emulators")
	emulators, err := l.startEmulators(ctx)
	l.emulators = emulators
	if err != nil {
		return l, err
	}
	if l.backend, err = backend.New(ctx, opts.Stack, l.consumerEnv, emulators); err != nil {
		return l, err
	}
	if err := l.backend.Prepare(ctx); err != nil {
		return l, err
	}
	if l.cloudEnv, err = latency.Delayed(ctx, l.backend.Env(), opts.Latency); err != nil {
		return l, err
	}
	swapped, err := swap.Objects(rendered, swap.Emulator{
		QueueURL: l.backend.QueueURL(), SQSEndpoint: emulators["AWS_ENDPOINT_URL_SQS"],
		ConnectionString: emulators["AZURE_STORAGE_CONNECTION_STRING"],
	})
	if err != nil {
		return l, err
	}
	for _, n := range swapped.Notes {
		log.Info("swapped for the lab", "what", n)
	}

	log.Info("starting the control plane")
	l.cp, err = controlplane.Start(ctx, l.procs, controlplane.Binaries{
		Etcd: l.bin("etcd"), APIServer: l.bin("kube-apiserver"), ControllerManager: l.bin("kube-controller-manager"),
		Scheduler: l.bin("kube-scheduler"), Kwok: l.bin("kwok"), KwokStages: opts.KwokStages,
	}, filepath.Join(opts.Out, "pki"))
	if err != nil {
		return l, err
	}
	if l.kube, err = kubernetes.NewForConfig(l.cp.Admin); err != nil {
		return l, err
	}
	if l.applier, err = apply.New(l.cp.Admin); err != nil {
		return l, err
	}
	if err := l.applier.Apply(ctx, systemNode(zones[0])); err != nil {
		return l, err
	}

	log.Info("starting KEDA")
	kedaEnv := []string{}
	if opts.Stack == "aws" {
		// What EKS Pod Identity gives the operator in the cloud.
		kedaEnv = append(kedaEnv, "AWS_ACCESS_KEY_ID="+emulators["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+emulators["AWS_SECRET_ACCESS_KEY"])
	}
	if err := addons.StartKeda(ctx, l.procs, l.cp, l.applier, addons.Keda{
		Operator: l.bin("keda-operator"), MetricsServer: l.bin("keda-adapter"), CRDs: opts.KedaCRDs, Env: kedaEnv,
	}); err != nil {
		return l, err
	}
	log.Info("starting Karpenter", "families", swapped.Families, "architectures", swapped.Architectures, "zones", zones)
	if err := addons.StartKarpenter(ctx, l.procs, l.cp, l.applier, addons.Karpenter{
		Binary: l.bin("karpenter"), CRDs: opts.KarpenterCRDs,
		Families: swapped.Families, Architectures: swapped.Architectures, Zones: zones, Prices: l.prices,
	}); err != nil {
		return l, err
	}
	go boot.Run(ctx, l.kube, opts.NodeStartup, log)

	switch {
	case len(opts.Exec) > 0:
		return l, nil
	case len(opts.Deploy) > 0:
		if err := l.deploy(ctx, swapped.Objects); err != nil {
			return l, err
		}
	default:
		log.Info("applying the stack's objects", "count", len(swapped.Objects))
		slices.SortStableFunc(swapped.Objects, func(a, b *unstructured.Unstructured) int {
			return cmp.Compare(applyOrder(a.GetKind()), applyOrder(b.GetKind()))
		})
		if err := l.applier.Apply(ctx, swapped.Objects...); err != nil {
			return l, err
		}
	}
	log.Info("starting Prometheus")
	if l.prom, err = l.startPrometheus(ctx); err != nil {
		return l, err
	}
	l.kubelet = kubelet.New(kubelet.Options{
		Namespace: l.consumer.Namespace, Selector: selector(l.consumer),
		Binary: l.bin("consumer"), LogDir: filepath.Join(opts.Out, "pods"), CgroupName: netns.Name(),
		Startup: opts.PodStartup, TargetsFile: l.prom.TargetsFile,
		Env: func(container []string, addr string) []string {
			return swap.ProcessEnv(container, l.cloudEnv, addr)
		},
	}, log)
	return l, nil
}

// Close stops the emulators and every process, whatever state they are in.
func (l *Lab) Close() {
	if l.procs != nil {
		l.procs.KillAll()
	}
	cmd := exec.Command(l.opts.Emulators, "stop")
	cmd.Env = append(os.Environ(), l.emulatorEnv()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.log.Warn("stopping the emulators", "err", err, "output", string(out))
	}
}

func (l *Lab) bin(name string) string { return filepath.Join(l.opts.Bin, name) }

// startPrometheus runs Prometheus with the alert rules and the scrape
// configuration of the render: the stack's own, or none when it deploys
// none.
func (l *Lab) startPrometheus(ctx context.Context) (*prometheus.Server, error) {
	scrape, err := os.ReadFile(filepath.Join(l.opts.RenderDir, scrapeFile))
	if errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("the render has no scrape configuration (the stack deploys no scraper): series carry no namespace, pod or node", "file", scrapeFile)
	} else if err != nil {
		return nil, fmt.Errorf("scrape configuration: %w", err)
	}
	rules := filepath.Join(l.opts.RenderDir, rulesFile)
	if _, err := os.Stat(rules); errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("the render has no alert rules (the stack deploys none): Prometheus evaluates none", "file", rules)
		rules = ""
	} else if err != nil {
		return nil, fmt.Errorf("alert rules: %w", err)
	}
	return prometheus.Start(ctx, l.procs, l.bin("prometheus"), filepath.Join(l.opts.Out, "prometheus"), rules, scrape)
}

// findDeployments finds the consumer (the ScaledObject's target) and the
// producer among the rendered objects.
func (l *Lab) findDeployments(objs []*unstructured.Unstructured) error {
	target := ""
	deployments := map[string]*appsv1.Deployment{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ScaledObject":
			target, _, _ = unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			// A number decodes as int64 or float64, by where it was read.
			minReplicas, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "minReplicaCount")
			switch n := minReplicas.(type) {
			case int64:
				l.minReplicas = int(n)
			case float64:
				l.minReplicas = int(n)
			}
		case "Deployment":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				return fmt.Errorf("deployment %s: %w", o.GetName(), err)
			}
			deployments[d.Name] = &d
		}
	}
	l.consumer = deployments[target]
	producer := deployments["producer"]
	if l.consumer == nil || producer == nil {
		return errors.New("the render has no ScaledObject-targeted consumer Deployment and producer Deployment")
	}
	l.consumerEnv, l.producerEnv = containerEnv(l.consumer), containerEnv(producer)
	return nil
}

func (l *Lab) emulatorEnv() []string {
	return []string{
		"EDW_EMULATORS_STATE=" + filepath.Join(l.opts.Out, "emulators"),
		"EDW_EMULATORS_ENV=" + filepath.Join(l.opts.Out, "emulators.env"),
	}
}

func (l *Lab) startEmulators(ctx context.Context) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, l.opts.Emulators, "start")
	cmd.Env = append(os.Environ(), l.emulatorEnv()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s start: %w: %s", l.opts.Emulators, err, out)
	}
	return backend.ReadEnvFile(filepath.Join(l.opts.Out, "emulators.env"))
}

// systemNode stands for the stack's system node group: tainted for critical
// add-ons, so the consumer's pods need Karpenter's nodes. It is the
// baseline the workload nodes come back to.
func systemNode(zone string) *unstructured.Unstructured {
	key, value, _ := strings.Cut(controlplane.KwokNodeAnnotation, "=")
	return apply.Object("v1", "Node", "", "system-0", map[string]any{
		"metadata": map[string]any{
			"labels": map[string]any{"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "edw.dev/pool": "system",
				corev1.LabelTopologyZone: zone},
			"annotations": map[string]any{key: value},
		},
		"spec": map[string]any{"taints": []any{map[string]any{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}}},
		"status": map[string]any{
			"capacity":    map[string]any{"cpu": "4", "memory": "16Gi", "pods": "110"},
			"allocatable": map[string]any{"cpu": "4", "memory": "16Gi", "pods": "110"},
		},
	})
}

// drainObjective reads the stack's drain objective from its scaling
// output in the render: what the derived target promises.
func drainObjective(resources []byte) (float64, error) {
	var render struct {
		Outputs struct {
			Scaling *struct {
				Derived               bool
				DrainObjectiveSeconds float64
			}
		}
	}
	if err := json.Unmarshal(resources, &render); err != nil {
		return 0, fmt.Errorf("render's resources: %w", err)
	}
	s := render.Outputs.Scaling
	if s == nil {
		return 0, fmt.Errorf("the render has no scaling output: run make render")
	}
	if !s.Derived {
		return 0, nil
	}
	return s.DrainObjectiveSeconds, nil
}

// applyOrder puts what others refer to first, as pulumi's dependency order
// does: namespaces, identities and secrets, node classes before node pools,
// the workload before the KEDA objects that scale it.
func applyOrder(kind string) int {
	order := []string{"Namespace", "ServiceAccount", "Secret", "KWOKNodeClass", "NodePool", "Deployment", "TriggerAuthentication", "ScaledObject"}
	if i := slices.Index(order, kind); i >= 0 {
		return i
	}
	return len(order)
}

func containerEnv(d *appsv1.Deployment) map[string]string {
	env := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	return env
}

func selector(d *appsv1.Deployment) string {
	var parts []string
	for k, v := range d.Spec.Selector.MatchLabels {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
