// Command compare prints lab runs side by side: the same burst under
// different settings, each run's summary.json labelled.
//
//	compare samples=build/compare/aws/samples.json defaults=build/compare/aws/defaults.json
//
// The first run is the reference; the last is held to the goal: drain no
// slower, and run at least goalSavings fewer node-seconds.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edw-project/edw/lab/internal/scenario"
)

// goalSavings is the share of the reference's node-seconds the last run
// must save.
const goalSavings = 0.30

type run struct {
	label string
	s     scenario.Summary
}

func main() {
	runs, err := read(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		os.Exit(2)
	}
	if !table(os.Stdout, runs) {
		os.Exit(1)
	}
}

func read(args []string) ([]run, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("want two or more label=summary.json, got %q", args)
	}
	var runs []run
	for _, a := range args {
		label, path, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want label=summary.json", a)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		r := run{label: label}
		if err := json.Unmarshal(b, &r.s); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// table prints the runs as a Markdown table and the goal's verdict, and
// reports whether the goal is met.
func table(w io.Writer, runs []run) bool {
	seconds := func(t float64) string {
		if t < 0 {
			return "never"
		}
		return fmt.Sprintf("%.0f s", t)
	}
	rows := []struct {
		name  string
		value func(scenario.Summary) string
	}{
		{"first scale-out", func(s scenario.Summary) string { return seconds(s.FirstScaleOut) }},
		{"queue drained", func(s scenario.Summary) string { return seconds(s.Drained) }},
		{"peak pods / nodes", func(s scenario.Summary) string { return fmt.Sprintf("%d / %d", s.PeakRunning, s.PeakNodes) }},
		{"node-seconds", func(s scenario.Summary) string { return fmt.Sprintf("%.0f", s.Cost.NodeSeconds) }},
		{"pod-seconds after the drain", func(s scenario.Summary) string { return fmt.Sprintf("%.0f", s.AfterDrain.PodSeconds) }},
		{"messages lost", func(s scenario.Summary) string { return fmt.Sprint(s.Lost) }},
	}
	fmt.Fprintf(w, "%s: %d messages at %g/s\n\n| |", runs[0].s.Stack, runs[0].s.Messages, runs[0].s.Rate)
	for _, r := range runs {
		fmt.Fprintf(w, " %s |", r.label)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(runs)))
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, r := range runs {
			fmt.Fprintf(w, " %s |", row.value(r.s))
		}
		fmt.Fprintln(w)
	}
	ref, last := runs[0].s, runs[len(runs)-1].s
	saved := 1 - last.Cost.NodeSeconds/ref.Cost.NodeSeconds
	met := last.Drained >= 0 && last.Drained <= ref.Drained && saved >= goalSavings
	fmt.Fprintf(w, "\n%s against %s: drained at %s against %s, %.0f %% fewer node-seconds; goal (no slower, %.0f %% fewer): %v\n",
		runs[len(runs)-1].label, runs[0].label, seconds(last.Drained), seconds(ref.Drained), 100*saved, 100*goalSavings, met)
	return met
}
