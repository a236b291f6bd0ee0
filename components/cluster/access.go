package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/internal/kubeaccess"
	"github.com/edw-project/edw/internal/transform"
)

// ReadersGroup is the Kubernetes group of the read-only identities (a pull
// request's preview, the drift check): EKS access entries map IAM
// principals into it; on AKS, Entra ID groups are bound beside it.
const ReadersGroup = "edw-readers"

// readerRules are what a read-only identity reads: the kinds the stacks
// and their charts create, which a refresh reads back (the keda 2.21 and
// karpenter 1.14 charts' templates render no Secret), and never Secrets. (Kubernetes' own view role leaves out the custom
// resources and RBAC; EKS's AmazonEKSAdminViewPolicy reads Secrets too.)
var readerRules = []struct {
	group     string
	resources []string
}{
	{"", []string{"configmaps", "namespaces", "serviceaccounts", "services"}},
	{"apps", []string{"deployments"}},
	{"policy", []string{"poddisruptionbudgets"}},
	{"networking.k8s.io", []string{"networkpolicies"}},
	{"scheduling.k8s.io", []string{"priorityclasses"}},
	{"rbac.authorization.k8s.io", []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}},
	{"apiextensions.k8s.io", []string{"customresourcedefinitions"}},
	{"admissionregistration.k8s.io", []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations"}},
	{"apiregistration.k8s.io", []string{"apiservices"}},
	{"keda.sh", []string{"*"}},
	{"karpenter.sh", []string{"*"}},
	{"karpenter.k8s.aws", []string{"*"}},
	{"karpenter.azure.com", []string{"*"}},
}

// newReaders lets subjects (beside ReadersGroup) read the stack's objects.
func newReaders(ctx *pulumi.Context, name string, provider *kubernetes.Provider, groups []string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	var rules rbacv1.PolicyRuleArray
	for _, r := range readerRules {
		rules = append(rules, rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{r.group}),
			Resources: pulumi.ToStringArray(r.resources),
			Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
		})
	}
	opts = append(opts, pulumi.Provider(provider))
	role, err := rbacv1.NewClusterRole(ctx, name+"-readers", &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ReadersGroup)},
		Rules:    rules,
	}, opts...)
	if err != nil {
		return nil, err
	}
	subjects := rbacv1.SubjectArray{rbacv1.SubjectArgs{Kind: pulumi.String("Group"), Name: pulumi.String(ReadersGroup), ApiGroup: pulumi.String("rbac.authorization.k8s.io")}}
	for _, g := range groups {
		subjects = append(subjects, rbacv1.SubjectArgs{Kind: pulumi.String("Group"), Name: pulumi.String(g), ApiGroup: pulumi.String("rbac.authorization.k8s.io")})
	}
	return rbacv1.NewClusterRoleBinding(ctx, name+"-readers", &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ReadersGroup)},
		RoleRef:  rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: role.Metadata.Name().Elem()},
		Subjects: subjects,
	}, opts...)
}

// clusterAdminPolicy is the EKS access policy of a cluster admin.
const clusterAdminPolicy = "AmazonEKSClusterAdminPolicy"

// newAccessEntries makes admins cluster admins and maps readers into
// ReadersGroup. Each entry is named by its principal, so that reordering
// the lists changes nothing; the associations are what the program's own
// Kubernetes provider waits for.
func newAccessEntries(ctx *pulumi.Context, name string, clusterName pulumi.StringInput, p Partition, admins, readers []string, tags pulumi.StringMap, parent pulumi.ResourceOption) ([]pulumi.CustomResource, error) {
	var ready []pulumi.CustomResource
	for _, arn := range admins {
		entry, err := awseks.NewAccessEntry(ctx, name+"-admin-"+principalKey(arn), &awseks.AccessEntryArgs{
			ClusterName: clusterName, PrincipalArn: pulumi.String(arn), Tags: tags,
		}, parent)
		if err != nil {
			return nil, err
		}
		assoc, err := awseks.NewAccessPolicyAssociation(ctx, name+"-admin-"+principalKey(arn), &awseks.AccessPolicyAssociationArgs{
			ClusterName:  clusterName,
			PrincipalArn: entry.PrincipalArn,
			PolicyArn:    pulumi.String(fmt.Sprintf("arn:%s:eks::aws:cluster-access-policy/%s", p.Name, clusterAdminPolicy)),
			AccessScope:  awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
		}, parent)
		if err != nil {
			return nil, err
		}
		ready = append(ready, assoc)
	}
	for _, arn := range readers {
		if _, err := awseks.NewAccessEntry(ctx, name+"-reader-"+principalKey(arn), &awseks.AccessEntryArgs{
			ClusterName: clusterName, PrincipalArn: pulumi.String(arn), KubernetesGroups: pulumi.ToStringArray([]string{ReadersGroup}), Tags: tags,
		}, parent); err != nil {
			return nil, err
		}
	}
	return ready, nil
}

