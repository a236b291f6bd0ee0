// Package scenario drives a lab run's load, records the cluster once a
// second, and turns the record into a summary, a CSV and a plot.
package scenario

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edw-project/edw/lab/internal/price"
)

// Sample is the lab at one moment.
type Sample struct {
	// Seconds since the first message was sent.
	Seconds float64
	// Depth is the messages in the queue, in flight included.
	Depth int
	// Desired is the consumer Deployment's replicas, as KEDA and its HPA set
	// them.
	Desired int
	// Running is the consumer pods Running, not terminating, and past
	// their start-up: their process runs.
	Running int
	// NodeClaims is Karpenter's NodeClaims, from launch to termination, as
	// a cloud bills them; Nodes the ones initialized (Ready and booted);
	// NodeCPUs the vCPUs of every node of a NodeClaim, booting or not.
	NodeClaims, Nodes, NodeCPUs int
	// NodeDollarsPerHour is what the NodeClaims launched so far cost an
	// hour, at the cloud's prices for their instance and capacity types.
	NodeDollarsPerHour float64
	// Processed is the consumers' running total of rows written (each
	// message's delete follows its write).
	Processed int
	// LabCPU is the cores the lab itself kept busy on this machine since
	// the previous sample; LabMemoryMiB its processes' memory (PSS).
	LabCPU, LabMemoryMiB float64
}

var header = []string{"seconds", "queue_depth", "desired_replicas", "running_pods", "nodeclaims", "nodes", "node_vcpus", "node_usd_per_hour", "rows_written", "lab_cpu_cores", "lab_memory_mib"}

// WriteCSV writes the timeline with a header row.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, s := range samples {
		row := []string{strconv.FormatFloat(s.Seconds, 'f', 1, 64)}
		for _, n := range []int{s.Depth, s.Desired, s.Running, s.NodeClaims, s.Nodes, s.NodeCPUs} {
			row = append(row, strconv.Itoa(n))
		}
		row = append(row, strconv.FormatFloat(s.NodeDollarsPerHour, 'f', 4, 64), strconv.Itoa(s.Processed),
			strconv.FormatFloat(s.LabCPU, 'f', 2, 64), strconv.FormatFloat(s.LabMemoryMiB, 'f', 0, 64))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Summary is what a run showed.
type Summary struct {
	Stack    string
	Messages int
	Rate     float64
	// Seconds from the first message to: KEDA's first scale-out, the first
	// consumer Running, the first Karpenter node Ready (each beyond the
	// baseline), the queue drained, the consumers back to their minimum,
	// and the nodes back to the baseline. -1 when it never happened.
	FirstScaleOut, FirstRunning, FirstNode, Drained, MinPods, BaselineNodes float64
	PeakDesired, PeakRunning, PeakNodes                                     int
	// RiseAfterDrain is how far the desired replicas climbed above their
	// count when the queue drained: scaling out for an empty queue.
	RiseAfterDrain int
	// Cost is what the run kept running; AfterDrain the part of it once
	// the queue was empty.
	Cost, AfterDrain Usage
	// Latency is the burst's messages' time from the producer's stamp to
	// the consumer's, which it stamps on the row as it receives the
	// message; Objective the stack's drain objective, the longest a
	// message may wait, in seconds (0: the stack sets its target itself).
	Latency   Latency
	Objective float64
	// Lost are sent messages with no row and not in any queue; Duplicated
	// are rows beyond one per message, or rows of messages never sent;
	// SetAside are messages in the dead-letter or poison queue; Queued are
	// still in the work queue when the run ended.
	Lost, Duplicated, SetAside, Queued int
	// Crashed consumer processes; Killed ones outlived their grace period;
	// MaxStopSeconds is the longest shutdown.
	Crashed, Killed int
	MaxStopSeconds  float64
	// Goal is the pods and nodes a scale run must reach; Reached says when
	// it did.
	Goal    Goal
	Reached Reached
	// Rest is the run's last sample: its Seconds are the run's length,
	// and it is the state the lab rests in from then on, which CostOver
	// extends a shorter run with.
	Rest Sample
	// Baseline is the lab at rest before the burst: nodes in it are not
	// Karpenter's scale-out.
	Baseline Baseline
	// Models are the lab's assumptions for the run.
	Models Models
	// Money prices the run at the cloud's prices.
	Money Money
	// Lab is what the run cost this machine; Machine is where the machine,
	// not the stack, bounds the run's figures.
	Lab     LabUse
	Machine Machine
	// Dashboard is what each query of the stack's dashboard returned over
	// the run, from the lab's Prometheus.
	Dashboard []DashboardQuery
	// AlertsFired are the stack's alerts that fired during the run.
	AlertsFired []string
	// Poison is the unprocessable messages the run sent, if any.
	Poison Poison
}

