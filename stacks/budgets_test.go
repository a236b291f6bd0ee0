package stacks_test

import (
	"fmt"
	"testing"

	"github.com/edw-project/edw/internal/render"
)

// Empty nodes go all at once; drift and underuse at Karpenter's default
// pace, on every cloud's NodePool.
func TestEmptyNodesGoAtOnce(t *testing.T) {
	for stack, p := range map[string]func(*testing.T) *render.Plan{"aws": aws, "azure": azure} {
		np := one(t, p(t), "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
		budgets := at(np, "spec", "disruption", "budgets")
		got := fmt.Sprint(budgets)
		if want := "[map[nodes:100% reasons:[Empty]] map[nodes:10% reasons:[Drifted Underutilized]]]"; got != want {
			t.Errorf("%s: budgets %s, want %s", stack, got, want)
		}
	}
}
