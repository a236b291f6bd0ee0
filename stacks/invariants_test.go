package stacks_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/internal/render"
)

// An invariant holds on every stack's plan; check lists its violations.
// Each comes with a way to break it, to prove the check can fail.
type invariant struct {
	name  string
	check func(p *render.Plan) []string
	// breaks mutates a copy of the stack's plan so that check must fail.
	breaks map[string]func(p *render.Plan)
}

var invariants = []invariant{
	{
		name:  "no wildcard or unscoped data-plane grant",
		check: unscopedGrants,
		breaks: map[string]func(*render.Plan){
			"aws": func(p *render.Plan) {
				setInput(p, "aws:iam/rolePolicy:RolePolicy", "producer-policy", "policy",
					`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage"],"Resource":["*"]}]}`)
			},
			"azure": func(p *render.Plan) {
				setInput(p, "azure-native:authorization:RoleAssignment", "producer-queue", "scope", "/subscriptions/"+render.SubscriptionID)
			},
			"azure-cosmos": func(p *render.Plan) {
				setInput(p, "azure-native:documentdb:TableResourceTableRoleAssignment", "payments-writer", "scope",
					fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", render.SubscriptionID, render.ResourceGroup))
			},
		},
	},
	{
		name:  "workload pods run as non-root on a read-only root",
		check: unhardenedPods,
		breaks: map[string]func(*render.Plan){
			"aws":   func(p *render.Plan) { mutate(p, "kubernetes:apps/v1:Deployment", "edw-producer", unharden) },
			"azure": func(p *render.Plan) { mutate(p, "kubernetes:apps/v1:Deployment", "edw-consumer", unharden) },
		},
	},
	{
		name:  "every identity binding names an existing service account",
		check: danglingBindings,
		breaks: map[string]func(*render.Plan){
			"aws": func(p *render.Plan) {
				setInput(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "consumer-association", "serviceAccount", "consumer-typo")
			},
			"azure": func(p *render.Plan) {
				setInput(p, "azure-native:managedidentity:FederatedIdentityCredential", "consumer-federation", "subject", "system:serviceaccount:default:consumer")
			},
		},
	},
	{
		name:  "every NodePool references an existing node class",
		check: danglingNodeClassRefs,
		breaks: map[string]func(*render.Plan){
			"aws": func(p *render.Plan) {
				mutate(p, "kubernetes:karpenter.sh/v1:NodePool", "workload", func(in map[string]any) {
					at(in, "spec", "template", "spec", "nodeClassRef").(map[string]any)["name"] = "gone"
				})
			},
			"azure": func(p *render.Plan) {
				mutate(p, "kubernetes:karpenter.sh/v1:NodePool", "workload", func(in map[string]any) {
					at(in, "spec", "template", "spec", "nodeClassRef").(map[string]any)["kind"] = "EC2NodeClass"
				})
			},
		},
	},
	{
		name:  "every alert notifies the stack's target",
		check: unroutedAlerts,
		breaks: map[string]func(*render.Plan){
			"aws": func(p *render.Plan) {
				setInput(p, "aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-set-aside", "alarmActions", []any{})
			},
			"azure": func(p *render.Plan) {
				mutate(p, "azure-native:alertsmanagement:PrometheusRuleGroup", "monitoring", func(in map[string]any) {
					at(in, "rules", 2).(map[string]any)["actions"] = []any{}
				})
			},
		},
	},
	{
		name:  "the consumer goes before its NodePool at destroy",
		check: missingDestroyEdges,
		breaks: map[string]func(*render.Plan){
			"aws":   dropNodePoolEdge,
			"azure": dropNodePoolEdge,
		},
	},
}

func TestGraphInvariants(t *testing.T) {
	for _, stack := range []string{"aws", "azure", "azure-cosmos"} {
		for _, inv := range invariants {
			t.Run(stack+"/"+inv.name, func(t *testing.T) {
				if v := inv.check(plan(t, stack)); len(v) > 0 {
					t.Errorf("violated:\n%s", strings.Join(v, "\n"))
				}
				broken := clone(t, plan(t, stack))
				breaks, ok := inv.breaks[stack]
				if !ok {
					// A variant breaks as its stack file's plan does.
					file, _, _ := strings.Cut(stack, "-")
					breaks = inv.breaks[file]
				}
				breaks(broken)
				if v := inv.check(broken); len(v) == 0 {
					t.Error("the check accepts a plan that breaks it")
				}
			})
		}
	}
}

// unroutedAlerts are the alarms and alert rules that notify nothing, or
// something other than the stack's topic or action group.
func unroutedAlerts(p *render.Plan) []string {
	var v []string
	if topic, ok := p.Outputs["alertTopicArn"]; ok {
		for _, r := range p.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
			if actions := at(r.Inputs, "alarmActions"); fmt.Sprint(actions) != fmt.Sprint([]any{topic}) {
				v = append(v, fmt.Sprintf("alarm %s notifies %v", r.Name, actions))
			}
		}
		for _, r := range p.Find("aws:amp/alertManagerDefinition:AlertManagerDefinition") {
			if !strings.Contains(fmt.Sprint(r.Inputs["definition"]), fmt.Sprint(topic)) {
				v = append(v, "the alert manager does not publish to the topic")
			}
		}
	}
	if group, ok := p.Outputs["alertActionGroupId"]; ok {
		for _, r := range p.Find("azure-native:alertsmanagement:PrometheusRuleGroup") {
			for _, rule := range at(r.Inputs, "rules").([]any) {
				if got := at(rule, "actions", 0, "actionGroupId"); got != group {
					v = append(v, fmt.Sprintf("rule %v notifies %v", at(rule, "alert"), got))
				}
			}
		}
	}
	return v
}

