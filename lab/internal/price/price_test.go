package price

import (
	"strings"
	"testing"
)

// The shapes the render writes (build/render/<stack>/resources.json).
const awsResources = `{"resources": [
 {"type": "eks:index:Cluster", "inputs": {"name": "edw-aws"}},
 {"type": "eks:index:ManagedNodeGroup", "inputs": {"instanceTypes": ["m6i.large"], "scalingConfig": {"desiredSize": 2, "maxSize": 3}}},
 {"type": "aws:ec2/natGateway:NatGateway", "inputs": {}},
 {"type": "aws:ec2/natGateway:NatGateway", "inputs": {}},
 {"type": "aws:ec2/eip:Eip", "inputs": {"domain": "vpc"}},
 {"type": "aws:ec2/eip:Eip", "inputs": {"domain": "vpc"}},
 {"type": "aws:sqs/queue:Queue", "inputs": {}}
]}`

const azureResources = `{"resources": [
 {"type": "azure-native:containerservice/v20241002preview:ManagedCluster", "inputs": {
   "agentPoolProfiles": [{"count": 2, "vmSize": "Standard_D4ds_v5"}],
   "networkProfile": {"outboundType": "loadBalancer"}}}
]}`

func TestStandingIsWhatStaysUp(t *testing.T) {
	for _, tc := range []struct {
		table     Table
		resources string
		perHour   float64
		items     int
	}{
		// EKS 0.10 + 2 × m6i.large 0.096 + 2 NAT 0.045 + 2 addresses 0.005.
		{AWS, awsResources, 0.392, 4},
		// AKS Free 0 + 2 × D4ds_v5 0.272 + the load balancer 0.025 and its address 0.005.
		{Azure, azureResources, 0.574, 4},
	} {
		s, err := tc.table.Standing([]byte(tc.resources))
		if err != nil {
			t.Fatal(err)
		}
		if d := s.PerHour - tc.perHour; d > 1e-9 || d < -1e-9 || len(s.Items) != tc.items || len(s.Unpriced) != 0 {
			t.Errorf("%s: %+v, want %g an hour in %d items", tc.table.Cloud, s, tc.perHour, tc.items)
		}
	}
	// A system node type the table lacks is named, not priced at 0.
	s, err := AWS.Standing([]byte(strings.Replace(awsResources, "m6i.large", "m8i.large", 1)))
	if err != nil || len(s.Unpriced) != 1 || s.Unpriced[0] != "2 × m8i.large" {
		t.Errorf("unpriced %v (%v), want 2 × m8i.large", s.Unpriced, err)
	}
}

func TestNodePrices(t *testing.T) {
	for _, table := range []Table{AWS, Azure} {
		for key, r := range table.nodes {
			if r.OnDemand <= 0 || r.Spot <= 0 || r.Spot > r.OnDemand {
				t.Errorf("%s %s: %+v: want 0 < spot <= on-demand", table.Cloud, key, r)
			}
		}
	}
	if p, err := AWS.Node("c-2x-amd64-linux", "on-demand"); err != nil || p != 0.08925 {
		t.Errorf("c-2x-amd64 on-demand: %v, %v", p, err)
	}
	if _, err := AWS.Node("D-2x-amd64-linux", "spot"); err == nil {
		t.Error("an Azure size priced in the AWS table")
	}
	if _, err := Azure.Node("D-2x-amd64-linux", "reserved"); err == nil {
		t.Error("an unknown capacity type priced")
	}
}
