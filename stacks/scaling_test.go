package stacks

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The target drains any backlog up to maxReplicas targets within the
// objective: ceil(B / target) pods at perPod each, after the startup. A
// target one message larger than derived breaks it for some backlog.
func TestDerivedTargetDrainsWithinTheObjective(t *testing.T) {
	drainTime := func(backlog, target, perPod int, startup time.Duration) float64 {
		pods := (backlog + target - 1) / target
		return startup.Seconds() + float64(backlog)/float64(pods*perPod)
	}
	for _, cloud := range clouds {
		for _, objective := range []int{70, 120, 300, 900} {
			cfg, err := Load("dev", get(map[string]string{"edw:cloud": cloud, "edw:drainObjectiveSeconds": fmt.Sprint(objective)}))
			if err != nil {
				t.Fatalf("%s, objective %d: %v", cloud, objective, err)
			}
			target, perPod, startup := cfg.queueLength(), cfg.perPod(), scaleOuts[cloud].Startup()
			worst := func(target int) float64 {
				w := 0.0
				for _, b := range []int{1, target - 1, target, target + 1, 2 * target, cfg.Keda.MaxReplicas * target} {
					w = max(w, drainTime(max(b, 1), target, perPod, startup))
				}
				return w
			}
			if w := worst(target); w > float64(objective) {
				t.Errorf("%s, objective %d s: target %d drains in up to %.1f s", cloud, objective, target, w)
			}
			if w := worst(target + perPod); w <= float64(objective) {
				t.Errorf("%s, objective %d s: a target larger by a second's worth (%d) still drains in %.1f s: the check cannot fail", cloud, objective, target+perPod, w)
			}
		}
	}
}

func TestTargetOverridesAndRefusals(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want int
	}{
		// 500 a second for 300 - 50 s.
		{map[string]string{"edw:cloud": "aws"}, 125_000},
		// 150 a second for 300 - 65 s.
		{map[string]string{"edw:cloud": "azure"}, 35_250},
		{map[string]string{"edw:cloud": "aws", "edw:consumerMessagesPerSecond": "100", "edw:drainObjectiveSeconds": "150"}, 10_000},
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
		"edw:drainObjectiveSeconds=50":     "edw:drainObjectiveSeconds is 50: a burst that finds no consumer waits about 50 s on aws",
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
