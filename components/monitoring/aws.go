package monitoring

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/amp"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// AwsToken is the component's type token.
const AwsToken = "edw:monitoring:Aws"

const (
	// sqsNamespace holds the queues' metrics, and sqsMetricPeriod is
	// their one-minute interval.
	sqsNamespace    = "AWS/SQS"
	sqsMetricPeriod = 60
)

// AwsArgs configure the AWS monitoring.
type AwsArgs struct {
	// QueueName and DeadLetterQueueName are the queues' names, the
	// dimension of their CloudWatch metrics. Required.
	QueueName, DeadLetterQueueName pulumi.StringInput
	// Thresholds set the alarms and the alert rules. Required.
	Thresholds Thresholds
	// Email, when set, is subscribed to the alerts (AWS asks it to confirm).
	Email string
	// Scraper, when set, has the consumer's metrics collected into Amazon
	// Managed Service for Prometheus and alerted on there. Optional: the
	// managed scraper needs the cluster's private endpoint.
	Scraper *ScraperArgs
	// Partition, Region and AccountID are where the alerts are published
	// from.
	Partition, Region, AccountID string
	// Tags for every resource. Optional.
	Tags pulumi.StringMap
}

// ScraperArgs place the managed Prometheus scraper.
type ScraperArgs struct {
	// ClusterArn is the EKS cluster scraped. Required.
	ClusterArn pulumi.StringInput
	// SubnetIds and SecurityGroupIds are where the scraper's network
	// interfaces go: the nodes' subnets and a group the nodes accept.
	// Required.
	SubnetIds, SecurityGroupIds pulumi.StringArrayInput
	// Namespace is the workload's: its annotated pods are scraped.
	// Required.
	Namespace pulumi.StringInput
}

// Aws is the notification topic, the queues' CloudWatch alarms, and
// optionally a managed Prometheus workspace with a scraper, the alert rules
// and an alert manager that publishes to the topic.
type Aws struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput `pulumi:"topicArn"`
	// WorkspaceId and PrometheusEndpoint are empty without a scraper.
	WorkspaceId        pulumi.StringOutput `pulumi:"workspaceId"`
	PrometheusEndpoint pulumi.StringOutput `pulumi:"prometheusEndpoint"`
}

