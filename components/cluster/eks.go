// Package cluster creates the Kubernetes cluster and a provider for it: on
// AWS an EKS cluster in its own VPC.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v3/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
	"github.com/edw-project/edw/internal/transform"
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
)

// nodeAddons are the EKS add-ons that wait for the system nodes: the agent
// that hands pods their role's credentials, and cluster DNS.
var nodeAddons = []struct{ name, addon string }{
	{"pod-identity-agent", "eks-pod-identity-agent"},
	{"coredns", "coredns"},
}

// apiAuthentication manages cluster access with access entries only, never
// the aws-auth ConfigMap.
var apiAuthentication = eks.AuthenticationModeApi

// nodePolicies are the AWS managed policies a node's role needs, for
// managed node groups and Karpenter's nodes alike: joining the cluster,
// pulling images, the VPC CNI, and Session Manager in place of SSH.
var nodePolicies = []string{
	"AmazonEKSWorkerNodePolicy",
	"AmazonEC2ContainerRegistryPullOnly",
	"AmazonEKS_CNI_Policy",
	"AmazonSSMManagedInstanceCore",
}

// Partition is the AWS partition the stack deploys to (aws, aws-cn,
// aws-us-gov...): its name goes in ARNs, its DNS suffix in service
// principals.
type Partition struct {
	Name, DNSSuffix string
}

// policyArn is the ARN of the AWS managed policy name.
func (p Partition) policyArn(name string) string {
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", p.Name, name)
}

// Service is the principal of an AWS service, e.g. ec2.amazonaws.com.
func (p Partition) Service(name string) string { return name + "." + p.DNSSuffix }

// EndpointAccess says who reaches the cluster's API endpoint.
type EndpointAccess string

const (
	// EndpointPublic serves the API on the internet only (to
	// PublicAccessCidrs); nodes reach it through the NAT gateways.
	EndpointPublic EndpointAccess = "public"
	// EndpointPublicAndPrivate serves it inside the VPC too, so nodes and
	// pods reach it without leaving the VPC.
	EndpointPublicAndPrivate EndpointAccess = "public-and-private"
	// EndpointPrivate serves it inside the VPC only: whoever runs pulumi
	// must reach the VPC (a VPN, a peered network, a runner inside).
	EndpointPrivate EndpointAccess = "private"
)

// logGroupName is where EKS writes the control plane's logs; EKS creates
// it, without retention, unless it exists first.
func logGroupName(cluster string) string { return "/aws/eks/" + cluster + "/cluster" }

