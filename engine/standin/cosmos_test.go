package standin

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	cosmosAccountURN = "urn:pulumi:dev::edw::edw:store:CosmosTable$azure-native:documentdb:DatabaseAccount::payments"
	cosmosTableURN   = "urn:pulumi:dev::edw::edw:store:CosmosTable$azure-native:documentdb:TableResourceTable::payments"
	cosmosWriterURN  = "urn:pulumi:dev::edw::edw:store:CosmosTable$azure-native:documentdb:TableResourceTableRoleAssignment::payments-writer"
)

// cosmosAccount creates a Table API account in group rg, serverless or
// provisioned, named after urnName, and returns its id and name.
func cosmosAccount(t *testing.T, s *Server, urnName string, serverless bool) (string, string) {
	t.Helper()
	capabilities := []any{map[string]any{"name": "EnableTable"}}
	if serverless {
		capabilities = append(capabilities, map[string]any{"name": "EnableServerless"})
	}
	id, out := create(t, s, strings.Replace(cosmosAccountURN, "::payments", "::"+urnName, 1), resource.NewPropertyMapFromMap(map[string]any{
		"resourceGroupName": "rg", "locations": []any{map[string]any{"locationName": "westeurope"}}, "capabilities": capabilities,
	}))
	return id, str(out, "name")
}

// attempt checks and creates a resource, returning the cloud's answer;
// seed makes the names the stand-in generates.
func attempt(t *testing.T, s *Server, urn, seed string, in map[string]any) error {
	t.Helper()
	ctx := context.Background()
	checked, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: wireOf(t, resource.NewPropertyMapFromMap(in)), RandomSeed: []byte(seed)})
	if err != nil {
		return err
	}
	_, err = s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: checked.GetInputs()})
	return err
}

func TestCosmosAccountTableAndRole(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	accountID, name := cosmosAccount(t, s, "payments", true)
	if !regexp.MustCompile(`^payments[0-9a-z]{8}$`).MatchString(name) ||
		accountID != "/subscriptions/"+azureSubscription+"/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/"+name {
		t.Errorf("account %q named %q", accountID, name)
	}
	in := map[string]any{"resourceGroupName": "rg", "accountName": name}
	tableID, table := create(t, s, cosmosTableURN, resource.NewPropertyMapFromMap(map[string]any{
		"resourceGroupName": "rg", "accountName": name, "tableName": "payments", "resource": map[string]any{"id": "payments"},
	}))
	if tableID != accountID+"/tables/payments" || str(table, "name") != "payments" {
		t.Errorf("table %q named %q", tableID, str(table, "name"))
	}
	in["principalId"] = randomGUID()
	in["scope"] = accountID + "/dbs/TablesDB/colls/payments"
	in["roleDefinitionId"] = accountID + "/tableRoleDefinitions/00000000-0000-0000-0000-000000000002"
	writerID, writer := create(t, s, cosmosWriterURN, resource.NewPropertyMapFromMap(in))
	if !strings.HasPrefix(writerID, accountID+"/tableRoleAssignments/") || !guidPattern.MatchString(str(writer, "roleAssignmentId")) {
		t.Errorf("role assignment %q, named %q", writerID, str(writer, "roleAssignmentId"))
	}
}

// Cosmos DB refuses tables and roles of accounts it does not have,
// throughput on a serverless account, an autoscale ceiling off its steps,
// and roles defined or scoped outside the account.
func TestCosmosRefusesWhatCosmosRefuses(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	serverlessID, serverless := cosmosAccount(t, s, "serverless", true)
	_, provisioned := cosmosAccount(t, s, "provisioned", false)
	table := func(account string, options map[string]any) map[string]any {
		return map[string]any{"resourceGroupName": "rg", "accountName": account, "tableName": "t", "resource": map[string]any{"id": "t"}, "options": options}
	}
	role := func(scope, definition string) map[string]any {
		return map[string]any{"resourceGroupName": "rg", "accountName": serverless, "principalId": randomGUID(), "scope": scope, "roleDefinitionId": definition}
	}
	contributor := serverlessID + "/tableRoleDefinitions/00000000-0000-0000-0000-000000000002"
	for name, c := range map[string]struct {
		urn string
		in  map[string]any
		ok  bool
	}{
		"serverless table":             {cosmosTableURN, table(serverless, nil), true},
		"serverless with autoscale":    {cosmosTableURN, table(serverless, map[string]any{"autoscaleSettings": map[string]any{"maxThroughput": 4000}}), false},
		"serverless with throughput":   {cosmosTableURN, table(serverless, map[string]any{"throughput": 400}), false},
		"autoscale of 4000":            {cosmosTableURN, table(provisioned, map[string]any{"autoscaleSettings": map[string]any{"maxThroughput": 4000}}), true},
		"autoscale of 1500":            {cosmosTableURN, table(provisioned, map[string]any{"autoscaleSettings": map[string]any{"maxThroughput": 1500}}), false},
		"table of no account":          {cosmosTableURN, table("gone", nil), false},
		"role on the account":          {cosmosWriterURN, role(serverlessID, contributor), true},
		"role on one table":            {cosmosWriterURN, role(serverlessID+"/dbs/TablesDB/colls/t", contributor), true},
		"role on the group":            {cosmosWriterURN, role("/subscriptions/"+azureSubscription+"/resourceGroups/rg", contributor), false},
		"role defined by the platform": {cosmosWriterURN, role(serverlessID, "/providers/Microsoft.Authorization/roleDefinitions/x"), false},
		"account name with capitals":   {cosmosAccountURN, map[string]any{"resourceGroupName": "rg", "accountName": "Payments", "locations": []any{map[string]any{"locationName": "x"}}}, false},
		"account without a location":   {cosmosAccountURN, map[string]any{"resourceGroupName": "rg", "accountName": "payments-b"}, false},
	} {
		if err := attempt(t, s, c.urn, name, c.in); (err == nil) != c.ok {
			t.Errorf("%s: %v, want accepted %v", name, err, c.ok)
		}
	}
}
