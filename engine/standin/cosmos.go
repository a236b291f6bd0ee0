package standin

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var (
	// cosmosAccountName is the rule of Cosmos DB account names.
	cosmosAccountName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,42}[a-z0-9]$`)
	guidPattern       = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)
)

// refusesCosmos answers as Cosmos DB does for requests it refuses: an account
// name out of its rules or an account without a location; a table or a
// role assignment in an account that does not exist; throughput on a
// serverless account's table, or an autoscale ceiling off its steps; a
// table role defined or scoped outside the account, or given to no
// principal.
func refusesCosmos(kind string, in resource.PropertyMap, live finder) error {
	if kind == "DatabaseAccount" {
		if name := str(in, "accountName"); !cosmosAccountName.MatchString(name) {
			return fmt.Errorf("BadRequest: account name %q: 3 to 44 lowercase letters, digits and hyphens", name)
		}
		if locations := plain(in["locations"]); !locations.IsArray() || len(locations.ArrayValue()) == 0 {
			return fmt.Errorf("BadRequest: locations: the account needs one at least")
		}
		return nil
	}
	group, name := str(in, "resourceGroupName"), str(in, "accountName")
	account, ok, err := live.find(func(r Resource) bool {
		s, k := tokenParts(r.Type)
		return s == "documentdb" && k == "DatabaseAccount" && r.Inputs["accountName"] == name && r.Inputs["resourceGroupName"] == group
	})
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("NotFound: database account %q in resource group %q: %w", name, group, ErrNotFound)
	}
	accountIn, err := fromStored(account.Inputs)
	if err != nil {
		return err
	}
	switch kind {
	case "TableResourceTable":
		return refusesThroughput(accountIn, obj(in, "options"))
	case "TableResourceTableRoleAssignment":
		scope, role := str(in, "scope"), str(in, "roleDefinitionId")
		if scope != account.ID && !strings.HasPrefix(scope, account.ID+"/") {
			return fmt.Errorf("BadRequest: scope %q is not in account %s", scope, account.ID)
		}
		if !strings.HasPrefix(role, account.ID+"/tableRoleDefinitions/") {
			return fmt.Errorf("BadRequest: roleDefinitionId %q is not a table role of account %s", role, account.ID)
		}
		if p := str(in, "principalId"); !guidPattern.MatchString(p) {
			return fmt.Errorf("BadRequest: principalId %q: want an Entra ID object id", p)
		}
	}
	return nil
}

// refusesThroughput checks a table's options against its account's
// capacity mode.
func refusesThroughput(account, options resource.PropertyMap) error {
	var capabilities []string
	if v := plain(account["capabilities"]); v.IsArray() {
		for _, c := range v.ArrayValue() {
			if c = plain(c); c.IsObject() {
				capabilities = append(capabilities, str(c.ObjectValue(), "name"))
			}
		}
	}
	autoscale, throughput := obj(options, "autoscaleSettings"), plain(options["throughput"])
	if slices.Contains(capabilities, "EnableServerless") {
		if len(autoscale) > 0 || !throughput.IsNull() {
			return fmt.Errorf("BadRequest: setting offer throughput or autoscale on a resource is not supported for serverless accounts")
		}
		return nil
	}
	if v := plain(autoscale["maxThroughput"]); v.IsNumber() && (v.NumberValue() < 1000 || int(v.NumberValue())%1000 != 0) {
		return fmt.Errorf("BadRequest: autoscale maxThroughput %v: want 1000 or more, in steps of 1000", v.NumberValue())
	}
	return nil
}
