package standin

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// awsPolicies are the inputs that hold a policy document, by type. A
// resource policy (a queue's, a role's trust) must name a principal in
// every statement; an identity policy must name none. AWS refuses either
// mistake at create, so the stand-in does too.
var awsPolicies = map[string]struct {
	key      string
	resource bool
}{
	"aws:sqs/queuePolicy:QueuePolicy": {"policy", true},
	"aws:sns/topicPolicy:TopicPolicy": {"policy", true},
	"aws:kms/key:Key":                 {"policy", true},
	"aws:iam/role:Role":               {"assumeRolePolicy", true},
	"aws:iam/policy:Policy":           {"policy", false},
	"aws:iam/rolePolicy:RolePolicy":   {"policy", false},
}

// checkPolicy answers as AWS does for a malformed policy document.
func checkPolicy(typ string, in resource.PropertyMap) error {
	p, ok := awsPolicies[typ]
	if !ok || str(in, p.key) == "" {
		return nil
	}
	var doc struct {
		Statement []struct {
			Sid          string
			Principal    any
			NotPrincipal any
		}
	}
	if err := json.Unmarshal([]byte(str(in, p.key)), &doc); err != nil {
		return fmt.Errorf("MalformedPolicyDocument: %s: %w", p.key, err)
	}
	for i, s := range doc.Statement {
		named := s.Principal != nil || s.NotPrincipal != nil
		switch {
		case p.resource && !named:
			return fmt.Errorf("MalformedPolicyDocument: %s: statement %d (%q) has no Principal", p.key, i, s.Sid)
		case !p.resource && named:
			return fmt.Errorf("MalformedPolicyDocument: %s: statement %d (%q): policy document should not specify a principal", p.key, i, s.Sid)
		}
	}
	return nil
}