// SetAsideAlert is the stack's alert on messages set aside as
// unprocessable (components/monitoring's rules).
const SetAsideAlert = "EdwMessagesSetAside"

// DashboardQuery is one query of the dashboard evaluated over a run: the
// series it returned, their samples with a value, and the largest value (0
// without one). The set-aside and failure panels count with increase() and
// rate(), which give 0 where nothing happened: a healthy run has data in
// every query.
type DashboardQuery struct {
	Panel, RefID, Expr string
	Series, Samples    int
	Max                float64
}

// Poison is the unprocessable messages a run sent after its burst, and how
// long after sending them SetAsideAlert fired: -1 when it never did.
type Poison struct {
	Sent         int
	FiredSeconds float64
}

// Latency is a run's enqueue-to-row latencies, in seconds.
type Latency struct {
	P50, P99, Max float64
}

// Percentiles summarizes latencies (nearest rank).
func Percentiles(latencies []time.Duration) Latency {
	if len(latencies) == 0 {
		return Latency{}
	}
	s := slices.Sorted(slices.Values(latencies))
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, i)].Seconds()
	}
	return Latency{P50: rank(0.50), P99: rank(0.99), Max: s[len(s)-1].Seconds()}
}

// Models are what the lab assumes of the cloud: the round trip of every
// queue and table request, a node's boot and a pod's start-up, in seconds.
type Models struct {
	Latency, NodeStartup, PodStartup float64
}

// Money is what prices a run: the table's region and sources, and what the
// stack keeps up whatever its queue holds (the control plane, the system
// nodes, the network), an hour.
type Money struct {
	Region, Source, SpotSource string
	Standing                   price.Standing
}

// Machine compares the CPU the running consumers may use (their count
// times a pod's CPU limit) with this machine's cores: above them, the
// drain's pace is the machine's, not the stack's.
type Machine struct {
	Cores           int
	PeakConsumerCPU float64
}

// Bound reports whether the machine bounded the run.
func (m Machine) Bound() bool { return m.PeakConsumerCPU > float64(m.Cores) }

// Goal is the running consumer pods and initialized Karpenter nodes a run
// must reach; zero is no goal.
type Goal struct {
	Pods, Nodes int
}

// Reached is when a run reached its goal's pods and nodes, in seconds from
// the first message; -1 when it never did.
type Reached struct {
	Pods, Nodes float64
}

// LabUse is the lab's own use of this machine during the run: the mean and
// peak cores busy, and the peaks of memory (PSS) and processes.
type LabUse struct {
	MeanCPU, PeakCPU, PeakMemoryMiB float64
}

// Usage is what ran, integrated over time: Karpenter's nodes from launch to
// termination, their vCPUs and their price in US dollars, and consumer
// pods.
type Usage struct {
	NodeSeconds, VCPUSeconds, NodeDollars, PodSeconds float64
}

// add counts x for dt seconds.
func (u *Usage) add(x Sample, dt float64) {
	u.NodeSeconds += float64(x.NodeClaims) * dt
	u.VCPUSeconds += float64(x.NodeCPUs) * dt
	u.NodeDollars += x.NodeDollarsPerHour * dt / 3600
	u.PodSeconds += float64(x.Running) * dt
}

// CostOver is the run's usage over horizon seconds from the first
// message: a shorter run rests, as its last sample, for the rest of it.
// Runs compared over one horizon pay for what each leaves up after its
// drain, however long each took.
func (s Summary) CostOver(horizon float64) Usage {
	u := s.Cost
	if d := horizon - s.Rest.Seconds; d > 0 {
		u.add(s.Rest, d)
	}
	return u
}

// AfterDrainPercent is the share of the run's node-seconds after the
// queue drained.
func (s Summary) AfterDrainPercent() float64 {
	return share(s.AfterDrain.NodeSeconds, s.Cost.NodeSeconds)
}

