// Package cluster creates the Kubernetes cluster and a provider for it: on
// AWS an EKS cluster in its own VPC.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// EksToken is the component's type token.
const EksToken = "edw:cluster:Eks"

const (
	// DiscoveryTag marks the subnets and the security group Karpenter
	// launches nodes into; its value is the cluster name.
	DiscoveryTag = "karpenter.sh/discovery"
	// SystemPoolLabel marks the nodes that run controllers (KEDA,
	// Karpenter); SystemPool is its value.
	SystemPoolLabel = "edw.dev/pool"
	SystemPool      = "system"
	// CriticalAddonsOnly is the taint that keeps workload pods off the
	// system nodes; controllers tolerate it.
	CriticalAddonsOnly = "CriticalAddonsOnly"
	// podIdentityAddon runs the agent that hands pods their role's
	// credentials.
	podIdentityAddon = "eks-pod-identity-agent"
)

// apiAuthentication manages cluster access with access entries only, never
// the aws-auth ConfigMap.
var apiAuthentication = eks.AuthenticationModeApi

// nodePolicies are what a node's role needs, for managed node groups and
// Karpenter's nodes alike.
var nodePolicies = []string{
	"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
	"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
	"arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
}

// EksArgs configure the cluster.
type EksArgs struct {
	// Name of the EKS cluster, also the Karpenter discovery tag value.
	// Required.
	Name string
	// Version is the Kubernetes version. Required.
	Version string
	// VpcCidr is the VPC's /16. Required.
	VpcCidr string
	// AvailabilityZones is how many zones the VPC spans (2 or 3). Required.
	AvailabilityZones int
	// SystemNodeType and SystemNodeCount size the system node group.
	// Required unless AutoMode.
	SystemNodeType  string
	SystemNodeCount int
	// AutoMode runs EKS Auto Mode (built-in Karpenter and system pool)
	// instead of the system node group. Optional; default false.
	AutoMode bool
	// Tags for every AWS resource. Optional.
	Tags pulumi.StringMap
}

// Eks is an EKS cluster with API authentication (access entries), an OIDC
// provider, the Pod Identity agent, a tainted system node group and a
// Kubernetes provider.
type Eks struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	Kubeconfig  pulumi.StringOutput `pulumi:"kubeconfig"`
	VpcId       pulumi.StringOutput `pulumi:"vpcId"`
	// OidcProviderArn and OidcIssuer serve IRSA, for tools that need it.
	OidcProviderArn pulumi.StringOutput `pulumi:"oidcProviderArn"`
	OidcIssuer      pulumi.StringOutput `pulumi:"oidcIssuer"`
	// AutoModeNodeRoleName is the node role Auto Mode created; empty
	// otherwise.
	AutoModeNodeRoleName pulumi.StringOutput `pulumi:"autoModeNodeRoleName"`

	// Provider deploys to the cluster.
	Provider *kubernetes.Provider `pulumi:"-"`
	// SystemNodes is what controllers need before they can run: the
	// system node group and the Pod Identity agent.
	SystemNodes []pulumi.Resource `pulumi:"-"`
}

