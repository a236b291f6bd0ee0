package stacks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edw-project/edw/internal/render"
)

// Every consumer pod carries karpenter.sh/do-not-disrupt, so a node's
// drain is bounded only by the NodePool's terminationGracePeriod; it must
// be set, and long enough for a consumer's own grace period.
func TestNodePoolBoundsTheDrain(t *testing.T) {
	for name, p := range map[string]func(*testing.T) *render.Plan{"aws": aws, "azure": azure} {
		plan := p(t)
		np := one(t, plan, "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
		grace, err := time.ParseDuration(fmt.Sprint(at(np, "spec", "template", "spec", "terminationGracePeriod")))
		if err != nil {
			t.Errorf("%s: NodePool terminationGracePeriod: %v", name, err)
			continue
		}
		consumer := one(t, plan, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs
		pod := time.Duration(at(consumer, "spec", "template", "spec", "terminationGracePeriodSeconds").(float64)) * time.Second
		if grace < pod {
			t.Errorf("%s: NodePool terminationGracePeriod %v is shorter than a consumer pod's %v", name, grace, pod)
		}
	}
}
