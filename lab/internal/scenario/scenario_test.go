package scenario

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strings"
	"testing"
	"time"
)

// burst is a healthy run: the queue fills while KEDA and Karpenter scale
// out, drains, then pods and nodes go back to zero.
var burst = []Sample{
	{Seconds: 0},
	{Seconds: 10, Depth: 3000, Desired: 1, NodeClaims: 1, NodeDollarsPerHour: 0.36},
	{Seconds: 12, Depth: 2900, Desired: 4, Running: 1, NodeClaims: 1, Nodes: 1, NodeCPUs: 2, NodeDollarsPerHour: 0.36, Processed: 100},
	{Seconds: 20, Depth: 1000, Desired: 8, Running: 8, NodeClaims: 2, Nodes: 2, NodeCPUs: 4, NodeDollarsPerHour: 0.72, Processed: 2000},
	{Seconds: 30, Depth: 0, Desired: 8, Running: 8, NodeClaims: 2, Nodes: 2, NodeCPUs: 4, NodeDollarsPerHour: 0.72, Processed: 3000},
	{Seconds: 90, Depth: 0, Desired: 0, Running: 0, NodeClaims: 2, Nodes: 2, NodeCPUs: 4, NodeDollarsPerHour: 0.72, Processed: 3000},
	{Seconds: 200, Depth: 0, Desired: 0, Running: 0, NodeClaims: 0, Nodes: 0, Processed: 3000},
}

func TestSummarizeFindsEachPhase(t *testing.T) {
	s := Summarize(burst, 10, Baseline{}, Goal{})
	got := []float64{s.FirstScaleOut, s.FirstRunning, s.FirstNode, s.Drained, s.MinPods, s.BaselineNodes}
	if want := []float64{10, 12, 12, 30, 90, 200}; !slices.Equal(got, want) {
		t.Errorf("phases %v, want %v", got, want)
	}
	if s.PeakDesired != 8 || s.PeakRunning != 8 || s.PeakNodes != 2 {
		t.Errorf("peaks desired %d, running %d, nodes %d; want 8, 8, 2", s.PeakDesired, s.PeakRunning, s.PeakNodes)
	}
	if f := s.Failures(); len(f) != 0 {
		t.Errorf("a healthy run fails: %v", f)
	}
}

// Node-, vCPU- and pod-seconds integrate each sample until the next, and
// the part after the drain is told apart.
func TestSummarizeCountsWhatRan(t *testing.T) {
	s := Summarize(burst, 10, Baseline{}, Goal{})
	// NodeClaims: 1 for 10 s, then 2 for 10, 60 and 110 s.
	if s.Cost.NodeSeconds != 370 || s.AfterDrain.NodeSeconds != 340 {
		t.Errorf("node-seconds %v, after the drain %v; want 370 and 340", s.Cost.NodeSeconds, s.AfterDrain.NodeSeconds)
	}
	if s.Cost.VCPUSeconds != 736 || s.Cost.PodSeconds != 8+80+480 || s.AfterDrain.PodSeconds != 480 {
		t.Errorf("vCPU-seconds %v, pod-seconds %v (%v after)", s.Cost.VCPUSeconds, s.Cost.PodSeconds, s.AfterDrain.PodSeconds)
	}
	// US$0.36 an hour for 10 s, then 0.72 for 180 s: 0.037.
	if d := s.Cost.NodeDollars; d < 0.0369 || d > 0.0371 {
		t.Errorf("node dollars %v, want 0.037", d)
	}
}

