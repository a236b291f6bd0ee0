package standin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsRef is an input of a resource that names another: by the other's id
// (its name, queue URL or workspace id), by an EC2 id, or by an ARN.
type awsRef struct {
	// path locates the input (refsAt).
	path string
	// to is the type named by id, or ec2ID or anyARN.
	to string
	// missing is the cloud's answer for a value that names nothing live,
	// with a %s for the value; EC2 ids and ARNs have answers of their own
	// (ec2Missing, arnMissing) when it is empty.
	missing string
}

const (
	// ec2ID: any EC2 id the stand-in assigns (awsIDPrefixes), a cluster's
	// security group included.
	ec2ID = "ec2"
	// anyARN: an ARN of the stack's account, of whatever resource.
	anyARN = "arn"
)

// The answers of the APIs that take a reference.
const (
	// Amazon EKS API reference, CreateAddon, CreateAccessEntry,
	// AssociateAccessPolicy, CreatePodIdentityAssociation, CreateNodegroup:
	// ResourceNotFoundException.
	eksNoCluster = "ResourceNotFoundException: No cluster found for name: %s."
	// The same pages: InvalidParameterException for a role or subnet the
	// request names that IAM or EC2 does not have.
	eksInvalid = "InvalidParameterException: %s does not exist"
	// IAM API reference, AttachRolePolicy and PutRolePolicy: NoSuchEntity.
	iamNoRole   = "NoSuchEntity: The role with name %s cannot be found."
	iamNoPolicy = "NoSuchEntity: Policy %s does not exist or is not attachable."
	// Amazon ECR API reference, PutLifecyclePolicy:
	// RepositoryNotFoundException.
	ecrNoRepository = "RepositoryNotFoundException: The repository with name '%s' does not exist in the registry with id '" + awsAccount + "'"
	// Amazon SQS API reference, SetQueueAttributes: QueueDoesNotExist
	// (AWS.SimpleQueueService.NonExistentQueue in the query protocol).
	sqsNoQueue = "AWS.SimpleQueueService.NonExistentQueue: The specified queue %s does not exist."
	// Amazon EventBridge API reference, PutTargets: ResourceNotFoundException.
	eventsNoRule = "ResourceNotFoundException: Rule %s does not exist on EventBus default."
	// Amazon SNS API reference, SetTopicAttributes: NotFound.
	snsNoTopic = "NotFound: Topic %s does not exist."
	// Amazon Managed Service for Prometheus API reference,
	// CreateAlertManagerDefinition, CreateRuleGroupsNamespace, CreateScraper:
	// ResourceNotFoundException.
	ampNotFound = "ResourceNotFoundException: %s not found."
)

// awsRefs are the inputs of each type that name another resource, from
// the render's inputs (build/render/aws/resources.json) and pulumi-eks's
// children (eks.go, nodegroup.go). Left out because the API takes them
// unresolved and fails only when it uses them: an EventBridge target's arn
// (Amazon EventBridge user guide, "Troubleshooting": a missing target
// shows as FailedInvocations), an alarm's alarmActions and okActions
// (PutMetricAlarm stores them; the console reports a topic it cannot
// find), a topic's kmsMasterKeyId (Amazon SNS developer guide, "Encryption
// at rest": the key is used, so checked, at publish); and the principals
// of access entries that are not nodes', which may come from the
// configuration and name IAM users and roles the stand-in never made.
var awsRefs = map[string][]awsRef{
	"aws:ec2/subnet:Subnet":                               {{"vpcId", ec2ID, ""}},
	"aws:ec2/internetGateway:InternetGateway":             {{"vpcId", ec2ID, ""}},
	"aws:ec2/securityGroup:SecurityGroup":                 {{"vpcId", ec2ID, ""}},
	"aws:ec2/securityGroupRule:SecurityGroupRule":         {{"securityGroupId", ec2ID, ""}, {"sourceSecurityGroupId", ec2ID, ""}},
	"aws:ec2/natGateway:NatGateway":                       {{"allocationId", ec2ID, ""}, {"subnetId", ec2ID, ""}},
	"aws:ec2/routeTable:RouteTable":                       {{"vpcId", ec2ID, ""}, {"routes[].gatewayId", ec2ID, ""}, {"routes[].natGatewayId", ec2ID, ""}},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": {{"subnetId", ec2ID, ""}, {"routeTableId", ec2ID, ""}, {"gatewayId", ec2ID, ""}},
	"aws:ec2/tag:Tag":                                     {{"resourceId", ec2ID, ""}},
	"aws:ec2/launchTemplate:LaunchTemplate":               {{"vpcSecurityGroupIds[]", ec2ID, ""}},
	"aws:eks/cluster:Cluster": {
		{"vpcConfig.subnetIds[]", ec2ID, ""}, {"vpcConfig.securityGroupIds[]", ec2ID, ""}, {"roleArn", anyARN, eksInvalid},
	},
	"aws:eks/nodeGroup:NodeGroup": {
		{"clusterName", clusterType, eksNoCluster}, {"nodeRoleArn", anyARN, eksInvalid}, {"subnetIds[]", ec2ID, ""},
	},
	"aws:eks/addon:Addon":                                     {{"clusterName", clusterType, eksNoCluster}, {"serviceAccountRoleArn", anyARN, eksInvalid}},
	"aws:eks/accessEntry:AccessEntry":                         {{"clusterName", clusterType, eksNoCluster}},
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation": {{"clusterName", clusterType, eksNoCluster}},
	"aws:eks/podIdentityAssociation:PodIdentityAssociation":   {{"clusterName", clusterType, eksNoCluster}, {"roleArn", anyARN, eksInvalid}},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":       {{"role", "aws:iam/role:Role", iamNoRole}, {"policyArn", anyARN, iamNoPolicy}},
	"aws:iam/rolePolicy:RolePolicy":                           {{"role", "aws:iam/role:Role", iamNoRole}},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                 {{"repository", "aws:ecr/repository:Repository", ecrNoRepository}},
	"aws:cloudwatch/eventTarget:EventTarget":                  {{"rule", "aws:cloudwatch/eventRule:EventRule", eventsNoRule}},
	"aws:sqs/queuePolicy:QueuePolicy":                         {{"queueUrl", "aws:sqs/queue:Queue", sqsNoQueue}},
	"aws:sns/topicPolicy:TopicPolicy":                         {{"arn", anyARN, snsNoTopic}},
	"aws:amp/alertManagerDefinition:AlertManagerDefinition":   {{"workspaceId", "aws:amp/workspace:Workspace", ampNotFound}},
	"aws:amp/ruleGroupNamespace:RuleGroupNamespace":           {{"workspaceId", "aws:amp/workspace:Workspace", ampNotFound}},
	"aws:amp/scraper:Scraper": {
		{"destination.amp.workspaceArn", anyARN, ampNotFound}, {"source.eks.clusterArn", anyARN, ampNotFound},
		{"source.eks.subnetIds[]", ec2ID, ""}, {"source.eks.securityGroupIds[]", ec2ID, ""},
	},
}

