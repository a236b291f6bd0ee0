package stacks_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// promtoolTest runs promtool's rule unit tests (components/monitoring/
// testdata) against rules, and returns its output and whether they passed.
func promtoolTest(t *testing.T, rules string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	tests, err := os.ReadFile(filepath.Join("components", "monitoring", "testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"rules.yaml": rules, "rules_test.yaml": string(tests)} {
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
	if out, ok := promtoolTest(t, rules); !ok {
		t.Errorf("promtool test rules:\n%s", out)
	}
	broken := strings.Replace(rules, "edw_consumer_write_failures_total[10m])) > 10", "edw_consumer_write_failures_total[10m])) > 100", 1)
	if broken == rules {
		t.Fatal("the write-failure rule is not where the break expects it")
	}
	if out, ok := promtoolTest(t, broken); ok {
		t.Errorf("promtool accepts rules with the wrong threshold:\n%s", out)
	}
}
