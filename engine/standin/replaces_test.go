package standin

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// TestTableChangesReplaceOthersUpdate changes one input of a resource at a
// time: a change of an input in replaces.json replaces, a change of any
// other updates.
func TestTableChangesReplaceOthersUpdate(t *testing.T) {
	obj := func(kv ...any) resource.PropertyValue {
		m := resource.PropertyMap{}
		for i := 0; i < len(kv); i += 2 {
			m[resource.PropertyKey(kv[i].(string))] = resource.NewPropertyValue(kv[i+1])
		}
		return resource.NewProperty(m)
	}
	strs := func(s ...string) resource.PropertyValue {
		var a []resource.PropertyValue
		for _, e := range s {
			a = append(a, resource.NewProperty(e))
		}
		return resource.NewProperty(a)
	}
	unknown := resource.MakeComputed(resource.NewProperty(""))
	for _, c := range []struct {
		name, pkg, typ string
		olds           resource.PropertyMap
		key            string
		now            resource.PropertyValue
		replace        bool
	}{
		{"table's hash key", "aws", "aws:dynamodb/table:Table", resource.PropertyMap{"hashKey": resource.NewProperty("pk"), "billingMode": resource.NewProperty("PAY_PER_REQUEST")}, "hashKey", resource.NewProperty("id"), true},
		{"table's billing", "aws", "aws:dynamodb/table:Table", resource.PropertyMap{"hashKey": resource.NewProperty("pk"), "billingMode": resource.NewProperty("PAY_PER_REQUEST")}, "billingMode", resource.NewProperty("PROVISIONED"), false},
		{"queue becoming FIFO", "aws", "aws:sqs/queue:Queue", resource.PropertyMap{"name": resource.NewProperty("q"), "fifoQueue": resource.NewProperty(false)}, "fifoQueue", resource.NewProperty(true), true},
		{"queue's timeout", "aws", "aws:sqs/queue:Queue", resource.PropertyMap{"name": resource.NewProperty("q"), "visibilityTimeoutSeconds": resource.NewProperty(30.0)}, "visibilityTimeoutSeconds", resource.NewProperty(60.0), false},
		{"association's namespace", "aws", "aws:eks/podIdentityAssociation:PodIdentityAssociation", resource.PropertyMap{"namespace": resource.NewProperty("edw"), "roleArn": resource.NewProperty("a")}, "namespace", resource.NewProperty("keda"), true},
		{"association's role", "aws", "aws:eks/podIdentityAssociation:PodIdentityAssociation", resource.PropertyMap{"namespace": resource.NewProperty("edw"), "roleArn": resource.NewProperty("a")}, "roleArn", resource.NewProperty("b"), false},
		{"node group's instance types", "aws", "aws:eks/nodeGroup:NodeGroup", resource.PropertyMap{"instanceTypes": strs("m7i.large")}, "instanceTypes", strs("m7i.xlarge"), true},
		{"node group's scaling", "aws", "aws:eks/nodeGroup:NodeGroup", resource.PropertyMap{"scalingConfig": obj("minSize", 1.0)}, "scalingConfig", obj("minSize", 2.0), false},
		{"node group's template version", "aws", "aws:eks/nodeGroup:NodeGroup", resource.PropertyMap{"launchTemplate": obj("id", "lt-1", "version", "1")}, "launchTemplate", obj("id", "lt-1", "version", "2"), false},
		{"node group's template", "aws", "aws:eks/nodeGroup:NodeGroup", resource.PropertyMap{"launchTemplate": obj("id", "lt-1", "version", "1")}, "launchTemplate", obj("id", "lt-2", "version", "1"), true},
		{"cluster's subnets", "aws", "aws:eks/cluster:Cluster", resource.PropertyMap{"vpcConfig": obj("subnetIds", []any{"subnet-a"})}, "vpcConfig", obj("subnetIds", []any{"subnet-b"}), false},
		{"cluster's creator admin", "aws", "aws:eks/cluster:Cluster", resource.PropertyMap{"accessConfig": obj("authenticationMode", "API", "bootstrapClusterCreatorAdminPermissions", true)}, "accessConfig", obj("authenticationMode", "API", "bootstrapClusterCreatorAdminPermissions", false), true},
		{"cluster's authentication mode", "aws", "aws:eks/cluster:Cluster", resource.PropertyMap{"accessConfig": obj("authenticationMode", "API_AND_CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions", true)}, "accessConfig", obj("authenticationMode", "API", "bootstrapClusterCreatorAdminPermissions", true), false},
		{"cluster's unknown access", "aws", "aws:eks/cluster:Cluster", resource.PropertyMap{"accessConfig": obj("authenticationMode", "API")}, "accessConfig", unknown, true},
		{"OIDC provider's URL", "aws", "aws:iam/openIdConnectProvider:OpenIdConnectProvider", resource.PropertyMap{"url": resource.NewProperty("https://a")}, "url", resource.NewProperty("https://b"), true},
		{"route table association's table", "aws", "aws:ec2/routeTableAssociation:RouteTableAssociation", resource.PropertyMap{"routeTableId": resource.NewProperty("rtb-1")}, "routeTableId", resource.NewProperty("rtb-2"), false},
		{"AKS cluster's DNS prefix", "azure-native", "azure-native:containerservice/v20241002preview:ManagedCluster", resource.PropertyMap{"dnsPrefix": resource.NewProperty("a")}, "dnsPrefix", resource.NewProperty("b"), true},
		{"AKS cluster's network", "azure-native", "azure-native:containerservice/v20241002preview:ManagedCluster", resource.PropertyMap{"networkProfile": obj("podCidr", "10.244.0.0/16")}, "networkProfile", obj("podCidr", "10.245.0.0/16"), true},
		{"AKS cluster's version", "azure-native", "azure-native:containerservice/v20241002preview:ManagedCluster", resource.PropertyMap{"kubernetesVersion": resource.NewProperty("1.31")}, "kubernetesVersion", resource.NewProperty("1.32"), false},
		{"storage account's kind", "azure-native", "azure-native:storage:StorageAccount", resource.PropertyMap{"kind": resource.NewProperty("Storage")}, "kind", resource.NewProperty("StorageV2"), false},
		{"role assignment's principal", "azure-native", "azure-native:authorization:RoleAssignment", resource.PropertyMap{"principalId": resource.NewProperty("a")}, "principalId", resource.NewProperty("b"), true},
		{"image's platforms", "docker-build", "docker-build:index:Image", resource.PropertyMap{"platforms": strs("linux/amd64")}, "platforms", strs("linux/arm64"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, c.pkg, Env{StateDir: t.TempDir()})
			news := c.olds.Copy()
			news[resource.PropertyKey(c.key)] = c.now
			resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
				Urn: "urn:pulumi:dev::edw::" + c.typ + "::r", OldInputs: wireOf(t, c.olds), News: wireOf(t, news),
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(resp.GetDiffs(), []string{c.key}) {
				t.Fatalf("diffs = %v, want [%s]", resp.GetDiffs(), c.key)
			}
			kind, want := resp.GetDetailedDiff()[c.key].GetKind(), pulumirpc.PropertyDiff_UPDATE
			if c.replace {
				want = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
			if kind != want || slices.Contains(resp.GetReplaces(), c.key) != c.replace {
				t.Errorf("diff of %s = %v (replaces %v), want %v", c.key, kind, resp.GetReplaces(), want)
			}
		})
	}
}