// Over a horizon longer than the run, the run rests as it ended: a warm
// node keeps costing, an empty lab does not.
func TestCostOverExtendsTheRest(t *testing.T) {
	s := Summarize(burst, 10, Baseline{}, Goal{})
	if s.Rest.Seconds != 200 || s.CostOver(400) != s.Cost || s.CostOver(100) != s.Cost {
		t.Errorf("a run that ends with nothing up costs the same over any horizon: %+v, %+v", s.CostOver(400), s.Cost)
	}
	warm := slices.Clone(burst)
	warm[len(warm)-1] = Sample{Seconds: 200, Running: 1, NodeClaims: 1, Nodes: 1, NodeCPUs: 2, NodeDollarsPerHour: 0.36}
	w := Summarize(warm, 10, Baseline{Pods: 1, NodeClaims: 1}, Goal{})
	if got := w.CostOver(3800); got.NodeSeconds != w.Cost.NodeSeconds+3600 || got.NodeDollars-w.Cost.NodeDollars < 0.3599 {
		t.Errorf("an hour more of a warm node: %+v against %+v", got, w.Cost)
	}
}

// A warm node of the baseline is not Karpenter's scale-out.
func TestTheBaselineNodeIsNoScaleOut(t *testing.T) {
	flat := []Sample{{Seconds: 0, Desired: 1, Running: 1, NodeClaims: 1, Nodes: 1}, {Seconds: 5, Depth: 10, Desired: 2, Running: 2, NodeClaims: 1, Nodes: 1}}
	s := Summarize(flat, 1, Baseline{Pods: 1, NodeClaims: 1}, Goal{})
	if s.AddedNodes() != 0 || !strings.Contains(strings.Join(s.Failures(), "\n"), "never added a node beyond the baseline's 1") {
		t.Errorf("added %d, failures %v", s.AddedNodes(), s.Failures())
	}
}

// The HPA's default scale-down keeps climbing after the backlog is gone:
// a healthy run shows no rise once the queue is empty.
func TestARiseAfterTheDrainFails(t *testing.T) {
	rising := slices.Clone(burst)
	rising = slices.Insert(rising, 5, Sample{Seconds: 45, Desired: 16, Running: 8, NodeClaims: 3, Nodes: 2, NodeCPUs: 4, Processed: 3000})
	s := Summarize(rising, 10, Baseline{}, Goal{})
	if s.RiseAfterDrain != 8 || !strings.Contains(strings.Join(s.Failures(), "\n"), "rose by 8 after the queue drained") {
		t.Errorf("rise %d, failures %v", s.RiseAfterDrain, s.Failures())
	}
}

func TestAnEmptyQueueBeforeTheBurstEndsIsNoDrain(t *testing.T) {
	// The producer finished at 25 s: the empty queue at 0 s does not count.
	if s := Summarize(burst, 25, Baseline{}, Goal{}); s.Drained != 30 {
		t.Errorf("drained at %v, want 30", s.Drained)
	}
}

func TestFailuresNameWhatDidNotHappen(t *testing.T) {
	stuck := Summarize(burst[:4], 10, Baseline{}, Goal{}) // never drained, never scaled in
	stuck.Lost, stuck.Duplicated, stuck.Queued = 3, 1, 5
	f := strings.Join(stuck.Failures(), "\n")
	for _, want := range []string{"never drained", "never scaled back to their minimum", "never went back to the baseline", "3 messages lost", "1 duplicated rows", "5 messages still queued"} {
		if !strings.Contains(f, want) {
			t.Errorf("failures %q lack %q", f, want)
		}
	}
	flat := Summarize([]Sample{{Seconds: 0, Desired: 1, Running: 1}, {Seconds: 5, Desired: 1, Running: 1}}, 1, Baseline{Pods: 1}, Goal{})
	if f := strings.Join(flat.Failures(), "\n"); !strings.Contains(f, "never scaled out beyond the baseline's 1") || !strings.Contains(f, "never added a node") {
		t.Errorf("failures %q, want no scale-out beyond the baseline and no node", f)
	}
}

func TestCountComparesRowsWithTheIdsSent(t *testing.T) {
	rows := map[string]int{"lab-0": 1, "lab-1": 2, "lab-3": 1, "lab-03": 1, "other-1": 1, "top1-0": 1, "top1-1": 1}
	sent := map[string]int{"lab": 4, "top1": 2}
	lost, dup := Count(rows, sent, 0)
	// lab-2 is missing; lab-1 twice; lab-03 and other-1 were never sent.
	if lost != 1 || dup != 3 {
		t.Errorf("lost %d, duplicated %d; want 1 and 3", lost, dup)
	}
	if lost, _ := Count(rows, sent, 1); lost != 0 {
		t.Errorf("lost %d with the missing message still queued, want 0", lost)
	}
}

