package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/edw-project/edw/components/monitoring"
)

// RulesFile is where Write puts the alert rules a plan deploys, as a
// Prometheus rules file: the lab's Prometheus evaluates the stack's own.
const RulesFile = "monitoring/rules.yaml"

// ScrapeFile is where Write puts the Prometheus scrape configuration a
// plan deploys: the lab's Prometheus labels the consumers' series with the
// stack's own relabelling.
const ScrapeFile = "monitoring/scrape.yaml"

// ScrapeConfig returns the scrape configuration the plan deploys, "" when
// it deploys none: AWS's managed scraper's, or the one Azure's metrics
// agent reads from its ConfigMap.
func (p *Plan) ScrapeConfig() (string, error) {
	for _, r := range p.Find("aws:amp/scraper:Scraper") {
		return text(r, r.Inputs, "scrapeConfiguration")
	}
	for _, r := range p.Find("kubernetes:core/v1:ConfigMap") {
		if data, ok := r.Inputs["data"].(map[string]any); ok && data["prometheus-config"] != nil {
			return text(r, data, "prometheus-config")
		}
	}
	return "", nil
}

// text is the string at key of r's inputs (or of a map inside them).
func text(r Resource, in map[string]any, key string) (string, error) {
	s, ok := in[key].(string)
	if !ok {
		return "", fmt.Errorf("%s: %s is %T, want a string", r.URN, key, in[key])
	}
	return s, nil
}

// AlertRules returns the Prometheus alert rules the plan deploys as a rules
// file, "" when it deploys none. AWS hands its workspace a rules file,
// taken as is; Azure's rule group carries the same rules in its own
// notation, read back into that file.
func (p *Plan) AlertRules() (string, error) {
	for _, r := range p.Find("aws:amp/ruleGroupNamespace:RuleGroupNamespace") {
		return text(r, r.Inputs, "data")
	}
	for _, r := range p.Find("azure-native:alertsmanagement:PrometheusRuleGroup") {
		rules, err := azureRules(r.Inputs["rules"])
		if err != nil {
			return "", fmt.Errorf("%s: %w", r.URN, err)
		}
		return monitoring.RulesFile(rules)
	}
	return "", nil
}

// azureRules reads a PrometheusRuleGroup's rules input.
func azureRules(input any) ([]monitoring.Rule, error) {
	list, ok := input.([]any)
	if !ok {
		return nil, fmt.Errorf("rules is %T, want a list", input)
	}
	var out []monitoring.Rule
	for i, raw := range list {
		r, _ := raw.(map[string]any)
		labels, _ := r["labels"].(map[string]any)
		annotations, _ := r["annotations"].(map[string]any)
		rule := monitoring.Rule{}
		for _, f := range []struct {
			dst *string
			src any
		}{
			{&rule.Alert, r["alert"]}, {&rule.Expr, r["expression"]}, {&rule.Severity, labels["severity"]},
			{&rule.Summary, annotations["summary"]}, {&rule.Description, annotations["description"]},
		} {
			s, ok := f.src.(string)
			if !ok {
				return nil, fmt.Errorf("rule %d: want alert, expression, a severity label, summary and description as strings: %v", i, r)
			}
			*f.dst = s
		}
		if iso, ok := r["for"].(string); ok {
			// ISO 8601's PT1M30S is Go's 1m30s once the prefix is gone.
			d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(iso, "PT")))
			if err != nil {
				return nil, fmt.Errorf("rule %s: for %q: %w", rule.Alert, iso, err)
			}
			rule.For = d
		}
		out = append(out, rule)
	}
	return out, nil
}
