package store

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/storage/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TableToken is the component's type token.
const TableToken = "edw:store:Table"

// TableArgs configure the table.
type TableArgs struct {
	// ResourceGroupName and AccountName locate the storage account.
	// Required.
	ResourceGroupName pulumi.StringInput
	AccountName       pulumi.StringInput
	// TableName names the table. Required.
	TableName string
}

// Table is a Storage Table; rows are keyed by message id (the consumer
// picks the partition).
type Table struct {
	pulumi.ResourceState

	TableName pulumi.StringOutput `pulumi:"tableName"`
	TableId   pulumi.StringOutput `pulumi:"tableId"`
}

// NewTable creates the table through the management plane.
func NewTable(ctx *pulumi.Context, name string, args *TableArgs, opts ...pulumi.ResourceOption) (*Table, error) {
	if args == nil || args.ResourceGroupName == nil || args.AccountName == nil || args.TableName == "" {
		return nil, fmt.Errorf("table %q: ResourceGroupName, AccountName and TableName are required", name)
	}
	c := &Table{}
	if err := ctx.RegisterComponentResource(TableToken, name, c, opts...); err != nil {
		return nil, err
	}
	t, err := storage.NewTable(ctx, name, &storage.TableArgs{
		ResourceGroupName: args.ResourceGroupName, AccountName: args.AccountName, TableName: pulumi.String(args.TableName),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	c.TableName, c.TableId = t.Name, t.ID().ToStringOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"tableName": c.TableName, "tableId": c.TableId})
}
