package karpenter

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/identity"
	"github.com/edw-project/edw/components/queue"
	"github.com/edw-project/edw/versions"
)

// EksToken is the component's type token.
const EksToken = "edw:karpenter:Eks"

const (
	// ChartVersion pins the Karpenter and karpenter-crd charts (and so the
	// CRDs the manifests are checked against).
	ChartVersion = versions.Karpenter
	chartRepo    = "oci://public.ecr.aws/karpenter/karpenter"
	crdChartRepo = "oci://public.ecr.aws/karpenter/karpenter-crd"
	// Namespace and ServiceAccount run the controller.
	Namespace      = "kube-system"
	ServiceAccount = "karpenter"
	// NodeClassAPIVersion is the EC2NodeClass API.
	NodeClassAPIVersion = "karpenter.k8s.aws/v1"
	// autoModeNodeClass is the node class EKS Auto Mode provides.
	autoModeNodeClassGroup = "eks.amazonaws.com"
	autoModeNodeClass      = "default"
	// interruptionRetentionSeconds: an interruption notice is useless after
	// a few minutes.
	interruptionRetentionSeconds = 300
	// rootVolumeSize is the root volume of the nodes Karpenter launches.
	rootVolumeSize = "50Gi"
)

// interruptionEvents are the EventBridge events that warn Karpenter of a
// node's end, so it drains the node in time.
var interruptionEvents = []struct{ name, source, detailType string }{
	{"health", "aws.health", "AWS Health Event"},
	{"spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"},
	{"rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"},
	{"state-change", "aws.ec2", "EC2 Instance State-change Notification"},
	{"capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"},
}

// EksArgs configure Karpenter and the workload's NodePool.
type EksArgs struct {
	// ClusterName and ClusterArn name the EKS cluster. Required.
	ClusterName pulumi.StringInput
	ClusterArn  pulumi.StringInput
	// Cluster is the plain cluster name, for tag keys and chart values.
	// Required.
	Cluster string
	// Partition, Region and AccountID place the controller's ARNs.
	// Required unless AutoMode.
	Partition         cluster.Partition
	Region, AccountID string
	// AutoMode uses EKS Auto Mode's Karpenter: no controller, no node
	// role, the built-in node class. Optional; default false.
	AutoMode bool
	// NodePool shapes the nodes. Required.
	NodePool NodePoolArgs
	// InstanceCategories are the EC2 instance categories (c, m, r...).
	// Required.
	InstanceCategories []string
	// AMIAlias picks the node image (EC2NodeClass amiSelectorTerms alias).
	// Required unless AutoMode.
	AMIAlias string
	// SystemNodeSelector and SystemToleration place the controller on the
	// system nodes. Required unless AutoMode.
	SystemNodeSelector map[string]string
	SystemToleration   string
	// SystemNodes must exist before the controller, or with AutoMode the
	// NodePool. Optional.
	SystemNodes []pulumi.Resource
	// Tags for the AWS resources. Optional.
	Tags pulumi.StringMap
}

// Eks is Karpenter with the workload's NodePool.
type Eks struct {
	pulumi.ResourceState

	NodePoolName          pulumi.StringOutput `pulumi:"nodePoolName"`
	NodeClassName         pulumi.StringOutput `pulumi:"nodeClassName"`
	ControllerRoleArn     pulumi.StringOutput `pulumi:"controllerRoleArn"`
	NodeRoleName          pulumi.StringOutput `pulumi:"nodeRoleName"`
	InterruptionQueueName pulumi.StringOutput `pulumi:"interruptionQueueName"`

	// NodePool is the pool; the workload depends on it so that it is
	// deleted first and Karpenter still runs when the pool's nodes go.
	NodePool pulumi.Resource `pulumi:"-"`
}

