package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

type awsBackend struct {
	sqs              *sqs.Client
	ddb              *dynamodb.Client
	queue, table     string
	maxReceives      int
	queueURL, dlqURL string
	emulators        map[string]string
}

func newAWS(ctx context.Context, env, emulators map[string]string) (*awsBackend, error) {
	if err := required(env, "SQS_QUEUE_URL", "DYNAMODB_TABLE", "AWS_REGION", "EDW_MAX_DELIVERIES"); err != nil {
		return nil, err
	}
	if err := required(emulators, "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"); err != nil {
		return nil, err
	}
	maxReceives, err := atoi(env, "EDW_MAX_DELIVERIES")
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(env["AWS_REGION"]),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(emulators["AWS_ACCESS_KEY_ID"], emulators["AWS_SECRET_ACCESS_KEY"], "")))
	if err != nil {
		return nil, err
	}
	return &awsBackend{
		sqs:         sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(emulators["AWS_ENDPOINT_URL_SQS"]) }),
		ddb:         dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(emulators["AWS_ENDPOINT_URL_DYNAMODB"]) }),
		queue:       path.Base(env["SQS_QUEUE_URL"]),
		table:       env["DYNAMODB_TABLE"],
		maxReceives: maxReceives,
		emulators:   emulators,
	}, nil
}

// Prepare mirrors the stack: a dead-letter queue the work queue redrives to
// after the consumer's maximum deliveries, and a table keyed by id.
func (b *awsBackend) Prepare(ctx context.Context) error {
	dlq, err := b.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(b.queue + "-dlq")})
	if err != nil {
		return fmt.Errorf("dead-letter queue: %w", err)
	}
	b.dlqURL = *dlq.QueueUrl
	attrs, err := b.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return fmt.Errorf("dead-letter queue: %w", err)
	}
	redrive, _ := json.Marshal(map[string]string{"maxReceiveCount": strconv.Itoa(b.maxReceives), "deadLetterTargetArn": attrs.Attributes["QueueArn"]})
	q, err := b.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(b.queue), Attributes: map[string]string{"RedrivePolicy": string(redrive)}})
	if err != nil {
		return fmt.Errorf("queue %q: %w", b.queue, err)
	}
	b.queueURL = *q.QueueUrl
	_, err = b.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &b.table,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err != nil {
		return fmt.Errorf("table %q: %w", b.table, err)
	}
	// Writes fail with ResourceNotFoundException until the table is ACTIVE.
	waiter := dynamodb.NewTableExistsWaiter(b.ddb, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &b.table}, 20*time.Second); err != nil {
		return fmt.Errorf("table %q: waiting until active: %w", b.table, err)
	}
	return nil
}

func (b *awsBackend) Depth(ctx context.Context) (int, error) {
	return b.count(ctx, b.queueURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
}

func (b *awsBackend) SetAside(ctx context.Context) (int, error) {
	return b.count(ctx, b.dlqURL, sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
}

func (b *awsBackend) count(ctx context.Context, url string, names ...sqstypes.QueueAttributeName) (int, error) {
	out, err := b.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: names})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, n := range names {
		v, err := strconv.Atoi(out.Attributes[string(n)])
		if err != nil {
			return 0, fmt.Errorf("queue attribute %s=%q: %w", n, out.Attributes[string(n)], err)
		}
		total += v
	}
	return total, nil
}

func (b *awsBackend) Rows(ctx context.Context) (Rows, error) {
	rows := newRows()
	// The consumer's attribute names (apps/internal/store/dynamodb).
	p := dynamodb.NewScanPaginator(b.ddb, &dynamodb.ScanInput{
		TableName:                &b.table,
		ProjectionExpression:     aws.String("#id, #src, #dest"),
		ExpressionAttributeNames: map[string]string{"#id": "id", "#src": "srcStamp", "#dest": "destStamp"},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Rows{}, fmt.Errorf("scan %q: %w", b.table, err)
		}
		for _, item := range page.Items {
			rows.add(str(item["id"]), str(item["srcStamp"]), str(item["destStamp"]))
		}
	}
	return rows, nil
}

func str(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func (b *awsBackend) Env() []string {
	return []string{
		"SQS_QUEUE_URL=" + b.queueURL,
		"DYNAMODB_TABLE=" + b.table,
		"AWS_ENDPOINT_URL_SQS=" + b.emulators["AWS_ENDPOINT_URL_SQS"],
		"AWS_ENDPOINT_URL_DYNAMODB=" + b.emulators["AWS_ENDPOINT_URL_DYNAMODB"],
		"AWS_ACCESS_KEY_ID=" + b.emulators["AWS_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY=" + b.emulators["AWS_SECRET_ACCESS_KEY"],
	}
}

func (b *awsBackend) QueueURL() string { return b.queueURL }

func (b *awsBackend) Send(ctx context.Context, bodies []string) error {
	for _, body := range bodies {
		if _, err := b.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &b.queueURL, MessageBody: aws.String(body)}); err != nil {
			return fmt.Errorf("send to %s: %w", b.queueURL, err)
		}
	}
	return nil
}