// ec2Missing are EC2's answers for an id of each prefix that names nothing
// (Amazon EC2 API reference, "Error codes for the Amazon EC2 API").
var ec2Missing = map[string]string{
	"vpc":      "InvalidVpcID.NotFound: The vpc ID '%s' does not exist",
	"subnet":   "InvalidSubnetID.NotFound: The subnet ID '%s' does not exist",
	"sg":       "InvalidGroup.NotFound: The security group ID '%s' does not exist",
	"igw":      "InvalidInternetGatewayID.NotFound: The internet gateway ID '%s' does not exist",
	"nat":      "NatGatewayNotFound: The NAT gateway ID '%s' does not exist",
	"eipalloc": "InvalidAllocationID.NotFound: The allocation ID '%s' does not exist",
	"rtb":      "InvalidRouteTableID.NotFound: The routeTable ID '%s' does not exist",
	"lt":       "InvalidLaunchTemplateId.NotFound: The launch template ID '%s' does not exist",
}

// refusesDangling answers as the API that takes a resource of type typ
// does when one of its references names nothing live.
func refusesDangling(typ string, in resource.PropertyMap, live finder) error {
	for _, ref := range awsRefs[typ] {
		for _, v := range refsAt(in, ref.path) {
			if err := resolveAWS(ref, v, live); err != nil {
				return err
			}
		}
	}
	if typ == "aws:sqs/queue:Queue" {
		return refusesDeadLetterTarget(in, live)
	}
	return nil
}

// resolveAWS returns the cloud's answer when v, the value of ref, names
// nothing live, or nil.
func resolveAWS(ref awsRef, v string, live finder) error {
	var match func(Resource) bool
	switch ref.to {
	case anyARN:
		if !ownARN(v) {
			return nil
		}
		match = func(r Resource) bool { return storedString(r.Outputs["arn"]) == v }
	case ec2ID:
		prefix, _, _ := strings.Cut(v, "-")
		if _, ours := ec2Missing[prefix]; !ours {
			// Not an id the stand-in's EC2 assigns ("local" routes, a
			// virtual private gateway): not its to judge.
			return nil
		}
		match = func(r Resource) bool { return r.ID == v || clusterSecurityGroup(r) == v }
		ref.missing = ec2Missing[prefix]
	default:
		match = func(r Resource) bool { return r.Type == ref.to && r.ID == v }
	}
	_, ok, err := live.find(match)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf(ref.missing+": %w", v, ErrNotFound)
	}
	return nil
}

// ownARN reports whether arn names something of the stack's account, which
// the stand-in made if it exists. AWS's managed policies (account "aws"),
// public SSM parameters and other global names (no account) and other
// accounts' resources are not the stand-in's.
func ownARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[4] == awsAccount
}

// clusterSecurityGroup is the security group EKS made for a cluster r, or
// "" for anything else: it is live while the cluster is, though the
// stand-in keeps it as none of its own resources.
func clusterSecurityGroup(r Resource) string {
	if r.Type != clusterType {
		return ""
	}
	vpc, _ := r.Outputs["vpcConfig"].(map[string]any)
	return storedString(vpc["clusterSecurityGroupId"])
}

// refusesDeadLetterTarget answers as SQS does for a redrive policy whose
// dead-letter queue does not exist (Amazon SQS API reference, CreateQueue
// and SetQueueAttributes, RedrivePolicy; developer guide, "Using
// dead-letter queues": the dead-letter queue must exist).
func refusesDeadLetterTarget(in resource.PropertyMap, live finder) error {
	policy := str(in, "redrivePolicy")
	if policy == "" {
		return nil
	}
	var redrive struct{ DeadLetterTargetArn string }
	if err := json.Unmarshal([]byte(policy), &redrive); err != nil {
		return fmt.Errorf("InvalidParameterValue: Value %s for parameter RedrivePolicy is invalid. Reason: %w", policy, err)
	}
	target := redrive.DeadLetterTargetArn
	if !ownARN(target) {
		return nil
	}
	_, ok, err := live.find(func(r Resource) bool {
		return r.Type == "aws:sqs/queue:Queue" && storedString(r.Outputs["arn"]) == target
	})
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("InvalidParameterValue: Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist: %w", policy, ErrNotFound)
}
