// Package keda scales a Deployment on a queue's depth with KEDA: a
// ScaledObject and its TriggerAuthentication, and, where the cluster has no
// KEDA of its own, KEDA itself from its Helm chart.
package keda

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/versions"
)

// Token is the component's type token.
const Token = "edw:keda:Scaler"

const (
	// ChartVersion pins the KEDA Helm chart (and so the CRDs the
	// manifests are checked against).
	ChartVersion = versions.Keda
	chartRepo    = "https://kedacore.github.io/charts"
	// Namespace and OperatorServiceAccount are where the chart runs the
	// operator, whose identity reads the queue.
	Namespace              = "keda"
	OperatorServiceAccount = "keda-operator"
	// APIVersion of ScaledObject and TriggerAuthentication.
	APIVersion = "keda.sh/v1alpha1"
)

// ScalerArgs configure the scaling of one Deployment.
type ScalerArgs struct {
	// Install installs KEDA from its chart; nil where the cluster provides
	// KEDA (the AKS add-on). Optional.
	Install *InstallArgs
	// Namespace and Deployment name the scaled Deployment. Required.
	Namespace  pulumi.StringInput
	Deployment pulumi.StringInput
	// Replica bounds and timing (seconds). Required.
	MinReplicas, MaxReplicas        int
	PollingInterval, CooldownPeriod int
	// Behavior is how fast the HPA may move the replicas. Required.
	Behavior Behavior
	// Triggers say what to watch; the consumer scales on the largest
	// demand among them. Required.
	Triggers []Trigger
	// PodIdentity is the TriggerAuthentication's podIdentity block, shared
	// by the triggers, e.g. {provider: aws} or {provider: azure-workload,
	// identityId: <client id>}. Required.
	PodIdentity pulumi.StringMap
	// DependsOn holds the ScaledObject until, e.g., the identity KEDA uses
	// can sign in. Optional.
	DependsOn []pulumi.Resource
}

// Behavior shapes the HPA KEDA makes: how fast it may add consumers, and
// how long a lower recommendation must last before it removes them.
type Behavior struct {
	// ScaleDownWindowSeconds is how long a lower recommendation must last
	// before the replicas follow it: the HPA keeps the highest of the
	// window (horizontal.go, stabilizeRecommendationWithBehaviors).
	ScaleDownWindowSeconds int
	// ScaleDownPercent is the most replicas removed per period.
	ScaleDownPercent int
	// ScaleUpPercent and ScaleUpPods bound a scale-out per period; the
	// larger applies.
	ScaleUpPercent, ScaleUpPods int
	// PeriodSeconds is the policies' period.
	PeriodSeconds int
}

// hpa is the ScaledObject's advanced.horizontalPodAutoscalerConfig.
func (b Behavior) hpa() pulumi.Map {
	policy := func(kind string, value int) pulumi.Map {
		return pulumi.Map{"type": pulumi.String(kind), "value": pulumi.Int(value), "periodSeconds": pulumi.Int(b.PeriodSeconds)}
	}
	return pulumi.Map{"behavior": pulumi.Map{
		"scaleDown": pulumi.Map{
			"stabilizationWindowSeconds": pulumi.Int(b.ScaleDownWindowSeconds),
			"policies":                   pulumi.Array{policy("Percent", b.ScaleDownPercent)},
		},
		"scaleUp": pulumi.Map{
			"stabilizationWindowSeconds": pulumi.Int(0),
			"selectPolicy":               pulumi.String("Max"),
			"policies":                   pulumi.Array{policy("Percent", b.ScaleUpPercent), policy("Pods", b.ScaleUpPods)},
		},
	}}
}

// InstallArgs place KEDA's pods.
type InstallArgs struct {
	// NodeSelector and Toleration put KEDA on the system nodes. Optional.
	NodeSelector map[string]string
	Toleration   string
	// DependsOn holds the install until, e.g., the operator's identity and
	// the system nodes exist. Optional.
	DependsOn []pulumi.Resource
}

// Trigger is one KEDA scaler.
type Trigger struct {
	// Type is the scaler, e.g. aws-sqs-queue, azure-queue or prometheus.
	Type string
	// Metadata is the scaler's settings.
	Metadata pulumi.StringMap
}

// Scaler is KEDA scaling one Deployment.
type Scaler struct {
	pulumi.ResourceState

	ScaledObjectName          pulumi.StringOutput `pulumi:"scaledObjectName"`
	TriggerAuthenticationName pulumi.StringOutput `pulumi:"triggerAuthenticationName"`
}

