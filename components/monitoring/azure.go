package monitoring

import (
	"fmt"

	"github.com/pulumi/pulumi-azure-native-sdk/insights/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/internal/azurenative"
)

// AzureToken is the component's type token.
const AzureToken = "edw:monitoring:Azure"

const (
	prometheusStream = "Microsoft-PrometheusMetrics"
	// destination names the workspace inside the collection rule.
	destination = "workspace"
	// scrapeConfigMap holds the custom scrape jobs of AKS's metrics agent
	// in kube-system, and scrapeConfigKey the Prometheus configuration in
	// it (learn.microsoft.com, "Customize scraping of Prometheus metrics in
	// Azure Monitor"). The agent's own pod-annotation job is left off: it
	// labels series kubernetes_namespace and kubernetes_pod_name, and no
	// node (Azure/prometheus-collector, otelcollector/configmapparser/
	// default-prom-configs/podannotationsDefault.yml), where the rules and
	// the dashboard, like AWS's scraper, read namespace, pod and node.
	scrapeConfigMap = "ama-metrics-prometheus-config"
	scrapeConfigKey = "prometheus-config"
	// ruleInterval is how often Azure evaluates the rules.
	ruleInterval = "PT1M"
	// actionGroupShortName is what SMS and e-mails show (12 characters
	// at most).
	actionGroupShortName = "edw-alerts"
)

// AzureArgs configure the Azure monitoring.
type AzureArgs struct {
	// ResourceGroupName holds every resource. Required.
	ResourceGroupName pulumi.StringInput
	// ClusterId and ClusterName are the AKS cluster whose metrics agent
	// sends to the workspace. Required.
	ClusterId, ClusterName pulumi.StringInput
	// Namespace is the workload's: its annotated pods are scraped.
	// Required.
	Namespace pulumi.StringInput
	// Thresholds set the alert rules. Required.
	Thresholds Thresholds
	// Email, when set, receives the alerts.
	Email string
	// Tags for every Azure resource. Optional.
	Tags pulumi.StringMap
}

// Azure is an Azure Monitor workspace that AKS's managed Prometheus sends
// the workload's metrics to, the alert rules evaluated there, and the
// action group they notify.
type Azure struct {
	pulumi.ResourceState

	ActionGroupId pulumi.StringOutput `pulumi:"actionGroupId"`
	WorkspaceId   pulumi.StringOutput `pulumi:"workspaceId"`
	// PrometheusQueryEndpoint is where Grafana or KEDA query the metrics.
	PrometheusQueryEndpoint pulumi.StringOutput `pulumi:"prometheusQueryEndpoint"`
}

// monitorWorkspace is azure-native's Microsoft.Monitor/accounts, the parts
// read here.
type monitorWorkspace struct {
	pulumi.CustomResourceState

	Metrics pulumi.StringMapOutput `pulumi:"metrics"`
}

// ruleGroup is azure-native's Microsoft.AlertsManagement/prometheusRuleGroups.
type ruleGroup struct {
	pulumi.CustomResourceState
}

