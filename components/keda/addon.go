package keda

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// AddonIdentityToken is the component's type token.
const AddonIdentityToken = "edw:keda:AddonIdentity"

const (
	// AddonNamespace runs the AKS KEDA add-on's operator, a Deployment
	// named after its service account.
	AddonNamespace = "kube-system"
	// restartedAt is the pod template annotation `kubectl rollout restart`
	// sets; changing it rolls the pods.
	restartedAt = "kubectl.kubernetes.io/restartedAt"
)

// AddonIdentityArgs name the identity the add-on's operator signs in with.
type AddonIdentityArgs struct {
	// ClientID is the user-assigned identity's client id. Required.
	ClientID pulumi.StringInput
	// Credential is the identity's federated credential with the operator's
	// service account: the operator restarts once it exists, and again
	// whenever it is replaced. Required.
	Credential pulumi.CustomResource
}

// AddonIdentity gives the AKS KEDA add-on's operator a workload identity.
// The add-on's pods started before the federated credential existed and
// never got a token: the webhook injects one only into pods created after
// (AKS docs, "KEDA with workload identity"), so the operator restarts.
type AddonIdentity struct {
	pulumi.ResourceState

	// RestartedAt is the credential id the operator last restarted for.
	RestartedAt pulumi.StringOutput `pulumi:"restartedAt"`
	// Restart is what a ScaledObject must wait for.
	Restart pulumi.Resource `pulumi:"-"`
}

// NewAddonIdentity annotates the operator's service account with the
// client id and restarts the operator (with the Kubernetes provider
// passed in opts).
func NewAddonIdentity(ctx *pulumi.Context, name string, args *AddonIdentityArgs, opts ...pulumi.ResourceOption) (*AddonIdentity, error) {
	if args == nil || args.ClientID == nil || args.Credential == nil {
		return nil, fmt.Errorf("keda add-on identity %q: ClientID and Credential are required", name)
	}
	c := &AddonIdentity{}
	if err := ctx.RegisterComponentResource(AddonIdentityToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	operator := func(annotations pulumi.StringMap) *metav1.ObjectMetaPatchArgs {
		return &metav1.ObjectMetaPatchArgs{
			Name: pulumi.String(OperatorServiceAccount), Namespace: pulumi.String(AddonNamespace), Annotations: annotations,
		}
	}
	sa, err := corev1.NewServiceAccountPatch(ctx, name+"-sa", &corev1.ServiceAccountPatchArgs{
		Metadata: operator(pulumi.StringMap{identity.ClientIDAnnotation: args.ClientID}),
	}, parent)
	if err != nil {
		return nil, err
	}
	c.RestartedAt = args.Credential.ID().ToStringOutput()
	restart, err := appsv1.NewDeploymentPatch(ctx, name+"-restart", &appsv1.DeploymentPatchArgs{
		Metadata: operator(nil),
		Spec: &appsv1.DeploymentSpecPatchArgs{Template: &corev1.PodTemplateSpecPatchArgs{
			Metadata: &metav1.ObjectMetaPatchArgs{Annotations: pulumi.StringMap{restartedAt: c.RestartedAt}},
		}},
	}, parent, pulumi.DependsOn([]pulumi.Resource{args.Credential, sa}))
	if err != nil {
		return nil, err
	}
	c.Restart = restart
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"restartedAt": c.RestartedAt})
}
