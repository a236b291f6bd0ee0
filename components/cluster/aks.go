package cluster

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	containerservice "github.com/pulumi/pulumi-azure-native-sdk/containerservice/v2/v20241002preview"
	"github.com/pulumi/pulumi-azure-native-sdk/managedidentity/v2"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/edw-project/edw/components/identity"
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
	// SubscriptionID and TenantID place the role assignment and Entra ID
	// integration. Required.
	SubscriptionID, TenantID string
	// DeployerObjectID is who runs pulumi: made cluster admin through
	// Azure RBAC, so that the program can deploy to the cluster, unless
	// DeployerNotAdmin. Required.
	DeployerObjectID string
	// DeployerNotAdmin leaves the deployer's access to AdminGroupObjectIDs,
	// so that the assignment does not follow whoever ran the last up (a
	// laptop, then CI). Optional; then AdminGroupObjectIDs are required.
	DeployerNotAdmin bool
	// AdminGroupObjectIDs are Entra ID groups made cluster admin too.
	// Optional.
	AdminGroupObjectIDs []string
	// ReaderGroupObjectIDs are Entra ID groups that may read the stack's
	// objects (ReadersGroup's role). Optional.
	ReaderGroupObjectIDs []string
	// AuthorizedIPRanges may reach the API server; empty or 0.0.0.0/0
	// leaves it open to every address (every request is still signed in
	// with Entra ID). Optional.
	AuthorizedIPRanges []string
	// KubeloginMode is how kubelogin gets an Entra ID token for the
	// kubeconfig (azurecli, workloadidentity, spn, msi). Required.
	KubeloginMode string
	// UpgradeChannel and NodeOSUpgradeChannel keep the cluster and its
	// node images current, inside Maintenance. Required.
	UpgradeChannel, NodeOSUpgradeChannel string
	Maintenance                          MaintenanceWindow
	// Tags for every Azure resource. Optional.
	Tags pulumi.StringMap
}

// MaintenanceWindow is a weekly window, in UTC, for both upgrade channels.
type MaintenanceWindow struct {
	// Day is a weekday (Sunday...Saturday), StartTime its HH:MM.
	Day, StartTime string
	// DurationHours is at least 4, as AKS requires with auto-upgrade.
	DurationHours int
}

// The maintenance configurations AKS reads for its two upgrade channels.
var maintenanceConfigs = []struct{ name, config string }{
	{"upgrades", "aksManagedAutoUpgradeSchedule"},
	{"node-os-upgrades", "aksManagedNodeOSUpgradeSchedule"},
}

