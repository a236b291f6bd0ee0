package standin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// refCase is a request that names other resources, and whether the cloud
// takes it.
type refCase struct {
	name, typ string
	in        map[string]any
	ok        bool
	// says is in the refusal.
	says string
}

// try makes each case on s, by name, and checks the answer.
func try(t *testing.T, s *Server, cases []refCase) {
	t.Helper()
	for _, c := range cases {
		urn := "urn:pulumi:dev::edw::" + c.typ + "::" + strings.ReplaceAll(c.name, " ", "-")
		err := attempt(t, s, urn, c.name, c.in)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case !c.ok && err == nil:
			t.Errorf("%s: accepted, want refused", c.name)
		case !c.ok && (!strings.Contains(err.Error(), c.says) || !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrAlreadyExists)):
			t.Errorf("%s: %v, want %q", c.name, err, c.says)
		}
	}
}

// made creates a resource of type typ named name and returns its id and
// outputs.
func made(t *testing.T, s *Server, typ, name string, in map[string]any) (string, resource.PropertyMap) {
	t.Helper()
	return create(t, s, "urn:pulumi:dev::edw::"+typ+"::"+name, resource.NewPropertyMapFromMap(in))
}

func TestAWSRefusesDanglingEC2IDs(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	vpc, _ := made(t, s, "aws:ec2/vpc:Vpc", "vpc", nil)
	subnet, _ := made(t, s, "aws:ec2/subnet:Subnet", "subnet", map[string]any{"vpcId": vpc})
	eip, _ := made(t, s, "aws:ec2/eip:Eip", "eip", nil)
	table, _ := made(t, s, "aws:ec2/routeTable:RouteTable", "table", map[string]any{"vpcId": vpc})
	_, cluster := made(t, s, clusterType, "cluster", map[string]any{"name": "edw", "vpcConfig": map[string]any{"subnetIds": []any{subnet}}})
	clusterSG := str(obj(cluster, "vpcConfig"), "clusterSecurityGroupId")
	try(t, s, []refCase{
		{"nat in a live subnet", "aws:ec2/natGateway:NatGateway", map[string]any{"subnetId": subnet, "allocationId": eip}, true, ""},
		{"nat of no address", "aws:ec2/natGateway:NatGateway", map[string]any{"subnetId": subnet, "allocationId": "eipalloc-0123456789abcdef0"}, false, "InvalidAllocationID.NotFound"},
		{"nat in no subnet", "aws:ec2/natGateway:NatGateway", map[string]any{"subnetId": "subnet-0123456789abcdef0", "allocationId": eip}, false, "InvalidSubnetID.NotFound"},
		{"association of live ones", associationType, map[string]any{"subnetId": subnet, "routeTableId": table}, true, ""},
		{"association of no table", associationType, map[string]any{"subnetId": subnet, "routeTableId": "rtb-0123456789abcdef0"}, false, "InvalidRouteTableID.NotFound"},
		{"route to no gateway", routeTableType, map[string]any{"vpcId": vpc, "routes": []any{map[string]any{"gatewayId": "igw-0123456789abcdef0"}}}, false, "InvalidInternetGatewayID.NotFound"},
		{"local route", routeTableType, map[string]any{"vpcId": vpc, "routes": []any{map[string]any{"gatewayId": "local"}}}, true, ""},
		{"tag on the cluster's group", "aws:ec2/tag:Tag", map[string]any{"resourceId": clusterSG, "key": "k", "value": "v"}, true, ""},
		{"tag on no group", "aws:ec2/tag:Tag", map[string]any{"resourceId": "sg-0123456789abcdef0", "key": "k", "value": "v"}, false, "InvalidGroup.NotFound"},
		{"node group in no subnet", "aws:eks/nodeGroup:NodeGroup", map[string]any{"clusterName": "edw", "subnetIds": []any{subnet, "subnet-0123456789abcdef0"}}, false, "InvalidSubnetID.NotFound"},
	})
}

