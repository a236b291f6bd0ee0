package identity

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/managedidentity/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FederatedToken is the component's type token.
const FederatedToken = "edw:identity:Federated"

// Built-in Azure role definitions (GUIDs are the same in every tenant).
const (
	// StorageQueueDataContributor reads, updates and deletes messages; the
	// consumer needs update to extend and release its leases.
	StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
	StorageQueueDataSender      = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
	StorageQueueDataReader      = "19e7f393-937e-4f77-808e-94535e297925"
	StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
	AcrPull                     = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	// MonitoringDataReader queries an Azure Monitor workspace's metrics.
	MonitoringDataReader = "b0d8363b-8ddd-447d-831f-62ca05bff136"
	// AKSRBACClusterAdmin manages everything in a cluster with Azure RBAC
	// ("Azure Kubernetes Service RBAC Cluster Admin").
	AKSRBACClusterAdmin = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
	// AKSClusterUser lists a cluster's user credentials (its kubeconfig)
	// and nothing inside the cluster (Azure built-in roles, Containers).
	AKSClusterUser = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
)

const (
	// tokenExchangeAudience is the audience of workload identity tokens.
	tokenExchangeAudience = "api://AzureADTokenExchange"
	// ClientIDAnnotation tells the workload identity webhook which identity
	// a service account's pods get.
	ClientIDAnnotation = "azure.workload.identity/client-id"
)

// RoleDefinitionID is the full ID of a built-in role in a subscription.
func RoleDefinitionID(subscriptionID, role string) string {
	return fmt.Sprintf("/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s", subscriptionID, role)
}

// Grant is one role on one scope.
type Grant struct {
	// Name distinguishes the assignment among the identity's children.
	Name string
	// Role is a role definition GUID.
	Role  string
	Scope pulumi.StringInput
}

// FederatedArgs configure one principal.
type FederatedArgs struct {
	// ResourceGroupName holds the identity. Required.
	ResourceGroupName pulumi.StringInput
	// SubscriptionID holds the role definitions. Required.
	SubscriptionID string
	// Issuer is the cluster's OIDC issuer URL. Required.
	Issuer pulumi.StringInput
	// Namespace and ServiceAccount are the Kubernetes service account the
	// identity federates with. Required.
	Namespace      pulumi.StringInput
	ServiceAccount string
	// CreateServiceAccount creates it, annotated with the client id; leave
	// it false for a service account someone else runs (the KEDA add-on's
	// operator). Optional; default false.
	CreateServiceAccount bool
	// Grants are the identity's roles. Optional.
	Grants []Grant
	// Tags for the identity. Optional.
	Tags pulumi.StringMap
}

// Federated is a user-assigned identity that pods of one service account
// use through workload identity.
type Federated struct {
	pulumi.ResourceState

	IdentityName            pulumi.StringOutput `pulumi:"identityName"`
	ClientId                pulumi.StringOutput `pulumi:"clientId"`
	PrincipalId             pulumi.StringOutput `pulumi:"principalId"`
	FederatedCredentialName pulumi.StringOutput `pulumi:"federatedCredentialName"`
	ServiceAccountName      pulumi.StringOutput `pulumi:"serviceAccountName"`
	// Ready is what a pod needs before it can authenticate: the federated
	// credential and the role assignments.
	Ready []pulumi.Resource `pulumi:"-"`
	// Credential is the federated credential.
	Credential pulumi.CustomResource `pulumi:"-"`
}

// NewFederated creates the identity, its federated credential, its role
// assignments and, when asked, the annotated ServiceAccount (with the
// Kubernetes provider passed in opts).
func NewFederated(ctx *pulumi.Context, name string, args *FederatedArgs, opts ...pulumi.ResourceOption) (*Federated, error) {
	if args == nil || args.ResourceGroupName == nil || args.SubscriptionID == "" || args.Issuer == nil || args.Namespace == nil || args.ServiceAccount == "" {
		return nil, fmt.Errorf("identity %q: ResourceGroupName, SubscriptionID, Issuer, Namespace and ServiceAccount are required", name)
	}
	c := &Federated{}
	if err := ctx.RegisterComponentResource(FederatedToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	id, err := managedidentity.NewUserAssignedIdentity(ctx, name, &managedidentity.UserAssignedIdentityArgs{
		ResourceGroupName: args.ResourceGroupName, Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	// One credential per identity: Azure refuses concurrent credential
	// writes on one identity (409), so a second subject would have to wait
	// for the first.
	fic, err := managedidentity.NewFederatedIdentityCredential(ctx, name+"-federation", &managedidentity.FederatedIdentityCredentialArgs{
		ResourceGroupName:                       args.ResourceGroupName,
		ResourceName:                            id.Name,
		FederatedIdentityCredentialResourceName: pulumi.String(args.ServiceAccount),
		Issuer:                                  args.Issuer,
		Subject:                                 pulumi.Sprintf("system:serviceaccount:%s:%s", args.Namespace, args.ServiceAccount),
		Audiences:                               pulumi.StringArray{pulumi.String(tokenExchangeAudience)},
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Credential, c.Ready = fic, []pulumi.Resource{fic}
	for _, g := range args.Grants {
		ra, err := authorization.NewRoleAssignment(ctx, name+"-"+g.Name, &authorization.RoleAssignmentArgs{
			PrincipalId:      id.PrincipalId,
			PrincipalType:    pulumi.String("ServicePrincipal"),
			RoleDefinitionId: pulumi.String(RoleDefinitionID(args.SubscriptionID, g.Role)),
			Scope:            g.Scope,
		}, parent)
		if err != nil {
			return nil, err
		}
		c.Ready = append(c.Ready, ra)
	}
	c.ServiceAccountName = pulumi.String(args.ServiceAccount).ToStringOutput()
	if args.CreateServiceAccount {
		sa, err := corev1.NewServiceAccount(ctx, name+"-sa", &corev1.ServiceAccountArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name: pulumi.String(args.ServiceAccount), Namespace: args.Namespace,
				Annotations: pulumi.StringMap{ClientIDAnnotation: id.ClientId},
			},
		}, parent)
		if err != nil {
			return nil, err
		}
		c.ServiceAccountName = sa.Metadata.Name().Elem()
	}
	c.IdentityName, c.ClientId, c.PrincipalId = id.Name, id.ClientId, id.PrincipalId
	c.FederatedCredentialName = fic.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"identityName": c.IdentityName, "clientId": c.ClientId, "principalId": c.PrincipalId,
		"federatedCredentialName": c.FederatedCredentialName, "serviceAccountName": c.ServiceAccountName,
	})
}