func TestCSVHasAHeaderAndARowPerSample(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, burst); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(burst)+1 || lines[0] != strings.Join(header, ",") || lines[4] != "20.0,1000,8,8,2,2,4,0.7200,2000,0.00,0" {
		t.Errorf("csv:\n%s", b.String())
	}
}

func TestPlotIsSVGWithEveryCurve(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSVG(&b, "stack <aws>", burst, Summarize(burst, 10, Baseline{}, Goal{})); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v", err)
	}
	if len(doc.Polylines) != 4 {
		t.Fatalf("%d curves, want queue depth, desired replicas, running pods and nodes", len(doc.Polylines))
	}
	for _, p := range doc.Polylines {
		if n := len(strings.Fields(p.Points)); n != len(burst) {
			t.Errorf("curve has %d points, want %d", n, len(burst))
		}
	}
	for _, want := range []string{"stack &lt;aws&gt;", "queue depth", "desired replicas", "running pods", "nodes (Karpenter)", "after the drain: 340 node-s (92 %), US$0.0340 (92 %), 480 pod-s (85 %)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plot lacks %q", want)
		}
	}
}

func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ span, want float64 }{{1, 1}, {7, 2}, {48, 10}, {234, 50}, {3000, 1000}, {15, 5}} {
		if got := niceStep(c.span); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.span, got, c.want)
		}
	}
}

// With a minimum of consumers, the run rests at that minimum and at the
// nodes that run it, not at zero.
func TestABaselineAboveZero(t *testing.T) {
	rest := []Sample{
		{Seconds: 0, Desired: 1, Running: 1, NodeClaims: 1, Nodes: 1},
		{Seconds: 10, Depth: 3000, Desired: 4, Running: 1, NodeClaims: 2, Nodes: 1},
		{Seconds: 30, Depth: 0, Desired: 4, Running: 4, NodeClaims: 2, Nodes: 2},
		{Seconds: 60, Depth: 0, Desired: 1, Running: 1, NodeClaims: 2, Nodes: 2},
		{Seconds: 120, Depth: 0, Desired: 1, Running: 1, NodeClaims: 1, Nodes: 1},
	}
	s := Summarize(rest, 5, Baseline{Pods: 1, NodeClaims: 1}, Goal{})
	if s.FirstScaleOut != 10 || s.FirstRunning != 30 || s.MinPods != 60 || s.BaselineNodes != 120 {
		t.Errorf("scale-out %v, running %v, minimum %v, baseline %v; want 10, 30, 60, 120", s.FirstScaleOut, s.FirstRunning, s.MinPods, s.BaselineNodes)
	}
}

