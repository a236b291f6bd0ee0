package stacks

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/versions"
)

// The defaults are the version table's, and the table's Kubernetes minor
// is one AKS offers today: when AKS retires it, this fails until the table
// moves (and the render's EKS answer with it, which TestEksVersionIsChecked
// holds).
func TestDefaultsFollowTheVersionTable(t *testing.T) {
	defaults := map[string]string{}
	for _, k := range Keys() {
		defaults[k.Name] = k.Default
	}
	if defaults["edw:clusterVersion"] != versions.Kubernetes || defaults["edw:karpenterAmiAlias"] != versions.AMIAlias {
		t.Errorf("defaults clusterVersion %q, karpenterAmiAlias %q; want versions.Kubernetes %q and versions.AMIAlias %q",
			defaults["edw:clusterVersion"], defaults["edw:karpenterAmiAlias"], versions.Kubernetes, versions.AMIAlias)
	}
	if err := checkAksVersion(versions.Kubernetes, time.Now()); err != nil {
		t.Errorf("the default Kubernetes version: %v", err)
	}
}

// AKS creates a minor for 12 months after its GA, outside LTS.
func TestAksVersionIsChecked(t *testing.T) {
	day := time.Date(2026, time.December, 4, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		version string
		on      time.Time
		ok      bool
	}{
		{"1.36", day, true},
		{"1.35", day, true},
		{"1.34", day, false},
		{"1.33", day, false},
		{"1.36", time.Date(2027, time.July, 1, 0, 0, 0, 0, time.UTC), false},
		{"1.37", time.Date(2026, time.September, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		err := checkAksVersion(c.version, c.on)
		if (err == nil) != c.ok {
			t.Errorf("%s on %s: %v, want ok %v", c.version, c.on.Format(time.DateOnly), err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "edw:clusterVersion is "+c.version) {
			t.Errorf("%s: the error does not name the key and value: %v", c.version, err)
		}
	}
}

// The policy reaches the EKS cluster inside pulumi-eks's component, and
// nothing else.
func TestUpgradePolicyTransform(t *testing.T) {
	transform := cluster.UpgradePolicy(supportStandard)
	props := pulumi.Map{"name": pulumi.String("edw-aws")}
	got := transform(context.Background(), &pulumi.ResourceTransformArgs{Type: "aws:eks/cluster:Cluster", Props: props})
	want := pulumi.Map{"supportType": pulumi.String(supportStandard)}
	if got == nil || !reflect.DeepEqual(got.Props["upgradePolicy"], want) || got.Props["name"] != props["name"] {
		t.Errorf("EKS cluster props %v, want name kept and upgradePolicy %v", got, want)
	}
	if _, ok := props["upgradePolicy"]; ok {
		t.Error("the transform changed the props it was given")
	}
	if got := transform(context.Background(), &pulumi.ResourceTransformArgs{Type: "aws:eks/nodeGroup:NodeGroup", Props: pulumi.Map{}}); got != nil {
		t.Errorf("a node group was transformed: %v", got)
	}
}

// A STANDARD cluster is warned of EKS's upgrade in the 60 days before its
// minor leaves standard support, and not before; an extended one is
// warned of its price.
func TestEksVersionWarnings(t *testing.T) {
	offered := []awseks.GetClusterVersionsClusterVersion{
		{ClusterVersion: "1.34", VersionStatus: eksExtended, EndOfStandardSupportDate: "2026-12-02"},
		{ClusterVersion: "1.35", VersionStatus: eksStandard, EndOfStandardSupportDate: "2027-03-27"},
		{ClusterVersion: "1.36", VersionStatus: eksStandard, EndOfStandardSupportDate: "2027-08-02"},
	}
	day := time.Date(2027, time.February, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		version, support, want string
	}{
		{"1.35", supportStandard, "leaves EKS standard support on 2027-03-27"},
		{"1.36", supportStandard, ""},
		{"1.35", supportExtended, ""},
		{"1.34", supportExtended, "costs $0.60 an hour instead of $0.10"},
	} {
		got, err := eksVersionVerdict(c.version, c.support, offered, day)
		if err != nil || (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s %s on %s: warning %q (%v), want %q", c.version, c.support, day.Format(time.DateOnly), got, err, c.want)
		}
	}
}
