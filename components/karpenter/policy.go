package karpenter

import (
	"fmt"
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// account locates the controller's resources for ARNs.
type account struct {
	partition, region, id, cluster string
}

func (a account) ec2(resource string) pulumi.String {
	return pulumi.String(fmt.Sprintf("arn:%s:ec2:%s:*:%s", a.partition, a.region, resource))
}

// controllerStatements is the Karpenter controller's policy, statement for
// statement the one Karpenter publishes for its version (getting-started
// cloudformation.yaml, its six KarpenterController*Policy documents in one):
// instances, fleets and
// launch templates only with this cluster's tags, instance profiles created
// only with them and changed only when they carry them, reads limited to
// the region, and the node role, interruption queue and cluster by ARN.
// Describe and pricing calls have no resource-level scoping in IAM, so
// those read-only statements name "*" and a region condition instead.
//
// With spot, one statement more than Karpenter's: EC2 creates the Spot
// service-linked role on the first Spot launch of an account, with the
// caller's permission to; without it the launch fails with
// ServiceLinkedRoleCreationNotPermitted (Karpenter's troubleshooting page,
// "Missing Service Linked Role"). Karpenter's docs ask for a hand step
// instead; a Pulumi resource for the role would fail in every account that
// has it already (terraform-aws-modules/terraform-aws-eks issue 2565).
// The grant names that one role of that one service.
func controllerStatements(a account, nodeRoleArn, queueArn, clusterArn pulumi.StringInput, spot bool) []identity.Statement {
	statements := karpenterStatements(a, nodeRoleArn, queueArn, clusterArn)
	if spot {
		statements = append(statements, identity.Statement{
			Sid:       SpotServiceLinkedRoleSid,
			Actions:   []string{"iam:CreateServiceLinkedRole"},
			Resources: pulumi.StringArray{pulumi.String(fmt.Sprintf("arn:%s:iam::%s:role/aws-service-role/%s/AWSServiceRoleForEC2Spot", a.partition, a.id, spotService))},
			Condition: map[string]map[string]any{"StringEquals": {"iam:AWSServiceName": spotService}},
		})
	}
	return statements
}

// SpotServiceLinkedRoleSid is the statement that lets EC2 create the Spot
// service-linked role, and spotService the service it is linked to.
const (
	SpotServiceLinkedRoleSid = "AllowSpotServiceLinkedRoleCreation"
	spotService              = "spot.amazonaws.com"
)

// karpenterStatements are the statements of Karpenter's published policy.
func karpenterStatements(a account, nodeRoleArn, queueArn, clusterArn pulumi.StringInput) []identity.Statement {
	owned := fmt.Sprintf("aws:ResourceTag/kubernetes.io/cluster/%s", a.cluster)
	requestOwned := fmt.Sprintf("aws:RequestTag/kubernetes.io/cluster/%s", a.cluster)
	inRegion := map[string]any{"aws:RequestedRegion": a.region}
	launched := pulumi.StringArray{
		a.ec2("fleet/*"), a.ec2("instance/*"), a.ec2("volume/*"), a.ec2("network-interface/*"),
		a.ec2("launch-template/*"), a.ec2("spot-instances-request/*"),
	}
	profiles := pulumi.StringArray{pulumi.String(fmt.Sprintf("arn:%s:iam::%s:instance-profile/*", a.partition, a.id))}
	// A new profile carries these tags in the request; an existing one
	// carries them as its own.
	profileRequestTags := map[string]any{requestOwned: "owned", "aws:RequestTag/eks:eks-cluster-name": a.cluster, "aws:RequestTag/topology.kubernetes.io/region": a.region}
	profileTags := map[string]any{owned: "owned", "aws:ResourceTag/topology.kubernetes.io/region": a.region}
	return []identity.Statement{{
		Sid:     "AllowScopedEC2InstanceAccessActions",
		Actions: []string{"ec2:RunInstances", "ec2:CreateFleet"},
		Resources: pulumi.StringArray{
			pulumi.String(fmt.Sprintf("arn:%s:ec2:%s::image/*", a.partition, a.region)),
			pulumi.String(fmt.Sprintf("arn:%s:ec2:%s::snapshot/*", a.partition, a.region)),
			a.ec2("security-group/*"), a.ec2("subnet/*"), a.ec2("capacity-reservation/*"), a.ec2("placement-group/*"),
		},
	}, {
		Sid:       "AllowScopedEC2LaunchTemplateAccessActions",
		Actions:   []string{"ec2:RunInstances", "ec2:CreateFleet"},
		Resources: pulumi.StringArray{a.ec2("launch-template/*")},
		Condition: map[string]map[string]any{
			"StringEquals": {owned: "owned"},
			"StringLike":   {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
		},
	}, {
		Sid:       "AllowScopedEC2InstanceActionsWithTags",
		Actions:   []string{"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"},
		Resources: launched,
		Condition: map[string]map[string]any{
			"StringEquals": {requestOwned: "owned", "aws:RequestTag/eks:eks-cluster-name": a.cluster},
			"StringLike":   {"aws:RequestTag/karpenter.sh/nodepool": "*"},
		},
	}, {
		Sid:       "AllowScopedResourceCreationTagging",
		Actions:   []string{"ec2:CreateTags"},
		Resources: launched,
		Condition: map[string]map[string]any{
			"StringEquals": {requestOwned: "owned", "aws:RequestTag/eks:eks-cluster-name": a.cluster, "ec2:CreateAction": []string{"RunInstances", "CreateFleet", "CreateLaunchTemplate"}},
			"StringLike":   {"aws:RequestTag/karpenter.sh/nodepool": "*"},
		},
	}, {
		Sid:       "AllowScopedResourceTagging",
		Actions:   []string{"ec2:CreateTags"},
		Resources: pulumi.StringArray{a.ec2("instance/*")},
		Condition: map[string]map[string]any{
			"StringEquals":              {owned: "owned"},
			"StringLike":                {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
			"StringEqualsIfExists":      {"aws:RequestTag/eks:eks-cluster-name": a.cluster},
			"ForAllValues:StringEquals": {"aws:TagKeys": []string{"eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"}},
		},
	}, {
		Sid:       "AllowScopedDeletion",
		Actions:   []string{"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"},
		Resources: pulumi.StringArray{a.ec2("instance/*"), a.ec2("launch-template/*")},
		Condition: map[string]map[string]any{
			"StringEquals": {owned: "owned"},
			"StringLike":   {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
		},
	}, {
		Sid: "AllowRegionalReadActions",
		Actions: []string{
			"ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
			"ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups",
			"ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
		},
		Resources: pulumi.StringArray{pulumi.String("*")},
		Condition: map[string]map[string]any{"StringEquals": inRegion},
	}, {
		Sid:       "AllowSSMReadActions",
		Actions:   []string{"ssm:GetParameter"},
		Resources: pulumi.StringArray{pulumi.String(fmt.Sprintf("arn:%s:ssm:%s::parameter/aws/service/*", a.partition, a.region))},
	}, {
		Sid:       "AllowPricingReadActions",
		Actions:   []string{"pricing:GetProducts"},
		Resources: pulumi.StringArray{pulumi.String("*")},
	}, {
		Sid:       "AllowInterruptionQueueActions",
		Actions:   []string{"sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"},
		Resources: pulumi.StringArray{queueArn},
	}, {
		Sid:       "AllowPassingInstanceRole",
		Actions:   []string{"iam:PassRole"},
		Resources: pulumi.StringArray{nodeRoleArn},
		Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": ec2Principals}},
	}, {
		Sid:       "AllowScopedInstanceProfileCreationActions",
		Actions:   []string{"iam:CreateInstanceProfile"},
		Resources: profiles,
		Condition: map[string]map[string]any{
			"StringEquals": profileRequestTags,
			"StringLike":   {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
		},
	}, {
		Sid:       "AllowScopedInstanceProfileTagActions",
		Actions:   []string{"iam:TagInstanceProfile"},
		Resources: profiles,
		Condition: map[string]map[string]any{
			"StringEquals": merge(profileTags, profileRequestTags),
			"StringLike":   {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
		},
	}, {
		Sid:       "AllowScopedInstanceProfileActions",
		Actions:   []string{"iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"},
		Resources: profiles,
		Condition: map[string]map[string]any{
			"StringEquals": profileTags,
			"StringLike":   {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
		},
	}, {
		// Deleting NodeClaims at destroy needs it while the nodes drain,
		// which is why the controller's role outlives its chart.
		Sid:       "AllowInstanceProfileReadActions",
		Actions:   []string{"iam:GetInstanceProfile"},
		Resources: profiles,
	}, {
		// Listing has no resource-level scoping in IAM.
		Sid:       "AllowUnscopedInstanceProfileListAction",
		Actions:   []string{"iam:ListInstanceProfiles"},
		Resources: pulumi.StringArray{pulumi.String("*")},
	}, {
		Sid:       "AllowZonalShiftStatusReadOnly",
		Actions:   []string{"arc-zonal-shift:GetManagedResource"},
		Resources: pulumi.StringArray{pulumi.String("*")},
		Condition: map[string]map[string]any{"StringEquals": {"arc-zonal-shift:ResourceIdentifier": clusterArn}},
	}, {
		Sid:       "AllowAPIServerEndpointDiscovery",
		Actions:   []string{"eks:DescribeCluster"},
		Resources: pulumi.StringArray{clusterArn},
	}}
}

// ec2Principals are EC2's service principals: the China partitions' and
// everyone else's.
var ec2Principals = []string{"ec2.amazonaws.com", "ec2.amazonaws.com.cn"}

func merge(a, b map[string]any) map[string]any {
	m := maps.Clone(a)
	maps.Copy(m, b)
	return m
}