// PerMillion is what dollars spent on a run of messages come to for a
// million of them.
func PerMillion(dollars float64, messages int) float64 {
	if messages == 0 {
		return 0
	}
	return dollars / float64(messages) * 1e6
}

// AddedNodes is the most nodes Karpenter ran beyond the baseline's.
func (s Summary) AddedNodes() int { return max(0, s.PeakNodes-s.Baseline.NodeClaims) }

// share is the percentage part is of whole.
func share(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * part / whole
}

// Baseline is the lab at rest, before the burst: the consumers' minimum
// (the ScaledObject's minReplicaCount) and the NodeClaims that run it.
type Baseline struct {
	Pods, NodeClaims int
}

// AtPods reports the consumers back to their minimum.
func (b Baseline) AtPods(x Sample) bool { return x.Desired <= b.Pods && x.Running <= b.Pods }

// AtNodes reports the nodes back to the baseline's.
func (b Baseline) AtNodes(x Sample) bool {
	return x.NodeClaims <= b.NodeClaims && x.Nodes <= b.NodeClaims
}

// Summarize derives the timings and peaks from samples; the counts of lost
// and duplicated messages come from the table.
func Summarize(samples []Sample, producerDone float64, base Baseline, goal Goal) Summary {
	s := Summary{FirstScaleOut: -1, FirstRunning: -1, FirstNode: -1, Drained: -1, MinPods: -1, BaselineNodes: -1,
		Goal: goal, Reached: Reached{Pods: -1, Nodes: -1}, Baseline: base}
	if n := len(samples); n > 0 {
		s.Rest = samples[n-1]
	}
	first := func(at *float64, t float64, cond bool) {
		if *at < 0 && cond {
			*at = t
		}
	}
	for _, x := range samples {
		s.PeakDesired = max(s.PeakDesired, x.Desired)
		s.PeakRunning = max(s.PeakRunning, x.Running)
		s.PeakNodes = max(s.PeakNodes, x.Nodes)
		first(&s.FirstScaleOut, x.Seconds, x.Desired > base.Pods)
		first(&s.FirstRunning, x.Seconds, x.Running > base.Pods)
		first(&s.FirstNode, x.Seconds, x.Nodes > base.NodeClaims)
		first(&s.Drained, x.Seconds, x.Seconds >= producerDone && x.Depth == 0)
		first(&s.MinPods, x.Seconds, s.Drained >= 0 && base.AtPods(x))
		first(&s.BaselineNodes, x.Seconds, s.MinPods >= 0 && base.AtNodes(x))
		first(&s.Reached.Pods, x.Seconds, goal.Pods > 0 && x.Running >= goal.Pods)
		first(&s.Reached.Nodes, x.Seconds, goal.Nodes > 0 && x.Nodes >= goal.Nodes)
		s.Lab.PeakCPU = max(s.Lab.PeakCPU, x.LabCPU)
		s.Lab.PeakMemoryMiB = max(s.Lab.PeakMemoryMiB, x.LabMemoryMiB)
	}
	// Each sample holds until the next one.
	atDrain := -1
	for i, x := range samples {
		after := s.Drained >= 0 && x.Seconds >= s.Drained
		if after {
			if atDrain < 0 {
				atDrain = x.Desired
			}
			s.RiseAfterDrain = max(s.RiseAfterDrain, x.Desired-atDrain)
		}
		if i+1 == len(samples) {
			break
		}
		dt := samples[i+1].Seconds - x.Seconds
		s.Cost.add(x, dt)
		// Each sample's CPU is the mean since the one before it.
		s.Lab.MeanCPU += samples[i+1].LabCPU * dt
		if after {
			s.AfterDrain.add(x, dt)
		}
	}
	if n := len(samples); n > 1 {
		s.Lab.MeanCPU /= samples[n-1].Seconds - samples[0].Seconds
	}
	return s
}