// NewScaler creates the scaler; pass the cluster's provider in opts.
func NewScaler(ctx *pulumi.Context, name string, args *ScalerArgs, opts ...pulumi.ResourceOption) (*Scaler, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("keda scaler %q: %w", name, err)
	}
	c := &Scaler{}
	if err := ctx.RegisterComponentResource(Token, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	// The objects wait for KEDA's CRDs (its chart) and whatever else the
	// caller names.
	crds := args.DependsOn
	if args.Install != nil {
		chart, err := install(ctx, name, args.Install, parent)
		if err != nil {
			return nil, err
		}
		crds = append(crds, chart)
	}
	auth, err := apiextensions.NewCustomResource(ctx, name+"-auth", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(APIVersion),
		Kind:        pulumi.String("TriggerAuthentication"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{"podIdentity": args.PodIdentity}},
	}, parent, pulumi.DependsOn(crds))
	if err != nil {
		return nil, err
	}
	scaled, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(APIVersion),
		Kind:       pulumi.String("ScaledObject"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"scaleTargetRef":  pulumi.Map{"name": args.Deployment},
			"minReplicaCount": pulumi.Int(args.MinReplicas),
			"maxReplicaCount": pulumi.Int(args.MaxReplicas),
			"pollingInterval": pulumi.Int(args.PollingInterval),
			"cooldownPeriod":  pulumi.Int(args.CooldownPeriod),
			"advanced":        pulumi.Map{"horizontalPodAutoscalerConfig": args.Behavior.hpa()},
			"triggers":        triggers(args.Triggers, auth.Metadata.Name().Elem()),
		}},
	}, parent, pulumi.DependsOn(crds))
	if err != nil {
		return nil, err
	}
	c.ScaledObjectName = scaled.Metadata.Name().Elem()
	c.TriggerAuthenticationName = auth.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"scaledObjectName": c.ScaledObjectName, "triggerAuthenticationName": c.TriggerAuthenticationName,
	})
}

func (a *ScalerArgs) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case a.Namespace == nil || a.Deployment == nil:
		return fmt.Errorf("Namespace and Deployment are required")
	case len(a.Triggers) == 0 || len(a.PodIdentity) == 0:
		return fmt.Errorf("Triggers and PodIdentity are required")
	case a.MinReplicas < 0 || a.MaxReplicas < max(a.MinReplicas, 1):
		return fmt.Errorf("replicas: min %d, max %d: want 0 <= min <= max, max >= 1", a.MinReplicas, a.MaxReplicas)
	}
	for i, t := range a.Triggers {
		if t.Type == "" || len(t.Metadata) == 0 {
			return fmt.Errorf("trigger %d needs Type and Metadata", i)
		}
	}
	return nil
}

// triggers renders the ScaledObject's triggers, all authenticated by auth.
func triggers(ts []Trigger, auth pulumi.StringInput) pulumi.Array {
	out := make(pulumi.Array, len(ts))
	for i, t := range ts {
		out[i] = pulumi.Map{"type": pulumi.String(t.Type), "metadata": t.Metadata, "authenticationRef": pulumi.Map{"name": auth}}
	}
	return out
}

// install deploys KEDA from its chart into its namespace.
func install(ctx *pulumi.Context, name string, args *InstallArgs, parent pulumi.ResourceOption) (*helmv4.Chart, error) {
	ns, err := corev1.NewNamespace(ctx, name+"-namespace", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Namespace)},
	}, parent)
	if err != nil {
		return nil, err
	}
	values := pulumi.Map{}
	if len(args.NodeSelector) > 0 {
		values["nodeSelector"] = pulumi.ToStringMap(args.NodeSelector)
	}
	if args.Toleration != "" {
		values["tolerations"] = pulumi.Array{pulumi.Map{
			"key": pulumi.String(args.Toleration), "operator": pulumi.String("Exists"), "effect": pulumi.String("NoSchedule"),
		}}
	}
	return helmv4.NewChart(ctx, name+"-keda", &helmv4.ChartArgs{
		Chart:          pulumi.String("keda"),
		Version:        pulumi.String(ChartVersion),
		RepositoryOpts: &helmv4.RepositoryOptsArgs{Repo: pulumi.String(chartRepo)},
		Namespace:      ns.Metadata.Name().Elem(),
		Values:         values,
	}, parent, pulumi.DependsOn(args.DependsOn))
}