// NewAzure creates the monitoring. opts must carry the cluster's
// Kubernetes provider, for the metrics agent's settings.
func NewAzure(ctx *pulumi.Context, name string, args *AzureArgs, opts ...pulumi.ResourceOption) (*Azure, error) {
	if args == nil || args.ResourceGroupName == nil || args.ClusterId == nil || args.ClusterName == nil || args.Namespace == nil {
		return nil, fmt.Errorf("monitoring %q: ResourceGroupName, ClusterId, ClusterName and Namespace are required", name)
	}
	c := &Azure{}
	if err := ctx.RegisterComponentResource(AzureToken, name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	var receivers insights.EmailReceiverArray
	if args.Email != "" {
		receivers = insights.EmailReceiverArray{insights.EmailReceiverArgs{
			Name: pulumi.String("email"), EmailAddress: pulumi.String(args.Email), UseCommonAlertSchema: pulumi.Bool(true),
		}}
	}
	group, err := insights.NewActionGroup(ctx, name+"-alerts", &insights.ActionGroupArgs{
		ResourceGroupName: args.ResourceGroupName, GroupShortName: pulumi.String(actionGroupShortName),
		Enabled: pulumi.Bool(true), Location: pulumi.String("Global"), EmailReceivers: receivers, Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	var ws monitorWorkspace
	if err := azurenative.Register(ctx, "azure-native:monitor:AzureMonitorWorkspace", name, pulumi.Map{
		"resourceGroupName": args.ResourceGroupName, "tags": args.Tags,
	}, &ws, parent); err != nil {
		return nil, err
	}

	// The metrics agent AKS runs sends to the workspaces of the collection
	// rules associated with the cluster.
	endpoint, err := insights.NewDataCollectionEndpoint(ctx, name, &insights.DataCollectionEndpointArgs{
		ResourceGroupName: args.ResourceGroupName, Kind: pulumi.String("Linux"), Tags: args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	streams := pulumi.StringArray{pulumi.String(prometheusStream)}
	rule, err := insights.NewDataCollectionRule(ctx, name, &insights.DataCollectionRuleArgs{
		ResourceGroupName: args.ResourceGroupName, Kind: pulumi.String("Linux"),
		DataCollectionEndpointId: endpoint.ID(),
		DataSources: &insights.DataCollectionRuleDataSourcesArgs{
			PrometheusForwarder: insights.PrometheusForwarderDataSourceArray{insights.PrometheusForwarderDataSourceArgs{
				Name: pulumi.String("prometheus"), Streams: streams,
			}},
		},
		Destinations: &insights.DataCollectionRuleDestinationsArgs{
			MonitoringAccounts: insights.MonitoringAccountDestinationArray{insights.MonitoringAccountDestinationArgs{
				Name: pulumi.String(destination), AccountResourceId: ws.ID(),
			}},
		},
		DataFlows: insights.DataFlowArray{insights.DataFlowArgs{Streams: streams, Destinations: pulumi.StringArray{pulumi.String(destination)}}},
		Tags:      args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := insights.NewDataCollectionRuleAssociation(ctx, name, &insights.DataCollectionRuleAssociationArgs{
		ResourceUri: args.ClusterId, DataCollectionRuleId: rule.ID(),
		Description: pulumi.String("The cluster's Prometheus metrics to the workload's Azure Monitor workspace."),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := corev1.NewConfigMap(ctx, name+"-scrape", &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(scrapeConfigMap), Namespace: pulumi.String("kube-system")},
		Data: pulumi.StringMap{
			scrapeConfigKey: args.Namespace.ToStringOutput().ApplyT(func(ns string) (string, error) {
				return ScrapeConfig(ns, scrapeInterval)
			}).(pulumi.StringOutput),
		},
	}, parent); err != nil {
		return nil, err
	}

	var rules pulumi.Array
	for _, r := range Rules(args.Thresholds) {
		rule := pulumi.Map{
			"alert": pulumi.String(r.Alert), "expression": pulumi.String(r.Expr),
			"severity": pulumi.Int(azureSeverity(r.Severity)), "enabled": pulumi.Bool(true),
			"labels":               pulumi.StringMap{"severity": pulumi.String(r.Severity)},
			"annotations":          pulumi.StringMap{"summary": pulumi.String(r.Summary), "description": pulumi.String(r.Description)},
			"actions":              pulumi.Array{pulumi.Map{"actionGroupId": group.ID()}},
			"resolveConfiguration": pulumi.Map{"autoResolved": pulumi.Bool(true)},
		}
		if r.For > 0 {
			rule["for"] = pulumi.String(isoDuration(r.For))
		}
		rules = append(rules, rule)
	}
	var rg ruleGroup
	if err := azurenative.Register(ctx, "azure-native:alertsmanagement:PrometheusRuleGroup", name, pulumi.Map{
		"resourceGroupName": args.ResourceGroupName, "ruleGroupName": pulumi.String(GroupName),
		"scopes": pulumi.Array{ws.ID()}, "clusterName": args.ClusterName, "enabled": pulumi.Bool(true),
		"interval": pulumi.String(ruleInterval), "rules": rules, "tags": args.Tags,
		"description": pulumi.String("The edw workload's alerts, on the consumer's metrics."),
	}, &rg, parent); err != nil {
		return nil, err
	}

	c.ActionGroupId, c.WorkspaceId = group.ID().ToStringOutput(), ws.ID().ToStringOutput()
	c.PrometheusQueryEndpoint = ws.Metrics.MapIndex(pulumi.String("prometheusQueryEndpoint"))
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"actionGroupId": c.ActionGroupId, "workspaceId": c.WorkspaceId, "prometheusQueryEndpoint": c.PrometheusQueryEndpoint,
	})
}
