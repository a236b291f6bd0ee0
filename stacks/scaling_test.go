package stacks

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// hpa steps KEDA's activation and the HPA every 100 ms over a burst that
// finds no consumer, by Kubernetes 1.36's rules (replica_calculator.go:
// ceil(metric / target) outside the tolerance; horizontal.go: the
// scale-down window keeps the highest recommendation, scale-up adds at
// most the larger of its two policies a period) and KEDA 2.21's (the
// first replica on a poll), and returns the seconds until the backlog is
// gone. A pod drains perPod a second from nodeBoot + podStart after its
// creation; one removed stops at once, the newest first.
type hpa struct {
	target, perPod, maxReplicas int
	poll, period, downWindow    int
	upPods, upPercent           int
	tolerance                   float64
	startup                     time.Duration
}

func (m hpa) drain(backlog int) float64 {
	const dt = 0.1
	type rec struct {
		at float64
		n  int
	}
	left, t := float64(backlog), 0.0
	var pods []float64
	var recs, changes []rec
	next := -1.0
	for step := 0; left > 1e-9; step++ {
		t = float64(step) * dt
		if next < 0 && t >= float64(m.poll) {
			pods, next = []float64{t}, t+float64(m.period)
		}
		if next >= 0 && t >= next {
			next += float64(m.period)
			cur := len(pods)
			desired := cur
			if ratio := left / float64(m.target*cur); ratio < 1-m.tolerance || ratio > 1+m.tolerance {
				desired = int(math.Ceil(left / float64(m.target)))
			}
			desired = min(max(desired, 1), m.maxReplicas)
			recs = append(slices.DeleteFunc(recs, func(r rec) bool { return r.at <= t-float64(m.downWindow) }), rec{t, desired})
			highest := 0
			for _, r := range recs {
				highest = max(highest, r.n)
			}
			want := min(max(cur, desired), highest)
			changes = slices.DeleteFunc(changes, func(r rec) bool { return r.at <= t-float64(m.period) })
			start := cur
			for _, c := range changes {
				start -= c.n
			}
			want = min(want, max(start+m.upPods, start*(100+m.upPercent)/100))
			switch {
			case want > cur:
				for range want - cur {
					pods = append(pods, t)
				}
			case want < cur:
				pods = pods[:want]
			}
			if want != cur {
				changes = append(changes, rec{t, want - cur})
			}
		}
		for _, created := range pods {
			if t >= created+m.startup.Seconds() {
				left -= float64(m.perPod) * dt
			}
		}
	}
	return t
}

func model(cfg *Config) hpa {
	s := scaleOuts[cfg.Cloud]
	return hpa{
		target: cfg.queueLength(), perPod: cfg.perPod(), maxReplicas: cfg.Keda.MaxReplicas,
		poll: cfg.Keda.PollingInterval, period: hpaPeriodSeconds, downWindow: cfg.scaleDownWindow(),
		upPods: cfg.Keda.ScaleUpPods, upPercent: cfg.Keda.ScaleUpPercent,
		tolerance: hpaTolerance, startup: s.NodeBoot + s.PodStart,
	}
}

// worst is the longest drain over backlogs from one message to
// kedaMaxReplicas targets, at the HPA's thresholds.
func (m hpa) worst() (float64, int) {
	w, at := 0.0, 0
	for _, f := range []float64{0, 0.5, 1, 1.1, 1.11, 1.5, 2, 2.2, 2.25, 3, 3.3, 3.35, 5, 10, float64(m.maxReplicas)} {
		if f > float64(m.maxReplicas) {
			continue
		}
		b := max(1, int(f*float64(m.target)))
		if d := m.drain(b); d > w {
			w, at = d, b
		}
	}
	return w, at
}

func derived(t *testing.T, cloud, maxReplicas string, objective int) *Config {
	t.Helper()
	cfg, err := Load("dev", get(map[string]string{"edw:cloud": cloud, "edw:kedaMaxReplicas": maxReplicas,
		"edw:drainObjectiveSeconds": fmt.Sprint(objective), "edw:alertBacklogAgeSeconds": "900"}))
	if err != nil {
		t.Fatalf("%s, objective %d: %v", cloud, objective, err)
	}
	return cfg
}

// Under the HPA's own rules, the derived target and window drain every
// backlog up to kedaMaxReplicas targets within the objective, on both
// clouds, with each stack's replica bounds and a small one.
func TestDerivedTargetDrainsWithinTheObjective(t *testing.T) {
	for _, stack := range []struct{ cloud, maxReplicas string }{{"aws", "50"}, {"azure", "15"}, {"aws", "3"}} {
		for _, objective := range []int{200, 300, 500} {
			m := model(derived(t, stack.cloud, stack.maxReplicas, objective))
			if w, b := m.worst(); w > float64(objective) {
				t.Errorf("%s, %s replicas, objective %d s: target %d drains %d messages in %.1f s", stack.cloud, stack.maxReplicas, objective, m.target, b, w)
			}
		}
	}
}

