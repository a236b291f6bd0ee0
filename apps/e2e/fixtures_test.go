package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edw-project/edw/apps/internal/cloud"
	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/sqs"
	"github.com/edw-project/edw/apps/internal/queue/storagequeue"
	"github.com/edw-project/edw/apps/internal/store/table"
)

// fixture is a fresh queue, dead-letter or poison queue and table in one
// cloud's emulators, removed when the test ends.
type fixture interface {
	// env is the commands' settings; a non-empty storeURL replaces the
	// store's endpoint (to put a faultProxy in between).
	env(storeURL string) []string
	// storeEndpoint is the store emulator's base URL.
	storeEndpoint() string
	// queue is a client of the work queue, for sending bodies as they are.
	queue() queue.Queue
	// depth counts the messages in the work queue, leased ones included.
	depth(t testing.TB) int
	// deadLetters returns the bodies in the dead-letter or poison queue.
	deadLetters(t testing.TB) []string
	// rows returns the stored rows.
	rows(t testing.TB) []row
}

type row struct{ ID, Msg, SrcStamp, DestStamp string }

type fixtureOptions struct {
	// maxReceiveCount is the SQS redrive policy's (Azure's limit is the
	// consumer's EDW_MAX_DELIVERIES).
	maxReceiveCount int
}

// defaultMaxReceiveCount matches the stack's default redrive policy.
const defaultMaxReceiveCount = 5

var clouds = []struct {
	name string
	new  func(testing.TB, fixtureOptions) fixture
}{
	{cloud.AWS, newAWS},
	{cloud.Azure, newAzure},
}

// forEachCloud runs test once per cloud, in parallel.
func forEachCloud(t *testing.T, test func(t *testing.T, newFixture func(fixtureOptions) fixture)) {
	requireEmulators(t)
	for _, c := range clouds {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			test(t, func(o fixtureOptions) fixture { return c.new(t, o) })
		})
	}
}

func suffix() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testHTTP is an HTTP client that resends on a closed kept-alive
// connection, which the SQS emulator produces now and then.
var testHTTP = obs.NewAPIRequests(prometheus.NewRegistry())

// --- AWS: SQS + DynamoDB emulators ---

type awsFixture struct {
	sqs      *awssqs.Client
	ddb      *awsddb.Client
	queueURL string
	dlqURL   string
	table    string
}

func newAWS(t testing.TB, o fixtureOptions) fixture {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &awsFixture{
		sqs:   awssqs.NewFromConfig(cfg, func(o *awssqs.Options) { o.HTTPClient = testHTTP.Client("sqs") }),
		ddb:   awsddb.NewFromConfig(cfg, func(o *awsddb.Options) { o.HTTPClient = testHTTP.Client("dynamodb") }),
		table: "edw-" + suffix(),
	}
	name := "edw-" + suffix()
	dlq, err := f.sqs.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		t.Fatalf("create dead-letter queue: %v", err)
	}
	f.dlqURL = *dlq.QueueUrl
	attrs, err := f.sqs.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("dead-letter queue arn: %v", err)
	}
	maxReceive := o.maxReceiveCount
	if maxReceive == 0 {
		maxReceive = defaultMaxReceiveCount
	}
	redrive, _ := json.Marshal(map[string]any{"maxReceiveCount": maxReceive, "deadLetterTargetArn": attrs.Attributes["QueueArn"]})
	q, err := f.sqs.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"RedrivePolicy": string(redrive)}})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	f.queueURL = *q.QueueUrl
	_, err = f.ddb.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName:            &f.table,
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("create table: %v", err)
	}
	// A new table is CREATING for a while, and writes to it fail with
	// ResourceNotFoundException until it is ACTIVE, in dynalite as in AWS.
	waiter := awsddb.NewTableExistsWaiter(f.ddb, func(o *awsddb.TableExistsWaiterOptions) { o.MinDelay = 50 * time.Millisecond })
	if err := waiter.Wait(ctx, &awsddb.DescribeTableInput{TableName: &f.table}, 20*time.Second); err != nil {
		t.Fatalf("table %q never became active: %v", f.table, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.sqs.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: &f.queueURL})
		f.sqs.DeleteQueue(ctx, &awssqs.DeleteQueueInput{QueueUrl: &f.dlqURL})
		f.ddb.DeleteTable(ctx, &awsddb.DeleteTableInput{TableName: &f.table})
	})
	return f
}

func (f *awsFixture) env(storeURL string) []string {
	env := []string{"EDW_CLOUD=aws", "SQS_QUEUE_URL=" + f.queueURL, "DYNAMODB_TABLE=" + f.table}
	if storeURL != "" {
		env = append(env, "AWS_ENDPOINT_URL_DYNAMODB="+storeURL)
	}
	return env
}

func (f *awsFixture) storeEndpoint() string { return os.Getenv("AWS_ENDPOINT_URL_DYNAMODB") }

func (f *awsFixture) queue() queue.Queue { return sqs.New(f.sqs, f.queueURL) }

// depth is the queue's messages, leased ones included, as SQS reports them
// apart: visible and not visible.
func (f *awsFixture) depth(t testing.TB) int {
	t.Helper()
	names := []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}
	out, err := f.sqs.GetQueueAttributes(ctxTimeout(t, 10*time.Second), &awssqs.GetQueueAttributesInput{QueueUrl: &f.queueURL, AttributeNames: names})
	if err != nil {
		t.Fatalf("queue depth: %v", err)
	}
	total := 0
	for _, name := range names {
		n, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			t.Fatalf("queue depth: %s: %v", name, err)
		}
		total += n
	}
	return total
}

