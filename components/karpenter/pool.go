// Package karpenter gives the workload nodes on demand with a Karpenter
// NodePool: on EKS with Karpenter itself (its IAM, interruption queue and
// chart) and an EC2NodeClass, or on EKS Auto Mode's built-in Karpenter; on
// AKS with node auto-provisioning and an AKSNodeClass.
package karpenter

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NodePoolAPIVersion is the NodePool API, the same on every cloud.
const NodePoolAPIVersion = "karpenter.sh/v1"

// The capacity types a NodePool may launch (karpenter.sh/capacity-type).
const (
	CapacitySpot     = "spot"
	CapacityOnDemand = "on-demand"
)

// NodePoolArgs shape the nodes Karpenter launches.
type NodePoolArgs struct {
	// Labels go on every node; workload pods select them.
	Labels        map[string]string
	CapacityTypes []string
	Architectures []string
	// CPULimit caps the pool's total vCPUs.
	CPULimit         int
	ConsolidateAfter string
	ExpireAfter      string
	// TerminationGracePeriod bounds a node's drain. Every consumer pod
	// carries karpenter.sh/do-not-disrupt, so without it an expired node
	// could wait for its pods forever; Karpenter evicts them early enough
	// for their own grace period to fit in it.
	TerminationGracePeriod string
}

func (np NodePoolArgs) validate() error {
	switch {
	case len(np.CapacityTypes) == 0 || len(np.Architectures) == 0:
		return fmt.Errorf("NodePool needs CapacityTypes and Architectures")
	case np.CPULimit < 1 || np.ConsolidateAfter == "" || np.ExpireAfter == "" || np.TerminationGracePeriod == "":
		return fmt.Errorf("NodePool needs CPULimit, ConsolidateAfter, ExpireAfter and TerminationGracePeriod")
	}
	return nil
}

// newNodePool creates the NodePool: the capacity types, the cloud's own
// instance requirement, architectures, a CPU limit, and consolidation of
// empty or underused nodes.
func newNodePool(ctx *pulumi.Context, name, poolName string, np NodePoolArgs, nodeClassRef, instances pulumi.Map, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(NodePoolAPIVersion),
		Kind:       pulumi.String("NodePool"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(poolName)},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"template": pulumi.Map{
				"metadata": pulumi.Map{"labels": pulumi.ToStringMap(np.Labels)},
				"spec": pulumi.Map{
					"nodeClassRef": nodeClassRef,
					"requirements": pulumi.Array{
						requirement("karpenter.sh/capacity-type", np.CapacityTypes),
						instances,
						requirement("kubernetes.io/arch", np.Architectures),
						requirement("kubernetes.io/os", []string{"linux"}),
					},
					"expireAfter":            pulumi.String(np.ExpireAfter),
					"terminationGracePeriod": pulumi.String(np.TerminationGracePeriod),
				},
			},
			"limits": pulumi.Map{"cpu": pulumi.String(fmt.Sprint(np.CPULimit))},
			"disruption": pulumi.Map{
				"consolidationPolicy": pulumi.String("WhenEmptyOrUnderutilized"),
				"consolidateAfter":    pulumi.String(np.ConsolidateAfter),
				"budgets":             budgets(),
			},
		}},
	}, opts...)
}

// defaultBudget is Karpenter's own pace when a NodePool sets no budget:
// a tenth of its nodes disrupted at a time.
const defaultBudget = "10%"

// budgets let every empty node go at once, and others at Karpenter's
// default pace. An empty node runs nothing, so removing it disrupts
// nothing, while each one kept is billed: under the default budget the
// empty nodes a burst leaves go a few at a time, minutes after the drain.
// Drift and underuse replace nodes that run pods (whose consumers carry
// do-not-disrupt), and keep the default. Where budgets name reasons,
// Karpenter applies the most restrictive active budget of each reason
// (karpenter.sh/v1 NodePool, spec.disruption.budgets).
func budgets() pulumi.Array {
	return pulumi.Array{
		pulumi.Map{"nodes": pulumi.String("100%"), "reasons": pulumi.ToStringArray([]string{"Empty"})},
		pulumi.Map{"nodes": pulumi.String(defaultBudget), "reasons": pulumi.ToStringArray([]string{"Drifted", "Underutilized"})},
	}
}

func requirement(key string, values []string) pulumi.Map {
	return pulumi.Map{"key": pulumi.String(key), "operator": pulumi.String("In"), "values": pulumi.ToStringArray(values)}
}
