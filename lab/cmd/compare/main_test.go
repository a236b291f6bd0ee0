package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edw-project/edw/lab/internal/scenario"
)

// run is a finished run: drained at drained s, ended at end s, its
// Karpenter nodes having cost dollars, and resting with restPerHour of
// them (a warm node) from then on.
func run(drained, end, dollars, restPerHour float64) scenario.Summary {
	return scenario.Summary{
		Stack: "aws", Messages: 40000, Rate: 2000, Models: scenario.Models{Latency: 0.01, NodeStartup: 45, PodStartup: 5},
		Drained: drained, Objective: 300, Latency: scenario.Latency{P50: drained / 2, P99: drained, Max: drained},
		Cost:       scenario.Usage{NodeDollars: dollars, NodeSeconds: 100},
		AfterDrain: scenario.Usage{NodeSeconds: 20},
		Rest:       scenario.Sample{Seconds: end, NodeDollarsPerHour: restPerHour},
	}
}

func write(t *testing.T, dir, name string, runs ...scenario.Summary) string {
	t.Helper()
	for i, r := range runs {
		b, _ := json.Marshal(r)
		if err := os.WriteFile(filepath.Join(dir, name+"-"+string(rune('a'+i))+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return name + "=" + filepath.Join(dir, name+"-*.json")
}

func verdict(t *testing.T, ref, last []scenario.Summary) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	settings, err := read([]string{write(t, dir, "samples", ref...), write(t, dir, "defaults", last...)}, 3)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	return table(&out, settings), out.String()
}

// A setting that leaves a warm node up pays for it until the longest run
// ends: the samples' 0.036 over 300 s plus 0.36 an hour for 1,500 s more
// is 0.186, so the defaults' 0.10 saves 46 %.
func TestRestingCostCountsToTheHorizon(t *testing.T) {
	samples := []scenario.Summary{run(23, 300, 0.036, 0.36), run(24, 300, 0.037, 0.36), run(22, 300, 0.035, 0.36)}
	defaults := []scenario.Summary{run(23, 1800, 0.10, 0), run(23, 1700, 0.09, 0), run(23, 1750, 0.095, 0)}
	met, out := verdict(t, samples, defaults)
	if !met || !strings.Contains(out, "costs over 1800 s") || !strings.Contains(out, "cost 46 % less") {
		t.Errorf("want the goal met over a 1800 s horizon, 46 %% less:\n%s", out)
	}
	// Over each run's own length (the old comparison), the samples'
	// settings look 63 % cheaper: the break the horizon exists for.
	if samples[0].Cost.NodeDollars >= defaults[0].Cost.NodeDollars {
		t.Fatal("the case no longer shows what a per-run integral hides")
	}
}

// The worst run of the last setting is held against the best of the
// reference: a median that saves 30 % is not enough when the spread
// says otherwise. Its p99 latency must be within the objective, and
// little of its node time after the drain.
func TestGoalTakesTheWorstRun(t *testing.T) {
	samples := []scenario.Summary{run(30, 300, 1.00, 0), run(30, 300, 1.00, 0), run(30, 300, 1.00, 0)}
	defaults := []scenario.Summary{run(30, 300, 0.60, 0), run(30, 300, 0.60, 0), run(30, 300, 0.75, 0)}
	if met, out := verdict(t, samples, defaults); met {
		t.Errorf("a run that saves 25 %% must fail the goal:\n%s", out)
	}
	defaults[2] = run(31, 300, 0.70, 0)
	if met, out := verdict(t, samples, defaults); !met {
		t.Errorf("30 %% less within the objective must meet the goal:\n%s", out)
	}
	defaults[1].Latency.Max = 301
	if met, out := verdict(t, samples, defaults); met || !strings.Contains(out, "longest wait 301 s against the objective 300 s") {
		t.Errorf("a wait over the objective must fail the goal:\n%s", out)
	}
	defaults[1].Latency.Max = 100
	for i := range defaults[:2] {
		defaults[i].AfterDrain.NodeSeconds = 30
	}
	if met, out := verdict(t, samples, defaults); met || !strings.Contains(out, "30 % of its node-seconds after the drain") {
		t.Errorf("30 %% of the node time after the drain must fail the goal:\n%s", out)
	}
}

func TestRunsMustCompare(t *testing.T) {
	good := run(30, 300, 1, 0)
	for name, bad := range map[string]func(*scenario.Summary){
		"another burst":  func(s *scenario.Summary) { s.Messages = 5000 },
		"another stack":  func(s *scenario.Summary) { s.Stack = "azure" },
		"another model":  func(s *scenario.Summary) { s.Models.NodeStartup = 90 },
		"a lost message": func(s *scenario.Summary) { s.Lost = 1 },
		"never drained":  func(s *scenario.Summary) { s.Drained = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			odd := good
			bad(&odd)
			args := []string{write(t, dir, "samples", good, good, good), write(t, dir, "defaults", good, good, odd)}
			if _, err := read(args, 3); err == nil {
				t.Errorf("%s compared", name)
			}
		})
	}
	dir := t.TempDir()
	if _, err := read([]string{write(t, dir, "samples", good), write(t, dir, "defaults", good)}, 3); err == nil {
		t.Error("one run a setting compared")
	}
}
