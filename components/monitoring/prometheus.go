package monitoring

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// scrapeInterval is the shortest AWS's managed scraper takes; AKS's agent
// scrapes as often.
const scrapeInterval = "30s"

// ScrapeConfig is a Prometheus scrape configuration for the pods of
// namespace that ask for it with the prometheus.io annotations, as the
// workload's pods do; each series keeps the namespace and pod it came from.
func ScrapeConfig(namespace, interval string) (string, error) {
	annotation := func(name string) string { return "__meta_kubernetes_pod_annotation_prometheus_io_" + name }
	cfg := map[string]any{
		"global": map[string]any{"scrape_interval": interval},
		"scrape_configs": []any{map[string]any{
			"job_name": GroupName,
			"kubernetes_sd_configs": []any{map[string]any{
				"role": "pod", "namespaces": map[string]any{"names": []string{namespace}},
			}},
			"relabel_configs": []any{
				map[string]any{"source_labels": []string{annotation("scrape")}, "regex": "true", "action": "keep"},
				map[string]any{"source_labels": []string{annotation("path")}, "regex": "(.+)", "target_label": "__metrics_path__"},
				map[string]any{
					"source_labels": []string{"__meta_kubernetes_pod_ip", annotation("port")},
					"regex":         "(.+);(\\d+)", "replacement": "$1:$2", "target_label": "__address__",
				},
				map[string]any{"source_labels": []string{"__meta_kubernetes_namespace"}, "target_label": "namespace"},
				map[string]any{"source_labels": []string{"__meta_kubernetes_pod_name"}, "target_label": "pod"},
				// The dashboard counts the nodes that run consumers.
				map[string]any{"source_labels": []string{"__meta_kubernetes_pod_node_name"}, "target_label": "node"},
			},
		}},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("scrape config: %w", err)
	}
	return string(b), nil
}

// alertManagerConfig routes every alert to an SNS topic, in the form
// Amazon Managed Service for Prometheus takes: the alert manager's own
// configuration as a string under alertmanager_config.
func alertManagerConfig(topicArn, region string) (string, error) {
	inner, err := yaml.Marshal(map[string]any{
		"route": map[string]any{"receiver": "sns", "group_by": []string{"alertname", "namespace"}},
		"receivers": []any{map[string]any{
			"name": "sns",
			"sns_configs": []any{map[string]any{
				"topic_arn": topicArn,
				"sigv4":     map[string]any{"region": region},
				"subject":   `{{ .CommonLabels.alertname }}: {{ .CommonAnnotations.summary }}`,
			}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("alert manager config: %w", err)
	}
	b, err := yaml.Marshal(map[string]string{"alertmanager_config": string(inner)})
	if err != nil {
		return "", fmt.Errorf("alert manager config: %w", err)
	}
	return string(b), nil
}