func unscopedGrants(p *render.Plan) []string {
	var v []string
	for _, r := range p.Find("aws:iam/rolePolicy:RolePolicy") {
		var doc struct{ Statement []statement }
		if err := json.Unmarshal([]byte(fmt.Sprint(r.Inputs["policy"])), &doc); err != nil {
			v = append(v, fmt.Sprintf("%s: %v", r.Name, err))
			continue
		}
		for _, s := range doc.Statement {
			for _, a := range s.Action {
				dataPlane := strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "dynamodb:")
				if a == "*" || strings.HasSuffix(a, ":*") || (dataPlane && slices.ContainsFunc(s.Resource, func(r string) bool { return strings.Contains(r, "*") })) {
					v = append(v, fmt.Sprintf("%s: %s on %v", r.Name, a, s.Resource))
				}
			}
		}
	}
	for _, r := range p.Find("azure-native:authorization:RoleAssignment") {
		scope := fmt.Sprint(r.Inputs["scope"])
		// Only a queue, a table, a registry, the cluster (or a monitor
		// workspace) may be a scope: never a subscription, group or whole
		// account.
		lower := strings.ToLower(scope)
		if !strings.Contains(scope, "/queues/") && !strings.Contains(scope, "/tables/") && !strings.Contains(lower, "registr") && !strings.Contains(lower, "managedcluster") && !strings.Contains(scope, "Microsoft.Monitor") {
			v = append(v, fmt.Sprintf("%s: scope %s", r.Name, scope))
		}
	}
	for _, r := range p.Find("azure-native:documentdb:TableResourceTableRoleAssignment") {
		// Cosmos DB's own roles: on one table, defined by its account.
		scope, role := fmt.Sprint(r.Inputs["scope"]), fmt.Sprint(r.Inputs["roleDefinitionId"])
		m := cosmosTable.FindStringSubmatch(scope)
		if m == nil || !strings.HasPrefix(role, m[1]+"/tableRoleDefinitions/") {
			v = append(v, fmt.Sprintf("%s: role %s on %s", r.Name, role, scope))
		}
	}
	return v
}

// cosmosTable is the scope of one table in a Cosmos DB account, the
// account's id first.
var cosmosTable = regexp.MustCompile(`^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.DocumentDB/databaseAccounts/[^/]+)/dbs/TablesDB/colls/[^/]+$`)

func unhardenedPods(p *render.Plan) []string {
	var v []string
	for _, d := range p.Find("kubernetes:apps/v1:Deployment") {
		for _, c := range at(d.Inputs, "spec", "template", "spec", "containers").([]any) {
			if at(c, "securityContext", "runAsNonRoot") != true || at(c, "securityContext", "readOnlyRootFilesystem") != true {
				v = append(v, fmt.Sprintf("%s/%v: %v", d.Name, at(c, "name"), at(c, "securityContext")))
			}
		}
	}
	return v
}

