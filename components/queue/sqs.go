// Package queue creates the work queue: on AWS an SQS standard queue with
// its dead-letter queue.
package queue

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/identity"
)

// SqsToken is the component's type token.
const SqsToken = "edw:queue:Sqs"

const (
	// longPollSeconds is SQS's longest receive wait.
	longPollSeconds = 20
	// deadLetterRetentionSeconds keeps dead letters the longest SQS allows
	// (14 days), for someone to look at them.
	deadLetterRetentionSeconds = 1209600
)

// SqsArgs configure the queue.
type SqsArgs struct {
	// VisibilityTimeoutSeconds is the default lease of a received message.
	// Required.
	VisibilityTimeoutSeconds int
	// MaxReceiveCount is how many receives move a message to the
	// dead-letter queue. Required.
	MaxReceiveCount int
	// RetentionSeconds is how long the work queue keeps a message. Required.
	RetentionSeconds int
	// Tags for both queues. Optional.
	Tags pulumi.StringMap
}

// Sqs is a standard queue with server-side encryption, long polling, a
// redrive policy to a dead-letter queue, and TLS required.
type Sqs struct {
	pulumi.ResourceState

	QueueUrl           pulumi.StringOutput `pulumi:"queueUrl"`
	QueueArn           pulumi.StringOutput `pulumi:"queueArn"`
	QueueName          pulumi.StringOutput `pulumi:"queueName"`
	DeadLetterQueueUrl pulumi.StringOutput `pulumi:"deadLetterQueueUrl"`
	DeadLetterQueueArn pulumi.StringOutput `pulumi:"deadLetterQueueArn"`
	// DeadLetterQueueName is the dimension of its CloudWatch metrics.
	DeadLetterQueueName pulumi.StringOutput `pulumi:"deadLetterQueueName"`
}

// NewSqs creates the queues.
func NewSqs(ctx *pulumi.Context, name string, args *SqsArgs, opts ...pulumi.ResourceOption) (*Sqs, error) {
	if args == nil || args.VisibilityTimeoutSeconds <= 0 || args.MaxReceiveCount <= 0 || args.RetentionSeconds <= 0 {
		return nil, fmt.Errorf("queue %q: VisibilityTimeoutSeconds, MaxReceiveCount and RetentionSeconds must be positive", name)
	}
	c := &Sqs{}
	if err := ctx.RegisterComponentResource(SqsToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	dlq, err := sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		MessageRetentionSeconds: pulumi.Int(deadLetterRetentionSeconds),
		SqsManagedSseEnabled:    pulumi.Bool(true),
		Tags:                    args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": args.MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	q, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{
		VisibilityTimeoutSeconds: pulumi.Int(args.VisibilityTimeoutSeconds),
		ReceiveWaitTimeSeconds:   pulumi.Int(longPollSeconds),
		MessageRetentionSeconds:  pulumi.Int(args.RetentionSeconds),
		SqsManagedSseEnabled:     pulumi.Bool(true),
		RedrivePolicy:            redrive,
		Tags:                     args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	for _, queue := range []struct {
		name string
		q    *sqs.Queue
	}{{name, q}, {name + "-dlq", dlq}} {
		if _, err := sqs.NewQueuePolicy(ctx, queue.name+"-tls-only", &sqs.QueuePolicyArgs{
			QueueUrl: queue.q.Url,
			Policy:   DenyInsecureTransport(queue.q.Arn),
		}, parent); err != nil {
			return nil, err
		}
	}
	c.QueueUrl, c.QueueArn, c.QueueName = q.Url, q.Arn, q.Name
	c.DeadLetterQueueUrl, c.DeadLetterQueueArn, c.DeadLetterQueueName = dlq.Url, dlq.Arn, dlq.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"queueUrl": c.QueueUrl, "queueArn": c.QueueArn, "queueName": c.QueueName,
		"deadLetterQueueUrl": c.DeadLetterQueueUrl, "deadLetterQueueArn": c.DeadLetterQueueArn,
		"deadLetterQueueName": c.DeadLetterQueueName,
	})
}

// DenyInsecureTransport is a queue policy refusing every request made
// without TLS, optionally followed by more statements. A resource policy's
// statements must name their principal: here everyone.
func DenyInsecureTransport(queueArn pulumi.StringOutput, more ...identity.Statement) pulumi.StringOutput {
	return identity.PolicyDocument(append([]identity.Statement{{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: identity.Everyone,
		Actions:   []string{"sqs:*"},
		Resources: pulumi.StringArray{queueArn},
		Condition: map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}},
	}}, more...)...)
}
