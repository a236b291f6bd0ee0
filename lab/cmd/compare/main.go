// Command compare prints lab runs of the same burst under different
// settings side by side, each setting run several times.
//
//	compare samples='build/compare/aws/samples-*.json' defaults='build/compare/aws/defaults-*.json'
//
// Every run must have had the same stack, burst and models, and lost
// nothing; each is priced over one horizon, the longest run's length,
// resting as it ended for the rest of it, so that what a setting leaves
// up after its drain counts however long its run was. The first setting is
// the reference; the last is held to the goal: its costliest run costs
// at least goalSavings less than the reference's cheapest, no message of
// any run waited longer than the stack's drain objective, and at most
// goalAfterDrain of its node-seconds (median) come after the drain.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edw-project/edw/lab/internal/scenario"
)

const (
	// goalSavings is the share of the reference's cost the last setting
	// must save.
	goalSavings = 0.30
	// goalAfterDrain is the most of its node-seconds, in percent, the last
	// setting may run after the queue drained.
	goalAfterDrain = 25.0
)

// setting is one label's runs.
type setting struct {
	label string
	runs  []scenario.Summary
}

func main() {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	minRuns := fs.Int("min-runs", 3, "runs each setting must have")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	settings, err := read(fs.Args(), *minRuns)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(2)
	}
	if !table(os.Stdout, settings) {
		os.Exit(1)
	}
}

// read loads each label=glob's summaries and checks that they compare.
func read(args []string, minRuns int) ([]setting, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("want two or more label=glob of summary.json files, got %q", args)
	}
	var settings []setting
	for _, a := range args {
		label, glob, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want label=glob", a)
		}
		paths, err := filepath.Glob(glob)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		if len(paths) < minRuns {
			return nil, fmt.Errorf("%s: %d runs, want at least %d (-min-runs): one run cannot tell a setting from the lab's run-to-run spread", label, len(paths), minRuns)
		}
		s := setting{label: label}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			var run scenario.Summary
			if err := json.Unmarshal(b, &run); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if err := comparable(settings, s, run); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			s.runs = append(s.runs, run)
		}
		settings = append(settings, s)
	}
	return settings, nil
}

// comparable checks a run against the first one read: the same stack,
// burst and models, and a run that lost, duplicated or left nothing.
func comparable(done []setting, current setting, run scenario.Summary) error {
	if run.Lost != 0 || run.Duplicated != 0 || run.Queued != 0 {
		return fmt.Errorf("lost %d, duplicated %d, left %d queued: only a run that processed every message once compares", run.Lost, run.Duplicated, run.Queued)
	}
	if run.Drained < 0 {
		return fmt.Errorf("the queue never drained")
	}
	var first scenario.Summary
	switch {
	case len(done) > 0:
		first = done[0].runs[0]
	case len(current.runs) > 0:
		first = current.runs[0]
	default:
		return nil
	}
	if run.Stack != first.Stack || run.Messages != first.Messages || run.Rate != first.Rate || run.Models != first.Models {
		return fmt.Errorf("stack %s, %d messages at %g/s, models %+v: the first run had stack %s, %d at %g/s, %+v",
			run.Stack, run.Messages, run.Rate, run.Models, first.Stack, first.Messages, first.Rate, first.Models)
	}
	return nil
}

