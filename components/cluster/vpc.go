package cluster

import (
	"fmt"
	"maps"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Subnet sizes carved out of the VPC's /16: private subnets are large
// because the VPC CNI gives every pod a VPC address.
const (
	privatePrefixBits = 19 // 8,192 addresses per zone, at the bottom of the range
	publicPrefixBits  = 22 // 1,024 addresses per zone, after the private ones
	scraperPrefixBits = 28 // 16 addresses per zone, after the public ones
)

// network is what the cluster needs of the VPC.
type network struct {
	vpcID            pulumi.StringOutput
	privateSubnetIDs pulumi.StringArray
	publicSubnetIDs  pulumi.StringArray
	// scraperSubnetIDs and scraperCIDRs hold a metrics scraper's network
	// interfaces and nothing else; empty unless asked for.
	scraperSubnetIDs pulumi.StringArray
	scraperCIDRs     []string
	// egress is the private subnets' way out (NAT gateways, routes). The
	// cluster depends on it, so that at destroy the controllers keep
	// reaching the AWS APIs until their nodes are gone.
	egress []pulumi.Resource
}

// subnetCIDRs splits a /16 into a private, a public and a scraper range
// per zone.
func subnetCIDRs(vpcCIDR string, zones int) (private, public, scraper []string, err error) {
	base, err := netip.ParsePrefix(vpcCIDR)
	if err != nil || base.Bits() != 16 || !base.Addr().Is4() {
		return nil, nil, nil, fmt.Errorf("vpc cidr %q: want an IPv4 /16", vpcCIDR)
	}
	b := base.Masked().Addr().As4()
	for i := range zones {
		private = append(private, netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], byte(i * 32), 0}), privatePrefixBits).String())
		public = append(public, netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], byte(96 + i*4), 0}), publicPrefixBits).String())
		scraper = append(scraper, netip.PrefixFrom(netip.AddrFrom4([4]byte{b[0], b[1], 108, byte(i * 16)}), scraperPrefixBits).String())
	}
	return private, public, scraper, nil
}

// newNetwork creates a VPC over zones with a public and a private subnet
// and a NAT gateway in each zone, and with scraperSubnets a scraper subnet.
// Private subnets carry discoveryTags, so Karpenter launches nodes there.
func newNetwork(ctx *pulumi.Context, name, vpcCIDR string, zones []string, scraperSubnets bool, discoveryTags, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*network, error) {
	privateCIDRs, publicCIDRs, scraperCIDRs, err := subnetCIDRs(vpcCIDR, len(zones))
	if err != nil {
		return nil, err
	}
	vpc, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock: pulumi.String(vpcCIDR), EnableDnsHostnames: pulumi.Bool(true), EnableDnsSupport: pulumi.Bool(true), Tags: tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{VpcId: vpc.ID(), Tags: tags}, opts...)
	if err != nil {
		return nil, err
	}
	publicRoutes, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	n := &network{vpcID: vpc.ID().ToStringOutput()}
	for i, zone := range zones {
		zoneName := fmt.Sprintf("%s-%s", name, zone)
		public, err := ec2.NewSubnet(ctx, zoneName+"-public", &ec2.SubnetArgs{
			VpcId: vpc.ID(), AvailabilityZone: pulumi.String(zone), CidrBlock: pulumi.String(publicCIDRs[i]),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                merge(tags, pulumi.StringMap{"kubernetes.io/role/elb": pulumi.String("1")}),
		}, opts...)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, zoneName+"-public", &ec2.RouteTableAssociationArgs{SubnetId: public.ID(), RouteTableId: publicRoutes.ID()}, opts...); err != nil {
			return nil, err
		}
		eip, err := ec2.NewEip(ctx, zoneName+"-nat", &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: tags}, opts...)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, zoneName, &ec2.NatGatewayArgs{AllocationId: eip.ID(), SubnetId: public.ID(), Tags: tags}, append(opts, pulumi.DependsOn([]pulumi.Resource{igw}))...)
		if err != nil {
			return nil, err
		}
		private, err := ec2.NewSubnet(ctx, zoneName+"-private", &ec2.SubnetArgs{
			VpcId: vpc.ID(), AvailabilityZone: pulumi.String(zone), CidrBlock: pulumi.String(privateCIDRs[i]),
			Tags: merge(tags, discoveryTags, pulumi.StringMap{"kubernetes.io/role/internal-elb": pulumi.String("1")}),
		}, opts...)
		if err != nil {
			return nil, err
		}
		routes, err := ec2.NewRouteTable(ctx, zoneName+"-private", &ec2.RouteTableArgs{
			VpcId:  vpc.ID(),
			Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nat.ID()}},
			Tags:   tags,
		}, opts...)
		if err != nil {
			return nil, err
		}
		assoc, err := ec2.NewRouteTableAssociation(ctx, zoneName+"-private", &ec2.RouteTableAssociationArgs{SubnetId: private.ID(), RouteTableId: routes.ID()}, opts...)
		if err != nil {
			return nil, err
		}
		n.egress = append(n.egress, nat, routes, assoc)
		n.publicSubnetIDs = append(n.publicSubnetIDs, public.ID())
		n.privateSubnetIDs = append(n.privateSubnetIDs, private.ID())
		if !scraperSubnets {
			continue
		}
		// No node or pod gets an address here (nothing is tagged for
		// Karpenter, and pods take their node's subnet), so a policy that
		// admits this range admits the scraper alone. Its traffic stays in
		// the VPC: the main route table's local route is all it needs.
		scraper, err := ec2.NewSubnet(ctx, zoneName+"-scraper", &ec2.SubnetArgs{
			VpcId: vpc.ID(), AvailabilityZone: pulumi.String(zone), CidrBlock: pulumi.String(scraperCIDRs[i]), Tags: tags,
		}, opts...)
		if err != nil {
			return nil, err
		}
		n.scraperSubnetIDs = append(n.scraperSubnetIDs, scraper.ID())
		n.scraperCIDRs = append(n.scraperCIDRs, scraperCIDRs[i])
	}
	return n, nil
}

// merge combines tag maps; later maps win.
func merge(tagMaps ...pulumi.StringMap) pulumi.StringMap {
	out := pulumi.StringMap{}
	for _, m := range tagMaps {
		maps.Copy(out, m)
	}
	return out
}