func TestAWSRefusesDanglingNamesAndURLs(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	made(t, s, clusterType, "cluster", map[string]any{"name": "edw"})
	role, _ := made(t, s, "aws:iam/role:Role", "role", nil)
	rule, _ := made(t, s, "aws:cloudwatch/eventRule:EventRule", "rule", nil)
	repo, _ := made(t, s, "aws:ecr/repository:Repository", "repo", nil)
	queue, _ := made(t, s, "aws:sqs/queue:Queue", "queue", nil)
	workspace, _ := made(t, s, "aws:amp/workspace:Workspace", "ws", nil)
	gone := "https://sqs.eu-west-1.amazonaws.com/" + awsAccount + "/gone"
	try(t, s, []refCase{
		{"addon of a live cluster", "aws:eks/addon:Addon", map[string]any{"clusterName": "edw", "addonName": "coredns"}, true, ""},
		{"addon of no cluster", "aws:eks/addon:Addon", map[string]any{"clusterName": "gone", "addonName": "coredns"}, false, "No cluster found for name: gone"},
		{"attachment to a live role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", map[string]any{"role": role, "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}, true, ""},
		{"attachment to no role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", map[string]any{"role": "gone", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}, false, "NoSuchEntity"},
		{"inline policy of no role", "aws:iam/rolePolicy:RolePolicy", map[string]any{"role": "gone", "policy": `{"Statement":[]}`}, false, "NoSuchEntity"},
		{"target of a live rule", "aws:cloudwatch/eventTarget:EventTarget", map[string]any{"rule": rule, "arn": "arn:aws:sqs:eu-west-1:" + awsAccount + ":gone"}, true, ""},
		{"target of no rule", "aws:cloudwatch/eventTarget:EventTarget", map[string]any{"rule": "gone", "arn": "arn:aws:sqs:eu-west-1:" + awsAccount + ":gone"}, false, "ResourceNotFoundException: Rule gone"},
		{"lifecycle of a live repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy", map[string]any{"repository": repo}, true, ""},
		{"lifecycle of no repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy", map[string]any{"repository": "gone"}, false, "RepositoryNotFoundException"},
		{"policy of a live queue", "aws:sqs/queuePolicy:QueuePolicy", map[string]any{"queueUrl": queue}, true, ""},
		{"policy of no queue", "aws:sqs/queuePolicy:QueuePolicy", map[string]any{"queueUrl": gone}, false, "NonExistentQueue"},
		{"rules in a live workspace", "aws:amp/ruleGroupNamespace:RuleGroupNamespace", map[string]any{"workspaceId": workspace}, true, ""},
		{"alerts in no workspace", "aws:amp/alertManagerDefinition:AlertManagerDefinition", map[string]any{"workspaceId": "ws-gone"}, false, "ResourceNotFoundException: ws-gone"},
	})
}

func TestAWSRefusesDanglingARNs(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	made(t, s, clusterType, "cluster", map[string]any{"name": "edw", "accessConfig": map[string]any{"bootstrapClusterCreatorAdminPermissions": false}})
	_, role := made(t, s, "aws:iam/role:Role", "role", nil)
	_, topic := made(t, s, "aws:sns/topic:Topic", "topic", nil)
	_, dlq := made(t, s, "aws:sqs/queue:Queue", "dlq", nil)
	goneRole := "arn:aws:iam::" + awsAccount + ":role/gone"
	redrive := func(arn string) string { return `{"deadLetterTargetArn":"` + arn + `","maxReceiveCount":5}` }
	admin := "arn:aws:iam::" + awsAccount + ":role/ci/admin"
	made(t, s, accessEntryType, "admin", map[string]any{"clusterName": "edw", "principalArn": admin})
	try(t, s, []refCase{
		{"pod identity of a live role", "aws:eks/podIdentityAssociation:PodIdentityAssociation", map[string]any{"clusterName": "edw", "roleArn": str(role, "arn")}, true, ""},
		{"pod identity of no role", "aws:eks/podIdentityAssociation:PodIdentityAssociation", map[string]any{"clusterName": "edw", "roleArn": goneRole}, false, "InvalidParameterException: " + goneRole},
		{"pod identity of another account's role", "aws:eks/podIdentityAssociation:PodIdentityAssociation", map[string]any{"clusterName": "edw", "roleArn": "arn:aws:iam::210987654321:role/x"}, true, ""},
		{"attachment of no account policy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", map[string]any{"role": str(role, "name"), "policyArn": "arn:aws:iam::" + awsAccount + ":policy/gone"}, false, "NoSuchEntity: Policy"},
		{"policy of a live topic", "aws:sns/topicPolicy:TopicPolicy", map[string]any{"arn": str(topic, "arn"), "policy": `{"Statement":[{"Principal":"*"}]}`}, true, ""},
		{"policy of no topic", "aws:sns/topicPolicy:TopicPolicy", map[string]any{"arn": "arn:aws:sns:eu-west-1:" + awsAccount + ":gone", "policy": `{"Statement":[{"Principal":"*"}]}`}, false, "NotFound: Topic"},
		{"alarm to no topic", "aws:cloudwatch/metricAlarm:MetricAlarm", map[string]any{"alarmActions": []any{"arn:aws:sns:eu-west-1:" + awsAccount + ":gone"}}, true, ""},
		{"node entry of a live role", accessEntryType, map[string]any{"clusterName": "edw", "principalArn": str(role, "arn"), "type": "EC2_LINUX"}, true, ""},
		{"node entry of no role", accessEntryType, map[string]any{"clusterName": "edw", "principalArn": goneRole, "type": "EC2_LINUX"}, false, "invalid principal"},
		{"admin policy of an entry", accessPolicyType, map[string]any{"clusterName": "edw", "principalArn": admin}, true, ""},
		{"admin policy of no entry", accessPolicyType, map[string]any{"clusterName": "edw", "principalArn": goneRole}, false, "has no access entry"},
		{"queue to a live dead-letter queue", "aws:sqs/queue:Queue", map[string]any{"redrivePolicy": redrive(str(dlq, "arn"))}, true, ""},
		{"queue to no dead-letter queue", "aws:sqs/queue:Queue", map[string]any{"redrivePolicy": redrive("arn:aws:sqs:eu-west-1:" + awsAccount + ":gone")}, false, "Dead letter target does not exist"},
	})
}

// An image pushed to ECR needs its repository, which the aws stand-in
// keeps.
func TestImagesArePushedToLiveRepositories(t *testing.T) {
	env := Env{StateDir: t.TempDir()}
	repo, _ := made(t, newServer(t, "aws", env), "aws:ecr/repository:Repository", "images", nil)
	registry := awsAccount + ".dkr.ecr.eu-west-1.amazonaws.com/"
	image := func(name string) map[string]any {
		return map[string]any{"exports": []any{map[string]any{"image": map[string]any{"names": []any{registry + name}, "push": true}}}}
	}
	try(t, newServer(t, "docker-build", env), []refCase{
		{"image to a live repository", "docker-build:index:Image", image(repo), true, ""},
		{"image to no repository", "docker-build:index:Image", image("gone"), false, "name unknown"},
		{"image to another account", "docker-build:index:Image", map[string]any{"push": true, "tags": []any{"210987654321.dkr.ecr.eu-west-1.amazonaws.com/x:1"}}, true, ""},
	})
}

// azureGroup creates a resource group and returns its name and the inputs
// that place a resource in it.
func azureGroup(t *testing.T, s *Server) (string, map[string]any) {
	t.Helper()
	_, rg := made(t, s, "azure-native:resources:ResourceGroup", "rg", nil)
	return str(rg, "name"), map[string]any{"resourceGroupName": str(rg, "name")}
}

func TestAzureRefusesDanglingParentsAndIDs(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	group, inGroup := azureGroup(t, s)
	_, account := made(t, s, "azure-native:storage:StorageAccount", "storage", inGroup)
	_, identity := made(t, s, "azure-native:managedidentity:UserAssignedIdentity", "consumer", inGroup)
	clusterID, _ := made(t, s, "azure-native:containerservice/v20241002preview:ManagedCluster", "cluster", inGroup)
	ruleID, _ := made(t, s, "azure-native:insights:DataCollectionRule", "rule", inGroup)
	actions, _ := made(t, s, "azure-native:insights:ActionGroup", "alerts", map[string]any{"resourceGroupName": group, "groupShortName": "alerts"})
	in := func(m map[string]any) map[string]any {
		m["resourceGroupName"] = group
		return m
	}
	gone := strings.Replace(clusterID, "/managedClusters/", "/managedClusters/gone", 1)
	try(t, s, []refCase{
		{"queue in a live account", "azure-native:storage:Queue", in(map[string]any{"accountName": str(account, "name"), "queueName": "work"}), true, ""},
		{"queue in no account", "azure-native:storage:Queue", in(map[string]any{"accountName": "gone", "queueName": "work"}), false, "ParentResourceNotFound"},
		{"table in no account", "azure-native:storage:Table", in(map[string]any{"accountName": "gone", "tableName": "t"}), false, "ParentResourceNotFound"},
		{"credential of a live identity", "azure-native:managedidentity:FederatedIdentityCredential", in(map[string]any{"resourceName": str(identity, "name")}), true, ""},
		{"credential of no identity", "azure-native:managedidentity:FederatedIdentityCredential", in(map[string]any{"resourceName": "gone"}), false, "ParentResourceNotFound"},
		{"association to a live cluster", "azure-native:insights:DataCollectionRuleAssociation", map[string]any{"resourceUri": strings.ToLower(clusterID), "dataCollectionRuleId": ruleID}, true, ""},
		{"association to no cluster", "azure-native:insights:DataCollectionRuleAssociation", map[string]any{"resourceUri": gone, "dataCollectionRuleId": ruleID}, false, "ResourceNotFound"},
		{"alerts to a live action group", "azure-native:alertsmanagement:PrometheusRuleGroup", in(map[string]any{"rules": []any{map[string]any{"actions": []any{map[string]any{"actionGroupId": actions}}}}}), true, ""},
		{"alerts to no action group", "azure-native:alertsmanagement:PrometheusRuleGroup", in(map[string]any{"rules": []any{map[string]any{"actions": []any{map[string]any{"actionGroupId": actions + "gone"}}}}}), false, "ResourceNotFound"},
	})
}

func TestAzureRefusesDanglingAndDuplicateRoleAssignments(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	_, inGroup := azureGroup(t, s)
	_, identity := made(t, s, "azure-native:managedidentity:UserAssignedIdentity", "consumer", inGroup)
	registry, _ := made(t, s, "azure-native:containerregistry:Registry", "images", inGroup)
	clusterID, cluster := made(t, s, "azure-native:containerservice/v20241002preview:ManagedCluster", "cluster", inGroup)
	kubelet := str(obj(obj(cluster, "identityProfile"), "kubeletidentity"), "objectId")
	role := func(definition string) string {
		return "/subscriptions/" + azureSubscription + "/providers/Microsoft.Authorization/roleDefinitions/" + definition
	}
	assign := func(scope, principal, principalType, definition string) map[string]any {
		return map[string]any{"scope": scope, "principalId": principal, "principalType": principalType, "roleDefinitionId": role(definition)}
	}
	const typ = "azure-native:authorization:RoleAssignment"
	gone := randomGUID()
	try(t, s, []refCase{
		{"pull for the kubelet", typ, assign(registry, kubelet, "ServicePrincipal", "7f951dda-4ed3-4680-a7ca-43fe172d538d"), true, ""},
		{"pull for the kubelet again", typ, assign(strings.ToUpper(registry), kubelet, "ServicePrincipal", "7f951dda-4ed3-4680-a7ca-43fe172d538d"), false, "RoleAssignmentExists"},
		{"admin for the deployer", typ, assign(clusterID, azureObject, "User", aksClusterRoles[0]), true, ""},
		{"user for a group", typ, assign(clusterID, gone, "Group", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"), true, ""},
		{"queue for an identity", typ, assign(registry, str(identity, "principalId"), "ServicePrincipal", "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), true, ""},
		{"queue for no identity", typ, assign(registry, gone, "ServicePrincipal", "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), false, "PrincipalNotFound"},
		{"on no registry", typ, assign(registry+"gone", azureObject, "User", "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), false, "ResourceNotFound"},
		{"on no group", typ, assign("/subscriptions/"+azureSubscription+"/resourceGroups/gone", azureObject, "User", "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), false, "ResourceGroupNotFound"},
		{"on the subscription", typ, assign("/subscriptions/"+azureSubscription, azureObject, "User", "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"), true, ""},
	})

	// An update of an assignment is no second one.
	id, out := made(t, s, typ, "reader", assign(clusterID, azureObject, "User", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"))
	again := assign(clusterID, azureObject, "User", "4abbcc35-e782-43d8-92c5-2d3f1bd2253f")
	again["roleAssignmentName"] = str(out, "roleAssignmentName")
	if err := refusesRoleAssignment("roleAssignmentName", resource.NewPropertyMapFromMap(again), s.store); err != nil {
		t.Errorf("updating %s: %v", id, err)
	}
}

// A preview resolves nothing: what a reference names may come with the
// same update.
func TestPreviewsTakeDanglingReferences(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	in := resource.PropertyMap{"queueUrl": resource.NewProperty("https://sqs.eu-west-1.amazonaws.com/" + awsAccount + "/later")}
	if _, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: "urn:pulumi:dev::edw::aws:sqs/queuePolicy:QueuePolicy::p", Properties: wireOf(t, in), Preview: true,
	}); err != nil {
		t.Errorf("preview: %v", err)
	}
}
