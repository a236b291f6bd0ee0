package standin

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	clusterType      = "aws:eks/cluster:Cluster"
	accessEntryType  = "aws:eks/accessEntry:AccessEntry"
	subnetType       = "aws:ec2/subnet:Subnet"
	routeTableType   = "aws:ec2/routeTable:RouteTable"
	associationType  = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	accessPolicyType = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
)

// refuses answers as EKS does for a managed node group placed in a public
// subnet (one whose route table sends traffic to an internet gateway) that
// does not give its instances public addresses: CreateNodegroup fails with
// Ec2SubnetInvalidConfiguration (Amazon EKS API reference, "Issue" codes;
// Amazon EKS user guide, "Managed node groups": public subnets need
// MapPublicIpOnLaunch). pulumi-eks v3.9.1 puts a node group given no
// subnetIds in the cluster's subnetIds, public and private alike
// (nodejs/eks/nodes/nodegroup.ts, "Compute the node group subnets";
// nodejs/eks/cluster/cluster.ts, "Form the subnetIds").
// It refuses first, as the cloud does, a reference that names nothing
// live (aws_refs.go).
func (a *aws) refuses(typ string, in resource.PropertyMap, live finder) error {
	if err := refusesDangling(typ, in, live); err != nil {
		return err
	}
	switch typ {
	case accessEntryType:
		return refusesAccessEntry(in, live)
	case accessPolicyType:
		return refusesAccessPolicy(in, live)
	}
	if typ != "aws:eks/nodeGroup:NodeGroup" {
		return nil
	}
	for _, id := range strs(in, "subnetIds") {
		public, maps, err := subnetRoutes(id, live)
		if err != nil {
			return err
		}
		if public && !maps {
			return fmt.Errorf("InvalidRequestException: Ec2SubnetInvalidConfiguration: subnet %s of node group %q is public (its route table routes to an internet gateway) and does not assign public IP addresses to instances launched into it", id, str(in, "nodeGroupName"))
		}
	}
	return nil
}

// subnetRoutes reports whether the live subnet id routes to an internet
// gateway through its route table, and whether it maps public addresses
// on launch. A subnet the stand-in does not hold is not the program's to
// judge.
func subnetRoutes(id string, live finder) (public, mapsPublicIPs bool, err error) {
	subnet, ok, err := live.find(func(r Resource) bool { return r.Type == subnetType && r.ID == id })
	if err != nil || !ok {
		return false, false, err
	}
	mapsPublicIPs, _ = subnet.Inputs["mapPublicIpOnLaunch"].(bool)
	assoc, ok, err := live.find(func(r Resource) bool { return r.Type == associationType && r.Inputs["subnetId"] == id })
	if err != nil || !ok {
		return false, mapsPublicIPs, err
	}
	table, ok, err := live.find(func(r Resource) bool { return r.Type == routeTableType && r.ID == assoc.Inputs["routeTableId"] })
	if err != nil || !ok {
		return false, mapsPublicIPs, err
	}
	routes, _ := table.Inputs["routes"].([]any)
	for _, r := range routes {
		route, _ := r.(map[string]any)
		if gw, _ := route["gatewayId"].(string); strings.HasPrefix(gw, awsIDPrefixes["aws:ec2/internetGateway:InternetGateway"]+"-") {
			return true, mapsPublicIPs, nil
		}
	}
	return false, mapsPublicIPs, nil
}

// refusesAccessEntry answers as EKS's CreateAccessEntry does (Amazon EKS
// API reference; user guide, "Create access entries"): a principal has one
// access entry per cluster (ResourceInUseException), the creator's
// included, which EKS makes itself unless the cluster's accessConfig sets
// bootstrapClusterCreatorAdminPermissions false (it defaults to true); an
// STS session is no principal (InvalidParameterException); and a node's
// entry (type EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX) names a role, which
// EKS binds by its unique id, so it must exist. The nodes' roles are
// always the stack's own; other principals may come from the
// configuration, which names users and roles the stand-in never made. The
// stand-in creates every cluster as its caller.
func refusesAccessEntry(in resource.PropertyMap, live finder) error {
	name, principal := str(in, "clusterName"), str(in, "principalArn")
	if strings.HasPrefix(principal, "arn:aws:sts:") {
		return fmt.Errorf("InvalidParameterException: %s is an STS session, not an IAM principal", principal)
	}
	if kind := str(in, "type"); strings.HasPrefix(kind, "EC2_") || strings.HasPrefix(kind, "FARGATE_") {
		if err := resolveAWS(awsRef{to: anyARN, missing: "InvalidParameterException: The specified principalArn %s is invalid: invalid principal"}, principal, live); err != nil {
			return err
		}
	}
	cluster, ok, err := live.find(func(r Resource) bool { return r.Type == clusterType && r.Inputs["name"] == name })
	if err != nil || !ok {
		return err
	}
	access, _ := cluster.Inputs["accessConfig"].(map[string]any)
	if bootstrap, set := access["bootstrapClusterCreatorAdminPermissions"].(bool); (bootstrap || !set) && principal == callerArn {
		return fmt.Errorf("ResourceInUseException: the cluster %s already has an access entry for its creator %s", name, principal)
	}
	_, taken, err := live.find(func(r Resource) bool {
		return r.Type == accessEntryType && r.Inputs["clusterName"] == name && r.Inputs["principalArn"] == principal
	})
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("ResourceInUseException: the cluster %s already has an access entry for %s", name, principal)
	}
	return nil
}

// refusesAccessPolicy answers as EKS's AssociateAccessPolicy does (Amazon
// EKS API reference): the principal needs an access entry on the cluster
// first (ResourceNotFoundException), the creator's own included.
func refusesAccessPolicy(in resource.PropertyMap, live finder) error {
	name, principal := str(in, "clusterName"), str(in, "principalArn")
	cluster, ok, err := live.find(func(r Resource) bool { return r.Type == clusterType && r.ID == name })
	if err != nil || !ok {
		return err
	}
	access, _ := cluster.Inputs["accessConfig"].(map[string]any)
	if bootstrap, set := access["bootstrapClusterCreatorAdminPermissions"].(bool); (bootstrap || !set) && principal == callerArn {
		return nil
	}
	_, ok, err = live.find(func(r Resource) bool {
		return r.Type == accessEntryType && r.Inputs["clusterName"] == name && r.Inputs["principalArn"] == principal
	})
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("ResourceNotFoundException: The specified principalArn %s could not be found on cluster %s: it has no access entry: %w", principal, name, ErrNotFound)
}
