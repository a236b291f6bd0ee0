// Package price turns what a lab run kept running into dollars: a dated
// table of the clouds' hourly prices for the lab's stand-in instance types
// and for what a stack keeps up whatever its queue holds.
//
// The lab's instance types (family, 2, 4 or 8 vCPUs, architecture) are
// priced as one current-generation type each, in the stack's default
// region. Prices move: each table says when and where it was read.
package price

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Rate is the hourly price, in US dollars, of the cloud instance type a
// stand-in is priced as.
type Rate struct {
	Type           string
	OnDemand, Spot float64
}

// Table is one cloud's prices.
type Table struct {
	Cloud, Region string
	// Source says where the prices come from and when they were published.
	Source, SpotSource string
	// nodes are keyed by the stand-in's family, vCPUs and architecture,
	// e.g. "c-2x-amd64".
	nodes map[string]Rate
	// units are the hourly prices of what stays up, by kind.
	units map[string]float64
}

// What stays up, by kind: the price units of Standing.
const (
	unitControlPlane = "control plane"
	unitNAT          = "NAT gateway"
	unitPublicIP     = "public IPv4 address"
	unitLoadBalancer = "load balancer"
)

// AWS is us-east-1. On-demand: Karpenter's table from the AWS Price List
// API (aws/karpenter-provider-aws pkg/providers/pricing/
// zz_generated.pricing_aws.go, generated 2026-07-20). Spot: on-demand less
// the Spot Instance Advisor's "savings over On-Demand" (a mid-2026
// snapshot of its data feed); spot prices move by the hour and the zone.
// The NodePool admits every generation of c, m and r, and Karpenter
// launches the cheapest that fits: older ones (c6a.large $0.0765) cost up
// to 15 % less than the seventh generation priced here.
var AWS = Table{
	Cloud: "aws", Region: "us-east-1",
	Source:     "Karpenter's AWS price table, generated from the AWS Price List API on 2026-07-20",
	SpotSource: "on-demand less the EC2 Spot Instance Advisor's savings, mid-2026",
	nodes: map[string]Rate{
		"c-2x-amd64": {"c7i.large", 0.08925, 0.08925 * (1 - 0.61)},
		"c-4x-amd64": {"c7i.xlarge", 0.1785, 0.1785 * (1 - 0.61)},
		"c-8x-amd64": {"c7i.2xlarge", 0.357, 0.357 * (1 - 0.56)},
		"m-2x-amd64": {"m7i.large", 0.1008, 0.1008 * (1 - 0.61)},
		"m-4x-amd64": {"m7i.xlarge", 0.2016, 0.2016 * (1 - 0.56)},
		"m-8x-amd64": {"m7i.2xlarge", 0.4032, 0.4032 * (1 - 0.59)},
		"r-2x-amd64": {"r7i.large", 0.1323, 0.1323 * (1 - 0.65)},
		"r-4x-amd64": {"r7i.xlarge", 0.2646, 0.2646 * (1 - 0.61)},
		"r-8x-amd64": {"r7i.2xlarge", 0.5292, 0.5292 * (1 - 0.57)},
		"c-2x-arm64": {"c7g.large", 0.0725, 0.0725 * (1 - 0.57)},
		"c-4x-arm64": {"c7g.xlarge", 0.145, 0.145 * (1 - 0.62)},
		"c-8x-arm64": {"c7g.2xlarge", 0.290, 0.290 * (1 - 0.58)},
		"m-2x-arm64": {"m7g.large", 0.0816, 0.0816 * (1 - 0.58)},
		"m-4x-arm64": {"m7g.xlarge", 0.1632, 0.1632 * (1 - 0.53)},
		"m-8x-arm64": {"m7g.2xlarge", 0.3264, 0.3264 * (1 - 0.53)},
		"r-2x-arm64": {"r7g.large", 0.1071, 0.1071 * (1 - 0.63)},
		"r-4x-arm64": {"r7g.xlarge", 0.2142, 0.2142 * (1 - 0.68)},
		"r-8x-arm64": {"r7g.2xlarge", 0.4284, 0.4284 * (1 - 0.58)},
	},
	units: map[string]float64{
		// EKS pricing: $0.10 a cluster-hour in standard support ($0.60 in
		// extended support, which the stack avoids by default).
		unitControlPlane: 0.10,
		// VPC pricing: $0.045 a NAT gateway-hour (and $0.045 a GB
		// processed, not counted), $0.005 a public IPv4 address-hour.
		unitNAT:      0.045,
		unitPublicIP: 0.005,
		// The system node group's default type, from the table above.
		"m6i.large": 0.096,
	},
}

