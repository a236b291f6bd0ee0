package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/edw-project/edw/lab/internal/addons"
	"github.com/edw-project/edw/lab/internal/backend"
	"github.com/edw-project/edw/lab/internal/prometheus"
	"github.com/edw-project/edw/lab/internal/scenario"
	"github.com/edw-project/edw/lab/internal/swap"
)

var nodeClaims = schema.GroupVersionResource{Group: "karpenter.sh", Version: "v1", Resource: "nodeclaims"}

// karpenterCapacityType is the label Karpenter puts the capacity type
// (spot or on-demand) of a launched NodeClaim in.
const karpenterCapacityType = "karpenter.sh/capacity-type"

// Run waits for the baseline, sends the burst, records the lab once a second
// until the consumers and nodes are back to the baseline, and writes
// timeline.csv, timeline.svg, summary.txt and summary.json to Out.
func (l *Lab) Run(ctx context.Context) (scenario.Summary, error) {
	defer l.startKubelet(ctx)()

	l.log.Info("waiting for the baseline: the consumers' minimum running, no other Karpenter node", "minReplicas", l.minReplicas)
	start := time.Now()
	var base scenario.Baseline
	if err := l.until(ctx, "baseline", func(s scenario.Sample) bool {
		base = scenario.Baseline{Pods: l.minReplicas, NodeClaims: s.NodeClaims}
		// No node without a consumer to run; some for a minimum.
		return s.Desired == l.minReplicas && s.Running == l.minReplicas && (l.minReplicas > 0 || s.NodeClaims == 0) && s.NodeClaims == s.Nodes
	}); err != nil {
		return scenario.Summary{}, err
	}
	l.log.Info("baseline reached", "seconds", int(time.Since(start).Seconds()), "pods", base.Pods, "nodeclaims", base.NodeClaims)

	rec := &recorder{start: time.Now()}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() { l.record(sampleCtx, rec); close(sampled) }()

	l.log.Info("sending the burst", "messages", l.opts.Messages, "rate", l.opts.Rate)
	sent := map[string]int{idPrefix: l.opts.Messages}
	err := l.produce(ctx, l.opts.Messages, idPrefix)
	if err == nil && l.opts.Hold > 0 {
		l.log.Info("holding the queue", "messages", l.opts.Hold, "for", l.opts.HoldFor)
		err = l.hold(ctx, sent)
	}
	// The alert is awaited while the run settles: it fires on the first
	// message set aside, long before the queue drains.
	fired := make(chan float64, 1)
	if err == nil && l.opts.Poison > 0 {
		l.log.Info("sending poison messages", "messages", l.opts.Poison)
		err = l.backend.Send(ctx, poisonBodies(l.opts.Poison))
		go func(sent time.Time) { fired <- l.awaitSetAside(ctx, sent) }(time.Now())
	}
	if err != nil {
		stopSampling()
		return scenario.Summary{}, err
	}
	producerDone := time.Since(rec.start).Seconds()
	l.log.Info("burst sent", "seconds", int(producerDone))

	waitErr := l.settle(ctx, rec, base)
	stopSampling()
	<-sampled

	summary := scenario.Summarize(rec.samples(), producerDone, base, l.opts.Goal)
	summary.Stack, summary.Rate, summary.Objective = l.opts.Stack, l.opts.Rate, l.objective
	summary.Models = scenario.Models{Latency: l.opts.Latency.Seconds(), NodeStartup: l.opts.NodeStartup.Seconds(), PodStartup: l.opts.PodStartup.Seconds()}
	summary.Money = scenario.Money{Region: l.prices.Region, Source: l.prices.Source, SpotSource: l.prices.SpotSource, Standing: l.standing}
	summary.Machine = scenario.Machine{Cores: runtime.NumCPU(), PeakConsumerCPU: float64(summary.PeakRunning) * l.consumerCPU()}
	for _, n := range sent {
		summary.Messages += n
	}
	if l.opts.Poison > 0 {
		summary.Poison = scenario.Poison{Sent: l.opts.Poison, FiredSeconds: <-fired}
	}
	if err := l.observe(ctx, &summary, rec.start); err != nil {
		return summary, err
	}
	if err := l.count(ctx, &summary, sent); err != nil {
		return summary, err
	}
	stats := l.kubelet.Stats()
	summary.Crashed, summary.Killed, summary.MaxStopSeconds = stats.Crashed, stats.Killed, stats.MaxStop.Seconds()
	if err := l.write(summary, rec.samples()); err != nil {
		return summary, err
	}
	return summary, waitErr
}

