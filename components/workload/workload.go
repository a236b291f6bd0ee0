// Package workload runs the producer and consumer Deployments; it is the
// same on every cloud, which differ only in the settings and identities
// passed in.
package workload

import (
	"fmt"
	"slices"
	"strconv"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Token is the component's type token.
const Token = "edw:workload:Workload"

const (
	// Consumer and Producer name the Deployments, their containers and
	// their app label.
	Consumer = "consumer"
	Producer = "producer"
	// httpPort serves the consumer's /healthz, /readyz and /metrics
	// (EDW_HTTP_ADDR).
	httpPort = 8080
	// releaseSeconds is the consumer's bound on releasing unfinished
	// messages after its shutdown timeout (apps/internal/consumer).
	releaseSeconds = 5
	// graceMarginSeconds covers process exit after the release.
	graceMarginSeconds = 5
	// nonRootUID is distroless's nonroot user.
	nonRootUID = 65532
	// DoNotDisrupt keeps Karpenter from consolidating a node away under a
	// busy consumer; KEDA scale-in still stops pods, which the consumer
	// handles.
	DoNotDisrupt = "karpenter.sh/do-not-disrupt"
	// partOf and project label every object of the workload.
	partOf  = "app.kubernetes.io/part-of"
	project = "edw"
	// zoneKey is the well-known zone label of nodes.
	zoneKey = "topology.kubernetes.io/zone"
	// maxUnavailable is how many consumers an eviction may take at once.
	maxUnavailable = "25%"
)

// Args configure the workload.
type Args struct {
	// Namespace runs both Deployments. Required.
	Namespace pulumi.StringInput
	// Consumer and Producer configure the two apps. Required.
	Consumer ConsumerArgs
	Producer ProducerArgs
	// PodLabels go on both apps' pods (e.g. azure.workload.identity/use).
	// Optional.
	PodLabels map[string]string
	// NodeSelector places both apps' pods (e.g. on the workload NodePool).
	// Optional.
	NodeSelector map[string]string
	// Network opens the namespace's policies beyond DNS and HTTPS out.
	// Optional.
	Network NetworkArgs
	// DependsOn are resources the Deployments wait for and, at destroy,
	// outlive (the NodePool, the identities). Optional.
	DependsOn []pulumi.Resource
}

// ConsumerArgs configure the consumer.
type ConsumerArgs struct {
	Image          pulumi.StringInput
	ServiceAccount pulumi.StringInput
	// Env is the app's settings (EDW_CLOUD, the queue and table names...).
	Env pulumi.StringMap
	// CPU, Memory and EphemeralStorage are the request and limit.
	CPU, Memory, EphemeralStorage string
	// ShutdownTimeoutSeconds is the app's EDW_SHUTDOWN_TIMEOUT; the pod's
	// grace period is set above it.
	ShutdownTimeoutSeconds int
	// InitialReplicas is the count the Deployment is created with: the
	// scaler's minimum. After that, the count is the scaler's alone.
	InitialReplicas int
}

// ProducerArgs configure the producer; it runs only while RatePerSecond is
// above 0.
type ProducerArgs struct {
	Image          pulumi.StringInput
	ServiceAccount pulumi.StringInput
	Env            pulumi.StringMap
	RatePerSecond  float64
	Replicas       int
	// EphemeralStorage is the request and limit. Required.
	EphemeralStorage string
}

// Workload is the two Deployments.
type Workload struct {
	pulumi.ResourceState

	ConsumerDeployment pulumi.StringOutput `pulumi:"consumerDeployment"`
	ProducerDeployment pulumi.StringOutput `pulumi:"producerDeployment"`
}

// New creates the Deployments; pass the cluster's provider in opts.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Workload, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("workload %q: %w", name, err)
	}
	c := &Workload{}
	if err := ctx.RegisterComponentResource(Token, name, c, opts...); err != nil {
		return nil, err
	}
	children := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.DependsOn(args.DependsOn)}
	// KEDA owns the consumer's replica count once the Deployment exists: an
	// update must neither reset it nor show it as a change.
	consumer, err := appsv1.NewDeployment(ctx, name+"-"+Consumer, consumerDeployment(args),
		append(children, pulumi.IgnoreChanges([]string{"spec.replicas"}))...)
	if err != nil {
		return nil, err
	}
	producer, err := appsv1.NewDeployment(ctx, name+"-"+Producer, producerDeployment(args), children...)
	if err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name+"-"+Consumer, consumerDisruptionBudget(args), children...); err != nil {
		return nil, err
	}
	if err := newNetworkPolicies(ctx, name, args, pulumi.Parent(c)); err != nil {
		return nil, err
	}
	c.ConsumerDeployment = consumer.Metadata.Name().Elem()
	c.ProducerDeployment = producer.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"consumerDeployment": c.ConsumerDeployment, "producerDeployment": c.ProducerDeployment,
	})
}

