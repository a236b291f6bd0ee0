package swap

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// azureZones is how many zones node auto-provisioning offers a VM size in:
// karpenter-provider-azure (pkg/providers/instancetype, instanceTypeZones)
// offers each size in every zone the region has for it, three in the
// regions with availability zones; the stacks' pools set none.
const azureZones = 3

// subnetType is the render's type token of a subnet (pulumi-aws).
const subnetType = "aws:ec2/subnet:Subnet"

// Zones are the zones the stack's Karpenter may launch nodes in, which
// the lab offers its instance types in, so that the consumers' zone
// spread makes Karpenter add a node per zone as in the cloud. On AWS they
// are the availability zones of the subnets the EC2NodeClass selects by
// tag, read from the render's cloud resources (resources.json); with EKS
// Auto Mode's built-in class, which uses the cluster's subnets, those of
// every subnet of the stack. On Azure they are azureZones zones.
func Zones(cloud string, rendered []*unstructured.Unstructured, resources []byte) ([]string, error) {
	if cloud == "azure" {
		var zones []string
		for i := range azureZones {
			zones = append(zones, fmt.Sprintf("lab-zone-%d", i+1))
		}
		return zones, nil
	}
	var render struct {
		Resources []struct {
			Type   string
			Inputs struct {
				AvailabilityZone string
				Tags             map[string]string
			}
		}
	}
	if err := json.Unmarshal(resources, &render); err != nil {
		return nil, fmt.Errorf("render's resources: %w", err)
	}
	terms, err := subnetTerms(rendered)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, r := range render.Resources {
		if r.Type == subnetType && r.Inputs.AvailabilityZone != "" && selected(r.Inputs.Tags, terms) {
			set[r.Inputs.AvailabilityZone] = true
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("no subnet of the render matches the node class's subnet selector %v: the lab cannot tell which zones to offer", terms)
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// subnetTerms are the EC2NodeClasses' subnet selector terms by tag; none
// (select every subnet) without an EC2NodeClass.
func subnetTerms(rendered []*unstructured.Unstructured) ([]map[string]string, error) {
	var terms []map[string]string
	for _, o := range rendered {
		if o.GetKind() != "EC2NodeClass" {
			continue
		}
		raw, _, _ := unstructured.NestedSlice(o.Object, "spec", "subnetSelectorTerms")
		for _, t := range raw {
			tags, found, err := unstructured.NestedStringMap(t.(map[string]any), "tags")
			if err != nil || !found {
				return nil, fmt.Errorf("EC2NodeClass %s: the lab reads subnet selector terms by tags only, got %v", o.GetName(), t)
			}
			terms = append(terms, tags)
		}
	}
	return terms, nil
}

// selected reports whether a subnet's tags match any term, as Karpenter
// matches them: every tag of the term, "*" for any value.
func selected(tags map[string]string, terms []map[string]string) bool {
	if len(terms) == 0 {
		return true
	}
	return slices.ContainsFunc(terms, func(term map[string]string) bool {
		for k, v := range term {
			got, ok := tags[k]
			if !ok || v != "*" && got != v {
				return false
			}
		}
		return true
	})
}
