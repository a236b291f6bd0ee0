package standin

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
)

// nodeGroupInputs are the inputs of a managed node group that its EKS node
// group takes as they are, subnets and role overriding the cluster's.
var nodeGroupInputs = []string{
	"subnetIds", "nodeRoleArn", "nodeGroupName", "instanceTypes", "scalingConfig", "labels", "taints", "tags", "capacityType",
	"amiType", "version", "releaseVersion", "diskSize", "launchTemplate", "remoteAccess", "forceUpdateVersion",
}

// defaultScaling is pulumi-eks's scaling of a node group given none.
var defaultScaling = pulumi.Map{"desiredSize": pulumi.Int(2), "minSize": pulumi.Int(1), "maxSize": pulumi.Int(2)}

// newManagedNodeGroup builds an eks:index:ManagedNodeGroup: an EKS node
// group in the cluster it is given, in the cluster's subnets unless it is
// given its own, with the node role it is given.
func newManagedNodeGroup(ctx *pulumi.Context, name string, raw resource.PropertyMap, in pulumi.Map, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
	if !raw.HasValue("cluster") {
		return nil, fmt.Errorf("managed node group %q: cluster is required", name)
	}
	if !raw.HasValue("nodeRole") && !raw.HasValue("nodeRoleArn") {
		return nil, fmt.Errorf("managed node group %q: nodeRole or nodeRoleArn is required", name)
	}
	c := &component{}
	if err := ctx.RegisterComponentResource("eks:index:ManagedNodeGroup", name, c, opts); err != nil {
		return nil, err
	}
	// The cluster component's EKS cluster, read as pulumi-eks reads it.
	eksCluster := stateOf(ctx, urnOf(in["cluster"])).ApplyT(func(s map[string]any) (pulumi.MapOutput, error) {
		r, ok := s["eksCluster"].(pulumi.Resource)
		if !ok {
			return pulumi.MapOutput{}, fmt.Errorf("managed node group %q: its cluster has no eksCluster", name)
		}
		return stateOf(ctx, r.URN()), nil
	}).(pulumi.MapOutput)

	args := pulumi.Map{
		"clusterName": eksCluster.MapIndex(pulumi.String("name")),
		"subnetIds": eksCluster.MapIndex(pulumi.String("vpcConfig")).ApplyT(func(v any) any {
			vpc, _ := v.(map[string]any)
			return vpc["subnetIds"]
		}),
		"scalingConfig": defaultScaling,
	}
	if !raw.HasValue("nodeRoleArn") {
		args["nodeRoleArn"] = stateOf(ctx, urnOf(in["nodeRole"])).MapIndex(pulumi.String("arn"))
	}
	copyInputs(args, in, raw, nodeGroupInputs...)
	var group pulumi.CustomResourceState
	// pulumi-eks takes the cluster name from the cluster's outputs, so the
	// node group depends on the cluster: it goes first at destroy.
	cluster := pulumi.ToOutput(in["cluster"]).ApplyT(func(v any) []pulumi.Resource {
		r, _ := v.(pulumi.Resource)
		return []pulumi.Resource{r}
	}).(pulumi.ResourceArrayOutput)
	if err := ctx.RegisterResource("aws:eks/nodeGroup:NodeGroup", name+"-nodeGroup", args, &group, children(c), pulumi.DependsOnInputs(cluster)); err != nil {
		return nil, err
	}
	state := pulumi.Map{"nodeGroup": pulumi.NewResourceOutput(&group), "placementGroupName": pulumi.String("")}
	if err := ctx.RegisterResourceOutputs(c, state); err != nil {
		return nil, err
	}
	return &provider.ConstructResult{URN: c.URN(), State: state}, nil
}

// urnOf is the URN of the resource an input refers to.
func urnOf(ref pulumi.Input) pulumi.URNOutput {
	return pulumi.ToOutput(ref).ApplyT(func(v any) (pulumi.URNOutput, error) {
		r, ok := v.(pulumi.Resource)
		if !ok {
			return pulumi.URNOutput{}, fmt.Errorf("want a resource reference, got %T", v)
		}
		return r.URN(), nil
	}).(pulumi.URNOutput)
}

// stateOf is the outputs of the resource at urn as the engine holds them,
// which is how a component reads the resources its inputs refer to.
func stateOf(ctx *pulumi.Context, urn pulumi.URNInput) pulumi.MapOutput {
	res := ctx.InvokeOutput("pulumi:pulumi:getResource", pulumi.Map{"urn": urn}, pulumi.MapOutput{}, pulumi.InvokeOutputOptions{})
	return res.(pulumi.MapOutput).ApplyT(func(r map[string]any) (map[string]any, error) {
		s, ok := r["state"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %v: no state", r["urn"])
		}
		return s, nil
	}).(pulumi.MapOutput)
}
