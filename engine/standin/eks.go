package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// eks stands in for pulumi-eks, whose resources are components: they
// arrive through Construct, and their children are registered with the
// engine like a program's, so that the aws stand-in creates them. It
// builds the parts the program uses (the EKS cluster, its OIDC provider,
// Auto Mode's node role, managed node groups) and the managed add-ons
// pulumi-eks v3 decides on, not the rest of pulumi-eks (service roles,
// security groups, aws-auth).
type eks struct {
	// kubeconfig is the file the clusters hand out.
	kubeconfig string
}

func (*eks) configure(func(string) string)                  {}
func (*eks) nameKey(string) string                          { return "" }
func (*eks) newName(string, string, []byte) (string, error) { return "", nil }
func (*eks) replaces(string, string) bool                   { return false }

func (*eks) compute(_, urnName, id string, _, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	if id == "" {
		id = genericID(urnName)
	}
	return id, resource.PropertyMap{}, nil
}

func (*eks) invoke(tok string, _ resource.PropertyMap, _ finder) (resource.PropertyMap, error) {
	return nil, noAnswer(tok)
}

// component is a component resource the stand-in registers.
type component struct {
	pulumi.ResourceState
}

func (e *eks) construct(ctx context.Context, req *pulumirpc.ConstructRequest, engine *grpc.ClientConn) (*pulumirpc.ConstructResponse, error) {
	// The switches (createOidcProvider, autoMode) decide which children to
	// register, so they are read before any output resolves.
	raw, err := plugin.UnmarshalProperties(req.GetInputs(), plugin.MarshalOptions{
		KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true,
	})
	if err != nil {
		return nil, fmt.Errorf("reading inputs: %w", err)
	}
	return provider.Construct(ctx, req, engine, func(ctx *pulumi.Context, typ, name string, inputs provider.ConstructInputs, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
		in, err := inputs.Map()
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", typ, name, err)
		}
		switch typ {
		case "eks:index:Cluster":
			return e.newCluster(ctx, name, raw, in, opts)
		case "eks:index:ManagedNodeGroup":
			return newManagedNodeGroup(ctx, name, raw, in, opts)
		}
		return nil, fmt.Errorf("no component %s", typ)
	})
}

// awsCluster is what a cluster component reads of its EKS cluster.
type awsCluster struct {
	pulumi.CustomResourceState

	Name       pulumi.StringOutput `pulumi:"name"`
	Endpoint   pulumi.StringOutput `pulumi:"endpoint"`
	VpcConfig  pulumi.MapOutput    `pulumi:"vpcConfig"`
	Identities pulumi.ArrayOutput  `pulumi:"identities"`
}

// newCluster builds an eks:index:Cluster: the EKS cluster in the given
// subnets, the IAM OIDC provider when asked, Auto Mode's node role when
// asked, and pulumi-eks's outputs.
func (e *eks) newCluster(ctx *pulumi.Context, name string, raw resource.PropertyMap, in pulumi.Map, opts pulumi.ResourceOption) (*provider.ConstructResult, error) {
	c := &component{}
	if err := ctx.RegisterComponentResource("eks:index:Cluster", name, c, opts); err != nil {
		return nil, err
	}
	parent := children(c)
	var cluster awsCluster
	if err := ctx.RegisterResource("aws:eks/cluster:Cluster", name+"-eksCluster", clusterArgs(in, raw), &cluster, parent); err != nil {
		return nil, err
	}
	issuer := cluster.Identities.ApplyT(func(ids []any) string { return oidcIssuer(ids) }).(pulumi.StringOutput)
	oidcProviderArn, err := newOidcProvider(ctx, name, raw, issuer, parent)
	if err != nil {
		return nil, err
	}
	nodeRoleName, err := newAutoModeNodeRole(ctx, name, raw, parent)
	if err != nil {
		return nil, err
	}
	if err := newDefaultAddons(ctx, name, raw, cluster.Name, parent); err != nil {
		return nil, err
	}
	state := e.clusterOutputs(&cluster, issuer)
	state["oidcProviderArn"], state["autoModeNodeRoleName"] = oidcProviderArn, nodeRoleName
	if err := ctx.RegisterResourceOutputs(c, state); err != nil {
		return nil, err
	}
	return &provider.ConstructResult{URN: c.URN(), State: state}, nil
}