// clusterLogTypes are the control-plane logs sent to CloudWatch.
var clusterLogTypes = []string{"api", "audit", "authenticator"}

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
	// Partition places ARNs and service principals. Required.
	Partition Partition
	// EndpointAccess and PublicAccessCidrs open the API endpoint.
	// Required; the CIDRs only with public access.
	EndpointAccess    EndpointAccess
	PublicAccessCidrs []string
	// SupportType is the cluster's upgrade policy at the end of standard
	// support: STANDARD (upgrade) or EXTENDED (stay, at a higher price).
	// Required.
	SupportType string
	// ScraperSubnets adds a small subnet per zone for a metrics scraper's
	// network interfaces alone. Optional; default false.
	ScraperSubnets bool
	// LogRetentionDays keeps the control plane's logs. Required.
	LogRetentionDays int
	// AdminPrincipalArns are the IAM roles and users made cluster admins,
	// whoever runs the program among them. Required.
	AdminPrincipalArns []string
	// ReaderPrincipalArns may read the stack's objects (ReadersGroup).
	// Optional.
	ReaderPrincipalArns []string
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
	// PrivateSubnetIds and ClusterSecurityGroupId place what reaches into
	// the cluster from the VPC, such as a metrics scraper: every node is
	// in those subnets and that group.
	PrivateSubnetIds       pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	ClusterSecurityGroupId pulumi.StringOutput      `pulumi:"clusterSecurityGroupId"`
	// ScraperSubnetIds are the subnets of ScraperSubnets, and ScraperCidrs
	// their ranges; empty without them.
	ScraperSubnetIds pulumi.StringArrayOutput `pulumi:"scraperSubnetIds"`
	ScraperCidrs     []string                 `pulumi:"-"`
	// OidcProviderArn and OidcIssuer serve IRSA, for tools that need it.
	OidcProviderArn pulumi.StringOutput `pulumi:"oidcProviderArn"`
	OidcIssuer      pulumi.StringOutput `pulumi:"oidcIssuer"`
	// AutoModeNodeRoleName is the node role Auto Mode created; empty
	// otherwise.
	AutoModeNodeRoleName pulumi.StringOutput `pulumi:"autoModeNodeRoleName"`

	// Provider deploys to the cluster.
	Provider *kubernetes.Provider `pulumi:"-"`
	// SystemNodes is what controllers need before they can run: the
	// system node group and the Pod Identity agent, or with Auto Mode its
	// network policy controller's setting.
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
	net, err := newNetwork(ctx, name, args.VpcCidr, zones.Names[:args.AvailabilityZones], args.ScraperSubnets, discovery, args.Tags, parent)
	if err != nil {
		return nil, err
	}

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(logGroupName(args.Name)),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            args.Tags,
	}, parent)
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
		EnabledClusterLogTypes:    pulumi.ToStringArray(clusterLogTypes),
		// The VPC CNI enforces the workload's NetworkPolicies.
		VpcCniOptions:         &eks.VpcCniOptionsArgs{EnableNetworkPolicy: pulumi.Bool(true)},
		EndpointPublicAccess:  pulumi.Bool(args.EndpointAccess != EndpointPrivate),
		EndpointPrivateAccess: pulumi.Bool(args.EndpointAccess != EndpointPublic),
		Tags:                  args.Tags,
	}
	if args.EndpointAccess != EndpointPrivate {
		clusterArgs.PublicAccessCidrs = pulumi.ToStringArray(args.PublicAccessCidrs)
	}
	if args.AutoMode {
		clusterArgs.AutoMode = &eks.AutoModeOptionsArgs{Enabled: true, CreateNodeRole: pulumi.BoolRef(true)}
	}
	// The log group first, so that EKS writes to it instead of making its
	// own, which would outlive the stack.
	cluster, err := eks.NewCluster(ctx, name, clusterArgs, parent, pulumi.DependsOn(net.egress), pulumi.DependsOn([]pulumi.Resource{logs}),
		pulumi.Transforms([]pulumi.ResourceTransform{UpgradePolicy(args.SupportType), NoCreatorAdmin()}))
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
	admins, err := newAccessEntries(ctx, name, c.ClusterName, args.Partition, args.AdminPrincipalArns, args.ReaderPrincipalArns, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	// The provider's first object waits for the admins' entries to take
	// effect: the program runs as one of them.
	authorized := accessAwaited(ctx, c, cluster.KubeconfigJson, admins, "the admins' EKS access entries")
	var adminDeps []pulumi.Resource
	for _, a := range admins {
		adminDeps = append(adminDeps, a)
	}
	c.Provider, err = kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{Kubeconfig: authorized}, parent, pulumi.DependsOn(adminDeps))
	if err != nil {
		return nil, err
	}
	if _, err := newReaders(ctx, name, c.Provider, nil, parent); err != nil {
		return nil, err
	}
	if args.AutoMode {
		// What needs the system nodes needs this instead: the workload's
		// pods start under their policies.
		policies, err := enableAutoModeNetworkPolicies(ctx, name, c.Provider, parent)
		if err != nil {
			return nil, err
		}
		c.SystemNodes = []pulumi.Resource{policies}
	}
	if !args.AutoMode {
		if c.SystemNodes, err = newSystemNodes(ctx, name, cluster, c.ClusterName, net.privateSubnetIDs, args, parent); err != nil {
			return nil, err
		}
	}

	c.Kubeconfig = pulumi.ToSecret(cluster.KubeconfigJson).(pulumi.StringOutput)
	c.VpcId = net.vpcID
	c.PrivateSubnetIds = net.privateSubnetIDs.ToStringArrayOutput()
	c.ScraperSubnetIds, c.ScraperCidrs = net.scraperSubnetIDs.ToStringArrayOutput(), net.scraperCIDRs
	c.ClusterSecurityGroupId = cluster.ClusterSecurityGroupId
	c.OidcProviderArn, c.OidcIssuer = cluster.OidcProviderArn, cluster.OidcIssuer
	c.AutoModeNodeRoleName = cluster.AutoModeNodeRoleName
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName, "kubeconfig": c.Kubeconfig, "vpcId": c.VpcId,
		"privateSubnetIds": c.PrivateSubnetIds, "clusterSecurityGroupId": c.ClusterSecurityGroupId, "scraperSubnetIds": c.ScraperSubnetIds,
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
	case a.Partition.Name == "" || a.Partition.DNSSuffix == "":
		return fmt.Errorf("Partition is required")
	case a.EndpointAccess != EndpointPublic && a.EndpointAccess != EndpointPublicAndPrivate && a.EndpointAccess != EndpointPrivate:
		return fmt.Errorf("EndpointAccess is %q, want %s, %s or %s", a.EndpointAccess, EndpointPublic, EndpointPublicAndPrivate, EndpointPrivate)
	case a.EndpointAccess != EndpointPrivate && len(a.PublicAccessCidrs) == 0:
		return fmt.Errorf("PublicAccessCidrs are required with public access")
	case a.LogRetentionDays < 1:
		return fmt.Errorf("LogRetentionDays is required")
	case a.SupportType == "":
		return fmt.Errorf("SupportType is required")
	case len(a.AdminPrincipalArns) == 0:
		return fmt.Errorf("AdminPrincipalArns are required: without them nobody, the program included, could use the cluster")
	}
	return nil
}

