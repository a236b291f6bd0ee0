package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edw-project/edw/lab/internal/scenario"
)

func TestTableHoldsTheLastRunToTheGoal(t *testing.T) {
	samples := scenario.Summary{Stack: "aws", Messages: 100, Rate: 10, Drained: 80, Cost: scenario.Usage{NodeSeconds: 1000}}
	better := scenario.Summary{Drained: 75, Cost: scenario.Usage{NodeSeconds: 600}}
	var b bytes.Buffer
	if !table(&b, []run{{"samples", samples}, {"defaults", better}}) || !strings.Contains(b.String(), "| node-seconds | 1000 | 600 |") || !strings.Contains(b.String(), "40 % fewer") {
		t.Errorf("a faster, cheaper run does not meet the goal:\n%s", b.String())
	}
	slower := scenario.Summary{Drained: 90, Cost: scenario.Usage{NodeSeconds: 600}}
	costly := scenario.Summary{Drained: 75, Cost: scenario.Usage{NodeSeconds: 800}}
	for _, s := range []scenario.Summary{slower, costly} {
		if table(&bytes.Buffer{}, []run{{"samples", samples}, {"defaults", s}}) {
			t.Errorf("%+v meets the goal", s)
		}
	}
}
