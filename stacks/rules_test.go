package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// promtoolTest checks rules with promtool, runs the unit tests (a promtool
// test file naming rules.yaml) against them, and returns promtool's output
// and whether they passed.
func promtoolTest(t *testing.T, rules, tests string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"rules.yaml": rules, "rules_test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	promtool := tool(t, "promtool")
	if out, err := exec.Command(promtool, "check", "rules", filepath.Join(dir, "rules.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	out, err := exec.Command(promtool, "test", "rules", filepath.Join(dir, "rules_test.yaml")).CombinedOutput()
	if _, failed := err.(*exec.ExitError); err != nil && !failed {
		t.Fatalf("promtool: %v", err)
	}
	return string(out), err == nil
}

// The alert rules the AWS stack hands its Prometheus workspace (the Azure
// rule group carries the same expressions, TestAzureMonitoring holds that)
// pass promtool's unit tests: each alert fires on its signal, at its
// threshold and not below, and a healthy run fires nothing. The tests can
// fail: with a write-failure threshold of 100 they do.
func TestAlertRulesWithPromtool(t *testing.T) {
	rules := one(t, aws(t), "aws:amp/ruleGroupNamespace:RuleGroupNamespace", "monitoring").Inputs["data"].(string)
	b, err := os.ReadFile(filepath.Join("components", "monitoring", "testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := string(b)
	if out, ok := promtoolTest(t, rules, tests); !ok {
		t.Errorf("promtool test rules:\n%s", out)
	}
	broken := strings.Replace(rules, "edw_consumer_write_failures_total[10m])) > 10", "edw_consumer_write_failures_total[10m])) > 100", 1)
	if broken == rules {
		t.Fatal("the write-failure rule is not where the break expects it")
	}
	if out, ok := promtoolTest(t, broken, tests); ok {
		t.Errorf("promtool accepts rules with the wrong threshold:\n%s", out)
	}
}

// Every query of the dashboard is valid PromQL (promtool checks them as
// recording rules), and the panels that derive counts from the consumer's
// series count what they say: pods, and the nodes they run on.
func TestDashboardQueries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("components", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	exprs := map[string]bool{}
	for _, p := range dash.Panels {
		for i, target := range p.Targets {
			if target.Expr == "" {
				t.Errorf("panel %q target %d has no query", p.Title, i)
			}
			exprs[target.Expr] = true
			fmt.Fprintf(&rules, "      - record: dashboard:%d\n        expr: %q\n", len(exprs), target.Expr)
		}
	}
	for _, want := range []string{"Messages per second", "Backlog", "Set aside", "failures", "Consumer pods and their nodes"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no panel on %q", want)
		}
	}
	pods := "count by (namespace) (edw_consumer_messages_processed_total)"
	nodes := "count by (namespace) (count by (namespace, node) (edw_consumer_messages_processed_total))"
	if !exprs[pods] || !exprs[nodes] {
		t.Fatalf("the pods and nodes panel no longer has the queries this test evaluates")
	}
	counts := fmt.Sprintf(`rule_files: [rules.yaml]
tests:
  - interval: 1m
    input_series:
      - {series: 'edw_consumer_messages_processed_total{namespace="edw",pod="a",node="n1"}', values: '0+10x5'}
      - {series: 'edw_consumer_messages_processed_total{namespace="edw",pod="b",node="n1"}', values: '0+10x5'}
      - {series: 'edw_consumer_messages_processed_total{namespace="edw",pod="c",node="n2"}', values: '0+10x5'}
    promql_expr_test:
      - {expr: %q, eval_time: 5m, exp_samples: [{labels: '{namespace="edw"}', value: 3}]}
      - {expr: %q, eval_time: 5m, exp_samples: [{labels: '{namespace="edw"}', value: 2}]}
`, pods, nodes)
	if out, ok := promtoolTest(t, rules.String(), counts); !ok {
		t.Errorf("the pods and nodes counts:\n%s", out)
	}
}
