package stacks_test

import (
	"strings"
	"testing"

	"github.com/edw-project/edw/internal/render"
)

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
				inData := render.InDataComponent(r.URN)
				if render.HoldsData(r.Type, r.URN) {
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
