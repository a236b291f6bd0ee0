// Package cloud declares the settings that pick and address the queue and
// the store, and opens them for AWS (SQS + DynamoDB) or Azure (Storage
// Queue + Table).
package cloud

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/edw-project/edw/apps/internal/config"
	"github.com/edw-project/edw/apps/internal/obs"
	"github.com/edw-project/edw/apps/internal/queue"
	"github.com/edw-project/edw/apps/internal/queue/sqs"
	"github.com/edw-project/edw/apps/internal/queue/storagequeue"
	"github.com/edw-project/edw/apps/internal/store"
	"github.com/edw-project/edw/apps/internal/store/dynamodb"
	"github.com/edw-project/edw/apps/internal/store/table"
)

// Cloud names, as EDW_CLOUD takes them.
const (
	AWS   = "aws"
	Azure = "azure"
)

// PoisonSuffix names an Azure work queue's poison queue: <queue>-poison.
const PoisonSuffix = "-poison"

// cosmosEndpointExample is the form of a Cosmos DB for Table endpoint.
const cosmosEndpointExample = "https://<account>.table.cosmos.azure.com:443/"

// The SDKs' own retries are kept short: the consumer retries with its own
// backoff and holds the messages' leases meanwhile, and a store call must
// take well under half a lease.
var (
	azureRetry   = policy.RetryOptions{MaxRetries: 3, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second}
	awsRetryWait = 2 * time.Second
)

var (
	storageAccount = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	storageQueue   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	storageTable   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)
	dynamoTable    = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

// Settings address one cloud's queue and, for the consumer, its store.
type Settings struct {
	Cloud *string

	SQSQueueURL   *string
	DynamoDBTable *string
	AWSRegion     *string

	StorageAccount   *string
	ConnectionString *string
	QueueName        *string
	PoisonQueueName  *string
	TableName        *string
	TableEndpoint    *string

	withStore bool
}

// Declare adds the backend settings to s; withStore adds the table's.
func Declare(s *config.Settings, withStore bool) *Settings {
	b := &Settings{
		withStore:        withStore,
		Cloud:            s.Choice("cloud", "EDW_CLOUD", "", []string{AWS, Azure}, "cloud whose queue and table to use"),
		SQSQueueURL:      s.String("sqs-queue-url", "SQS_QUEUE_URL", "", "AWS: URL of the SQS queue"),
		AWSRegion:        s.String("aws-region", "AWS_REGION", "", "AWS: region of the queue and table"),
		StorageAccount:   s.String("storage-account", "AZURE_STORAGE_ACCOUNT_NAME", "", "Azure: storage account (workload identity or other default credential)"),
		ConnectionString: s.String("storage-connection-string", "AZURE_STORAGE_CONNECTION_STRING", "", "Azure: connection string instead of the account (emulator, development)"),
		QueueName:        s.String("queue-name", "AZURE_QUEUE_NAME", "", "Azure: storage queue"),
	}
	if withStore {
		b.DynamoDBTable = s.String("dynamodb-table", "DYNAMODB_TABLE", "", "AWS: DynamoDB table (hash key id, string)")
		b.TableName = s.String("table-name", "AZURE_TABLE_NAME", "", "Azure: storage table")
		b.TableEndpoint = s.String("table-endpoint", "AZURE_TABLE_ENDPOINT", "", "Azure: table service, like "+cosmosEndpointExample+" for Cosmos DB for Table (default the storage account's; a connection string's own endpoints take its place)")
		b.PoisonQueueName = s.String("poison-queue-name", "AZURE_POISON_QUEUE_NAME", "", "Azure: queue for poison messages (default <queue>"+PoisonSuffix+")")
	}
	s.Check(b.validate)
	return b
}

func (b *Settings) validate(name func(flagName, env string) string) error {
	switch *b.Cloud {
	case AWS:
		return b.validateAWS(name)
	case Azure:
		return b.validateAzure(name)
	}
	return nil
}

func (b *Settings) validateAWS(name func(flagName, env string) string) error {
	if u, err := url.Parse(*b.SQSQueueURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return &config.Error{Name: name("sqs-queue-url", "SQS_QUEUE_URL"), Want: fmt.Sprintf("want the queue URL, like https://sqs.<region>.amazonaws.com/<account>/<queue>, got %q", *b.SQSQueueURL)}
	}
	if *b.AWSRegion == "" {
		return &config.Error{Name: name("aws-region", "AWS_REGION"), Want: "want the region of the queue and table, like us-east-1"}
	}
	if b.withStore && !dynamoTable.MatchString(*b.DynamoDBTable) {
		return &config.Error{Name: name("dynamodb-table", "DYNAMODB_TABLE"), Want: fmt.Sprintf("want a DynamoDB table name (3-255 of letters, digits, '_', '-', '.'), got %q", *b.DynamoDBTable)}
	}
	return nil
}