// NewAws creates the monitoring.
func NewAws(ctx *pulumi.Context, name string, args *AwsArgs, opts ...pulumi.ResourceOption) (*Aws, error) {
	if args == nil || args.QueueName == nil || args.DeadLetterQueueName == nil || args.Partition == "" || args.Region == "" || args.AccountID == "" {
		return nil, fmt.Errorf("monitoring %q: QueueName, DeadLetterQueueName, Partition, Region and AccountID are required", name)
	}
	c := &Aws{}
	if err := ctx.RegisterComponentResource(AwsToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	key, err := newTopicKey(ctx, name, args, parent)
	if err != nil {
		return nil, err
	}
	topic, err := sns.NewTopic(ctx, name+"-alerts", &sns.TopicArgs{KmsMasterKeyId: key.Arn, Tags: args.Tags}, parent)
	if err != nil {
		return nil, err
	}
	if args.Email != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(args.Email),
		}, parent); err != nil {
			return nil, err
		}
	}
	window := int(args.Thresholds.Window.Seconds())
	alarms := map[string]*cloudwatch.MetricAlarmArgs{
		"-set-aside": {
			AlarmDescription: pulumi.String(fmt.Sprintf("More than %d messages reached the dead-letter queue in %s: they were "+
				"received too often without being written, and wait there for someone to look.", args.Thresholds.SetAside, args.Thresholds.Window)),
			// What arrived in the window is the rise of the queue's depth;
			// an idle queue reports nothing after a few hours, which FILL
			// reads as empty, so the first dead letter after one counts.
			// The depth itself counts every dead letter still kept (14
			// days): an alarm on it would stay in ALARM after the first and
			// never tell of the next. NumberOfMessagesSent leaves out what
			// the redrive policy moves (Amazon SQS developer guide,
			// "Available CloudWatch metrics for Amazon SQS").
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				cloudwatch.MetricAlarmMetricQueryArgs{
					Id: pulumi.String("depth"),
					Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
						Namespace: pulumi.String(sqsNamespace), MetricName: pulumi.String("ApproximateNumberOfMessagesVisible"),
						Dimensions: pulumi.StringMap{"QueueName": args.DeadLetterQueueName},
						Period:     pulumi.Int(window), Stat: pulumi.String("Maximum"),
					},
				},
				cloudwatch.MetricAlarmMetricQueryArgs{
					Id: pulumi.String("setAside"), Expression: pulumi.String("DIFF(FILL(depth, 0))"),
					Label: pulumi.String("messages set aside"), ReturnData: pulumi.Bool(true),
				},
			},
			Threshold: pulumi.Float64(float64(args.Thresholds.SetAside)),
		},
		"-backlog-age": {
			AlarmDescription: pulumi.String(fmt.Sprintf("The oldest message of the work queue waited more than %d s: "+
				"the consumers do not keep up, or do not run.", args.Thresholds.BacklogAgeSeconds)),
			Namespace:  pulumi.String(sqsNamespace),
			MetricName: pulumi.String("ApproximateAgeOfOldestMessage"),
			Dimensions: pulumi.StringMap{"QueueName": args.QueueName},
			Statistic:  pulumi.String("Maximum"),
			Period:     pulumi.Int(sqsMetricPeriod),
			Threshold:  pulumi.Float64(float64(args.Thresholds.BacklogAgeSeconds)),
		},
	}
	for _, suffix := range slices.Sorted(maps.Keys(alarms)) {
		a := alarms[suffix]
		a.EvaluationPeriods = pulumi.Int(1)
		a.ComparisonOperator = pulumi.String("GreaterThanThreshold")
		// An empty queue stops reporting after a while: silence is not
		// an alert.
		a.TreatMissingData = pulumi.String("notBreaching")
		a.AlarmActions = pulumi.Array{topic.Arn}
		a.OkActions = pulumi.Array{topic.Arn}
		a.Tags = args.Tags
		if _, err := cloudwatch.NewMetricAlarm(ctx, name+suffix, a, parent); err != nil {
			return nil, err
		}
	}

	cloudWatch := identity.Statement{
		Sid:       "CloudWatchAlarms",
		Principal: map[string]any{"Service": "cloudwatch.amazonaws.com"},
		Actions:   []string{"sns:Publish"},
		Resources: pulumi.StringArray{topic.Arn},
		Condition: map[string]map[string]any{"StringEquals": {"aws:SourceAccount": args.AccountID}},
	}
	// The policy replaces the topic's default one, so it names every
	// publisher; the account's own principals keep their IAM permissions.
	policy := identity.PolicyDocument(cloudWatch)
	c.WorkspaceId, c.PrometheusEndpoint = pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
	if args.Scraper != nil {
		ws, err := newPrometheus(ctx, name, args, topic, parent)
		if err != nil {
			return nil, err
		}
		c.WorkspaceId, c.PrometheusEndpoint = ws.ID().ToStringOutput(), ws.PrometheusEndpoint
		// The condition names the workspace: known once it exists.
		policy = ws.Arn.ApplyT(func(workspace string) pulumi.StringOutput {
			return identity.PolicyDocument(cloudWatch, identity.Statement{
				Sid:       "ManagedPrometheusAlerts",
				Principal: map[string]any{"Service": "aps.amazonaws.com"},
				Actions:   []string{"sns:Publish", "sns:GetTopicAttributes"},
				Resources: pulumi.StringArray{topic.Arn},
				Condition: map[string]map[string]any{
					"ArnEquals":    {"aws:SourceArn": workspace},
					"StringEquals": {"aws:SourceAccount": args.AccountID},
				},
			})
		}).(pulumi.StringOutput)
	}
	if _, err := sns.NewTopicPolicy(ctx, name+"-alerts", &sns.TopicPolicyArgs{Arn: topic.Arn, Policy: policy}, parent); err != nil {
		return nil, err
	}
	c.TopicArn = topic.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"topicArn": c.TopicArn, "workspaceId": c.WorkspaceId, "prometheusEndpoint": c.PrometheusEndpoint,
	})
}