func (a *Args) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case a.Namespace == nil:
		return fmt.Errorf("Namespace is required")
	case a.Consumer.Image == nil || a.Consumer.ServiceAccount == nil || a.Producer.Image == nil || a.Producer.ServiceAccount == nil:
		return fmt.Errorf("both apps need Image and ServiceAccount")
	case a.Consumer.CPU == "" || a.Consumer.Memory == "" || a.Consumer.EphemeralStorage == "" || a.Consumer.ShutdownTimeoutSeconds < 1:
		return fmt.Errorf("the consumer needs CPU, Memory, EphemeralStorage and ShutdownTimeoutSeconds")
	case a.Producer.EphemeralStorage == "":
		return fmt.Errorf("the producer needs EphemeralStorage")
	case a.Consumer.InitialReplicas < 0:
		return fmt.Errorf("the consumer's InitialReplicas is %d, want 0 or more", a.Consumer.InitialReplicas)
	}
	return nil
}

func consumerDeployment(a *Args) *appsv1.DeploymentArgs {
	env := pulumi.StringMap{
		"EDW_HTTP_ADDR":        pulumi.String(fmt.Sprintf(":%d", httpPort)),
		"EDW_SHUTDOWN_TIMEOUT": pulumi.String(fmt.Sprintf("%ds", a.Consumer.ShutdownTimeoutSeconds)),
	}
	for k, v := range a.Consumer.Env {
		env[k] = v
	}
	probe := func(path string) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:       &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.String("http")},
			PeriodSeconds: pulumi.Int(10), FailureThreshold: pulumi.Int(3),
		}
	}
	resources := pulumi.StringMap{
		"cpu": pulumi.String(a.Consumer.CPU), "memory": pulumi.String(a.Consumer.Memory), "ephemeral-storage": pulumi.String(a.Consumer.EphemeralStorage),
	}
	container := corev1.ContainerArgs{
		Name:            pulumi.String(Consumer),
		Image:           a.Consumer.Image,
		Env:             envVars(env),
		Ports:           corev1.ContainerPortArray{corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(httpPort)}},
		LivenessProbe:   probe("/healthz"),
		ReadinessProbe:  probe("/readyz"),
		Resources:       &corev1.ResourceRequirementsArgs{Requests: resources, Limits: resources},
		SecurityContext: restricted(),
	}
	return &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Consumer), Namespace: a.Namespace, Labels: appLabels(Consumer)},
		// Created at the scaler's minimum, so that the first up neither
		// starts a pod (and a node) for an empty queue nor waits for one.
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.Consumer.InitialReplicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: appLabels(Consumer)},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels: podLabels(a, Consumer),
					Annotations: pulumi.StringMap{
						DoNotDisrupt:           pulumi.String("true"),
						"prometheus.io/scrape": pulumi.String("true"),
						"prometheus.io/port":   pulumi.String(strconv.Itoa(httpPort)),
					},
				},
				Spec: consumerPodSpec(a, container),
			},
		},
	}
}