// table prints the settings as a Markdown table and the goal's verdict,
// and reports whether the goal is met.
func table(w io.Writer, settings []setting) bool {
	horizon := 0.0
	for _, s := range settings {
		for _, r := range s.runs {
			horizon = max(horizon, r.Rest.Seconds)
		}
	}
	first := settings[0].runs[0]
	fmt.Fprintf(w, "%s: %d messages at %g/s; each setting run %s times; costs over %.0f s from the first message, the longest run, each run resting as it ended for the rest\n\n| |",
		first.Stack, first.Messages, first.Rate, runCounts(settings), horizon)
	for _, s := range settings {
		fmt.Fprintf(w, " %s |", s.label)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(settings)))
	cost := func(r scenario.Summary) float64 { return r.CostOver(horizon).NodeDollars }
	rows := []struct {
		name  string
		value func(setting) string
	}{
		{"first scale-out, s", spread(func(r scenario.Summary) float64 { return r.FirstScaleOut }, "%.0f")},
		{"queue drained, s", spread(func(r scenario.Summary) float64 { return r.Drained }, "%.0f")},
		{"latency p50, s", spread(func(r scenario.Summary) float64 { return r.Latency.P50 }, "%.0f")},
		{"latency p99, s", spread(func(r scenario.Summary) float64 { return r.Latency.P99 }, "%.0f")},
		{"longest wait, s", spread(func(r scenario.Summary) float64 { return r.Latency.Max }, "%.0f")},
		{"peak pods", spread(func(r scenario.Summary) float64 { return float64(r.PeakRunning) }, "%.0f")},
		{"peak nodes beyond the baseline", spread(func(r scenario.Summary) float64 { return float64(r.AddedNodes()) }, "%.0f")},
		{"node-seconds", spread(func(r scenario.Summary) float64 { return r.CostOver(horizon).NodeSeconds }, "%.0f")},
		{"vCPU-seconds", spread(func(r scenario.Summary) float64 { return r.CostOver(horizon).VCPUSeconds }, "%.0f")},
		{"Karpenter nodes, US$", spread(cost, "%.4f")},
		{"the same, a million messages, US$", spread(func(r scenario.Summary) float64 { return scenario.PerMillion(cost(r), r.Messages) }, "%.2f")},
		{"node-seconds after the drain, % of the run's", spread(scenario.Summary.AfterDrainPercent, "%.0f")},
		{"pod-seconds after the drain", spread(func(r scenario.Summary) float64 { return r.AfterDrain.PodSeconds }, "%.0f")},
		{"machine-bound runs", func(s setting) string {
			n := 0
			for _, r := range s.runs {
				if r.Machine.Bound() {
					n++
				}
			}
			return fmt.Sprintf("%d of %d", n, len(s.runs))
		}},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, s := range settings {
			fmt.Fprintf(w, " %s |", row.value(s))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nMedian (lowest-highest) of the runs. Prices: %s; spot: %s. Besides the Karpenter nodes, the stack keeps up US$%.3f an hour whatever its queue holds, under either setting.\n",
		first.Money.Source, first.Money.SpotSource, first.Money.Standing.PerHour)

	ref, last := settings[0], settings[len(settings)-1]
	worst := slices.Max(values(last.runs, cost))
	best := slices.Min(values(ref.runs, cost))
	saved := 1 - worst/best
	longest := slices.Max(values(last.runs, func(r scenario.Summary) float64 { return r.Latency.Max }))
	after := median(values(last.runs, scenario.Summary.AfterDrainPercent))
	objective := last.runs[0].Objective
	withinObjective := objective == 0 || longest <= objective
	met := saved >= goalSavings && withinObjective && after <= goalAfterDrain
	fmt.Fprintf(w, "\n%s against %s: its costliest run cost %.0f %% less than the cheapest of %s (goal %.0f %%); its longest wait %.0f s against the objective %s; %.0f %% of its node-seconds after the drain (median; goal at most %.0f %%); goal met: %v\n",
		last.label, ref.label, 100*saved, ref.label, 100*goalSavings, longest, objectiveText(objective), after, goalAfterDrain, met)
	return met
}

func objectiveText(seconds float64) string {
	if seconds == 0 {
		return "(none: a fixed target)"
	}
	return fmt.Sprintf("%.0f s", seconds)
}

func runCounts(settings []setting) string {
	var n []string
	for _, s := range settings {
		n = append(n, fmt.Sprint(len(s.runs)))
	}
	return strings.Join(slices.Compact(n), " and ")
}

// spread prints a figure's median and range over a setting's runs.
func spread(f func(scenario.Summary) float64, format string) func(setting) string {
	return func(s setting) string {
		v := values(s.runs, f)
		return fmt.Sprintf(format+" ("+format+"-"+format+")", median(v), slices.Min(v), slices.Max(v))
	}
}

func values(runs []scenario.Summary, f func(scenario.Summary) float64) []float64 {
	var v []float64
	for _, r := range runs {
		v = append(v, f(r))
	}
	return v
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