// Failures lists what a healthy run must show and this one did not.
func (s Summary) Failures() []string {
	var f []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			f = append(f, fmt.Sprintf(format, args...))
		}
	}
	check(s.PeakRunning > s.Baseline.Pods, "consumers never scaled out beyond the baseline's %d (peak %d)", s.Baseline.Pods, s.PeakRunning)
	check(s.AddedNodes() > 0, "Karpenter never added a node beyond the baseline's %d", s.Baseline.NodeClaims)
	check(s.Drained >= 0, "the queue never drained")
	check(s.RiseAfterDrain == 0, "the desired replicas rose by %d after the queue drained", s.RiseAfterDrain)
	check(s.MinPods >= 0, "the consumers never scaled back to their minimum")
	check(s.BaselineNodes >= 0, "the nodes never went back to the baseline")
	check(s.Lost == 0, "%d messages lost", s.Lost)
	check(s.Duplicated == 0, "%d duplicated rows", s.Duplicated)
	if s.Poison.Sent == 0 {
		check(s.SetAside == 0, "%d messages set aside as poison", s.SetAside)
	} else {
		check(s.SetAside == s.Poison.Sent, "%d messages set aside, want the %d poison messages sent", s.SetAside, s.Poison.Sent)
		check(s.Poison.FiredSeconds >= 0, "%s never fired for %d poison messages", SetAsideAlert, s.Poison.Sent)
	}
	for _, a := range s.AlertsFired {
		check(s.Poison.Sent > 0 && a == SetAsideAlert, "alert %s fired: a healthy run fires none, a poison run only %s", a, SetAsideAlert)
	}
	for _, q := range s.Dashboard {
		check(q.Samples > 0, "dashboard panel %q query %s returned no data: %s", q.Panel, q.RefID, q.Expr)
	}
	check(s.Queued == 0, "%d messages still queued", s.Queued)
	check(s.Objective == 0 || s.Latency.Max <= s.Objective, "a message waited %.0f s, longer than the drain objective, %.0f s", s.Latency.Max, s.Objective)
	check(s.Crashed == 0, "%d consumer processes crashed", s.Crashed)
	check(s.Goal.Pods == 0 || s.Reached.Pods >= 0, "never %d consumer pods running (peak %d)", s.Goal.Pods, s.PeakRunning)
	check(s.Goal.Nodes == 0 || s.Reached.Nodes >= 0, "never %d Karpenter nodes (peak %d)", s.Goal.Nodes, s.PeakNodes)
	return f
}

// Write prints the summary as aligned lines.
func (s Summary) Write(w io.Writer) {
	at := func(t float64) string {
		if t < 0 {
			return "never"
		}
		return fmt.Sprintf("%.0f s", t)
	}
	fmt.Fprintf(w, "stack %s: %d messages at %g/s\n", s.Stack, s.Messages, s.Rate)
	lines := [][2]string{
		{"first scale-out (KEDA)", at(s.FirstScaleOut)},
		{"first consumer Running", at(s.FirstRunning)},
		{"first node Ready (Karpenter)", at(s.FirstNode)},
		{"queue drained", at(s.Drained)},
		{"back to the minimum pods", at(s.MinPods)},
		{"back to baseline nodes", at(s.BaselineNodes)},
		{"peak desired replicas", strconv.Itoa(s.PeakDesired)},
		{"peak running pods", strconv.Itoa(s.PeakRunning)},
		{"peak nodes (beyond the baseline)", fmt.Sprintf("%d (%d)", s.PeakNodes, s.AddedNodes())},
		{"desired rise after the drain", strconv.Itoa(s.RiseAfterDrain)},
		{"node-seconds", usage(s.Cost.NodeSeconds, s.AfterDrain.NodeSeconds)},
		{"vCPU-seconds (nodes)", usage(s.Cost.VCPUSeconds, s.AfterDrain.VCPUSeconds)},
		{"pod-seconds (consumers)", usage(s.Cost.PodSeconds, s.AfterDrain.PodSeconds)},
		{"Karpenter nodes, US$", dollars(s.Cost.NodeDollars, s.AfterDrain.NodeDollars)},
		{"  a million messages, US$", fmt.Sprintf("%.2f", PerMillion(s.Cost.NodeDollars, s.Messages))},
		{"  stays up whatever the queue", standing(s.Money)},
		{"latency p50 / p99 / max", fmt.Sprintf("%.1f / %.1f / %.1f s%s", s.Latency.P50, s.Latency.P99, s.Latency.Max, objective(s.Objective))},
		{"messages lost", strconv.Itoa(s.Lost)},
		{"still queued at the end", strconv.Itoa(s.Queued)},
		{"duplicated rows", strconv.Itoa(s.Duplicated)},
		{"set aside as poison", strconv.Itoa(s.SetAside)},
		{"consumer crashes", strconv.Itoa(s.Crashed)},
		{"consumers killed after grace", strconv.Itoa(s.Killed)},
		{"longest consumer shutdown", fmt.Sprintf("%.1f s", s.MaxStopSeconds)},
		{"lab CPU (this machine)", fmt.Sprintf("%.2f cores mean, %.2f peak", s.Lab.MeanCPU, s.Lab.PeakCPU)},
		{"lab memory (PSS), peak", fmt.Sprintf("%.0f MiB", s.Lab.PeakMemoryMiB)},
		{"consumers' CPU limits, peak", machine(s.Machine)},
	}
	if s.Goal.Pods > 0 {
		lines = append(lines, [2]string{fmt.Sprintf("%d consumer pods running", s.Goal.Pods), at(s.Reached.Pods)})
	}
	if s.Goal.Nodes > 0 {
		lines = append(lines, [2]string{fmt.Sprintf("%d Karpenter nodes", s.Goal.Nodes), at(s.Reached.Nodes)})
	}
	if s.Poison.Sent > 0 {
		lines = append(lines, [2]string{"poison messages sent", strconv.Itoa(s.Poison.Sent)},
			[2]string{SetAsideAlert + " fired", after(s.Poison.FiredSeconds)})
	}
	withData := 0
	for _, q := range s.Dashboard {
		if q.Samples > 0 {
			withData++
		}
	}
	fired := "none"
	if len(s.AlertsFired) > 0 {
		fired = strings.Join(s.AlertsFired, ", ")
	}
	lines = append(lines, [2]string{"alerts fired", fired},
		[2]string{"dashboard queries with data", fmt.Sprintf("%d of %d", withData, len(s.Dashboard))})
	for _, l := range lines {
		fmt.Fprintf(w, "  %-30s %s\n", l[0], l[1])
	}
	for _, q := range s.Dashboard {
		value := "no data"
		if q.Samples > 0 {
			value = fmt.Sprintf("%d series, max %.4g", q.Series, q.Max)
		}
		fmt.Fprintf(w, "    %-44s %s\n", q.Panel+" "+q.RefID, value)
	}
}

