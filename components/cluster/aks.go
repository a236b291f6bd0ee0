package cluster

import (
	"encoding/base64"
	"fmt"

	containerservice "github.com/pulumi/pulumi-azure-native-sdk/containerservice/v2/v20241002preview"
	"github.com/pulumi/pulumi-azure-native-sdk/managedidentity/v2"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AksToken is the component's type token.
const AksToken = "edw:cluster:Aks"

const (
	// kubeletIdentity is the identity profile key of the nodes' identity,
	// which pulls images.
	kubeletIdentity = "kubeletidentity"
	// podCIDR is the overlay's pod range; it never touches the VNet.
	podCIDR = "10.244.0.0/16"
)

// AksArgs configure the cluster.
type AksArgs struct {
	// ResourceGroupName holds the cluster and its identity. Required.
	ResourceGroupName pulumi.StringInput
	// Name of the AKS cluster, also its DNS prefix. Required.
	Name string
	// Version is the Kubernetes version. Required.
	Version string
	// SystemNodeSize and SystemNodeCount size the system pool. Required.
	SystemNodeSize  string
	SystemNodeCount int
	// Tags for every Azure resource. Optional.
	Tags pulumi.StringMap
}

// Aks is an AKS cluster with node auto-provisioning (Karpenter), Azure CNI
// overlay with Cilium, OIDC issuer and workload identity, the KEDA add-on,
// a user-assigned control-plane identity and a tainted system pool.
type Aks struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	Kubeconfig  pulumi.StringOutput `pulumi:"kubeconfig"`
	// OidcIssuerUrl is the issuer federated credentials trust.
	OidcIssuerUrl pulumi.StringOutput `pulumi:"oidcIssuerUrl"`
	// KubeletObjectId is the nodes' identity, which pulls images.
	KubeletObjectId pulumi.StringOutput `pulumi:"kubeletObjectId"`
	// ControlPlaneIdentityName is the cluster's own identity.
	ControlPlaneIdentityName pulumi.StringOutput `pulumi:"controlPlaneIdentityName"`

	// Provider deploys to the cluster.
	Provider *kubernetes.Provider `pulumi:"-"`
}

// NewAks creates the cluster.
func NewAks(ctx *pulumi.Context, name string, args *AksArgs, opts ...pulumi.ResourceOption) (*Aks, error) {
	if args == nil || args.ResourceGroupName == nil || args.Name == "" || args.Version == "" || args.SystemNodeSize == "" || args.SystemNodeCount < 1 {
		return nil, fmt.Errorf("cluster %q: ResourceGroupName, Name, Version, SystemNodeSize and SystemNodeCount are required", name)
	}
	c := &Aks{}
	if err := ctx.RegisterComponentResource(AksToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	controlPlane, err := managedidentity.NewUserAssignedIdentity(ctx, name+"-identity", &managedidentity.UserAssignedIdentityArgs{
		ResourceGroupName: args.ResourceGroupName, Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	cluster, err := containerservice.NewManagedCluster(ctx, name, &containerservice.ManagedClusterArgs{
		ResourceGroupName: args.ResourceGroupName,
		ResourceName:      pulumi.String(args.Name),
		DnsPrefix:         pulumi.String(args.Name),
		KubernetesVersion: pulumi.String(args.Version),
		EnableRBAC:        pulumi.Bool(true),
		Identity: &containerservice.ManagedClusterIdentityArgs{
			Type:                   containerservice.ResourceIdentityTypeUserAssigned,
			UserAssignedIdentities: pulumi.StringArray{controlPlane.ID()},
		},
		AgentPoolProfiles: containerservice.ManagedClusterAgentPoolProfileArray{containerservice.ManagedClusterAgentPoolProfileArgs{
			Name:       pulumi.String(SystemPool),
			Mode:       pulumi.String("System"),
			Count:      pulumi.Int(args.SystemNodeCount),
			VmSize:     pulumi.String(args.SystemNodeSize),
			OsType:     pulumi.String("Linux"),
			Type:       pulumi.String("VirtualMachineScaleSets"),
			NodeLabels: pulumi.StringMap{SystemPoolLabel: pulumi.String(SystemPool)},
			NodeTaints: pulumi.StringArray{pulumi.String(CriticalAddonsOnly + "=true:NoSchedule")},
		}},
		NetworkProfile: &containerservice.ContainerServiceNetworkProfileArgs{
			NetworkPlugin:     pulumi.String("azure"),
			NetworkPluginMode: pulumi.String("overlay"),
			NetworkDataplane:  pulumi.String("cilium"),
			NetworkPolicy:     pulumi.String("cilium"),
			PodCidr:           pulumi.String(podCIDR),
		},
		// Node auto-provisioning: AKS runs Karpenter for the workload's nodes.
		NodeProvisioningProfile:   &containerservice.ManagedClusterNodeProvisioningProfileArgs{Mode: pulumi.String("Auto")},
		OidcIssuerProfile:         &containerservice.ManagedClusterOIDCIssuerProfileArgs{Enabled: pulumi.Bool(true)},
		SecurityProfile:           &containerservice.ManagedClusterSecurityProfileArgs{WorkloadIdentity: &containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs{Enabled: pulumi.Bool(true)}},
		WorkloadAutoScalerProfile: &containerservice.ManagedClusterWorkloadAutoScalerProfileArgs{Keda: &containerservice.ManagedClusterWorkloadAutoScalerProfileKedaArgs{Enabled: pulumi.Bool(true)}},
		Tags:                      args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	creds := containerservice.ListManagedClusterUserCredentialsOutput(ctx, containerservice.ListManagedClusterUserCredentialsOutputArgs{
		ResourceGroupName: args.ResourceGroupName, ResourceName: cluster.Name,
	}, pulumi.Parent(c))
	kubeconfig := creds.Kubeconfigs().Index(pulumi.Int(0)).Value().ApplyT(func(b64 string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", fmt.Errorf("cluster %q: kubeconfig: %w", name, err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	c.Kubeconfig = pulumi.ToSecret(kubeconfig).(pulumi.StringOutput)
	c.Provider, err = kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{Kubeconfig: c.Kubeconfig}, parent)
	if err != nil {
		return nil, err
	}
	c.ClusterName = cluster.Name
	c.OidcIssuerUrl = cluster.OidcIssuerProfile.IssuerURL().Elem()
	c.KubeletObjectId = cluster.IdentityProfile.MapIndex(pulumi.String(kubeletIdentity)).ObjectId().Elem()
	c.ControlPlaneIdentityName = controlPlane.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName, "kubeconfig": c.Kubeconfig, "oidcIssuerUrl": c.OidcIssuerUrl,
		"kubeletObjectId": c.KubeletObjectId, "controlPlaneIdentityName": c.ControlPlaneIdentityName,
	})
}