// settle waits for the queue to drain, the consumers to scale back to their
// minimum and the nodes to go back to the baseline.
func (l *Lab) settle(ctx context.Context, rec *recorder, base scenario.Baseline) error {
	for _, phase := range []struct {
		name string
		done func(scenario.Sample) bool
	}{
		{"the queue to drain", func(s scenario.Sample) bool { return s.Depth == 0 }},
		{"the consumers' minimum", base.AtPods},
		{"the nodes back to the baseline", base.AtNodes},
	} {
		l.log.Info("waiting for " + phase.name)
		err := wait.PollUntilContextTimeout(ctx, time.Second, l.opts.Settle, true, func(context.Context) (bool, error) {
			last, ok := rec.last()
			return ok && phase.done(last), nil
		})
		if err != nil {
			return fmt.Errorf("waiting %v for %s: %w", l.opts.Settle, phase.name, err)
		}
	}
	return nil
}

// produce sends n messages numbered <prefix>-0 to <prefix>-(n-1), with
// the producer and the rendered Deployment's environment, pointed at the
// emulator.
func (l *Lab) produce(ctx context.Context, n int, prefix string) error {
	cmd := exec.CommandContext(ctx, l.bin("producer"))
	cmd.Env = append(os.Environ(), swap.ProcessEnv(envList(l.producerEnv), l.backend.Env(), "127.0.0.1:0")...)
	cmd.Env = append(cmd.Env, "EDW_PRODUCER_COUNT="+strconv.Itoa(n), fmt.Sprintf("EDW_PRODUCER_RATE=%g", l.opts.Rate),
		"EDW_PRODUCER_ID_PREFIX="+prefix)
	logFile, err := os.Create(filepath.Join(l.opts.Out, "logs", "producer-"+prefix+".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("producer: %w (see %s)", err, logFile.Name())
	}
	return nil
}

// startKubelet runs the kubelet until the returned stop is called, which
// waits for its processes to end.
func (l *Lab) startKubelet(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.kubelet.Run(ctx, l.kube); close(done) }()
	return func() { cancel(); <-done }
}

// hold keeps the queue at Options.Hold messages for Options.HoldFor,
// topping it up once a second with numbered batches (top1-0, top1-1, ...,
// top2-0, ...), which it adds to sent. A scale run needs a backlog that
// lasts while hundreds of pods start, and the SQS emulator slows down with
// every message it holds (a delete copies the rest of the queue): a long
// backlog, not a large one.
func (l *Lab) hold(ctx context.Context, sent map[string]int) error {
	end := time.Now().Add(l.opts.HoldFor)
	for k := 1; time.Now().Before(end); k++ {
		depth, err := l.backend.Depth(ctx)
		if err != nil {
			return fmt.Errorf("queue depth: %w", err)
		}
		if n := l.opts.Hold - depth; n > 0 {
			prefix := fmt.Sprintf("top%d", k)
			if err := l.produce(ctx, n, prefix); err != nil {
				return err
			}
			sent[prefix] = n
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return nil
}

// poisonBodies are n messages no consumer can decode, each its own text.
func poisonBodies(n int) []string {
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("poison-%d: not a JSON message", i)
	}
	return bodies
}

// awaitSetAside waits up to Options.Settle for the stack's set-aside alert
// to fire, and returns the seconds from sent to its first evaluation as
// firing; -1 when it did not fire.
func (l *Lab) awaitSetAside(ctx context.Context, sent time.Time) float64 {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Settle)
	defer cancel()
	a, err := l.prom.WaitFiring(ctx, scenario.SetAsideAlert)
	if err != nil {
		l.log.Warn("waiting for the set-aside alert", "err", err)
		return -1
	}
	l.log.Info("set-aside alert firing", "alert", scenario.SetAsideAlert, "value", a.Value, "activeAt", a.ActiveAt)
	return a.ActiveAt.Sub(sent).Seconds()
}

