package store

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/internal/azurenative"
)

// CosmosTableToken is the component's type token.
const CosmosTableToken = "edw:store:CosmosTable"

// The bounds of a table's autoscale ceiling, in RU/s: Cosmos DB's
// smallest, its step, and the most it grants without a support request.
const (
	AutoscaleMin  = 1000
	AutoscaleStep = 1000
	AutoscaleMax  = 1000000
)

const (
	// tableDataContributor is Cosmos DB for Table's built-in data-plane
	// role that reads and writes entities ("Cosmos DB Built-in Data
	// Contributor"; the same id in every account).
	tableDataContributor = "00000000-0000-0000-0000-000000000002"
	// tableEndpoint is the Table API's data-plane address of an account;
	// the consumer's table client asks Entra ID for a Cosmos DB token when
	// it sees this domain.
	tableEndpoint = "https://%s.table.cosmos.azure.com:443/"
	// tableScope is one table of an account, as Cosmos DB's table roles
	// take it: every table lives in the database TablesDB, a name Cosmos
	// DB matches case-sensitively (another spelling would leave the scope
	// the whole account).
	tableScope = "%s/dbs/TablesDB/colls/%s"
)

// CosmosTableArgs configure the account and its table.
type CosmosTableArgs struct {
	// ResourceGroupName and Location place the account. Required.
	ResourceGroupName pulumi.StringInput
	Location          pulumi.StringInput
	// TableName names the table. Required.
	TableName string
	// MaxThroughput is the table's autoscale ceiling in RU/s; 0 makes the
	// account serverless. Optional.
	MaxThroughput int
	// WriterPrincipalId is the identity that reads and writes rows, through
	// Cosmos DB's own role-based access. Required.
	WriterPrincipalId pulumi.StringInput
	// Tags for the account. Optional.
	Tags pulumi.StringMap
}

// CosmosTable is a Cosmos DB for Table account holding one table, with
// keys disabled: the writer's role assignment is the only way in.
type CosmosTable struct {
	pulumi.ResourceState

	AccountName pulumi.StringOutput `pulumi:"accountName"`
	TableName   pulumi.StringOutput `pulumi:"tableName"`
	// Endpoint is the Table API's endpoint, which the consumer is given.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// Ready is what a writer needs before its first write: the table and
	// its role assignment.
	Ready []pulumi.Resource `pulumi:"-"`
}

// cosmosResource is one of azure-native's Microsoft.DocumentDB resources:
// its name is what is read.
type cosmosResource struct {
	pulumi.CustomResourceState

	Name pulumi.StringOutput `pulumi:"name"`
}

// NewCosmosTable creates the account, the table and the writer's role.
func NewCosmosTable(ctx *pulumi.Context, name string, args *CosmosTableArgs, opts ...pulumi.ResourceOption) (*CosmosTable, error) {
	if args == nil || args.ResourceGroupName == nil || args.Location == nil || args.TableName == "" || args.WriterPrincipalId == nil {
		return nil, fmt.Errorf("cosmos table %q: ResourceGroupName, Location, TableName and WriterPrincipalId are required", name)
	}
	if t := args.MaxThroughput; t != 0 && (t < AutoscaleMin || t > AutoscaleMax || t%AutoscaleStep != 0) {
		return nil, fmt.Errorf("cosmos table %q: MaxThroughput %d: want 0 (serverless) or %d to %d in steps of %d", name, t, AutoscaleMin, AutoscaleMax, AutoscaleStep)
	}
	c := &CosmosTable{}
	if err := ctx.RegisterComponentResource(CosmosTableToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	capabilities := pulumi.Array{pulumi.Map{"name": pulumi.String("EnableTable")}}
	options := pulumi.Map{}
	if args.MaxThroughput == 0 {
		capabilities = append(capabilities, pulumi.Map{"name": pulumi.String("EnableServerless")})
	} else {
		options["autoscaleSettings"] = pulumi.Map{"maxThroughput": pulumi.Int(args.MaxThroughput)}
	}
	// Azure changes no capability of a live account, so a move between
	// serverless and autoscale is a new account, which the preview shows.
	var account cosmosResource
	if err := azurenative.Register(ctx, "azure-native:documentdb:DatabaseAccount", name, pulumi.Map{
		"resourceGroupName":        args.ResourceGroupName,
		"kind":                     pulumi.String("GlobalDocumentDB"),
		"databaseAccountOfferType": pulumi.String("Standard"),
		"locations": pulumi.Array{pulumi.Map{
			"locationName": args.Location, "failoverPriority": pulumi.Int(0),
		}},
		"capabilities": capabilities,
		// Entra ID tokens only: the account has no usable keys.
		"disableLocalAuth":  pulumi.Bool(true),
		"minimalTlsVersion": pulumi.String("Tls12"),
		"tags":              args.Tags,
	}, &account, parent, pulumi.ReplaceOnChanges([]string{"capabilities"})); err != nil {
		return nil, err
	}

	var table cosmosResource
	if err := azurenative.Register(ctx, "azure-native:documentdb:TableResourceTable", name, pulumi.Map{
		"resourceGroupName": args.ResourceGroupName, "accountName": account.Name,
		"tableName": pulumi.String(args.TableName),
		"resource":  pulumi.Map{"id": pulumi.String(args.TableName)},
		"options":   options,
	}, &table, parent); err != nil {
		return nil, err
	}
	// The grant holds no data: a new consumer identity replaces it even
	// while the data is protected.
	var writer cosmosResource
	if err := azurenative.Register(ctx, "azure-native:documentdb:TableResourceTableRoleAssignment", name+"-writer", pulumi.Map{
		"resourceGroupName": args.ResourceGroupName, "accountName": account.Name,
		"principalId":      args.WriterPrincipalId,
		"roleDefinitionId": pulumi.Sprintf("%s/tableRoleDefinitions/%s", account.ID(), tableDataContributor),
		"scope":            pulumi.Sprintf(tableScope, account.ID(), table.Name),
	}, &writer, parent, pulumi.Protect(false)); err != nil {
		return nil, err
	}

	c.AccountName = account.Name
	c.TableName = table.Name
	c.Endpoint = pulumi.Sprintf(tableEndpoint, account.Name)
	c.Ready = []pulumi.Resource{&table, &writer}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"accountName": c.AccountName, "tableName": c.TableName, "endpoint": c.Endpoint,
	})
}