// newPrometheus creates the workspace, its scraper of the workload's pods,
// the alert rules and the alert manager that sends them to topic.
func newPrometheus(ctx *pulumi.Context, name string, args *AwsArgs, topic *sns.Topic, parent pulumi.ResourceOption) (*amp.Workspace, error) {
	ws, err := amp.NewWorkspace(ctx, name, &amp.WorkspaceArgs{Alias: pulumi.String(name), Tags: args.Tags}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := amp.NewScraper(ctx, name, &amp.ScraperArgs{
		Alias: pulumi.String(name),
		Source: &amp.ScraperSourceArgs{Eks: &amp.ScraperSourceEksArgs{
			ClusterArn: args.Scraper.ClusterArn, SubnetIds: args.Scraper.SubnetIds, SecurityGroupIds: args.Scraper.SecurityGroupIds,
		}},
		Destination: &amp.ScraperDestinationArgs{Amp: &amp.ScraperDestinationAmpArgs{WorkspaceArn: ws.Arn}},
		ScrapeConfiguration: args.Scraper.Namespace.ToStringOutput().ApplyT(func(ns string) (string, error) {
			return ScrapeConfig(ns, scrapeInterval)
		}).(pulumi.StringOutput),
		Tags: args.Tags,
	}, parent); err != nil {
		return nil, err
	}
	rules, err := RulesFile(Rules(args.Thresholds))
	if err != nil {
		return nil, fmt.Errorf("monitoring %q: %w", name, err)
	}
	if _, err := amp.NewRuleGroupNamespace(ctx, name, &amp.RuleGroupNamespaceArgs{
		WorkspaceId: ws.ID(), Data: pulumi.String(rules),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := amp.NewAlertManagerDefinition(ctx, name, &amp.AlertManagerDefinitionArgs{
		WorkspaceId: ws.ID(),
		Definition: topic.Arn.ApplyT(func(arn string) (string, error) {
			return alertManagerConfig(arn, args.Region)
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, err
	}
	return ws, nil
}

// alertPublishers are the services that publish the alerts to the topic.
var alertPublishers = []string{"cloudwatch.amazonaws.com", "aps.amazonaws.com"}

// newTopicKey creates the customer-managed key that encrypts the alert
// topic. The AWS-managed SNS key will not do: its policy cannot be
// changed, and CloudWatch and managed Prometheus publish only to a topic
// whose key lets them generate data keys (Amazon SNS developer guide,
// "Enable compatibility between event sources from AWS services and
// encrypted topics").
func newTopicKey(ctx *pulumi.Context, name string, args *AwsArgs, parent pulumi.ResourceOption) (*kms.Key, error) {
	policy := identity.PolicyDocument(identity.Statement{
		// The key's default policy: the account's IAM policies govern it.
		Sid:       "AccountAdministersTheKey",
		Principal: map[string]any{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", args.Partition, args.AccountID)},
		Actions:   []string{"kms:*"},
		Resources: pulumi.StringArray{pulumi.String("*")},
	}, identity.Statement{
		// As AWS documents it, without conditions: SNS uses the key for
		// whoever publishes, and the topic's own policy already admits only
		// this account's alarms and workspace. A condition the publishing
		// path does not carry would drop every alert without a word.
		Sid:       "AlertPublishersEncrypt",
		Principal: map[string]any{"Service": alertPublishers},
		Actions:   []string{"kms:Decrypt", "kms:GenerateDataKey*"},
		Resources: pulumi.StringArray{pulumi.String("*")},
	})
	return kms.NewKey(ctx, name+"-alerts", &kms.KeyArgs{
		Description:       pulumi.String("Encrypts the edw alert topic."),
		EnableKeyRotation: pulumi.Bool(true),
		// The shortest wait KMS allows before a destroyed key is gone.
		DeletionWindowInDays: pulumi.Int(7),
		Policy:               policy,
		Tags:                 args.Tags,
	}, parent)
}
