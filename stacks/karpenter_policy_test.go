package stacks_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/components/karpenter"
)

// karpenterControllerPolicy is the controller policy Karpenter publishes
// for the chart version the program installs (karpenter-provider-aws
// v1.14, website/content/en/v1.14/getting-started/
// getting-started-with-karpenter/cloudformation.yaml, its six
// KarpenterController*Policy documents in order), with its ${...}
// parameters left in.
const karpenterControllerPolicy = `[
 {"Sid": "AllowScopedEC2InstanceAccessActions", "Action": ["ec2:RunInstances", "ec2:CreateFleet"], "Resource": ["arn:${Partition}:ec2:${Region}::image/*", "arn:${Partition}:ec2:${Region}::snapshot/*", "arn:${Partition}:ec2:${Region}:*:security-group/*", "arn:${Partition}:ec2:${Region}:*:subnet/*", "arn:${Partition}:ec2:${Region}:*:capacity-reservation/*", "arn:${Partition}:ec2:${Region}:*:placement-group/*"]},
 {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Action": ["ec2:RunInstances", "ec2:CreateFleet"], "Resource": ["arn:${Partition}:ec2:${Region}:*:launch-template/*"], "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
 {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"], "Resource": ["arn:${Partition}:ec2:${Region}:*:fleet/*", "arn:${Partition}:ec2:${Region}:*:instance/*", "arn:${Partition}:ec2:${Region}:*:volume/*", "arn:${Partition}:ec2:${Region}:*:network-interface/*", "arn:${Partition}:ec2:${Region}:*:launch-template/*", "arn:${Partition}:ec2:${Region}:*:spot-instances-request/*"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}"}, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
 {"Sid": "AllowScopedResourceCreationTagging", "Action": ["ec2:CreateTags"], "Resource": ["arn:${Partition}:ec2:${Region}:*:fleet/*", "arn:${Partition}:ec2:${Region}:*:instance/*", "arn:${Partition}:ec2:${Region}:*:volume/*", "arn:${Partition}:ec2:${Region}:*:network-interface/*", "arn:${Partition}:ec2:${Region}:*:launch-template/*", "arn:${Partition}:ec2:${Region}:*:spot-instances-request/*"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}", "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]}, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
 {"Sid": "AllowScopedResourceTagging", "Action": ["ec2:CreateTags"], "Resource": ["arn:${Partition}:ec2:${Region}:*:instance/*"], "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}, "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": "${ClusterName}"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
 {"Sid": "AllowScopedDeletion", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"], "Resource": ["arn:${Partition}:ec2:${Region}:*:instance/*", "arn:${Partition}:ec2:${Region}:*:launch-template/*"], "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned"}, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
 {"Sid": "AllowPassingInstanceRole", "Action": ["iam:PassRole"], "Resource": ["${NodeRoleArn}"], "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
 {"Sid": "AllowScopedInstanceProfileCreationActions", "Action": ["iam:CreateInstanceProfile"], "Resource": ["arn:${Partition}:iam::${AccountId}:instance-profile/*"], "Condition": {"StringEquals": {"aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}", "aws:RequestTag/topology.kubernetes.io/region": "${Region}"}, "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
 {"Sid": "AllowScopedInstanceProfileTagActions", "Action": ["iam:TagInstanceProfile"], "Resource": ["arn:${Partition}:iam::${AccountId}:instance-profile/*"], "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": "${Region}", "aws:RequestTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:RequestTag/eks:eks-cluster-name": "${ClusterName}", "aws:RequestTag/topology.kubernetes.io/region": "${Region}"}, "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
 {"Sid": "AllowScopedInstanceProfileActions", "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"], "Resource": ["arn:${Partition}:iam::${AccountId}:instance-profile/*"], "Condition": {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/${ClusterName}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": "${Region}"}, "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
 {"Sid": "AllowAPIServerEndpointDiscovery", "Action": ["eks:DescribeCluster"], "Resource": ["arn:${Partition}:eks:${Region}:${AccountId}:cluster/${ClusterName}"]},
 {"Sid": "AllowInterruptionQueueActions", "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], "Resource": ["${InterruptionQueueArn}"]},
 {"Sid": "AllowZonalShiftStatusReadOnly", "Action": ["arc-zonal-shift:GetManagedResource"], "Resource": ["*"], "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": "arn:${Partition}:eks:${Region}:${AccountId}:cluster/${ClusterName}"}}},
 {"Sid": "AllowRegionalReadActions", "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates", "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"], "Resource": ["*"], "Condition": {"StringEquals": {"aws:RequestedRegion": "${Region}"}}},
 {"Sid": "AllowSSMReadActions", "Action": ["ssm:GetParameter"], "Resource": ["arn:${Partition}:ssm:${Region}::parameter/aws/service/*"]},
 {"Sid": "AllowPricingReadActions", "Action": ["pricing:GetProducts"], "Resource": ["*"]},
 {"Sid": "AllowUnscopedInstanceProfileListAction", "Action": ["iam:ListInstanceProfiles"], "Resource": ["*"]},
 {"Sid": "AllowInstanceProfileReadActions", "Action": ["iam:GetInstanceProfile"], "Resource": ["arn:${Partition}:iam::${AccountId}:instance-profile/*"]}
]`

