package stacks

import (
	"fmt"
	"maps"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/images"
	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/keda"
	"github.com/edw-project/edw/components/workload"
)

// AppsDir is the apps' build context, relative to the project.
const AppsDir = "apps"

// workloadPool labels the nodes of the workload's NodePool.
const workloadPool = "workload"

// hpaPeriodSeconds is the HPA's sync period, the period of its scaling
// policies.
const hpaPeriodSeconds = 15

// nodePool shapes the workload's nodes, the same on every cloud.
func (c *Config) nodePool() karpenter.NodePoolArgs {
	return karpenter.NodePoolArgs{
		Labels:                 map[string]string{cluster.SystemPoolLabel: workloadPool},
		CapacityTypes:          c.Karpenter.CapacityTypes,
		Architectures:          c.Karpenter.Architectures,
		CPULimit:               c.Karpenter.CPULimit,
		ConsolidateAfter:       c.Karpenter.ConsolidateAfter,
		ExpireAfter:            c.Karpenter.ExpireAfter,
		TerminationGracePeriod: c.Karpenter.TerminationGracePeriod,
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
	var platforms []string
	for _, arch := range c.Karpenter.Architectures {
		platforms = append(platforms, "linux/"+arch)
	}
	return images.Sources{Apps: []string{workload.Consumer, workload.Producer}, Context: AppsDir, Prebuilt: refs, Platforms: platforms}
}

// stackTags mark every cloud resource with the project and stack.
func stackTags(ctx *pulumi.Context) pulumi.StringMap {
	return pulumi.StringMap{"edw-project": pulumi.String(ctx.Project()), "edw-stack": pulumi.String(ctx.Stack())}
}

// newNamespace creates the workload's namespace; identities and the
// workload both live there.
func (c *Config) newNamespace(ctx *pulumi.Context, k8s pulumi.ResourceOption) (pulumi.StringOutput, error) {
	ns, err := corev1.NewNamespace(ctx, "namespace", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(c.Namespace)},
	}, k8s)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return ns.Metadata.Name().Elem(), nil
}

// cloudApps is what a cloud's composition gives the workload.
type cloudApps struct {
	images pulumi.StringMapOutput
	// consumerSA and producerSA run the apps with their identities.
	consumerSA, producerSA pulumi.StringInput
	// env is both apps' settings; consumerEnv adds the consumer's own.
	env, consumerEnv pulumi.StringMap
	podLabels        map[string]string
	// dependsOn are what the Deployments need first and outlive at
	// destroy: the NodePool and the identities.
	dependsOn []pulumi.Resource
	// egress are the cloud's own destinations besides HTTPS.
	egress []workload.Endpoint
	// metricsCIDRs may scrape the apps besides the metrics namespaces.
	metricsCIDRs []string
}

// newWorkload deploys the producer and consumer on the workload's nodes.
func (c *Config) newWorkload(ctx *pulumi.Context, namespace pulumi.StringInput, a cloudApps, k8s pulumi.ResourceOption) (*workload.Workload, error) {
	consumerEnv := maps.Clone(a.env)
	maps.Copy(consumerEnv, a.consumerEnv)
	maps.Copy(consumerEnv, c.consumerEnv())
	return workload.New(ctx, "edw", &workload.Args{
		Namespace: namespace,
		Consumer: workload.ConsumerArgs{
			Image: a.images.MapIndex(pulumi.String(workload.Consumer)), ServiceAccount: a.consumerSA,
			Env: consumerEnv, CPU: c.Consumer.CPU, Memory: c.Consumer.Memory, EphemeralStorage: c.Consumer.EphemeralStorage,
			ShutdownTimeoutSeconds: c.Consumer.ShutdownTimeoutSeconds,
			InitialReplicas:        c.Keda.MinReplicas,
		},
		Producer: workload.ProducerArgs{
			Image: a.images.MapIndex(pulumi.String(workload.Producer)), ServiceAccount: a.producerSA,
			Env: a.env, RatePerSecond: c.Producer.RatePerSecond, Replicas: c.Producer.Replicas,
			EphemeralStorage: c.Producer.EphemeralStorage,
		},
		Network:      workload.NetworkArgs{MetricsNamespaces: c.MetricsNamespaces, MetricsCIDRs: a.metricsCIDRs, Egress: a.egress},
		PodLabels:    a.podLabels,
		NodeSelector: map[string]string{cluster.SystemPoolLabel: workloadPool},
		DependsOn:    a.dependsOn,
	}, k8s)
}

// scaling is how a cloud's KEDA scales the consumer.
type scaling struct {
	// install is nil where the cluster runs KEDA itself.
	install *keda.InstallArgs
	// queue is the queue trigger; the queue-length settings are added here.
	queue keda.Trigger
	// more are further triggers.
	more        []keda.Trigger
	podIdentity pulumi.StringMap
	dependsOn   []pulumi.Resource
}

// newScaler scales the consumer on its queue (and any more triggers) with
// the configured bounds.
func (c *Config) newScaler(ctx *pulumi.Context, namespace, deployment pulumi.StringInput, s scaling, k8s pulumi.ResourceOption) (*keda.Scaler, error) {
	maps.Copy(s.queue.Metadata, pulumi.StringMap{
		"queueLength":           pulumi.String(fmt.Sprint(c.queueLength())),
		"activationQueueLength": pulumi.String(fmt.Sprint(c.Keda.ActivationQueueLength)),
	})
	return keda.NewScaler(ctx, workload.Consumer, &keda.ScalerArgs{
		Install:   s.install,
		Namespace: namespace, Deployment: deployment,
		MinReplicas: c.Keda.MinReplicas, MaxReplicas: c.Keda.MaxReplicas,
		PollingInterval: c.Keda.PollingInterval, CooldownPeriod: c.Keda.CooldownPeriod,
		Behavior: keda.Behavior{
			ScaleDownWindowSeconds: c.scaleDownWindow(), ScaleDownPercent: c.Keda.ScaleDownPercent,
			ScaleUpPercent: c.Keda.ScaleUpPercent, ScaleUpPods: c.Keda.ScaleUpPods, PeriodSeconds: hpaPeriodSeconds,
		},
		Triggers:    append([]keda.Trigger{s.queue}, s.more...),
		PodIdentity: s.podIdentity,
		DependsOn:   s.dependsOn,
	}, k8s)
}
