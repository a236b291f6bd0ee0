package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/images"
	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/workload"
)

// AppsDir is the apps' build context, relative to the project.
const AppsDir = "apps"

// workloadPool labels the nodes of the workload's NodePool.
const workloadPool = "workload"

// nodePool shapes the workload's nodes, the same on every cloud.
func (c *Config) nodePool() karpenter.NodePoolArgs {
	return karpenter.NodePoolArgs{
		Labels:           map[string]string{cluster.SystemPoolLabel: workloadPool},
		CapacityTypes:    c.Karpenter.CapacityTypes,
		Architectures:    c.Karpenter.Architectures,
		CPULimit:         c.Karpenter.CPULimit,
		ConsolidateAfter: c.Karpenter.ConsolidateAfter,
		ExpireAfter:      c.Karpenter.ExpireAfter,
	}
}

// consumerEnv are the consumer's settings that do not depend on the cloud.
// Its poison limit is the queue's maxReceiveCount, so that both clouds
// give up on a message after the same number of deliveries.
func (c *Config) consumerEnv() pulumi.StringMap {
	return pulumi.StringMap{
		"EDW_VISIBILITY_TIMEOUT": pulumi.String(fmt.Sprintf("%ds", c.Queue.VisibilityTimeoutSeconds)),
		"EDW_MAX_DELIVERIES":     pulumi.String(fmt.Sprint(c.Queue.MaxReceiveCount)),
		"EDW_WORKERS":            pulumi.String(fmt.Sprint(c.Consumer.Workers)),
	}
}

// imageSources are the apps to package, with the configured prebuilt
// images.
func (c *Config) imageSources() images.Sources {
	refs := map[string]string{}
	if c.Images.Consumer != "" {
		refs[workload.Consumer] = c.Images.Consumer
	}
	if c.Images.Producer != "" {
		refs[workload.Producer] = c.Images.Producer
	}
	return images.Sources{Apps: []string{workload.Consumer, workload.Producer}, Context: AppsDir, Prebuilt: refs}
}