// observe asks Prometheus what the dashboard's queries returned from start
// until now, and which alerts fired.
func (l *Lab) observe(ctx context.Context, s *scenario.Summary, start time.Time) error {
	end := time.Now()
	for _, q := range l.queries {
		r, err := l.prom.QueryRange(ctx, q.Expr, start, end, prometheus.Interval)
		if err != nil {
			return fmt.Errorf("dashboard panel %q: %w", q.Panel, err)
		}
		d := scenario.DashboardQuery{Panel: q.Panel, RefID: q.RefID, Expr: q.Expr, Series: r.Series, Samples: r.Samples}
		if r.Samples > 0 {
			d.Max = r.Max
		}
		s.Dashboard = append(s.Dashboard, d)
	}
	fired, err := l.prom.Fired(ctx, start, end, prometheus.Interval)
	if err != nil {
		return fmt.Errorf("alerts fired: %w", err)
	}
	s.AlertsFired = fired
	return nil
}

// count reads the table and the queues.
func (l *Lab) count(ctx context.Context, s *scenario.Summary, sent map[string]int) error {
	rows, queued, setAside, err := l.outcome(ctx)
	if err != nil {
		return err
	}
	s.Queued, s.SetAside = queued, setAside
	s.Lost, s.Duplicated = scenario.Count(rows.Count, sent, l.unsent(queued, setAside))
	var latencies []time.Duration
	for id, d := range rows.Latency {
		if strings.HasPrefix(id, idPrefix+"-") {
			latencies = append(latencies, d)
		}
	}
	s.Latency = scenario.Percentiles(latencies)
	return nil
}

// unsent is how many of the queued and set-aside messages may be ones the
// lab numbered: all but the poison, which carries no id.
func (l *Lab) unsent(queued, setAside int) int {
	return max(0, queued+setAside-l.opts.Poison)
}

// outcome reads where the messages are: the table's rows per id, the
// messages still queued and those set aside.
func (l *Lab) outcome(ctx context.Context) (rows backend.Rows, queued, setAside int, err error) {
	if rows, err = l.backend.Rows(ctx); err != nil {
		return rows, 0, 0, err
	}
	if setAside, err = l.backend.SetAside(ctx); err != nil {
		return rows, 0, 0, err
	}
	if queued, err = l.backend.Depth(ctx); err != nil {
		return rows, 0, 0, err
	}
	return rows, queued, setAside, nil
}

func (l *Lab) write(s scenario.Summary, samples []scenario.Sample) error {
	csvFile, err := os.Create(filepath.Join(l.opts.Out, "timeline.csv"))
	if err != nil {
		return err
	}
	defer csvFile.Close()
	if err := scenario.WriteCSV(csvFile, samples); err != nil {
		return err
	}
	svg, err := os.Create(filepath.Join(l.opts.Out, "timeline.svg"))
	if err != nil {
		return err
	}
	defer svg.Close()
	title := fmt.Sprintf("edw lab, stack %s: %d messages at %g/s; Karpenter's nodes US$%.4f at %s prices", s.Stack, s.Messages, s.Rate, s.Cost.NodeDollars, s.Money.Region)
	if err := scenario.WriteSVG(svg, title, samples, s); err != nil {
		return err
	}
	txt, err := os.Create(filepath.Join(l.opts.Out, "summary.txt"))
	if err != nil {
		return err
	}
	defer txt.Close()
	s.Write(txt)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.opts.Out, "summary.json"), b, 0o644)
}