// principalKey names a principal's resources: short, stable, unique.
func principalKey(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return hex.EncodeToString(sum[:])[:10]
}

// NoCreatorAdmin keeps EKS from making whoever creates the cluster an
// admin through an entry of its own, which pulumi-eks v3.9.1 asks for
// (bootstrapClusterCreatorAdminPermissions true whenever an authentication
// mode is set, nodejs/eks/cluster.ts): the program's access entries are
// the only ones, so that an admin listed in them is not refused as a
// second entry for one principal (EKS allows one, "Create access
// entries") and access does not depend on who ran the first up.
func NoCreatorAdmin() pulumi.ResourceTransform {
	return transform.Props(eksClusterType, func(props pulumi.Map) {
		props["accessConfig"] = pulumi.Map{
			"authenticationMode":                      pulumi.String(string(apiAuthentication)),
			"bootstrapClusterCreatorAdminPermissions": pulumi.Bool(false),
		}
	})
}

// How long a new grant may take to reach the apiserver: Azure RBAC up to
// five minutes (AKS docs, "Use Azure role-based access control for
// Kubernetes authorization"), an EKS access entry several seconds (EKS
// user guide, "Create access entries": entries are eventually
// consistent); with a margin. A sign-in does not depend on the grant, so
// one that keeps failing gets a shorter wait.
const (
	accessTimeout = 10 * time.Minute
	accessPoll    = 10 * time.Second
	signInTimeout = 2 * time.Minute
	awaitedVerb   = "create"
	awaitedKind   = "namespaces"
)

// awaitAccess returns once the kubeconfig's user may create namespaces,
// telling the user what it waits for (grant), so that the program's first
// object is not refused while the grant propagates. Previews skip it.
func awaitAccess(goctx context.Context, ctx *pulumi.Context, c pulumi.Resource, kubeconfig, grant string) error {
	if ctx.DryRun() {
		return nil
	}
	err := kubeaccess.Wait(goctx, []byte(kubeconfig), kubeaccess.Check{
		Verb: awaitedVerb, Resource: awaitedKind, Timeout: accessTimeout, Interval: accessPoll, SignInTimeout: signInTimeout,
		Progress: func(attempt int, reason error) {
			if attempt == 1 {
				_ = ctx.Log.Info(fmt.Sprintf("waiting up to %s for %s to reach the cluster (%v)", accessTimeout, grant, reason), &pulumi.LogArgs{Resource: c})
			}
		},
	})
	if err != nil {
		return fmt.Errorf("%s on the cluster: %w", grant, err)
	}
	return nil
}

// accessAwaited is kubeconfig once every resource in grants exists and
// awaitAccess has seen it take effect.
func accessAwaited(ctx *pulumi.Context, c pulumi.Resource, kubeconfig pulumi.StringOutput, grants []pulumi.CustomResource, grant string) pulumi.StringOutput {
	// A preview does not wait, and must not make the kubeconfig unknown
	// for a grant not made yet: the Kubernetes provider would plan to
	// replace itself and every object it holds.
	if ctx.DryRun() {
		return kubeconfig
	}
	inputs := []any{kubeconfig}
	for _, g := range grants {
		inputs = append(inputs, g.ID())
	}
	return pulumi.All(inputs...).ApplyTWithContext(ctx.Context(), func(goctx context.Context, v []any) (string, error) {
		kc := v[0].(string)
		return kc, awaitAccess(goctx, ctx, c, kc, grant)
	}).(pulumi.StringOutput)
}
