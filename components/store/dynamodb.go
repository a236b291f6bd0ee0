// Package store creates the table the consumer writes: on AWS a DynamoDB
// table keyed by message id; on Azure a Storage Table or a Cosmos DB for
// Table account's table, which speak the same protocol.
package store

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DynamoToken is the component's type token.
const DynamoToken = "edw:store:Dynamo"

// HashKey is the table's key attribute, the message id; the consumer
// writes it (apps/internal/store/dynamodb).
const HashKey = "id"

// DynamoArgs configure the table.
type DynamoArgs struct {
	// Tags for the table. Optional.
	Tags pulumi.StringMap
	// DeletionProtection makes DynamoDB refuse to delete the table, from
	// any client, until it is turned off. Optional.
	DeletionProtection bool
}

// Dynamo is an on-demand table with point-in-time recovery and encryption
// at rest.
type Dynamo struct {
	pulumi.ResourceState

	TableName pulumi.StringOutput `pulumi:"tableName"`
	TableArn  pulumi.StringOutput `pulumi:"tableArn"`
}

// NewDynamo creates the table.
func NewDynamo(ctx *pulumi.Context, name string, args *DynamoArgs, opts ...pulumi.ResourceOption) (*Dynamo, error) {
	if args == nil {
		args = &DynamoArgs{}
	}
	c := &Dynamo{}
	if err := ctx.RegisterComponentResource(DynamoToken, name, c, opts...); err != nil {
		return nil, err
	}
	t, err := dynamodb.NewTable(ctx, name, &dynamodb.TableArgs{
		BillingMode:               pulumi.String("PAY_PER_REQUEST"),
		HashKey:                   pulumi.String(HashKey),
		Attributes:                dynamodb.TableAttributeArray{dynamodb.TableAttributeArgs{Name: pulumi.String(HashKey), Type: pulumi.String("S")}},
		PointInTimeRecovery:       &dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption:      &dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)},
		DeletionProtectionEnabled: pulumi.Bool(args.DeletionProtection),
		Tags:                      args.Tags,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	c.TableName, c.TableArn = t.Name, t.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"tableName": c.TableName, "tableArn": c.TableArn})
}