// consumerPodSpec spreads the consumers over the zones where it can: a
// preference (ScheduleAnyway), so that a pod never waits for a zone, and
// Karpenter, which tries a preference before it relaxes it, adds at most
// one node per zone for it rather than packing every pod on one.
func consumerPodSpec(a *Args, container corev1.ContainerArgs) *corev1.PodSpecArgs {
	spec := podSpec(a, a.Consumer.ServiceAccount, container, ConsumerGraceSeconds(a.Consumer.ShutdownTimeoutSeconds))
	spec.TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{corev1.TopologySpreadConstraintArgs{
		MaxSkew:           pulumi.Int(1),
		TopologyKey:       pulumi.String(zoneKey),
		WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
		LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: appLabels(Consumer)},
	}}
	return spec
}

// consumerDisruptionBudget lets an eviction (a node drain) take a quarter
// of the consumers at a time. It never blocks: KEDA's scale-in, down to
// zero, deletes pods without evicting them, and a drain that a budget
// holds up ends at the NodePool's terminationGracePeriod, when Karpenter
// deletes what is left. What protects a busy consumer is the
// do-not-disrupt annotation (no voluntary disruption of its node at all)
// and its own shutdown, which finishes or releases every message.
func consumerDisruptionBudget(a *Args) *policyv1.PodDisruptionBudgetArgs {
	return &policyv1.PodDisruptionBudgetArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Consumer), Namespace: a.Namespace, Labels: appLabels(Consumer)},
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable: pulumi.String(maxUnavailable),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: appLabels(Consumer)},
		},
	}
}

// ConsumerGraceSeconds is a consumer pod's termination grace period for a
// shutdown timeout: the timeout, then the release of unfinished messages,
// then the exit.
func ConsumerGraceSeconds(shutdownTimeoutSeconds int) int {
	return shutdownTimeoutSeconds + releaseSeconds + graceMarginSeconds
}

func producerDeployment(a *Args) *appsv1.DeploymentArgs {
	replicas := 0
	if a.Producer.RatePerSecond > 0 {
		replicas = a.Producer.Replicas
	}
	env := pulumi.StringMap{
		"EDW_PRODUCER_RATE":  pulumi.String(strconv.FormatFloat(a.Producer.RatePerSecond, 'f', -1, 64)),
		"EDW_PRODUCER_COUNT": pulumi.String("0"),
	}
	for k, v := range a.Producer.Env {
		env[k] = v
	}
	container := corev1.ContainerArgs{
		Name:  pulumi.String(Producer),
		Image: a.Producer.Image,
		Env:   envVars(env),
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("64Mi"), "ephemeral-storage": pulumi.String(a.Producer.EphemeralStorage)},
			Limits:   pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("128Mi"), "ephemeral-storage": pulumi.String(a.Producer.EphemeralStorage)},
		},
		SecurityContext: restricted(),
	}
	return &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Producer), Namespace: a.Namespace, Labels: appLabels(Producer)},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: appLabels(Producer)},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: podLabels(a, Producer)},
				Spec:     podSpec(a, a.Producer.ServiceAccount, container, 15),
			},
		},
	}
}

func podSpec(a *Args, sa pulumi.StringInput, c corev1.ContainerArgs, graceSeconds int) *corev1.PodSpecArgs {
	return &corev1.PodSpecArgs{
		ServiceAccountName:            sa,
		TerminationGracePeriodSeconds: pulumi.Int(graceSeconds),
		NodeSelector:                  pulumi.ToStringMap(a.NodeSelector),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(nonRootUID),
			RunAsGroup:     pulumi.Int(nonRootUID),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		Containers: corev1.ContainerArray{c},
	}
}

// restricted meets the Kubernetes "restricted" Pod Security Standard.
func restricted() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		RunAsNonRoot:             pulumi.Bool(true),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
		SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

func appLabels(app string) pulumi.StringMap {
	return pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(app), partOf: pulumi.String(project)}
}

func podLabels(a *Args, app string) pulumi.StringMap {
	labels := appLabels(app)
	for k, v := range a.PodLabels {
		labels[k] = pulumi.String(v)
	}
	return labels
}

// envVars lists env in key order, so that renders and diffs are stable.
func envVars(env pulumi.StringMap) corev1.EnvVarArray {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	vars := corev1.EnvVarArray{}
	for _, k := range keys {
		vars = append(vars, corev1.EnvVarArgs{Name: pulumi.String(k), Value: env[k]})
	}
	return vars
}