// The controller's policy is Karpenter's own, statement for statement:
// anything less and a node fails to launch (an instance profile cannot be
// created), anything more is a grant nobody reviewed.
func TestAWSKarpenterPolicyIsUpstreams(t *testing.T) {
	if !strings.HasPrefix(karpenter.ChartVersion, "1.14.") {
		t.Fatalf("the chart is %s: compare the controller policy with that version's and update the reference", karpenter.ChartVersion)
	}
	expand := strings.NewReplacer("${Partition}", "aws", "${Region}", "us-east-1", "${AccountId}", "123456789012", "${ClusterName}", "edw-aws",
		"${InterruptionQueueArn}", "arn:aws:sqs:us-east-1:123456789012:workload-interruption",
		"${NodeRoleArn}", "arn:aws:iam::123456789012:role/workload-node-role")
	var want []statement
	if err := json.Unmarshal([]byte(expand.Replace(karpenterControllerPolicy)), &want); err != nil {
		t.Fatal(err)
	}
	got := policy(t, one(t, aws(t), "aws:iam/rolePolicy:RolePolicy", "workload-controller-policy"))
	// Beside Karpenter's own statements, the one that lets EC2 create the
	// Spot service-linked role in an account that never launched Spot.
	want = append(want, statement{
		Sid: karpenter.SpotServiceLinkedRoleSid, Action: []string{"iam:CreateServiceLinkedRole"},
		Resource:  []string{"arn:aws:iam::123456789012:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"},
		Condition: map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "spot.amazonaws.com"}},
	})
	if diff := policyDiff(got, want); len(diff) > 0 {
		t.Errorf("the controller policy differs from Karpenter's:\n%s", strings.Join(diff, "\n"))
	}
}

// policyDiff lists the statements of got and want that differ, by Sid, in
// any order of statements, actions or resources.
func policyDiff(got, want []statement) []string {
	canonical := func(ss []statement) map[string]string {
		m := map[string]string{}
		for _, s := range ss {
			s.Action, s.Resource = slices.Sorted(slices.Values(s.Action)), slices.Sorted(slices.Values(s.Resource))
			s.Effect = ""
			b, _ := json.Marshal(s) // maps are marshalled in key order
			m[s.Sid] = string(b)
		}
		return m
	}
	g, w := canonical(got), canonical(want)
	var diff []string
	for _, sid := range slices.Sorted(maps.Keys(w)) {
		if g[sid] != w[sid] {
			diff = append(diff, "  "+sid+":\n    got  "+g[sid]+"\n    want "+w[sid])
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[sid]; !ok {
			diff = append(diff, "  "+sid+": not in Karpenter's policy")
		}
	}
	return diff
}

// Without spot among the capacity types the controller may not create the
// Spot service-linked role.
func TestAWSKarpenterSpotRoleOnlyWithSpot(t *testing.T) {
	p, err := renderStack(t, "aws", map[string]string{"edw:karpenterCapacityTypes": "on-demand"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range policy(t, one(t, p, "aws:iam/rolePolicy:RolePolicy", "workload-controller-policy")) {
		if s.Sid == karpenter.SpotServiceLinkedRoleSid || slices.Contains(s.Action, "iam:CreateServiceLinkedRole") {
			t.Errorf("on-demand only, the controller may still create a service-linked role: %+v", s)
		}
	}
}