// newSystemNodes creates the managed node group the controllers run on,
// tainted so that workload pods land on Karpenter's nodes instead, then
// the add-ons that need nodes to become active: the Pod Identity agent
// and CoreDNS. (The cluster component makes kube-proxy and the VPC CNI
// managed add-ons itself; with no default node group it leaves CoreDNS as
// the self-managed copy EKS bootstraps, which nobody would upgrade.)
func newSystemNodes(ctx *pulumi.Context, name string, cluster *eks.Cluster, clusterName pulumi.StringOutput, subnets pulumi.StringArray, args *EksArgs, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	role, err := NewNodeRole(ctx, name+"-system-node", args.Partition, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	group, err := eks.NewManagedNodeGroup(ctx, name+"-system", &eks.ManagedNodeGroupArgs{
		Cluster:  cluster,
		NodeRole: role.Role,
		// The private subnets: left out, pulumi-eks v3.9.1 takes the
		// cluster's, public ones included (nodes/nodegroup.ts), where EKS
		// refuses nodes without public addresses.
		SubnetIds:     subnets,
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
	nodes := []pulumi.Resource{group}
	for _, addon := range nodeAddons {
		a, err := awseks.NewAddon(ctx, name+"-"+addon.name, &awseks.AddonArgs{
			ClusterName: clusterName,
			AddonName:   pulumi.String(addon.addon),
			// Take over the bootstrapped copy on create, keep the
			// add-on's settings on update.
			ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
			ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
			Tags:                     args.Tags,
		}, parent, pulumi.DependsOn([]pulumi.Resource{group}))
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, a)
	}
	return nodes, nil
}

// NodeRole is an IAM role for EC2 nodes with the policies every node needs.
type NodeRole struct {
	Role        *iam.Role
	Attachments []pulumi.Resource
}

// NewNodeRole creates a node role; its children are named <name>-role and
// <name>-policy-<n>.
func NewNodeRole(ctx *pulumi.Context, name string, partition Partition, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*NodeRole, error) {
	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(identity.TrustPolicy(partition.Service("ec2"), "sts:AssumeRole")),
		Tags:             tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	r := &NodeRole{Role: role}
	for i, policy := range nodePolicies {
		a, err := iam.NewRolePolicyAttachment(ctx, fmt.Sprintf("%s-policy-%d", name, i), &iam.RolePolicyAttachmentArgs{
			Role: role.Name, PolicyArn: pulumi.String(partition.policyArn(policy)),
		}, opts...)
		if err != nil {
			return nil, err
		}
		r.Attachments = append(r.Attachments, a)
	}
	return r, nil
}

// enableAutoModeNetworkPolicies turns on EKS Auto Mode's network policy
// controller, off by default: without it, the workload's NetworkPolicies
// are accepted and not enforced (Amazon EKS user guide, "Use Network
// Policies with EKS Auto Mode": the amazon-vpc-cni ConfigMap in
// kube-system with enable-network-policy-controller). The program's own
// VPC CNI add-on enforces them without Auto Mode (VpcCniOptions).
func enableAutoModeNetworkPolicies(ctx *pulumi.Context, name string, k8s *kubernetes.Provider, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	return corev1.NewConfigMap(ctx, name+"-network-policies", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("amazon-vpc-cni"), Namespace: pulumi.String("kube-system")},
		Data:     pulumi.StringMap{"enable-network-policy-controller": pulumi.String("true")},
	}, parent, pulumi.Provider(k8s))
}

// eksClusterType is the EKS cluster that pulumi-eks's component creates.
const eksClusterType = "aws:eks/cluster:Cluster"

// UpgradePolicy sets the upgrade policy of the EKS cluster inside
// pulumi-eks's component, which has no input for it (v3.9.1's ClusterArgs):
// left unset, EKS keeps a cluster past standard support in extended
// support, at six times the control plane's price (Amazon EKS user guide,
// "Cluster upgrade policy").
func UpgradePolicy(supportType string) pulumi.ResourceTransform {
	return transform.Props(eksClusterType, func(props pulumi.Map) {
		props["upgradePolicy"] = pulumi.Map{"supportType": pulumi.String(supportType)}
	})
}
