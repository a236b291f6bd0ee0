// Package monitoring watches the workload: Prometheus alert rules on the
// consumer's own metrics (one table, rendered for Amazon Managed Service for
// Prometheus, Azure Monitor's managed Prometheus, promtool and the lab), and
// per cloud the collection of those metrics, the cloud's own alarms and the
// notification target.
package monitoring

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// GroupName names the rule group in every place it is loaded.
const GroupName = "edw-consumer"

// Thresholds are the alerts' settings, from the stack's config.
type Thresholds struct {
	// SetAside is how many messages may be set aside (poison or dead
	// letter) in Window before the alert fires; 0 fires on the first.
	SetAside int
	// WriteFailures is how many failed row writes in Window fire the alert.
	WriteFailures int
	// BacklogAgeSeconds is the age of the oldest received message that
	// fires the alert.
	BacklogAgeSeconds int
	// Window is the span the counts are taken over.
	Window time.Duration
}

// Rule is one alert on the consumer's metrics.
type Rule struct {
	Alert string
	// Expr is the PromQL; it keeps the namespace label, so an alert says
	// which deployment of the workload it is about.
	Expr string
	// For is how long Expr must hold before the alert fires.
	For time.Duration
	// Severity is "critical" (a message is not where it should be) or
	// "warning" (the workload is slow or degraded).
	Severity             string
	Summary, Description string
}

// Rules are the workload's alerts for thresholds t.
func Rules(t Thresholds) []Rule {
	window := promDuration(t.Window)
	return []Rule{{
		Alert: "EdwMessagesSetAside",
		Expr: fmt.Sprintf(`sum by (namespace) (increase(edw_consumer_messages_poisoned_total[%s])) > %d`,
			window, t.SetAside),
		Severity: "critical",
		Summary:  "Messages were set aside as unprocessable",
		// increase() extrapolates, so the count is an estimate.
		Description: fmt.Sprintf("About {{ $value | humanize }} messages in namespace {{ $labels.namespace }} went to the "+
			"poison or dead-letter queue in the last %s; they wait there, unwritten, for someone to look.", window),
	}, {
		Alert: "EdwWriteFailures",
		Expr: fmt.Sprintf(`sum by (namespace) (increase(edw_consumer_write_failures_total[%s])) > %d`,
			window, t.WriteFailures),
		Severity: "warning",
		Summary:  "The consumer fails to write to the table",
		Description: fmt.Sprintf("About {{ $value | humanize }} row writes failed in namespace {{ $labels.namespace }} in the "+
			"last %s; the messages are retried, then redelivered, then set aside.", window),
	}, {
		Alert: "EdwBacklogOld",
		Expr: fmt.Sprintf(`max by (namespace) (edw_consumer_oldest_message_age_seconds) > %d`,
			t.BacklogAgeSeconds),
		For:      time.Minute,
		Severity: "warning",
		Summary:  "The consumers receive old messages",
		Description: fmt.Sprintf("The oldest message received in namespace {{ $labels.namespace }} waited "+
			"{{ $value | humanizeDuration }} in the queue (alert above %d s): the consumers do not keep up.",
			t.BacklogAgeSeconds),
	}}
}

// RulesFile is rules as a Prometheus rules file: what promtool tests, the
// lab's Prometheus loads and Amazon Managed Service for Prometheus takes.
func RulesFile(rules []Rule) (string, error) {
	type promRule struct {
		Alert       string            `yaml:"alert"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	type group struct {
		Name  string     `yaml:"name"`
		Rules []promRule `yaml:"rules"`
	}
	g := group{Name: GroupName}
	for _, r := range rules {
		pr := promRule{
			Alert: r.Alert, Expr: r.Expr,
			Labels:      map[string]string{"severity": r.Severity},
			Annotations: map[string]string{"summary": r.Summary, "description": r.Description},
		}
		if r.For > 0 {
			pr.For = promDuration(r.For)
		}
		g.Rules = append(g.Rules, pr)
	}
	b, err := yaml.Marshal(map[string][]group{"groups": {g}})
	if err != nil {
		return "", fmt.Errorf("rules file: %w", err)
	}
	return string(b), nil
}

// promDuration is d in Prometheus' notation: whole minutes as "10m",
// otherwise seconds.
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// isoDuration is d as ISO 8601, which Azure's rule groups take.
func isoDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("PT%dM", d/time.Minute)
	}
	return fmt.Sprintf("PT%dS", d/time.Second)
}

// azureSeverity maps a rule's severity to Azure Monitor's 0 (critical) to
// 4 (verbose).
func azureSeverity(s string) int {
	if strings.EqualFold(s, "critical") {
		return 1
	}
	return 2
}