// NewEks creates Karpenter and the NodePool; pass the cluster's provider in
// opts.
func NewEks(ctx *pulumi.Context, name string, args *EksArgs, opts ...pulumi.ResourceOption) (*Eks, error) {
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("karpenter pool %q: %w", name, err)
	}
	c := &Eks{}
	if err := ctx.RegisterComponentResource(EksToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	nodeClassRef := pulumi.Map{"group": pulumi.String(autoModeNodeClassGroup), "kind": pulumi.String("NodeClass"), "name": pulumi.String(autoModeNodeClass)}
	categoryKey := "eks.amazonaws.com/instance-category"
	c.NodeClassName = pulumi.String(autoModeNodeClass).ToStringOutput()
	c.ControllerRoleArn, c.NodeRoleName, c.InterruptionQueueName = empty(), empty(), empty()
	// Auto Mode's pool waits for what the cluster set up for it (its
	// network policy controller); otherwise for the controller it runs on.
	controller := args.SystemNodes
	if !args.AutoMode {
		ctl, err := newController(ctx, name, args, parent)
		if err != nil {
			return nil, err
		}
		nodeClass, err := newNodeClass(ctx, name, args, ctl.nodeRoleName, parent, pulumi.DependsOn(ctl.charts))
		if err != nil {
			return nil, err
		}
		nodeClassRef = pulumi.Map{"group": pulumi.String("karpenter.k8s.aws"), "kind": pulumi.String("EC2NodeClass"), "name": nodeClass.Metadata.Name().Elem()}
		categoryKey = "karpenter.k8s.aws/instance-category"
		controller = append(ctl.charts, nodeClass)
		c.NodeClassName = nodeClass.Metadata.Name().Elem()
		c.ControllerRoleArn, c.NodeRoleName, c.InterruptionQueueName = ctl.roleArn, ctl.nodeRoleName, ctl.queueName
	}
	// Karpenter refuses to change a NodePool's node class in place
	// ("nodeClassRef.group is immutable", its CRD's validation), and a
	// preview's server-side dry run meets the same refusal: Auto Mode's
	// pool has a name of its own, so that a switch creates it beside the
	// old one and then deletes the old one.
	poolName := name
	if args.AutoMode {
		poolName = name + "-auto"
	}
	pool, err := newNodePool(ctx, name, poolName, args.NodePool, nodeClassRef, requirement(categoryKey, args.InstanceCategories), parent, pulumi.DependsOn(controller))
	if err != nil {
		return nil, err
	}
	c.NodePool = pool
	c.NodePoolName = pool.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"nodePoolName": c.NodePoolName, "nodeClassName": c.NodeClassName, "controllerRoleArn": c.ControllerRoleArn,
		"nodeRoleName": c.NodeRoleName, "interruptionQueueName": c.InterruptionQueueName,
	})
}

func (a *EksArgs) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("args are required")
	case a.ClusterName == nil || a.ClusterArn == nil || a.Cluster == "":
		return fmt.Errorf("ClusterName, ClusterArn and Cluster are required")
	case !a.AutoMode && (a.Partition.Name == "" || a.Region == "" || a.AccountID == ""):
		return fmt.Errorf("Partition, Region and AccountID are required to install the controller")
	case len(a.InstanceCategories) == 0 || (!a.AutoMode && a.AMIAlias == ""):
		return fmt.Errorf("InstanceCategories and, without AutoMode, AMIAlias are required")
	}
	return a.NodePool.validate()
}

func empty() pulumi.StringOutput { return pulumi.String("").ToStringOutput() }

// controller is what newController made.
type controller struct {
	roleArn, nodeRoleName, queueName pulumi.StringOutput
	// charts run Karpenter; node classes and pools depend on them.
	charts []pulumi.Resource
}

