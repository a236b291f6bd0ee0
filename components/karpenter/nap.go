package karpenter

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/versions"
)

// NapToken is the component's type token.
const NapToken = "edw:karpenter:Nap"

const (
	// NapSchemaVersion is the Azure Karpenter provider whose AKSNodeClass
	// and NodePool schemas the manifests are written (and checked) against;
	// AKS runs node auto-provisioning itself.
	NapSchemaVersion = versions.KarpenterAzure
	// AKSNodeClassAPIVersion is the node class API of AKS node
	// auto-provisioning.
	AKSNodeClassAPIVersion = "karpenter.azure.com/v1beta1"
	aksNodeClassGroup      = "karpenter.azure.com"
	skuFamilyKey           = "karpenter.azure.com/sku-family"
)

// NapArgs configure the workload's NodePool on AKS node auto-provisioning,
// which runs Karpenter for the cluster.
type NapArgs struct {
	// NodePool shapes the nodes. Required.
	NodePool NodePoolArgs
	// SKUFamilies are the VM families (D, E, F...). Required.
	SKUFamilies []string
	// ImageFamily is the node OS image (AzureLinux or Ubuntu2204). Required.
	ImageFamily string
	// OSDiskSizeGB sizes the nodes' OS disk. Required.
	OSDiskSizeGB int
}

// Nap is the workload's NodePool and AKSNodeClass.
type Nap struct {
	pulumi.ResourceState

	NodePoolName  pulumi.StringOutput `pulumi:"nodePoolName"`
	NodeClassName pulumi.StringOutput `pulumi:"nodeClassName"`

	// NodePool is the pool; the workload depends on it so that at destroy
	// its pods go first and NAP removes the nodes before the cluster goes.
	NodePool pulumi.Resource `pulumi:"-"`
}

// NewNap creates the node class and the NodePool; pass the cluster's
// provider in opts.
func NewNap(ctx *pulumi.Context, name string, args *NapArgs, opts ...pulumi.ResourceOption) (*Nap, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("node pool %q: %w", name, err)
	}
	c := &Nap{}
	if err := ctx.RegisterComponentResource(NapToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	class, err := apiextensions.NewCustomResource(ctx, name+"-nodeclass", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(AKSNodeClassAPIVersion),
		Kind:       pulumi.String("AKSNodeClass"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(name)},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"imageFamily":  pulumi.String(args.ImageFamily),
			"osDiskSizeGB": pulumi.Int(args.OSDiskSizeGB),
		}},
	}, parent)
	if err != nil {
		return nil, err
	}
	ref := pulumi.Map{"group": pulumi.String(aksNodeClassGroup), "kind": pulumi.String("AKSNodeClass"), "name": class.Metadata.Name().Elem()}
	pool, err := newNodePool(ctx, name, name, args.NodePool, ref, requirement(skuFamilyKey, args.SKUFamilies), parent)
	if err != nil {
		return nil, err
	}
	c.NodePool = pool
	c.NodePoolName, c.NodeClassName = pool.Metadata.Name().Elem(), class.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"nodePoolName": c.NodePoolName, "nodeClassName": c.NodeClassName})
}

func (a *NapArgs) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case len(a.SKUFamilies) == 0 || a.ImageFamily == "" || a.OSDiskSizeGB < 1:
		return fmt.Errorf("SKUFamilies, ImageFamily and OSDiskSizeGB are required")
	}
	return a.NodePool.validate()
}