// clusterArgs are the EKS cluster's inputs, from the component's.
func clusterArgs(in pulumi.Map, raw resource.PropertyMap) pulumi.Map {
	vpc := pulumi.Map{"subnetIds": subnetIDs(in, raw), "endpointPublicAccess": pulumi.Bool(true), "endpointPrivateAccess": pulumi.Bool(false)}
	copyInputs(vpc, in, raw, "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")
	args := pulumi.Map{"vpcConfig": vpc}
	copyInputs(args, in, raw, "name", "version", "enabledClusterLogTypes", "tags")
	// pulumi-eks v3.9.1 asks EKS for the creator's admin entry whenever it
	// sets an authentication mode (nodejs/eks/cluster.ts, accessConfig).
	if raw.HasValue("authenticationMode") {
		args["accessConfig"] = pulumi.Map{"authenticationMode": in["authenticationMode"], "bootstrapClusterCreatorAdminPermissions": pulumi.Bool(true)}
	}
	return args
}

// clusterOutputs are pulumi-eks's outputs made of the EKS cluster's.
func (e *eks) clusterOutputs(cluster *awsCluster, issuer pulumi.StringOutput) pulumi.Map {
	securityGroup := cluster.VpcConfig.ApplyT(func(v map[string]any) string {
		id, _ := v["clusterSecurityGroupId"].(string)
		return id
	})
	// The kubeconfig waits for the endpoint, as the real one is made of it:
	// unknown in the preview of a new cluster.
	kubeconfig := cluster.Endpoint.ApplyT(func(string) (string, error) { return kubeconfigJSON(e.kubeconfig) }).(pulumi.StringOutput)
	return pulumi.Map{
		"eksCluster":     pulumi.NewResourceOutput(cluster),
		"kubeconfigJson": kubeconfig,
		"kubeconfig": kubeconfig.ApplyT(func(s string) (map[string]any, error) {
			var m map[string]any
			err := json.Unmarshal([]byte(s), &m)
			return m, err
		}),
		"oidcProviderUrl": issuer,
		"oidcIssuer":      issuer.ApplyT(func(s string) string { return strings.TrimPrefix(s, "https://") }),
		// With skipDefaultSecurityGroups, as the program sets, nodes join
		// the security group EKS creates; pulumi-eks reports it for both.
		"clusterSecurityGroupId": securityGroup,
		"nodeSecurityGroupId":    securityGroup,
	}
}

// subnetIDs are all the subnets the cluster is given.
func subnetIDs(in pulumi.Map, raw resource.PropertyMap) pulumi.ArrayOutput {
	var lists []any
	for _, k := range []string{"subnetIds", "privateSubnetIds", "publicSubnetIds"} {
		if raw.HasValue(resource.PropertyKey(k)) {
			lists = append(lists, in[k])
		}
	}
	return pulumi.All(lists...).ApplyT(func(lists []any) []any {
		var ids []any
		for _, l := range lists {
			if l, ok := l.([]any); ok {
				ids = append(ids, l...)
			}
		}
		return ids
	}).(pulumi.ArrayOutput)
}

// oidcIssuer is the issuer URL in a cluster's identities.
func oidcIssuer(identities []any) string {
	for _, id := range identities {
		m, _ := id.(map[string]any)
		oidcs, _ := m["oidcs"].([]any)
		for _, o := range oidcs {
			m, _ := o.(map[string]any)
			if issuer, ok := m["issuer"].(string); ok {
				return issuer
			}
		}
	}
	return ""
}

// newOidcProvider creates the IAM OIDC provider for the cluster's issuer
// when createOidcProvider is set, and returns its ARN ("" otherwise).
func newOidcProvider(ctx *pulumi.Context, name string, raw resource.PropertyMap, issuer pulumi.StringOutput, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if !isTrue(raw, "createOidcProvider") {
		return pulumi.String("").ToStringOutput(), nil
	}
	var p struct {
		pulumi.CustomResourceState
		Arn pulumi.StringOutput `pulumi:"arn"`
	}
	err := ctx.RegisterResource("aws:iam/openIdConnectProvider:OpenIdConnectProvider", name+"-oidcProvider", pulumi.Map{
		"url":             issuer,
		"clientIdLists":   pulumi.ToStringArray([]string{"sts.amazonaws.com"}),
		"thumbprintLists": pulumi.ToStringArray([]string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}),
	}, &p, parent)
	return p.Arn, err
}