func (b *Settings) validateAzure(name func(flagName, env string) string) error {
	if *b.ConnectionString == "" && !storageAccount.MatchString(*b.StorageAccount) {
		return &config.Error{Name: name("storage-account", "AZURE_STORAGE_ACCOUNT_NAME"), Want: fmt.Sprintf("want a storage account name (3-24 lowercase letters and digits), or set AZURE_STORAGE_CONNECTION_STRING; got %q", *b.StorageAccount)}
	}
	if !validQueueName(*b.QueueName) {
		return &config.Error{Name: name("queue-name", "AZURE_QUEUE_NAME"), Want: fmt.Sprintf("want a storage queue name (3-63 lowercase letters, digits and single hyphens), got %q", *b.QueueName)}
	}
	if !b.withStore {
		return nil
	}
	if !storageTable.MatchString(*b.TableName) {
		return &config.Error{Name: name("table-name", "AZURE_TABLE_NAME"), Want: fmt.Sprintf("want a storage table name (3-63 letters and digits, starting with a letter), got %q", *b.TableName)}
	}
	if e := *b.TableEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return &config.Error{Name: name("table-endpoint", "AZURE_TABLE_ENDPOINT"), Want: fmt.Sprintf("want the table service's https endpoint, like %s, got %q", cosmosEndpointExample, e)}
		}
	}
	if *b.PoisonQueueName == "" {
		*b.PoisonQueueName = *b.QueueName + PoisonSuffix
	}
	if !validQueueName(*b.PoisonQueueName) {
		return &config.Error{Name: name("poison-queue-name", "AZURE_POISON_QUEUE_NAME"), Want: fmt.Sprintf("want a storage queue name (3-63 lowercase letters, digits and single hyphens), got %q; shorten AZURE_QUEUE_NAME or set it", *b.PoisonQueueName)}
	}
	return nil
}

func validQueueName(n string) bool {
	return storageQueue.MatchString(n) && !strings.Contains(n, "--")
}

// Open connects to the queue and, when declared with the store, the store.
// Calls are counted in api.
func (b *Settings) Open(ctx context.Context, api *obs.APIRequests) (queue.Queue, store.Store, error) {
	if *b.Cloud == AWS {
		return b.openAWS(ctx, api)
	}
	return b.openAzure(api)
}

func (b *Settings) openAWS(ctx context.Context, api *obs.APIRequests) (queue.Queue, store.Store, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(*b.AWSRegion),
		awsconfig.WithRetryer(func() aws.Retryer {
			return awsretry.NewStandard(func(o *awsretry.StandardOptions) { o.MaxBackoff = awsRetryWait })
		}))
	if err != nil {
		return nil, nil, fmt.Errorf("aws configuration: %w", err)
	}
	q := sqs.New(awssqs.NewFromConfig(cfg, func(o *awssqs.Options) { o.HTTPClient = api.Client("sqs") }), *b.SQSQueueURL)
	if !b.withStore {
		return q, nil, nil
	}
	ddb := awsddb.NewFromConfig(cfg, func(o *awsddb.Options) { o.HTTPClient = api.Client("dynamodb") })
	return q, dynamodb.New(ddb, *b.DynamoDBTable), nil
}

func (b *Settings) openAzure(api *obs.APIRequests) (queue.Queue, store.Store, error) {
	queueOpts := &azqueue.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: api.Client("storage-queue"), Retry: azureRetry}}
	tableOpts := &aztables.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: api.Client("storage-table"), Retry: azureRetry}}
	var (
		work, poison *azqueue.QueueClient
		tbl          *aztables.Client
	)
	if cs := *b.ConnectionString; cs != "" {
		svc, err := azqueue.NewServiceClientFromConnectionString(cs, queueOpts)
		if err != nil {
			return nil, nil, &config.Error{Name: "AZURE_STORAGE_CONNECTION_STRING", Want: fmt.Sprintf("want a storage connection string with AccountName, AccountKey and endpoints: %v", err)}
		}
		work = svc.NewQueueClient(*b.QueueName)
		if b.withStore {
			poison = svc.NewQueueClient(*b.PoisonQueueName)
			tsvc, err := aztables.NewServiceClientFromConnectionString(cs, tableOpts)
			if err != nil {
				return nil, nil, &config.Error{Name: "AZURE_STORAGE_CONNECTION_STRING", Want: fmt.Sprintf("want a connection string with a table endpoint: %v", err)}
			}
			tbl = tsvc.NewClient(*b.TableName)
		}
	} else {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, nil, fmt.Errorf("azure credential: %w", err)
		}
		queueURL := func(name string) string {
			return fmt.Sprintf("https://%s.queue.core.windows.net/%s", *b.StorageAccount, name)
		}
		if work, err = azqueue.NewQueueClient(queueURL(*b.QueueName), cred, queueOpts); err != nil {
			return nil, nil, fmt.Errorf("storage queue client: %w", err)
		}
		if b.withStore {
			if poison, err = azqueue.NewQueueClient(queueURL(*b.PoisonQueueName), cred, queueOpts); err != nil {
				return nil, nil, fmt.Errorf("storage poison queue client: %w", err)
			}
			if tbl, err = newTable(b.tableEndpoint(), *b.TableName, cred, tableOpts); err != nil {
				return nil, nil, err
			}
		}
	}
	q := storagequeue.New(work, poison)
	if !b.withStore {
		return q, nil, nil
	}
	return q, table.New(tbl), nil
}

// tableEndpoint is the table service the consumer writes to: the one
// given, or the storage account's.
func (b *Settings) tableEndpoint() string {
	if *b.TableEndpoint != "" {
		return *b.TableEndpoint
	}
	return fmt.Sprintf("https://%s.table.core.windows.net/", *b.StorageAccount)
}

// newTable is the client of table name at endpoint. The client asks Entra
// ID for a token of the service the endpoint belongs to: Storage, or Cosmos
// DB, whose own role assignments then apply.
func newTable(endpoint, name string, cred azcore.TokenCredential, opts *aztables.ClientOptions) (*aztables.Client, error) {
	svc, err := aztables.NewServiceClient(endpoint, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("table client for %s: %w", endpoint, err)
	}
	return svc.NewClient(name), nil
}