// until samples the lab once a second until done holds.
func (l *Lab) until(ctx context.Context, what string, done func(scenario.Sample) bool) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, l.opts.Settle, true, func(ctx context.Context) (bool, error) {
		s, err := l.sample(ctx)
		if err != nil {
			l.log.Debug("sample", "err", err)
			return false, nil
		}
		return done(s), nil
	})
	if err != nil {
		return fmt.Errorf("waiting %v for the %s: %w", l.opts.Settle, what, err)
	}
	return nil
}

// record samples the lab once a second until ctx ends.
func (l *Lab) record(ctx context.Context, rec *recorder) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s, err := l.sample(ctx)
		if err == nil {
			s.Seconds = time.Since(rec.start).Seconds()
			rec.add(s)
		} else if ctx.Err() == nil {
			l.log.Warn("sample", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (l *Lab) sample(ctx context.Context) (scenario.Sample, error) {
	var s scenario.Sample
	var err error
	if s.Depth, err = l.backend.Depth(ctx); err != nil {
		return s, fmt.Errorf("queue depth: %w", err)
	}
	d, err := l.kube.AppsV1().Deployments(l.consumer.Namespace).Get(ctx, l.consumer.Name, metav1.GetOptions{})
	if err != nil {
		return s, err
	}
	if d.Spec.Replicas != nil {
		s.Desired = int(*d.Spec.Replicas)
	}
	pods, err := l.kube.CoreV1().Pods(l.consumer.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector(l.consumer)})
	if err != nil {
		return s, err
	}
	for _, p := range pods.Items {
		// Running once its process runs: after the pod's start-up.
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && l.kubelet.Backs(p.UID) {
			s.Running++
		}
	}
	claims, err := l.applier.Client().Resource(nodeClaims).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	s.NodeClaims = len(claims.Items)
	for _, c := range claims.Items {
		// Karpenter's Initialized: registered, Ready, startup taints gone.
		if c.GetDeletionTimestamp() == nil && initialized(c.Object) {
			s.Nodes++
		}
		// Billed from launch, when the claim gets its instance type, to
		// termination.
		labels := c.GetLabels()
		if it := labels[corev1.LabelInstanceTypeStable]; it != "" {
			perHour, err := l.prices.Node(it, labels[karpenterCapacityType])
			if err != nil {
				return s, fmt.Errorf("nodeclaim %s: %w", c.GetName(), err)
			}
			s.NodeDollarsPerHour += perHour
		}
	}
	nodes, err := l.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "karpenter.sh/nodepool"})
	if err != nil {
		return s, err
	}
	for _, n := range nodes.Items {
		s.NodeCPUs += addons.VCPUs(n.Labels[corev1.LabelInstanceTypeStable])
	}
	s.Processed = int(l.kubelet.Processed())
	use, err := l.meter.Read()
	if err != nil {
		return s, err
	}
	s.LabCPU, s.LabMemoryMiB = use.CPU, use.MemoryMiB
	return s, nil
}

// initialized reports a NodeClaim's Initialized condition.
func initialized(claim map[string]any) bool {
	conditions, _, _ := unstructured.NestedSlice(claim, "status", "conditions")
	for _, raw := range conditions {
		c, _ := raw.(map[string]any)
		if c["type"] == "Initialized" && c["status"] == "True" {
			return true
		}
	}
	return false
}

// recorder keeps the samples of a run.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	all   []scenario.Sample
}

func (r *recorder) add(s scenario.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, s)
}

func (r *recorder) samples() []scenario.Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]scenario.Sample(nil), r.all...)
}

func (r *recorder) last() (scenario.Sample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		return scenario.Sample{}, false
	}
	return r.all[len(r.all)-1], true
}

// consumerCPU is the cores one consumer pod may use: its CPU limit, which
// the kubelet stand-in holds its process to.
func (l *Lab) consumerCPU() float64 {
	var cores float64
	for _, c := range l.consumer.Spec.Template.Spec.Containers {
		cores += c.Resources.Limits.Cpu().AsApproximateFloat64()
	}
	return cores
}
