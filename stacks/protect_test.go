package stacks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/internal/render"
)

// dataTypes hold the workload's messages and rows, in the data
// components: deleting or replacing one loses them. (Karpenter's
// interruption queue holds only events it can miss.)
var dataTypes = []string{
	"aws:sqs/queue:Queue", "aws:dynamodb/table:Table",
	"azure-native:storage:StorageAccount", "azure-native:storage:Queue", "azure-native:storage:Table",
	"azure-native:documentdb:DatabaseAccount", "azure-native:documentdb:TableResourceTable",
}

// dataComponents are the components that hold them; what they hold is
// protected with them.
var dataComponents = []string{"edw:queue:Sqs", "edw:store:Dynamo", "edw:queue:Storage", "edw:store:Table", "edw:store:CosmosTable"}

// By default every resource that holds data is protected, and DynamoDB
// refuses to delete the table too; edw:protectData false lifts both.
// Nothing outside the data components is protected, so that a destroy is
// stopped only by them.
func TestDataIsProtected(t *testing.T) {
	unprotected := map[string]map[string]string{
		"aws":          {"edw:protectData": "false"},
		"azure":        {"edw:protectData": "false"},
		"azure-cosmos": {"edw:protectData": "false", "edw:tableService": "cosmos"},
	}
	for name, set := range unprotected {
		file, _, _ := strings.Cut(name, "-")
		off, err := renderStack(t, file, set)
		if err != nil {
			t.Fatal(err)
		}
		for want, p := range map[bool]*render.Plan{true: plan(t, name), false: off} {
			held := 0
			for _, r := range p.Resources {
				inData := slices.ContainsFunc(dataComponents, func(c string) bool { return strings.Contains(r.URN, c+"$") || r.Type == c })
				if slices.Contains(dataTypes, r.Type) && inData {
					held++
					if r.Protect != want {
						t.Errorf("%s (protectData %v): %s protected %v", name, want, r.URN, r.Protect)
					}
				}
				if r.Protect && !inData {
					t.Errorf("%s: %s is protected, and holds no data", name, r.URN)
				}
				if r.Type == "aws:dynamodb/table:Table" && r.Inputs["deletionProtectionEnabled"] != want {
					t.Errorf("%s (protectData %v): the table's deletion protection is %v", name, want, r.Inputs["deletionProtectionEnabled"])
				}
			}
			if held == 0 {
				t.Errorf("%s: no resource holds data", name)
			}
		}
	}
}
