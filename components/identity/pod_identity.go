// Package identity binds cloud identities to Kubernetes service accounts:
// on EKS an IAM role through an EKS Pod Identity association.
package identity

import (
	"fmt"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PodIdentityToken is the component's type token.
const PodIdentityToken = "edw:identity:PodIdentity"

// podsPrincipal is the service that assumes roles for EKS Pod Identity.
const podsPrincipal = "pods.eks.amazonaws.com"

// AgentCIDR and AgentPort are where the EKS Pod Identity agent, on every
// node, hands pods their credentials.
const (
	AgentCIDR = "169.254.170.23/32"
	AgentPort = 80
)

// PodIdentityArgs configure one principal.
type PodIdentityArgs struct {
	// ClusterName is the EKS cluster. Required.
	ClusterName pulumi.StringInput
	// Namespace of the service account. Required.
	Namespace pulumi.StringInput
	// ServiceAccount is the service account's name. Required.
	ServiceAccount string
	// CreateServiceAccount creates the ServiceAccount; leave it false when
	// a Helm chart creates its own. Optional; default false.
	CreateServiceAccount bool
	// Statements are the role's inline policy. Optional.
	Statements []Statement
	// ManagedPolicyArns are attached to the role. Optional.
	ManagedPolicyArns []string
	// Tags for the AWS resources. Optional.
	Tags pulumi.StringMap
}

// PodIdentity is an IAM role that pods of one service account assume.
type PodIdentity struct {
	pulumi.ResourceState

	RoleArn            pulumi.StringOutput `pulumi:"roleArn"`
	RoleName           pulumi.StringOutput `pulumi:"roleName"`
	ServiceAccountName pulumi.StringOutput `pulumi:"serviceAccountName"`
	// Association is the pod identity association; depend on it to know
	// the role is usable.
	Association *awseks.PodIdentityAssociation `pulumi:"-"`
	// Ready is what a pod needs before its calls are allowed: the role,
	// its policies and the association. (Depending on the component
	// itself would cover only the children registered by then.)
	Ready []pulumi.Resource `pulumi:"-"`
}

// NewPodIdentity creates the role, its policy, the association and, when
// asked, the ServiceAccount (with the Kubernetes provider passed in opts).
func NewPodIdentity(ctx *pulumi.Context, name string, args *PodIdentityArgs, opts ...pulumi.ResourceOption) (*PodIdentity, error) {
	if args == nil || args.ClusterName == nil || args.Namespace == nil || args.ServiceAccount == "" {
		return nil, fmt.Errorf("pod identity %q: ClusterName, Namespace and ServiceAccount are required", name)
	}
	c := &PodIdentity{}
	if err := ctx.RegisterComponentResource(PodIdentityToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(TrustPolicy(podsPrincipal, "sts:AssumeRole", "sts:TagSession")),
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Ready = []pulumi.Resource{role}
	if len(args.Statements) > 0 {
		policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
			Role:   role.ID(),
			Policy: PolicyDocument(args.Statements...),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.Ready = append(c.Ready, policy)
	}
	for i, arn := range args.ManagedPolicyArns {
		attachment, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-managed-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(arn),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.Ready = append(c.Ready, attachment)
	}
	if args.CreateServiceAccount {
		if _, err := corev1.NewServiceAccount(ctx, name+"-sa", &corev1.ServiceAccountArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.ServiceAccount), Namespace: args.Namespace},
		}, parent); err != nil {
			return nil, err
		}
	}
	c.Association, err = awseks.NewPodIdentityAssociation(ctx, name+"-association", &awseks.PodIdentityAssociationArgs{
		ClusterName:    args.ClusterName,
		Namespace:      args.Namespace,
		ServiceAccount: pulumi.String(args.ServiceAccount),
		RoleArn:        role.Arn,
		Tags:           args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Ready = append(c.Ready, c.Association)
	c.RoleArn, c.RoleName = role.Arn, role.Name
	c.ServiceAccountName = c.Association.ServiceAccount
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"roleArn": c.RoleArn, "roleName": c.RoleName, "serviceAccountName": c.ServiceAccountName,
	})
}
