package identity

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Statement is one IAM policy statement whose resources may be outputs.
type Statement struct {
	Sid       string
	Effect    string // default Allow
	Principal map[string]any
	Actions   []string
	Resources pulumi.StringArrayInput
	Condition map[string]map[string]any
}

type statementJSON struct {
	Sid       string                    `json:"Sid,omitempty"`
	Effect    string                    `json:"Effect"`
	Principal map[string]any            `json:"Principal,omitempty"`
	Action    []string                  `json:"Action"`
	Resource  []string                  `json:"Resource,omitempty"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

type documentJSON struct {
	Version   string          `json:"Version"`
	Statement []statementJSON `json:"Statement"`
}

// Everyone is the principal "*": every caller, signed or not.
var Everyone = map[string]any{"AWS": "*"}

// policyVersion is the IAM policy language version.
const policyVersion = "2012-10-17"

// PolicyDocument renders statements as an IAM policy document.
func PolicyDocument(statements ...Statement) pulumi.StringOutput {
	resources := make([]any, len(statements))
	for i, s := range statements {
		resources[i] = s.Resources
	}
	return pulumi.All(resources...).ApplyT(func(rs []any) (string, error) {
		doc := documentJSON{Version: policyVersion}
		for i, s := range statements {
			effect := s.Effect
			if effect == "" {
				effect = "Allow"
			}
			doc.Statement = append(doc.Statement, statementJSON{
				Sid: s.Sid, Effect: effect, Principal: s.Principal, Action: s.Actions, Resource: rs[i].([]string), Condition: s.Condition,
			})
		}
		b, err := json.Marshal(doc)
		return string(b), err
	}).(pulumi.StringOutput)
}

// TrustPolicy lets service principal assume a role with actions.
func TrustPolicy(service string, actions ...string) string {
	b, _ := json.Marshal(documentJSON{Version: policyVersion, Statement: []statementJSON{{
		Effect: "Allow", Principal: map[string]any{"Service": service}, Action: actions,
	}}}) // plain strings and slices always marshal
	return string(b)
}