// A scale run reports when it reached its goal and fails when it never did;
// the lab's own CPU is a time-weighted mean, its memory a peak.
func TestGoalAndLabUse(t *testing.T) {
	samples := slices.Clone(burst)
	for i := range samples {
		samples[i].LabCPU, samples[i].LabMemoryMiB = 2, float64(100*i)
	}
	samples[3].LabCPU = 0 // the 8 s up to it were idle
	s := Summarize(samples, 10, Baseline{}, Goal{Pods: 8, Nodes: 2})
	if s.Reached.Pods != 20 || s.Reached.Nodes != 20 {
		t.Errorf("reached pods at %v, nodes at %v; want 20, 20", s.Reached.Pods, s.Reached.Nodes)
	}
	if f := s.Failures(); len(f) != 0 {
		t.Errorf("a run that reached its goal fails: %v", f)
	}
	if want := 2 * (200 - 8.0) / 200; s.Lab.MeanCPU != want || s.Lab.PeakCPU != 2 || s.Lab.PeakMemoryMiB != 600 {
		t.Errorf("lab use %+v; want mean %g cores, peak 2, 600 MiB", s.Lab, want)
	}
	var b bytes.Buffer
	s.Write(&b)
	for _, want := range []string{"8 consumer pods running        20 s", "2 Karpenter nodes              20 s", "600 MiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}

	short := Summarize(samples, 10, Baseline{}, Goal{Pods: 9, Nodes: 3})
	if f := short.Failures(); len(f) != 2 || !strings.Contains(f[0], "never 9 consumer pods running (peak 8)") {
		t.Errorf("a run short of its goal: failures %q, want the pods and the nodes", f)
	}
}

// A poison run must set aside exactly what it sent and fire the set-aside
// alert; a healthy run sets nothing aside and fires nothing.
func TestPoisonAndAlertChecks(t *testing.T) {
	healthy := Summarize(burst, 10, Baseline{}, Goal{})
	failures := func(s Summary) string { return strings.Join(s.Failures(), "\n") }

	poisoned := healthy
	poisoned.SetAside, poisoned.AlertsFired = 5, []string{SetAsideAlert}
	poisoned.Poison = Poison{Sent: 5, FiredSeconds: 12}
	if f := failures(poisoned); f != "" {
		t.Errorf("a poison run that set aside its 5 and fired fails: %s", f)
	}
	for _, c := range []struct {
		change func(*Summary)
		want   string
	}{
		{func(s *Summary) { s.SetAside = 4 }, "4 messages set aside, want the 5 poison messages sent"},
		{func(s *Summary) { s.Poison.FiredSeconds = -1 }, "EdwMessagesSetAside never fired for 5 poison messages"},
		{func(s *Summary) { s.AlertsFired = append(s.AlertsFired, "EdwWriteFailures") }, "alert EdwWriteFailures fired"},
	} {
		s := poisoned
		c.change(&s)
		if f := failures(s); !strings.Contains(f, c.want) {
			t.Errorf("failures %q lack %q", f, c.want)
		}
	}
	healthy.SetAside, healthy.AlertsFired = 1, []string{SetAsideAlert}
	if f := failures(healthy); !strings.Contains(f, "1 messages set aside as poison") || !strings.Contains(f, "alert EdwMessagesSetAside fired: a healthy run fires none") {
		t.Errorf("failures %q, want the set-aside message and its alert", f)
	}
}

// Every dashboard query must return data over a run; the summary says how
// many did and prints each one's largest value.
func TestDashboardQueriesWithoutDataFail(t *testing.T) {
	s := Summarize(burst, 10, Baseline{}, Goal{})
	s.Dashboard = []DashboardQuery{
		{Panel: "Messages per second", RefID: "A", Expr: "sum(rate(x[2m]))", Series: 1, Samples: 40, Max: 812.5},
		{Panel: "Set aside", RefID: "A", Expr: "sum(increase(y[10m]))", Series: 2, Samples: 80},
		{Panel: "Backlog", RefID: "A", Expr: "max(z)"},
	}
	f := s.Failures()
	if len(f) != 1 || f[0] != `dashboard panel "Backlog" query A returned no data: max(z)` {
		t.Errorf("failures %q, want the backlog query alone", f)
	}
	var out bytes.Buffer
	s.Write(&out)
	for _, want := range []string{"dashboard queries with data    2 of 3", "Messages per second A", "1 series, max 812.5", "Set aside A", "2 series, max 0", "Backlog A", "no data", "alerts fired                   none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLatencyPercentilesAndTheObjective(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Second)
	}
	if got := Percentiles(d); got != (Latency{P50: 100, P99: 198, Max: 200}) {
		t.Errorf("percentiles %+v, want 100, 198, 200", got)
	}
	s := Summarize(burst, 10, Baseline{}, Goal{})
	s.Latency, s.Objective = Percentiles(d), 200
	if f := s.Failures(); len(f) != 0 {
		t.Errorf("a longest wait of 200 s within 200 s fails: %v", f)
	}
	s.Objective = 199
	if f := strings.Join(s.Failures(), "\n"); !strings.Contains(f, "a message waited 200 s, longer than the drain objective, 199 s") {
		t.Errorf("failures %q, want the objective missed", f)
	}
}