// newAutoModeNodeRole creates the role of Auto Mode's nodes when autoMode
// is enabled and createNodeRole is not off, and returns its name (""
// otherwise).
func newAutoModeNodeRole(ctx *pulumi.Context, name string, raw resource.PropertyMap, parent pulumi.ResourceOption) (pulumi.StringOutput, error) {
	mode := obj(raw, "autoMode")
	if !isTrue(mode, "enabled") || (mode.HasValue("createNodeRole") && !isTrue(mode, "createNodeRole")) {
		return pulumi.String("").ToStringOutput(), nil
	}
	trust, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}, "Action": []string{"sts:AssumeRole", "sts:TagSession"},
	}}}) // maps of strings always marshal
	var role struct {
		pulumi.CustomResourceState
		Name pulumi.StringOutput `pulumi:"name"`
	}
	err := ctx.RegisterResource("aws:iam/role:Role", name+"-autoModeNodeRole", pulumi.Map{
		"assumeRolePolicy": pulumi.String(trust),
	}, &role, parent)
	return role.Name, err
}

// newDefaultAddons makes the managed add-ons pulumi-eks v3 makes by
// default: kube-proxy and the VPC CNI unless Auto Mode runs them (or the
// program turns them off), and CoreDNS only when asked for or when a
// default node group, Fargate or Auto Mode will run it. None waits for
// nodes.
func newDefaultAddons(ctx *pulumi.Context, name string, raw resource.PropertyMap, clusterName pulumi.StringOutput, parent pulumi.ResourceOption) error {
	autoMode := isTrue(obj(raw, "autoMode"), "enabled")
	enabled := func(options string, otherwise bool) bool {
		o := obj(raw, options)
		if o.HasValue("enabled") {
			return isTrue(o, "enabled")
		}
		return otherwise
	}
	coredns := obj(raw, "corednsAddonOptions")
	explicit := isTrue(coredns, "enabled") || coredns.HasValue("configurationValues")
	defaultNodes := !isTrue(raw, "skipDefaultNodeGroup") || raw.HasValue("fargate") || autoMode
	cni := !autoMode
	if raw.HasValue("useDefaultVpcCni") {
		cni = !isTrue(raw, "useDefaultVpcCni")
	}
	addon := func(addonName string, parent pulumi.ResourceOption) error {
		var a struct{ pulumi.CustomResourceState }
		return ctx.RegisterResource("aws:eks/addon:Addon", name+"-"+addonName, pulumi.Map{
			"clusterName": clusterName, "addonName": pulumi.String(addonName), "preserve": pulumi.Bool(true),
		}, &a, parent)
	}
	if enabled("kubeProxyAddonOptions", !autoMode) {
		if err := addon("kube-proxy", parent); err != nil {
			return err
		}
	}
	if cni {
		c := &component{}
		if err := ctx.RegisterComponentResource("eks:index:VpcCniAddon", name+"-vpc-cni", c, parent); err != nil {
			return err
		}
		if err := addon("vpc-cni", children(c)); err != nil {
			return err
		}
	}
	if explicit || (defaultNodes && enabled("corednsAddonOptions", true)) {
		return addon("coredns", parent)
	}
	return nil
}

// isTrue is the boolean at key, false when absent or unknown.
func isTrue(pm resource.PropertyMap, key string) bool {
	v := plain(pm[resource.PropertyKey(key)])
	return v.IsBool() && v.BoolValue()
}

// copyInputs copies to args the keys that are set (raw holds them as
// they arrived).
func copyInputs(args, in pulumi.Map, raw resource.PropertyMap, keys ...string) {
	for _, k := range keys {
		if raw.HasValue(resource.PropertyKey(k)) {
			args[k] = in[k]
		}
	}
}

// AWSVersionEnv names the aws plugin version the eks stand-in's children
// ask for.
const AWSVersionEnv = "EDW_STANDIN_AWS_VERSION"

// children parents a component's resources and pins the aws plugin they
// use, as pulumi-eks pins the aws SDK it is built with. Unpinned, they
// would get an unversioned default provider of the engine's, which a later
// preview, resolving them differently, plans to delete.
func children(c pulumi.Resource) pulumi.ResourceOption {
	opts := []pulumi.ResourceOption{pulumi.Parent(c)}
	if v := os.Getenv(AWSVersionEnv); v != "" {
		opts = append(opts, pulumi.Version(v))
	}
	return pulumi.Composite(opts...)
}