// newController creates the node role and its access entry, the
// interruption queue and its rules, the controller's identity and the
// charts. The charts depend on all of them, so at destroy Karpenter goes
// first while its IAM, queue and system nodes still exist.
func newController(ctx *pulumi.Context, name string, args *EksArgs, parent pulumi.ResourceOption) (*controller, error) {
	nodeRole, err := cluster.NewNodeRole(ctx, name+"-node", args.Partition, args.Tags, parent)
	if err != nil {
		return nil, err
	}
	entry, err := awseks.NewAccessEntry(ctx, name+"-node", &awseks.AccessEntryArgs{
		ClusterName: args.ClusterName, PrincipalArn: nodeRole.Role.Arn, Type: pulumi.String("EC2_LINUX"), Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	q, rules, err := newInterruptionQueue(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	acct := account{partition: args.Partition.Name, region: args.Region, id: args.AccountID, cluster: args.Cluster}
	id, err := identity.NewPodIdentity(ctx, name+"-controller", &identity.PodIdentityArgs{
		ClusterName:    args.ClusterName,
		Namespace:      pulumi.String(Namespace),
		ServiceAccount: ServiceAccount,
		Statements:     controllerStatements(acct, nodeRole.Role.Arn, q.Arn, args.ClusterArn, slices.Contains(args.NodePool.CapacityTypes, CapacitySpot)),
		Tags:           args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	crds, err := helmv4.NewChart(ctx, name+"-crd", &helmv4.ChartArgs{
		Chart: pulumi.String(crdChartRepo), Version: pulumi.String(ChartVersion), Namespace: pulumi.String(Namespace),
	}, parent)
	if err != nil {
		return nil, err
	}
	deps := append([]pulumi.Resource{crds, entry, q}, id.Ready...)
	deps = append(deps, rules...)
	deps = append(append(deps, nodeRole.Attachments...), args.SystemNodes...)
	chart, err := helmv4.NewChart(ctx, name+"-controller", &helmv4.ChartArgs{
		Chart:     pulumi.String(chartRepo),
		Version:   pulumi.String(ChartVersion),
		Namespace: pulumi.String(Namespace),
		// The karpenter-crd chart owns the CRDs, so that upgrades update them.
		SkipCrds: pulumi.Bool(true),
		Values: pulumi.Map{
			"settings": pulumi.Map{
				"clusterName":       pulumi.String(args.Cluster),
				"interruptionQueue": q.Name,
			},
			"serviceAccount": pulumi.Map{"name": pulumi.String(ServiceAccount)},
			"nodeSelector":   pulumi.ToStringMap(args.SystemNodeSelector),
			"tolerations": pulumi.Array{pulumi.Map{
				"key": pulumi.String(args.SystemToleration), "operator": pulumi.String("Exists"), "effect": pulumi.String("NoSchedule"),
			}},
			// Pods must resolve the API endpoint before cluster DNS runs.
			"dnsPolicy": pulumi.String("Default"),
		},
	}, parent, pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	return &controller{roleArn: id.RoleArn, nodeRoleName: nodeRole.Role.Name, queueName: q.Name, charts: []pulumi.Resource{crds, chart}}, nil
}

// newInterruptionQueue creates the queue EventBridge feeds with the events
// that end nodes, and the rules that do it.
func newInterruptionQueue(ctx *pulumi.Context, name string, args *EksArgs, parent pulumi.ResourceOption) (*sqs.Queue, []pulumi.Resource, error) {
	q, err := sqs.NewQueue(ctx, name+"-interruption", &sqs.QueueArgs{
		MessageRetentionSeconds: pulumi.Int(interruptionRetentionSeconds),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    args.Tags,
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	rules := make([]*cloudwatch.EventRule, len(interruptionEvents))
	var ruleArns []any
	for i, ev := range interruptionEvents {
		pattern, _ := json.Marshal(map[string][]string{"source": {ev.source}, "detail-type": {ev.detailType}}) // strings always marshal
		if rules[i], err = cloudwatch.NewEventRule(ctx, name+"-"+ev.name, &cloudwatch.EventRuleArgs{
			EventPattern: pulumi.String(pattern), Tags: args.Tags,
		}, parent); err != nil {
			return nil, nil, err
		}
		ruleArns = append(ruleArns, rules[i].Arn)
	}
	// EventBridge sends as events.amazonaws.com for whichever rule targets
	// the queue, any account's: the grant names this stack's rules, as the
	// EventBridge user guide's policy for SQS targets does ("Using
	// resource-based policies for Amazon EventBridge", Amazon SQS
	// permissions). sqs.amazonaws.com is in Karpenter's template, as is.
	document := pulumi.All(ruleArns...).ApplyT(func(arns []any) pulumi.StringOutput {
		return queue.DenyInsecureTransport(q.Arn, identity.Statement{
			Sid:       "AllowEventBridge",
			Principal: map[string]any{"Service": "events.amazonaws.com"},
			Actions:   []string{"sqs:SendMessage"},
			Resources: pulumi.StringArray{q.Arn},
			Condition: map[string]map[string]any{"ArnEquals": {"aws:SourceArn": arns}},
		}, identity.Statement{
			Sid:       "AllowSQS",
			Principal: map[string]any{"Service": "sqs.amazonaws.com"},
			Actions:   []string{"sqs:SendMessage"},
			Resources: pulumi.StringArray{q.Arn},
		})
	}).(pulumi.StringOutput)
	policy, err := sqs.NewQueuePolicy(ctx, name+"-interruption", &sqs.QueuePolicyArgs{QueueUrl: q.Url, Policy: document}, parent)
	if err != nil {
		return nil, nil, err
	}
	// A target goes live after the grant: EventBridge drops, without
	// retrying, an event the queue refuses ("Event retry policy and using
	// dead-letter queues").
	deps := []pulumi.Resource{policy}
	for i, ev := range interruptionEvents {
		target, err := cloudwatch.NewEventTarget(ctx, name+"-"+ev.name, &cloudwatch.EventTargetArgs{Rule: rules[i].Name, Arn: q.Arn},
			parent, pulumi.DependsOn([]pulumi.Resource{policy}))
		if err != nil {
			return nil, nil, err
		}
		deps = append(deps, rules[i], target)
	}
	return q, deps, nil
}

// newNodeClass creates the EC2NodeClass: the node role, subnets and
// security group found by the discovery tag, IMDSv2 only with one hop (pods
// cannot reach the node's credentials), and an encrypted root volume.
func newNodeClass(ctx *pulumi.Context, name string, args *EksArgs, nodeRole pulumi.StringOutput, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	discovery := pulumi.Map{"tags": pulumi.StringMap{cluster.DiscoveryTag: pulumi.String(args.Cluster)}}
	return apiextensions.NewCustomResource(ctx, name+"-nodeclass", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(NodeClassAPIVersion),
		Kind:       pulumi.String("EC2NodeClass"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(name)},
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"role":                       nodeRole,
			"amiSelectorTerms":           pulumi.Array{pulumi.Map{"alias": pulumi.String(args.AMIAlias)}},
			"subnetSelectorTerms":        pulumi.Array{discovery},
			"securityGroupSelectorTerms": pulumi.Array{discovery},
			"metadataOptions": pulumi.Map{
				"httpEndpoint":            pulumi.String("enabled"),
				"httpProtocolIPv6":        pulumi.String("disabled"),
				"httpPutResponseHopLimit": pulumi.Int(1),
				"httpTokens":              pulumi.String("required"),
			},
			"blockDeviceMappings": pulumi.Array{pulumi.Map{
				"deviceName": pulumi.String(rootDevice(args.AMIAlias)),
				"ebs": pulumi.Map{
					"volumeSize": pulumi.String(rootVolumeSize), "volumeType": pulumi.String("gp3"),
					"encrypted": pulumi.Bool(true), "deleteOnTermination": pulumi.Bool(true),
				},
			}},
			"tags": args.Tags,
		}},
	}, opts...)
}

// rootDevice is the root volume's device: Bottlerocket keeps its OS on
// /dev/xvda and data on /dev/xvdb; AL2023 has one volume, /dev/xvda.
func rootDevice(amiAlias string) string {
	if strings.HasPrefix(amiAlias, "bottlerocket@") {
		return "/dev/xvdb"
	}
	return "/dev/xvda"
}
