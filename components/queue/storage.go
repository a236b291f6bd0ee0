package queue

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/storage/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// StorageToken is the component's type token.
const StorageToken = "edw:queue:Storage"

// PoisonSuffix names the work queue's poison queue; the consumer uses the
// same rule (apps/internal/cloud).
const PoisonSuffix = "-poison"

// StorageArgs configure the storage account and its queues.
type StorageArgs struct {
	// ResourceGroupName holds the account. Required.
	ResourceGroupName pulumi.StringInput
	// QueueName is the work queue. Required.
	QueueName string
	// Tags for the account. Optional.
	Tags pulumi.StringMap
}

// Storage is a storage account that only Azure AD identities can use (no
// shared keys, HTTPS and TLS 1.2 only, no public blobs), with the work
// queue and its poison queue. The account also holds the table.
type Storage struct {
	pulumi.ResourceState

	AccountName     pulumi.StringOutput `pulumi:"accountName"`
	AccountId       pulumi.StringOutput `pulumi:"accountId"`
	QueueName       pulumi.StringOutput `pulumi:"queueName"`
	QueueId         pulumi.StringOutput `pulumi:"queueId"`
	PoisonQueueName pulumi.StringOutput `pulumi:"poisonQueueName"`
	PoisonQueueId   pulumi.StringOutput `pulumi:"poisonQueueId"`
	// TableEndpoint is the account's table service, where a table of the
	// account is reached.
	TableEndpoint pulumi.StringOutput `pulumi:"tableEndpoint"`
}

// NewStorage creates the account and the queues through the management
// plane, so that deploying needs no data-plane access or shared key.
func NewStorage(ctx *pulumi.Context, name string, args *StorageArgs, opts ...pulumi.ResourceOption) (*Storage, error) {
	if args == nil || args.ResourceGroupName == nil || args.QueueName == "" {
		return nil, fmt.Errorf("queue %q: ResourceGroupName and QueueName are required", name)
	}
	c := &Storage{}
	if err := ctx.RegisterComponentResource(StorageToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	account, err := storage.NewStorageAccount(ctx, name, &storage.StorageAccountArgs{
		ResourceGroupName:            args.ResourceGroupName,
		Kind:                         pulumi.String("StorageV2"),
		Sku:                          &storage.SkuArgs{Name: pulumi.String("Standard_ZRS")},
		EnableHttpsTrafficOnly:       pulumi.Bool(true),
		MinimumTlsVersion:            pulumi.String("TLS1_2"),
		AllowSharedKeyAccess:         pulumi.Bool(false),
		AllowBlobPublicAccess:        pulumi.Bool(false),
		DefaultToOAuthAuthentication: pulumi.Bool(true),
		Tags:                         args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	newQueue := func(queueName string) (*storage.Queue, error) {
		return storage.NewQueue(ctx, name+"-"+queueName, &storage.QueueArgs{
			ResourceGroupName: args.ResourceGroupName, AccountName: account.Name, QueueName: pulumi.String(queueName),
		}, parent)
	}
	work, err := newQueue(args.QueueName)
	if err != nil {
		return nil, err
	}
	poison, err := newQueue(args.QueueName + PoisonSuffix)
	if err != nil {
		return nil, err
	}
	c.AccountName, c.AccountId = account.Name, account.ID().ToStringOutput()
	c.QueueName, c.QueueId = work.Name, work.ID().ToStringOutput()
	c.PoisonQueueName, c.PoisonQueueId = poison.Name, poison.ID().ToStringOutput()
	c.TableEndpoint = account.PrimaryEndpoints.Table()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"accountName": c.AccountName, "accountId": c.AccountId, "queueName": c.QueueName, "queueId": c.QueueId,
		"poisonQueueName": c.PoisonQueueName, "poisonQueueId": c.PoisonQueueId, "tableEndpoint": c.TableEndpoint,
	})
}