func (f *awsFixture) deadLetters(t testing.TB) []string {
	t.Helper()
	var bodies []string
	for {
		out, err := f.sqs.ReceiveMessage(ctxTimeout(t, 10*time.Second), &awssqs.ReceiveMessageInput{QueueUrl: &f.dlqURL, MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			t.Fatalf("receive from the dead-letter queue: %v", err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, *m.Body)
		}
	}
}

func (f *awsFixture) rows(t testing.TB) []row {
	t.Helper()
	var rows []row
	p := awsddb.NewScanPaginator(f.ddb, &awsddb.ScanInput{TableName: &f.table})
	for p.HasMorePages() {
		page, err := p.NextPage(ctxTimeout(t, 30*time.Second))
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			s := func(k string) string {
				if v, ok := it[k].(*ddbtypes.AttributeValueMemberS); ok {
					return v.Value
				}
				return ""
			}
			rows = append(rows, row{ID: s("id"), Msg: s("msg"), SrcStamp: s("srcStamp"), DestStamp: s("destStamp")})
		}
	}
	return rows
}

// --- Azure: Azurite's queue and table services ---

type azureFixture struct {
	connStr string
	work    *azqueue.QueueClient
	poison  *azqueue.QueueClient
	table   *aztables.Client
	names   struct{ queue, table string }
}

func newAzure(t testing.TB, _ fixtureOptions) fixture {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	f := &azureFixture{connStr: os.Getenv("AZURE_STORAGE_CONNECTION_STRING")}
	qsvc, err := azqueue.NewServiceClientFromConnectionString(f.connStr, nil)
	if err != nil {
		t.Fatal(err)
	}
	tsvc, err := aztables.NewServiceClientFromConnectionString(f.connStr, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := suffix()
	f.names.queue, f.names.table = "edw-"+id, "edw"+id
	f.work = qsvc.NewQueueClient(f.names.queue)
	f.poison = qsvc.NewQueueClient(f.names.queue + cloud.PoisonSuffix)
	f.table = tsvc.NewClient(f.names.table)
	for _, q := range []*azqueue.QueueClient{f.work, f.poison} {
		if _, err := q.Create(ctx, nil); err != nil {
			t.Fatalf("create queue: %v", err)
		}
	}
	if _, err := f.table.CreateTable(ctx, nil); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		f.work.Delete(ctx, nil)
		f.poison.Delete(ctx, nil)
		f.table.Delete(ctx, nil)
	})
	return f
}

func (f *azureFixture) env(storeURL string) []string {
	cs := f.connStr
	if storeURL != "" {
		parts := strings.Split(cs, ";")
		for i, p := range parts {
			if ep, ok := strings.CutPrefix(p, "TableEndpoint="); ok {
				u, _ := url.Parse(ep)
				parts[i] = "TableEndpoint=" + storeURL + u.Path
			}
		}
		cs = strings.Join(parts, ";")
	}
	return []string{"EDW_CLOUD=azure", "AZURE_QUEUE_NAME=" + f.names.queue, "AZURE_TABLE_NAME=" + f.names.table, "AZURE_STORAGE_CONNECTION_STRING=" + cs}
}

func (f *azureFixture) storeEndpoint() string {
	for _, p := range strings.Split(f.connStr, ";") {
		if ep, ok := strings.CutPrefix(p, "TableEndpoint="); ok {
			u, _ := url.Parse(ep)
			return u.Scheme + "://" + u.Host
		}
	}
	return ""
}

func (f *azureFixture) queue() queue.Queue { return storagequeue.New(f.work, f.poison) }

func (f *azureFixture) depth(t testing.TB) int {
	t.Helper()
	out, err := f.work.GetProperties(ctxTimeout(t, 10*time.Second), nil)
	if err != nil {
		t.Fatalf("queue depth: %v", err)
	}
	return int(*out.ApproximateMessagesCount)
}

func (f *azureFixture) deadLetters(t testing.TB) []string {
	t.Helper()
	out, err := f.poison.PeekMessages(ctxTimeout(t, 10*time.Second), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		t.Fatalf("peek the poison queue: %v", err)
	}
	var bodies []string
	for _, m := range out.Messages {
		bodies = append(bodies, *m.MessageText)
	}
	return bodies
}

func (f *azureFixture) rows(t testing.TB) []row {
	t.Helper()
	var rows []row
	p := f.table.NewListEntitiesPager(nil)
	for p.More() {
		page, err := p.NextPage(ctxTimeout(t, 30*time.Second))
		if err != nil {
			t.Fatalf("list entities: %v", err)
		}
		for _, raw := range page.Entities {
			var e table.Entity
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("entity %s: %v", raw, err)
			}
			if want := table.PartitionKey(e.RowKey); e.PartitionKey != want {
				t.Fatalf("row %s in partition %q, want %q", e.RowKey, e.PartitionKey, want)
			}
			rows = append(rows, row{ID: e.RowKey, Msg: e.Msg, SrcStamp: e.SrcStamp, DestStamp: e.DestStamp})
		}
	}
	return rows
}