// Aks is an AKS cluster with node auto-provisioning (Karpenter), Azure CNI
// overlay with Cilium, OIDC issuer and workload identity, the KEDA add-on,
// a user-assigned control-plane identity and a tainted system pool.
type Aks struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	// ClusterId is the cluster's ARM id, which monitoring attaches to.
	ClusterId  pulumi.StringOutput `pulumi:"clusterId"`
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
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
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", name, err)
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
		// Entra ID accounts only, authorized by Azure RBAC: no shared
		// admin certificate to leak or rotate.
		DisableLocalAccounts: pulumi.Bool(true),
		AadProfile: &containerservice.ManagedClusterAADProfileArgs{
			Managed:             pulumi.Bool(true),
			EnableAzureRBAC:     pulumi.Bool(true),
			TenantID:            pulumi.String(args.TenantID),
			AdminGroupObjectIDs: pulumi.ToStringArray(args.AdminGroupObjectIDs),
		},
		AutoUpgradeProfile: &containerservice.ManagedClusterAutoUpgradeProfileArgs{
			UpgradeChannel:       pulumi.String(args.UpgradeChannel),
			NodeOSUpgradeChannel: pulumi.String(args.NodeOSUpgradeChannel),
		},
		ApiServerAccessProfile: apiServerAccess(args.AuthorizedIPRanges),
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
		// Node auto-provisioning: AKS runs Karpenter for the workload's
		// nodes. Only the preview API versions have it; this package is the
		// newest of them in the SDK.
		NodeProvisioningProfile:   &containerservice.ManagedClusterNodeProvisioningProfileArgs{Mode: pulumi.String("Auto")},
		OidcIssuerProfile:         &containerservice.ManagedClusterOIDCIssuerProfileArgs{Enabled: pulumi.Bool(true)},
		SecurityProfile:           &containerservice.ManagedClusterSecurityProfileArgs{WorkloadIdentity: &containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs{Enabled: pulumi.Bool(true)}},
		WorkloadAutoScalerProfile: &containerservice.ManagedClusterWorkloadAutoScalerProfileArgs{Keda: &containerservice.ManagedClusterWorkloadAutoScalerProfileKedaArgs{Enabled: pulumi.Bool(true)}},
		// Managed Prometheus: AKS runs the metrics agent, which sends to
		// the workspace whose collection rule is associated with the
		// cluster (monitoring.Azure), once there is one.
		AzureMonitorProfile: &containerservice.ManagedClusterAzureMonitorProfileArgs{
			Metrics: &containerservice.ManagedClusterAzureMonitorProfileMetricsArgs{Enabled: pulumi.Bool(true)},
		},
		Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	for _, m := range maintenanceConfigs {
		if _, err := containerservice.NewMaintenanceConfiguration(ctx, name+"-"+m.name, &containerservice.MaintenanceConfigurationArgs{
			ResourceGroupName: args.ResourceGroupName,
			ResourceName:      cluster.Name,
			ConfigName:        pulumi.String(m.config),
			MaintenanceWindow: &containerservice.MaintenanceWindowArgs{
				Schedule: &containerservice.ScheduleArgs{Weekly: &containerservice.WeeklyScheduleArgs{
					DayOfWeek: pulumi.String(args.Maintenance.Day), IntervalWeeks: pulumi.Int(1),
				}},
				StartTime:     pulumi.String(args.Maintenance.StartTime),
				DurationHours: pulumi.Int(args.Maintenance.DurationHours),
				UtcOffset:     pulumi.String("+00:00"),
			},
		}, parent); err != nil {
			return nil, err
		}
	}
	// What the deployer's access waits for: its own assignment, or the
	// cluster that its groups are admins of.
	var admin pulumi.CustomResource = cluster
	if !args.DeployerNotAdmin {
		if admin, err = authorization.NewRoleAssignment(ctx, name+"-deployer-admin", &authorization.RoleAssignmentArgs{
			PrincipalId:      pulumi.String(args.DeployerObjectID),
			RoleDefinitionId: pulumi.String(identity.RoleDefinitionID(args.SubscriptionID, identity.AKSRBACClusterAdmin)),
			Scope:            cluster.ID(),
		}, parent); err != nil {
			return nil, err
		}
	}
	// Readers fetch the kubeconfig as the program does
	// (listClusterUserCredential), then read through Kubernetes RBAC, which
	// AKS consults beside Azure RBAC.
	for _, group := range args.ReaderGroupObjectIDs {
		if _, err := authorization.NewRoleAssignment(ctx, name+"-reader-"+group, &authorization.RoleAssignmentArgs{
			PrincipalId:      pulumi.String(group),
			PrincipalType:    pulumi.String("Group"),
			RoleDefinitionId: pulumi.String(identity.RoleDefinitionID(args.SubscriptionID, identity.AKSClusterUser)),
			Scope:            cluster.ID(),
		}, parent); err != nil {
			return nil, err
		}
	}
	// With local accounts off, AKS hands out an exec kubeconfig whose
	// kubelogin asks a person to sign in; the program, the workflows and
	// the user's tools need the mode that fits where they run.
	creds := containerservice.ListManagedClusterUserCredentialsOutput(ctx, containerservice.ListManagedClusterUserCredentialsOutputArgs{
		ResourceGroupName: args.ResourceGroupName, ResourceName: cluster.Name, Format: pulumi.String("exec"),
	}, pulumi.Parent(c))
	kubeconfig := creds.Kubeconfigs().Index(pulumi.Int(0)).Value().ApplyT(func(b64 string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", fmt.Errorf("cluster %q: kubeconfig: %w", name, err)
		}
		return KubeloginConfig(b, args.KubeloginMode)
	}).(pulumi.StringOutput)
	c.Kubeconfig = pulumi.ToSecret(kubeconfig).(pulumi.StringOutput)
	// The provider waits for the deployer's role to exist and then to take
	// effect: Azure RBAC can take minutes to reach the apiserver, and until
	// then the first object the provider creates is forbidden.
	grant := fmt.Sprintf("the deployer's %q role", "Azure Kubernetes Service RBAC Cluster Admin")
	if args.DeployerNotAdmin {
		grant = "the admin groups' role"
	}
	authorized := accessAwaited(ctx, c, c.Kubeconfig, []pulumi.CustomResource{admin}, grant)
	c.Provider, err = kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{Kubeconfig: authorized}, parent, pulumi.DependsOn([]pulumi.Resource{admin}))
	if err != nil {
		return nil, err
	}
	if _, err := newReaders(ctx, name, c.Provider, args.ReaderGroupObjectIDs, parent); err != nil {
		return nil, err
	}
	c.ClusterName, c.ClusterId = cluster.Name, cluster.ID().ToStringOutput()
	c.OidcIssuerUrl = cluster.OidcIssuerProfile.IssuerURL().Elem()
	c.KubeletObjectId = cluster.IdentityProfile.MapIndex(pulumi.String(kubeletIdentity)).ObjectId().Elem()
	c.ControlPlaneIdentityName = controlPlane.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName": c.ClusterName, "clusterId": c.ClusterId, "kubeconfig": c.Kubeconfig, "oidcIssuerUrl": c.OidcIssuerUrl,
		"kubeletObjectId": c.KubeletObjectId, "controlPlaneIdentityName": c.ControlPlaneIdentityName,
	})
}

