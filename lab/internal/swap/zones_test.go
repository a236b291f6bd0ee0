package swap

import (
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/lab/internal/apply"
)

// The render's subnets: a private, a public and a scraper subnet in each
// of three zones; only the private ones carry the discovery tag.
const subnets = `{"resources": [
 {"type": "aws:ec2/subnet:Subnet", "inputs": {"availabilityZone": "us-east-1a", "tags": {"karpenter.sh/discovery": "edw-aws"}}},
 {"type": "aws:ec2/subnet:Subnet", "inputs": {"availabilityZone": "us-east-1b", "tags": {"karpenter.sh/discovery": "edw-aws"}}},
 {"type": "aws:ec2/subnet:Subnet", "inputs": {"availabilityZone": "us-east-1a", "tags": {"kubernetes.io/role/elb": "1"}}},
 {"type": "aws:ec2/subnet:Subnet", "inputs": {"availabilityZone": "us-east-1c", "tags": {"kubernetes.io/role/elb": "1"}}},
 {"type": "aws:sqs/queue:Queue", "inputs": {}}
]}`

func nodeClass(selector string) string {
	return `
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: workload}
spec:
  subnetSelectorTerms:
    - tags: {` + selector + `}
`
}

func zones(t *testing.T, cloud, render, resources string) ([]string, error) {
	t.Helper()
	objs, err := apply.Decode([]byte(render))
	if err != nil {
		t.Fatal(err)
	}
	return Zones(cloud, objs, []byte(resources))
}

func TestZonesAreTheSelectedSubnets(t *testing.T) {
	for _, tc := range []struct {
		name, render string
		want         []string
	}{
		{"the node class's discovery tag", nodeClass(`karpenter.sh/discovery: edw-aws`), []string{"us-east-1a", "us-east-1b"}},
		{"any value", nodeClass(`kubernetes.io/role/elb: "*"`), []string{"us-east-1a", "us-east-1c"}},
		{"Auto Mode: every subnet", "apiVersion: v1\nkind: Namespace\nmetadata: {name: edw}\n", []string{"us-east-1a", "us-east-1b", "us-east-1c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := zones(t, "aws", tc.render, subnets)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("zones %v (%v), want %v", got, err, tc.want)
			}
		})
	}
	if _, err := zones(t, "aws", nodeClass(`karpenter.sh/discovery: other`), subnets); err == nil || !strings.Contains(err.Error(), "no subnet") {
		t.Errorf("a selector no subnet matches: %v, want an error", err)
	}
	if got, err := zones(t, "azure", azureRender, `{"resources": []}`); err != nil || len(got) != azureZones {
		t.Errorf("azure zones %v (%v), want %d", got, err, azureZones)
	}
}