// replacesFile is replaces.json as the conformance test reads it.
type replacesFile struct {
	Types map[string]struct {
		ReplaceOn []string                           `json:"replaceOn"`
		Sets      []string                           `json:"sets"`
		InPlace   map[string]string                  `json:"inPlace"`
		CFN       *struct{ Map map[string][]string } `json:"cfn"`
	} `json:"types"`
}

// TestReplacesTableIsWellFormed holds the table to what its readers
// assume: every type a stand-in package's, every path a plain input path,
// every in-place exception a mapped create-only property.
func TestReplacesTableIsWellFormed(t *testing.T) {
	var f replacesFile
	if err := json.Unmarshal(replacesJSON, &f); err != nil {
		t.Fatal(err)
	}
	for typ, e := range f.Types {
		pkg, _, _ := strings.Cut(typ, ":")
		if !slices.Contains(Packages, pkg) {
			t.Errorf("%s: no stand-in for package %s", typ, pkg)
		}
		for _, p := range e.ReplaceOn {
			if p == "" || strings.Contains(p, "..") || strings.ContainsAny(p, "[]*/ ") {
				t.Errorf("%s: replaceOn path %q is not a.b.c", typ, p)
			}
		}
		for prop := range e.InPlace {
			if e.CFN == nil || e.CFN.Map[prop] == nil {
				t.Errorf("%s: inPlace %s is not a mapped create-only property", typ, prop)
			}
			for _, name := range e.CFN.Map[prop] {
				if slices.Contains(e.ReplaceOn, name) {
					t.Errorf("%s: %s both replaces and updates in place", typ, name)
				}
			}
		}
	}
}

// TestNodeGroupSetsAreTheStandInsInputs keeps the table's record of what
// the eks stand-in gives a node group (the render cannot show a
// component's children) to nodegroup.go.
func TestNodeGroupSetsAreTheStandInsInputs(t *testing.T) {
	var f replacesFile
	if err := json.Unmarshal(replacesJSON, &f); err != nil {
		t.Fatal(err)
	}
	sets := f.Types["aws:eks/nodeGroup:NodeGroup"].Sets
	for _, k := range append([]string{"clusterName", "subnetIds", "scalingConfig", "nodeRoleArn"}, nodeGroupInputs...) {
		if !slices.Contains(sets, k) {
			t.Errorf("replaces.json: aws:eks/nodeGroup:NodeGroup sets lacks %s, which nodegroup.go passes", k)
		}
	}
}