// apiServerAccess limits the API server to ranges; ranges that admit
// every address are an empty list, AKS's spelling of open. The list is
// always sent: left out, AKS would keep the ranges a cluster had, so a
// stack could never open up again. AKS adds the cluster's own outbound
// address to the ranges itself (AKS docs, "Secure access to the API
// server using authorized IP address ranges").
func apiServerAccess(ranges []string) *containerservice.ManagedClusterAPIServerAccessProfileArgs {
	if slices.Contains(ranges, everyAddress) {
		ranges = nil
	}
	return &containerservice.ManagedClusterAPIServerAccessProfileArgs{AuthorizedIPRanges: pulumi.ToStringArray(append([]string{}, ranges...))}
}

// everyAddress is the range of every IPv4 address.
const everyAddress = "0.0.0.0/0"

func (a *AksArgs) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case a.ResourceGroupName == nil || a.Name == "" || a.Version == "" || a.SystemNodeSize == "" || a.SystemNodeCount < 1:
		return fmt.Errorf("ResourceGroupName, Name, Version, SystemNodeSize and SystemNodeCount are required")
	case a.SubscriptionID == "" || a.TenantID == "" || a.KubeloginMode == "":
		return fmt.Errorf("SubscriptionID, TenantID and KubeloginMode are required")
	case a.DeployerObjectID == "" && !a.DeployerNotAdmin:
		return fmt.Errorf("DeployerObjectID is required unless DeployerNotAdmin")
	case a.DeployerNotAdmin && len(a.AdminGroupObjectIDs) == 0:
		return fmt.Errorf("DeployerNotAdmin needs AdminGroupObjectIDs: the deployer's access comes from them")
	case a.UpgradeChannel == "" || a.NodeOSUpgradeChannel == "" || a.Maintenance.Day == "" || a.Maintenance.StartTime == "" || a.Maintenance.DurationHours < 4:
		return fmt.Errorf("UpgradeChannel, NodeOSUpgradeChannel and a Maintenance window of 4 hours or more are required")
	}
	return nil
}

// kubelogin is the exec plugin that turns an Entra ID sign-in into a
// Kubernetes token.
const kubelogin = "kubelogin"

// KubeloginConfig rewrites each kubelogin user of an AKS exec kubeconfig
// to sign in with mode, keeping the server, tenant and cloud it names;
// other users are left as they are. The result is JSON.
func KubeloginConfig(kubeconfig []byte, mode string) (string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(kubeconfig, &doc); err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	users, _ := doc["users"].([]any)
	for _, u := range users {
		entry, _ := u.(map[string]any)
		user, _ := entry["user"].(map[string]any)
		exec, _ := user["exec"].(map[string]any)
		if exec == nil || exec["command"] != kubelogin {
			continue
		}
		args, _ := exec["args"].([]any)
		kept := []any{"get-token", "--login", mode}
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--server-id", "--tenant-id", "--environment":
				kept = append(kept, args[i], args[i+1])
				i++
			}
		}
		exec["args"] = kept
	}
	b, err := json.Marshal(doc)
	return string(b), err
}