// Azure is westeurope, the stack's default location. On-demand:
// karpenter-provider-azure's table from the Azure Retail Prices API
// (pkg/providers/pricing/zz_generated.pricing.go, generated 2026-06-18).
// Spot has no dated source here (Azure publishes spot prices per region
// and size, and they vary): spot is priced as on-demand, an upper bound.
var Azure = Table{
	Cloud: "azure", Region: "westeurope",
	Source:     "karpenter-provider-azure's price table, generated from the Azure Retail Prices API on 2026-06-18",
	SpotSource: "none dated: priced as on-demand, an upper bound",
	nodes: map[string]Rate{
		"D-2x-amd64": {"Standard_D2s_v5", 0.115, 0.115},
		"D-4x-amd64": {"Standard_D4s_v5", 0.230, 0.230},
		"D-8x-amd64": {"Standard_D8s_v5", 0.460, 0.460},
		"D-2x-arm64": {"Standard_D2ps_v5", 0.092, 0.092},
		"D-4x-arm64": {"Standard_D4ps_v5", 0.184, 0.184},
		"D-8x-arm64": {"Standard_D8ps_v5", 0.368, 0.368},
	},
	units: map[string]float64{
		// AKS's Free tier, the API's default, which the stack keeps.
		unitControlPlane: 0,
		// The outbound Standard Load Balancer AKS creates
		// (outboundType loadBalancer) and its public IP: $0.025 an hour
		// for up to 5 rules, $0.005 an IP-hour (third-party listings of
		// Azure's prices; the official pages render prices at run time).
		unitLoadBalancer: 0.025,
		unitPublicIP:     0.005,
		// The system pool's default size, from the table above.
		"Standard_D4ds_v5": 0.272,
	},
}

// For returns cloud's table.
func For(cloud string) (Table, error) {
	switch cloud {
	case "aws":
		return AWS, nil
	case "azure":
		return Azure, nil
	}
	return Table{}, fmt.Errorf("cloud %q: want aws or azure", cloud)
}

// Node is the hourly price of one of the lab's instance types
// ("<family>-<vCPUs>x-<arch>-linux") in a capacity type (spot or
// on-demand).
func (t Table) Node(instanceType, capacity string) (float64, error) {
	key := strings.TrimSuffix(instanceType, "-linux")
	r, ok := t.nodes[key]
	if !ok {
		return 0, fmt.Errorf("instance type %q has no price in the %s table (lab/internal/price); it prices %v", instanceType, t.Cloud, slices.Sorted(maps.Keys(t.nodes)))
	}
	switch capacity {
	case "on-demand":
		return r.OnDemand, nil
	case "spot":
		return r.Spot, nil
	}
	return 0, fmt.Errorf("capacity type %q: want spot or on-demand", capacity)
}

// Standing is what a stack keeps up whatever its queue holds, and its
// hourly price.
type Standing struct {
	Items   []Item
	PerHour float64
	// Unpriced names what the table has no price for.
	Unpriced []string
}

// Item is one kind of what stays up.
type Item struct {
	What    string
	Count   int
	PerHour float64
}

// Standing reads what stays up from the render's cloud resources
// (resources.json): the control plane, the system nodes, and what the
// network bills by the hour (AWS's NAT gateways and their addresses,
// Azure's outbound load balancer and its address). Karpenter's nodes are
// not in it: the run measures those.
func (t Table) Standing(resources []byte) (Standing, error) {
	var render struct {
		Resources []struct {
			Type   string
			Inputs json.RawMessage
		}
	}
	if err := json.Unmarshal(resources, &render); err != nil {
		return Standing{}, fmt.Errorf("render's resources: %w", err)
	}
	counts := map[string]int{}
	for _, r := range render.Resources {
		var in struct {
			InstanceTypes     []string
			ScalingConfig     struct{ DesiredSize int }
			AgentPoolProfiles []struct {
				Count  int
				VMSize string
			}
			NetworkProfile struct{ OutboundType string }
		}
		_ = json.Unmarshal(r.Inputs, &in)
		switch {
		case r.Type == "eks:index:Cluster":
			counts[unitControlPlane]++
		case r.Type == "eks:index:ManagedNodeGroup" && len(in.InstanceTypes) > 0:
			counts[in.InstanceTypes[0]] += in.ScalingConfig.DesiredSize
		case r.Type == "aws:ec2/natGateway:NatGateway":
			counts[unitNAT]++
		case r.Type == "aws:ec2/eip:Eip":
			counts[unitPublicIP]++
		case strings.HasPrefix(r.Type, "azure-native:containerservice") && strings.HasSuffix(r.Type, ":ManagedCluster"):
			counts[unitControlPlane]++
			for _, p := range in.AgentPoolProfiles {
				counts[p.VMSize] += p.Count
			}
			if in.NetworkProfile.OutboundType == "loadBalancer" {
				counts[unitLoadBalancer]++
				counts[unitPublicIP]++
			}
		}
	}
	var s Standing
	for _, what := range slices.Sorted(maps.Keys(counts)) {
		unit, ok := t.units[what]
		if !ok {
			s.Unpriced = append(s.Unpriced, fmt.Sprintf("%d × %s", counts[what], what))
			continue
		}
		item := Item{What: what, Count: counts[what], PerHour: unit * float64(counts[what])}
		s.Items = append(s.Items, item)
		s.PerHour += item.PerHour
	}
	return s, nil
}