// NewEks creates the network, the cluster and the system nodes.
func NewEks(ctx *pulumi.Context, name string, args *EksArgs, opts ...pulumi.ResourceOption) (*Eks, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", name, err)
	}
	c := &Eks{}
	if err := ctx.RegisterComponentResource(EksToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster %q: availability zones: %w", name, err)
	}
	if len(zones.Names) < args.AvailabilityZones {
		return nil, fmt.Errorf("cluster %q: the region has %d available zones, %d asked", name, len(zones.Names), args.AvailabilityZones)
	}
	discovery := pulumi.StringMap{DiscoveryTag: pulumi.String(args.Name)}
	net, err := newNetwork(ctx, name, args.VpcCidr, zones.Names[:args.AvailabilityZones], discovery, args.Tags, parent)
	if err != nil {
		return nil, err
	}

	clusterArgs := &eks.ClusterArgs{
		Name:                         pulumi.String(args.Name),
		Version:                      pulumi.String(args.Version),
		VpcId:                        net.vpcID,
		PrivateSubnetIds:             net.privateSubnetIDs,
		PublicSubnetIds:              net.publicSubnetIDs,
		NodeAssociatePublicIpAddress: pulumi.BoolRef(false),
		AuthenticationMode:           &apiAuthentication,
		CreateOidcProvider:           pulumi.Bool(true),
		SkipDefaultNodeGroup:         pulumi.BoolRef(true),
		// Nodes of every kind join the security group EKS creates for the
		// cluster; tagging that one for Karpenter keeps it the only one.
		SkipDefaultSecurityGroups: pulumi.BoolRef(true),
		EnabledClusterLogTypes:    pulumi.StringArray{pulumi.String("api"), pulumi.String("audit"), pulumi.String("authenticator")},
		Tags:                      args.Tags,
	}
	if args.AutoMode {
		clusterArgs.AutoMode = &eks.AutoModeOptionsArgs{Enabled: true, CreateNodeRole: pulumi.BoolRef(true)}
	}
	cluster, err := eks.NewCluster(ctx, name, clusterArgs, parent, pulumi.DependsOn(net.egress))
	if err != nil {
		return nil, err
	}
	// The name is ours; taking it through the cluster's URN makes whatever
	// uses it wait for the cluster.
	c.ClusterName = cluster.URN().ApplyT(func(pulumi.URN) string { return args.Name }).(pulumi.StringOutput)
	// EKS creates the cluster security group; the component reports it. (A
	// lookup by name would run during the first preview, before the
	// cluster exists, and fail.)
	if _, err := ec2.NewTag(ctx, name+"-sg-discovery", &ec2.TagArgs{
		ResourceId: cluster.ClusterSecurityGroupId,
		Key:        pulumi.String(DiscoveryTag),
		Value:      pulumi.String(args.Name),
	}, parent); err != nil {
		return nil, err
	}
	c.Provider, err = kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{Kubeconfig: cluster.KubeconfigJson}, parent)
	if err != nil {
		return nil, err
	}
	if !args.AutoMode {
		if c.SystemNodes, err = newSystemNodes(ctx, name, cluster, c.ClusterName, args, parent); err != nil {
			return nil, err
		}
	}

	c.Kubeconfig = pulumi.ToSecret(cluster.KubeconfigJson).(pulumi.StringOutput)
	c.VpcId = net.vpcID
	c.OidcProviderArn, c.OidcIssuer = cluster.OidcProviderArn, cluster.OidcIssuer
	c.AutoModeNodeRoleName = cluster.AutoModeNodeRoleName
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName, "kubeconfig": c.Kubeconfig, "vpcId": c.VpcId,
		"oidcProviderArn": c.OidcProviderArn, "oidcIssuer": c.OidcIssuer, "autoModeNodeRoleName": c.AutoModeNodeRoleName,
	})
}

func (a *EksArgs) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case a.Name == "" || a.Version == "" || a.VpcCidr == "":
		return fmt.Errorf("Name, Version and VpcCidr are required")
	case a.AvailabilityZones < 2 || a.AvailabilityZones > 3:
		return fmt.Errorf("AvailabilityZones is %d, want 2 or 3", a.AvailabilityZones)
	case !a.AutoMode && (a.SystemNodeType == "" || a.SystemNodeCount < 1):
		return fmt.Errorf("SystemNodeType and SystemNodeCount are required without AutoMode")
	}
	return nil
}

// newSystemNodes creates the managed node group the controllers run on,
// tainted so that workload pods land on Karpenter's nodes instead, and the
// Pod Identity agent.
func newSystemNodes(ctx *pulumi.Context, name string, cluster *eks.Cluster, clusterName pulumi.StringOutput, args *EksArgs, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	role, err := NewNodeRole(ctx, name+"-system-node", args.Tags, parent)
	if err != nil {
		return nil, err
	}
	group, err := eks.NewManagedNodeGroup(ctx, name+"-system", &eks.ManagedNodeGroupArgs{
		Cluster:       cluster,
		NodeRole:      role.Role,
		InstanceTypes: pulumi.StringArray{pulumi.String(args.SystemNodeType)},
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			DesiredSize: pulumi.Int(args.SystemNodeCount),
			MinSize:     pulumi.Int(args.SystemNodeCount),
			MaxSize:     pulumi.Int(args.SystemNodeCount + 1),
		},
		Labels: pulumi.StringMap{SystemPoolLabel: pulumi.String(SystemPool)},
		Taints: awseks.NodeGroupTaintArray{awseks.NodeGroupTaintArgs{
			Key: pulumi.String(CriticalAddonsOnly), Value: pulumi.String("true"), Effect: pulumi.String("NO_SCHEDULE"),
		}},
		Tags: args.Tags,
	}, append([]pulumi.ResourceOption{parent}, pulumi.DependsOn(role.Attachments))...)
	if err != nil {
		return nil, err
	}
	agent, err := awseks.NewAddon(ctx, name+"-pod-identity-agent", &awseks.AddonArgs{
		ClusterName: clusterName,
		AddonName:   pulumi.String(podIdentityAddon),
		Tags:        args.Tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{group}))
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{group, agent}, nil
}

// NodeRole is an IAM role for EC2 nodes with the policies every node needs.
type NodeRole struct {
	Role        *iam.Role
	Attachments []pulumi.Resource
}

// NewNodeRole creates a node role; its children are named <name>-role and
// <name>-policy-<n>.
func NewNodeRole(ctx *pulumi.Context, name string, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*NodeRole, error) {
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(identity.TrustPolicy("ec2.amazonaws.com", "sts:AssumeRole")),
		Tags:             tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	r := &NodeRole{Role: role}
	for i, arn := range nodePolicies {
		a, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-policy-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(arn),
		}, opts...)
		if err != nil {
			return nil, err
		}
		r.Attachments = append(r.Attachments, a)
	}
	return r, nil
}
