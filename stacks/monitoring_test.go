package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edw-project/edw/components/monitoring"
	"github.com/edw-project/edw/internal/render"
)

// defaultRules are the alert rules for the stacks' default thresholds.
func defaultRules(t *testing.T) string {
	t.Helper()
	rules, err := monitoring.RulesFile(monitoring.Rules(monitoring.Thresholds{
		SetAside: 0, WriteFailures: 10, BacklogAgeSeconds: 600, Window: 10 * time.Minute,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// AWS: CloudWatch alarms on the dead-letter queue and the backlog's age,
// the consumer's metrics scraped into a managed Prometheus workspace that
// evaluates the same rules promtool tests, and every alert to one topic,
// which lets exactly CloudWatch and that workspace publish.
func TestAWSMonitoring(t *testing.T) {
	p := aws(t)
	topic := p.Outputs["alertTopicArn"]
	alarms := map[string]string{}
	for _, r := range p.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		in := r.Inputs
		if r.Name != "monitoring-set-aside" {
			alarms[fmt.Sprint(in["metricName"])] = fmt.Sprintf("%v %v>%v", at(in, "dimensions", "QueueName"), in["statistic"], in["threshold"])
		}
		if at(in, "alarmActions", 0) != topic || at(in, "okActions", 0) != topic || in["treatMissingData"] != "notBreaching" {
			t.Errorf("%s: actions %v / %v, missing data %v; want the topic %v, notBreaching", r.Name, in["alarmActions"], in["okActions"], in["treatMissingData"], topic)
		}
	}
	want := map[string]string{"ApproximateAgeOfOldestMessage": "work Maximum>600"}
	if fmt.Sprint(alarms) != fmt.Sprint(want) {
		t.Errorf("alarms %v, want %v", alarms, want)
	}
	setAside := one(t, p, "aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-set-aside").Inputs
	if at(setAside, "metricQueries", 0, "metric", "dimensions", "QueueName") != "work-dlq" {
		t.Errorf("the set-aside alarm watches %v, want the dead-letter queue", at(setAside, "metricQueries", 0, "metric"))
	}
	// The topic is encrypted under a key the alert publishers may use, and
	// only they besides the account.
	key := one(t, p, "aws:kms/key:Key", "monitoring-alerts").Inputs
	if at(one(t, p, "aws:sns/topic:Topic", "monitoring-alerts").Inputs, "kmsMasterKeyId") != "arn:aws:kms:us-east-1:123456789012:key/monitoring-alerts" || key["enableKeyRotation"] != true {
		t.Errorf("alert topic key %v, rotation %v", at(one(t, p, "aws:sns/topic:Topic", "monitoring-alerts").Inputs, "kmsMasterKeyId"), key["enableKeyRotation"])
	}
	var keyPolicy struct{ Statement []statement }
	if err := json.Unmarshal([]byte(fmt.Sprint(key["policy"])), &keyPolicy); err != nil || len(keyPolicy.Statement) != 2 {
		t.Fatalf("key policy %v: %v", key["policy"], err)
	}
	if s := keyPolicy.Statement[1]; fmt.Sprint(s.Principal, s.Action, s.Condition) !=
		"map[Service:[cloudwatch.amazonaws.com aps.amazonaws.com]] [kms:Decrypt kms:GenerateDataKey*] map[]" {
		t.Errorf("publishers' key statement %+v", s)
	}
	if data := one(t, p, "aws:amp/ruleGroupNamespace:RuleGroupNamespace", "monitoring").Inputs["data"]; data != defaultRules(t) {
		t.Errorf("the workspace's rules are not the tested ones:\n%v", data)
	}
	if def := fmt.Sprint(one(t, p, "aws:amp/alertManagerDefinition:AlertManagerDefinition", "monitoring").Inputs["definition"]); !strings.Contains(def, "topic_arn: "+fmt.Sprint(topic)) {
		t.Errorf("the alert manager does not publish to the topic:\n%s", def)
	}
	scraper := one(t, p, "aws:amp/scraper:Scraper", "monitoring").Inputs
	if arn := at(scraper, "source", "eks", "clusterArn"); arn != "arn:aws:eks:us-east-1:123456789012:cluster/edw-aws" ||
		len(at(scraper, "source", "eks", "subnetIds").([]any)) != 2 || !strings.Contains(fmt.Sprint(scraper["scrapeConfiguration"]), "- edw\n") {
		t.Errorf("scraper %v", scraper)
	}
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(fmt.Sprint(one(t, p, "aws:sns/topicPolicy:TopicPolicy", "monitoring-alerts").Inputs["policy"])), &doc); err != nil {
		t.Fatal(err)
	}
	var publishers []string
	for _, s := range doc.Statement {
		publishers = append(publishers, fmt.Sprint(at(s, "Principal", "Service"), " ", at(s, "Condition", "ArnEquals", "aws:SourceArn")))
	}
	if want := []string{"cloudwatch.amazonaws.com <nil>", "aps.amazonaws.com arn:aws:aps:us-east-1:123456789012:workspace/ws-monitoring"}; !slices.Equal(publishers, want) {
		t.Errorf("topic publishers %q, want %q", publishers, want)
	}
	// The scraper's interfaces have subnets of their own, and only those
	// reach the metrics port from outside the metrics namespaces: every
	// pod has an address in the node subnets.
	var from []string
	for _, peer := range at(one(t, p, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "edw-metrics").Inputs, "spec", "ingress", 0, "from").([]any) {
		if cidr := at(peer, "ipBlock", "cidr"); cidr != nil {
			from = append(from, fmt.Sprint(cidr))
		}
	}
	if want := []string{"10.0.108.0/28", "10.0.108.16/28"}; !slices.Equal(from, want) {
		t.Errorf("metrics ingress from %q, want the scraper subnets %q", from, want)
	}
	for _, id := range at(scraper, "source", "eks", "subnetIds").([]any) {
		if !strings.HasSuffix(fmt.Sprint(id), "-scraper-id") {
			t.Errorf("scraper interface in subnet %v, want the scraper subnets", id)
		}
	}
	for _, s := range p.Find("aws:ec2/subnet:Subnet") {
		if _, tagged := at(s.Inputs, "tags").(map[string]any)["karpenter.sh/discovery"]; tagged && strings.HasSuffix(s.Name, "-scraper") {
			t.Errorf("%s is tagged for Karpenter: nodes, and so pods, could take addresses there", s.Name)
		}
	}
	if len(p.Find("aws:sns/topicSubscription:TopicSubscription")) != 0 {
		t.Error("an e-mail subscription without edw:alertEmail")
	}

	// A public-only endpoint has no scraper (it needs the private one): the
	// alarms stay, and the e-mail gets the topic.
	public, err := renderStack(t, "aws", map[string]string{"edw:clusterEndpointAccess": "public", "edw:alertEmail": "ops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(public.Find("aws:ec2/subnet:Subnet")); n != 4 {
		t.Errorf("public endpoint: %d subnets, want no scraper subnets", n)
	}
	if n := len(public.Find("aws:amp/scraper:Scraper")) + len(public.Find("aws:amp/workspace:Workspace")); n != 0 || len(public.Find("aws:cloudwatch/metricAlarm:MetricAlarm")) != 2 {
		t.Errorf("public endpoint: %d managed Prometheus resources, alarms %d; want 0, 2", n, len(public.Find("aws:cloudwatch/metricAlarm:MetricAlarm")))
	}
	sub := one(t, public, "aws:sns/topicSubscription:TopicSubscription", "monitoring-email").Inputs
	if sub["protocol"] != "email" || sub["endpoint"] != "ops@example.com" {
		t.Errorf("subscription %v", sub)
	}
}

// Azure: AKS's managed Prometheus sends to a workspace through a collection
// rule associated with the cluster, scrapes only the workload's namespace,
// and the same rules (Azure's notation) notify the action group.
func TestAzureMonitoring(t *testing.T) {
	p := plan(t, "azure")
	one(t, p, "azure-native:monitor:AzureMonitorWorkspace", "monitoring")
	wsID := "/subscriptions/" + render.SubscriptionID + "/resourceGroups/edw-rg/providers/Microsoft.monitor/AzureMonitorWorkspace/monitoring"
	dcr := one(t, p, "azure-native:insights:DataCollectionRule", "monitoring").Inputs
	if at(dcr, "destinations", "monitoringAccounts", 0, "accountResourceId") != wsID || at(dcr, "dataFlows", 0, "streams", 0) != "Microsoft-PrometheusMetrics" {
		t.Errorf("collection rule %v", dcr)
	}
	if uri := one(t, p, "azure-native:insights:DataCollectionRuleAssociation", "monitoring").Inputs["resourceUri"]; !strings.HasSuffix(fmt.Sprint(uri), "/ManagedCluster/cluster") {
		t.Errorf("association on %v, want the cluster", uri)
	}
	if on := at(one(t, p, "azure-native:containerservice/v20241002preview:ManagedCluster", "cluster").Inputs, "azureMonitorProfile", "metrics", "enabled"); on != true {
		t.Errorf("managed Prometheus on the cluster: %v", on)
	}
	// AKS's own pod-annotation job labels kubernetes_namespace and
	// kubernetes_pod_name, no node (Azure/prometheus-collector,
	// podannotationsDefault.yml): the agent runs the job AWS's scraper runs,
	// which labels what the rules and the dashboard read.
	want, err := monitoring.ScrapeConfig("edw", "30s")
	if err != nil {
		t.Fatal(err)
	}
	scrape := one(t, p, "kubernetes:core/v1:ConfigMap", "monitoring-scrape").Inputs
	if at(scrape, "metadata", "namespace") != "kube-system" || at(scrape, "metadata", "name") != "ama-metrics-prometheus-config" ||
		at(scrape, "data", "prometheus-config") != want || len(scrape["data"].(map[string]any)) != 1 {
		t.Errorf("metrics agent's scrape config %v, want ama-metrics-prometheus-config with\n%s", scrape, want)
	}
	if len(p.Find("kubernetes:core/v1:ConfigMap")) != 1 {
		t.Error("a second ConfigMap: the agent's pod-annotation job would scrape the consumers again, without namespace and node")
	}
	group := one(t, p, "azure-native:alertsmanagement:PrometheusRuleGroup", "monitoring").Inputs
	if at(group, "scopes", 0) != wsID {
		t.Errorf("rule group scopes %v", group["scopes"])
	}
	actionGroup := "/subscriptions/" + render.SubscriptionID + "/resourceGroups/edw-rg/providers/Microsoft.insights/ActionGroup/monitoring-alerts"
	var alerts []string
	for _, r := range at(group, "rules").([]any) {
		alerts = append(alerts, fmt.Sprint(at(r, "alert"), " ", at(r, "for"), " ", at(r, "severity")))
		if at(r, "actions", 0, "actionGroupId") != actionGroup {
			t.Errorf("%v notifies %v, want the action group", at(r, "alert"), at(r, "actions"))
		}
		if !strings.Contains(defaultRules(t), fmt.Sprint("expr: ", at(r, "expression"))) {
			t.Errorf("%v: expression %q is not the tested one", at(r, "alert"), at(r, "expression"))
		}
	}
	if want := []string{"EdwMessagesSetAside <nil> 1", "EdwWriteFailures <nil> 2", "EdwBacklogOld PT1M 2"}; !slices.Equal(alerts, want) {
		t.Errorf("rules %q, want %q", alerts, want)
	}
}

// Bad alert settings fail before anything is created, naming the key.
func TestBadAlertConfig(t *testing.T) {
	for key, value := range map[string]string{
		"edw:alertEmail": "ops at example", "edw:alertBacklogAgeSeconds": "30",
		"edw:alertWriteFailures": "-1", "edw:alertSetAsideMessages": "-2",
	} {
		_, err := renderStack(t, "aws", map[string]string{key: value})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: %v, want an error naming the key", key, value, err)
		}
	}
}

// The set-aside alarm tells of every message that reaches the dead-letter
// queue, not only of the first: dead letters stay there for 14 days, so an
// alarm on the queue's depth would stay in ALARM and never notify again.
// The alarm is evaluated here as CloudWatch does (Maximum per period, the
// DIFF of metric math, GreaterThanThreshold, one period) over a fortnight
// of depths with two set-asides a week apart.
func TestAWSSetAsideAlarmNotifiesEachTime(t *testing.T) {
	in := one(t, aws(t), "aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-set-aside").Inputs
	metric := at(in, "metricQueries", 0, "metric")
	if at(metric, "period") != 600.0 || at(metric, "stat") != "Maximum" || at(metric, "metricName") != "ApproximateNumberOfMessagesVisible" {
		t.Fatalf("set-aside alarm reads %v, want the dead-letter queue's depth, Maximum over the 10-minute window", at(in, "metricQueries", 0))
	}
	// The queue's depth each 10 minutes: 3 dead letters on day 1 and one
	// more on day 8, all of them kept; before the first, the empty queue
	// reported nothing (SQS stops after about 6 idle hours).
	depths := make([]*float64, 14*144)
	for i := range depths {
		switch {
		case i >= 7*144:
			depths[i] = ptr(4.0)
		case i >= 144:
			depths[i] = ptr(3.0)
		}
	}
	if got := alarmNotifications(t, in, depths); got != 2 {
		t.Errorf("the alarm went into ALARM %d times for two set-asides, want 2", got)
	}
}

func ptr(v float64) *float64 { return &v }

// alarmNotifications counts the OK -> ALARM transitions of a one-period
// alarm over values (nil: no data), given its metric queries: DIFF of the
// first, with or without FILL of missing points with 0. As in CloudWatch,
// DIFF has no value where either point is missing, and a missing value
// does not breach (treatMissingData notBreaching, checked elsewhere).
func alarmNotifications(t *testing.T, alarm map[string]any, values []*float64) int {
	t.Helper()
	id := fmt.Sprint(at(alarm, "metricQueries", 0, "id"))
	expr := at(alarm, "metricQueries", 1, "expression")
	fill := expr == "DIFF(FILL("+id+", 0))"
	if (!fill && expr != "DIFF("+id+")") || at(alarm, "metricQueries", 1, "returnData") != true {
		t.Fatalf("expression %v: the evaluator knows DIFF and DIFF(FILL(x, 0)) of the first query only", expr)
	}
	if fill {
		for i, v := range values {
			if v == nil {
				values[i] = ptr(0)
			}
		}
	}
	var series []*float64
	for i := 1; i < len(values); i++ {
		if values[i] == nil || values[i-1] == nil {
			series = append(series, nil)
			continue
		}
		series = append(series, ptr(*values[i]-*values[i-1]))
	}
	threshold, _ := alarm["threshold"].(float64)
	if alarm["comparisonOperator"] != "GreaterThanThreshold" || alarm["evaluationPeriods"] != 1.0 {
		t.Fatalf("alarm %v %v: the evaluator knows one-period GreaterThanThreshold only", alarm["comparisonOperator"], alarm["evaluationPeriods"])
	}
	alarming, n := false, 0
	for _, v := range series {
		breaching := v != nil && *v > threshold
		if breaching && !alarming {
			n++
		}
		alarming = breaching
	}
	return n
}

// Azure's agent drops a custom scrape configuration it cannot parse, and
// falls back to its defaults without a word (Azure/prometheus-collector,
// configmapparser): promtool, Prometheus' own parser, reads the one each
// stack deploys.
func TestScrapeConfigsWithPromtool(t *testing.T) {
	promtool := tool(t, "promtool")
	configs := map[string]any{
		"aws":   one(t, aws(t), "aws:amp/scraper:Scraper", "monitoring").Inputs["scrapeConfiguration"],
		"azure": at(one(t, azure(t), "kubernetes:core/v1:ConfigMap", "monitoring-scrape").Inputs, "data", "prometheus-config"),
	}
	for stack, cfg := range configs {
		path := filepath.Join(t.TempDir(), stack+".yaml")
		if err := os.WriteFile(path, []byte(fmt.Sprint(cfg)), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(promtool, "check", "config", path).CombinedOutput(); err != nil {
			t.Errorf("%s scrape config: %v\n%s", stack, err, out)
		}
	}
}