// after prints the seconds since the poison was sent.
func after(t float64) string {
	if t < 0 {
		return "never"
	}
	return fmt.Sprintf("%.0f s after sending", t)
}

func objective(seconds float64) string {
	if seconds == 0 {
		return ""
	}
	return fmt.Sprintf(" (objective %.0f s)", seconds)
}

// dollars prints a price and the share of it after the drain.
func dollars(total, after float64) string {
	return fmt.Sprintf("%.4f (%.4f after the drain, %.0f %%)", total, after, share(after, total))
}

func standing(m Money) string {
	var items []string
	for _, it := range m.Standing.Items {
		items = append(items, fmt.Sprintf("%d × %s", it.Count, it.What))
	}
	out := fmt.Sprintf("%.3f an hour (%s; %s)", m.Standing.PerHour, strings.Join(items, ", "), m.Region)
	if len(m.Standing.Unpriced) > 0 {
		out += "; no price for " + strings.Join(m.Standing.Unpriced, ", ")
	}
	return out
}

func machine(m Machine) string {
	out := fmt.Sprintf("%.2f cores on a %d-core machine", m.PeakConsumerCPU, m.Cores)
	if m.Bound() {
		out += ": the machine, not the stack, bounded the drain"
	}
	return out
}

// usage prints a total and the share of it after the drain.
func usage(total, after float64) string {
	return fmt.Sprintf("%.0f (%.0f after the drain, %.0f %%)", total, after, share(after, total))
}

// Count compares the table's rows with the ids sent: for each prefix p,
// "<p>-0" up to "<p>-<sent[p]-1>". Missing ids count as lost unless as many
// messages are still queued or set aside.
func Count(rows map[string]int, sent map[string]int, queued int) (lost, duplicated int) {
	for prefix, n := range sent {
		for i := range n {
			if rows[prefix+"-"+strconv.Itoa(i)] == 0 {
				lost++
			}
		}
	}
	lost = max(0, lost-queued)
	for id, n := range rows {
		duplicated += n - 1
		if !sentID(id, sent) {
			duplicated++
		}
	}
	return lost, duplicated
}

func sentID(id string, sent map[string]int) bool {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return false
	}
	n, err := strconv.Atoi(id[i+1:])
	return err == nil && n >= 0 && n < sent[id[:i]] && strconv.Itoa(n) == id[i+1:]
}