// Each part of the derivation is needed somewhere: without the window,
// the tolerance margin or the ramp, some backlog takes longer than the
// objective.
func TestEveryPartOfTheDerivationCounts(t *testing.T) {
	for name, tc := range map[string]struct {
		maxReplicas string
		objective   int
		breaks      func(m hpa, cfg *Config) hpa
	}{
		"the HPA's own 30 s window": {"50", 300, func(m hpa, _ *Config) hpa { m.downWindow = 30; return m }},
		"no tolerance margin": {"3", 300, func(m hpa, _ *Config) hpa {
			m.target = int(float64(m.target) * (1 + hpaTolerance))
			return m
		}},
		"no ramp in the startup": {"50", 200, func(m hpa, cfg *Config) hpa {
			m.target = int(float64(m.perPod) * (float64(cfg.Keda.DrainObjectiveSeconds-cfg.Keda.PollingInterval-hpaPeriodSeconds) - m.startup.Seconds()) / (1 + hpaTolerance))
			return m
		}},
	} {
		cfg := derived(t, "aws", tc.maxReplicas, tc.objective)
		if w, _ := tc.breaks(model(cfg), cfg).worst(); w <= float64(tc.objective) {
			t.Errorf("with %s, every backlog still drains within %d s (%.1f s): the check cannot fail", name, tc.objective, w)
		}
	}
}

func TestTargetOverridesAndRefusals(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want int
	}{
		// 500 a second for 300 s less 150 (a 10 s poll, 6 HPA periods
		// to 100 replicas, a 45 s boot and a 5 s start), over 1.1.
		{map[string]string{"edw:cloud": "aws"}, 68_181},
		// 150 a second for 300 s less 165 (10, 6 periods, 60 and 5).
		{map[string]string{"edw:cloud": "azure"}, 18_409},
		// The stacks' own bounds: 5 periods to 50, 3 to 15.
		{map[string]string{"edw:cloud": "aws", "edw:kedaMaxReplicas": "50"}, 75_000},
		{map[string]string{"edw:cloud": "azure", "edw:kedaMaxReplicas": "15"}, 24_545},
		{map[string]string{"edw:cloud": "aws", "edw:consumerMessagesPerSecond": "110", "edw:drainObjectiveSeconds": "250"}, 10_000},
		{map[string]string{"edw:cloud": "aws", "edw:kedaQueueLength": "5", "edw:drainObjectiveSeconds": "10"}, 5},
	} {
		cfg, err := Load("dev", get(tc.set))
		if err != nil {
			t.Fatalf("%v: %v", tc.set, err)
		}
		if got := cfg.queueLength(); got != tc.want {
			t.Errorf("%v: target %d, want %d", tc.set, got, tc.want)
		}
	}
	for set, want := range map[string]string{
		"edw:drainObjectiveSeconds=150":    "edw:drainObjectiveSeconds is 150: a burst that finds no consumer waits up to 150 s on aws",
		"edw:drainObjectiveSeconds=600":    "edw:drainObjectiveSeconds is 600, not below edw:alertBacklogAgeSeconds 600",
		"edw:kedaQueueLength=-1":           "edw:kedaQueueLength is -1",
		"edw:consumerMessagesPerSecond=-5": "edw:consumerMessagesPerSecond is -5",
	} {
		k, v, _ := strings.Cut(set, "=")
		_, err := Load("dev", get(map[string]string{"edw:cloud": "aws", k: v}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", set, err, want)
		}
	}
}

// The lab models the same node boot and pod start the target is derived
// from, so that a lab run tests the objective under the stack's own
// assumption.
func TestTheLabModelsTheSameStartup(t *testing.T) {
	b, err := os.ReadFile("lab/cmd/lab/main.go")
	if err != nil {
		t.Fatal(err)
	}
	seconds := func(expr string) time.Duration {
		m := regexp.MustCompile(`^(\d+) \* time\.Second$`).FindStringSubmatch(strings.TrimSpace(expr))
		if m == nil {
			t.Fatalf("lab duration %q: want <n> * time.Second", expr)
		}
		var n int
		fmt.Sscan(m[1], &n)
		return time.Duration(n) * time.Second
	}
	boot := regexp.MustCompile(`var defaultNodeStartup = map\[string\]time\.Duration\{"aws": ([^,]+), "azure": ([^}]+)\}`).FindSubmatch(b)
	start := regexp.MustCompile(`const defaultPodStartup = ([^\n]+)`).FindSubmatch(b)
	if boot == nil || start == nil {
		t.Fatal("lab/cmd/lab/main.go no longer declares defaultNodeStartup and defaultPodStartup as this test reads them")
	}
	lab := map[string]scaleOut{
		"aws":   {NodeBoot: seconds(string(boot[1])), PodStart: seconds(string(start[1]))},
		"azure": {NodeBoot: seconds(string(boot[2])), PodStart: seconds(string(start[1]))},
	}
	for cloud, s := range scaleOuts {
		if l := lab[cloud]; l.NodeBoot != s.NodeBoot || l.PodStart != s.PodStart {
			t.Errorf("%s: the lab models a %v boot and a %v start, the target assumes %v and %v", cloud, l.NodeBoot, l.PodStart, s.NodeBoot, s.PodStart)
		}
	}
}