// chartAccounts are service accounts that a chart or an AKS add-on
// creates, not the program.
var chartAccounts = []string{"keda/keda-operator", "kube-system/karpenter", "kube-system/keda-operator"}

func danglingBindings(p *render.Plan) []string {
	accounts := map[string]bool{}
	for _, sa := range p.Find("kubernetes:core/v1:ServiceAccount") {
		accounts[fmt.Sprintf("%v/%v", at(sa.Inputs, "metadata", "namespace"), at(sa.Inputs, "metadata", "name"))] = true
	}
	exists := func(key string) bool { return accounts[key] || slices.Contains(chartAccounts, key) }
	var v []string
	for _, a := range p.Find("aws:eks/podIdentityAssociation:PodIdentityAssociation") {
		if key := fmt.Sprintf("%v/%v", a.Inputs["namespace"], a.Inputs["serviceAccount"]); !exists(key) {
			v = append(v, fmt.Sprintf("%s binds %s", a.Name, key))
		}
	}
	for _, f := range p.Find("azure-native:managedidentity:FederatedIdentityCredential") {
		key := strings.Replace(strings.TrimPrefix(fmt.Sprint(f.Inputs["subject"]), "system:serviceaccount:"), ":", "/", 1)
		if !exists(key) {
			v = append(v, fmt.Sprintf("%s trusts %s", f.Name, key))
		}
	}
	return v
}

func danglingNodeClassRefs(p *render.Plan) []string {
	classes := map[string]bool{"eks.amazonaws.com/NodeClass/default": true} // EKS Auto Mode's own
	for _, r := range p.Manifests() {
		if kind := fmt.Sprint(r.Inputs["kind"]); strings.HasSuffix(kind, "NodeClass") {
			group := strings.Split(fmt.Sprint(r.Inputs["apiVersion"]), "/")[0]
			classes[fmt.Sprintf("%s/%s/%v", group, kind, at(r.Inputs, "metadata", "name"))] = true
		}
	}
	var v []string
	for _, np := range p.Find("kubernetes:karpenter.sh/v1:NodePool") {
		ref := at(np.Inputs, "spec", "template", "spec", "nodeClassRef")
		if key := fmt.Sprintf("%v/%v/%v", at(ref, "group"), at(ref, "kind"), at(ref, "name")); !classes[key] {
			v = append(v, fmt.Sprintf("NodePool %s references %s", np.Name, key))
		}
	}
	return v
}

func missingDestroyEdges(p *render.Plan) []string {
	var v []string
	for _, d := range p.Find("kubernetes:apps/v1:Deployment") {
		for _, np := range p.Find("kubernetes:karpenter.sh/v1:NodePool") {
			if !dependsOn(p, d.URN, np.URN) {
				v = append(v, fmt.Sprintf("Deployment %s does not depend on NodePool %s", d.Name, np.Name))
			}
		}
	}
	for _, so := range p.Find("kubernetes:keda.sh/v1alpha1:ScaledObject") {
		if !slices.ContainsFunc(p.Find("kubernetes:apps/v1:Deployment"), func(d render.Resource) bool { return dependsOn(p, so.URN, d.URN) }) {
			v = append(v, fmt.Sprintf("ScaledObject %s does not depend on its Deployment", so.Name))
		}
	}
	return v
}

func dropNodePoolEdge(p *render.Plan) {
	pools := p.Find("kubernetes:karpenter.sh/v1:NodePool")
	for i, r := range p.Resources {
		if r.Type == "kubernetes:apps/v1:Deployment" && r.Name == "edw-consumer" {
			p.Resources[i].Dependencies = slices.DeleteFunc(slices.Clone(r.Dependencies), func(d string) bool { return d == pools[0].URN })
		}
	}
}

func unharden(in map[string]any) {
	c := at(in, "spec", "template", "spec", "containers", 0).(map[string]any)
	c["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = false
}

// clone deep-copies a plan through JSON, so that a test can break it.
func clone(t *testing.T, p *render.Plan) *render.Plan {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out render.Plan
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func mutate(p *render.Plan, typ, name string, f func(map[string]any)) {
	for _, r := range p.Resources {
		if r.Type == typ && r.Name == name {
			f(r.Inputs)
		}
	}
}

func setInput(p *render.Plan, typ, name, key string, value any) {
	mutate(p, typ, name, func(in map[string]any) { in[key] = value })
}
