package stacks

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// get serves config from a map, as the engine would.
func get(values map[string]string) func(string) string {
	return func(k string) string { return values[k] }
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := Load("dev", get(map[string]string{"edw:cloud": "aws"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Name != "edw-dev" || cfg.Keda.MinReplicas != 0 || cfg.Keda.PollingInterval != 10 || cfg.Cluster.SystemNodeType != "m6i.large" {
		t.Fatalf("defaults: cluster %q, keda min %d polling %d", cfg.Cluster.Name, cfg.Keda.MinReplicas, cfg.Keda.PollingInterval)
	}
	if got := strings.Join(cfg.Karpenter.CapacityTypes, ","); got != "spot,on-demand" {
		t.Fatalf("capacity types %q", got)
	}
	azure, err := Load("dev", get(map[string]string{"edw:cloud": "azure"}))
	if err != nil || azure.Cluster.SystemNodeType != "Standard_D4ds_v5" {
		t.Fatalf("azure defaults: %v, system node type %q", err, azure.Cluster.SystemNodeType)
	}
}

func TestListsTakeJSONOrCommas(t *testing.T) {
	for _, raw := range []string{`["arm64","amd64"]`, "arm64, amd64"} {
		cfg, err := Load("dev", get(map[string]string{"edw:cloud": "aws", "edw:karpenterArchitectures": raw}))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := strings.Join(cfg.Karpenter.Architectures, ","); got != "arm64,amd64" {
			t.Fatalf("%s: architectures %q", raw, got)
		}
	}
}

// Every invalid value is reported with its key and what to set, all at
// once, before anything is created.
func TestInvalidConfigNamesTheKeyAndTheFix(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{}, `edw:cloud is "": set it to aws or azure`},
		{map[string]string{"edw:kedaMinReplicas": "5", "edw:kedaMaxReplicas": "3"}, "edw:kedaMaxReplicas (3) must be >= 1 and >= edw:kedaMinReplicas (5)"},
		{map[string]string{"edw:kedaMaxReplicas": "many"}, `edw:kedaMaxReplicas: want an integer, got "many"`},
		{map[string]string{"edw:clusterAvailabilityZones": "4"}, "edw:clusterAvailabilityZones is 4: want 2 or 3"},
		{map[string]string{"edw:clusterName": "Edw_Prod"}, `edw:clusterName is "Edw_Prod"`},
		{map[string]string{"edw:queueVisibilityTimeoutSeconds": "30"}, "edw:queueVisibilityTimeoutSeconds is 30: want at least twice edw:consumerShutdownTimeoutSeconds (20)"},
		{map[string]string{"edw:kedaScaleDownWindowSeconds": "-1"}, "edw:kedaScaleDownWindowSeconds is -1: want 0 to 3600"},
		{map[string]string{"edw:kedaScaleUpPods": "0"}, "edw:kedaScaleUpPods is 0: want 1 or more"},
		{map[string]string{"edw:karpenterCapacityTypes": "spot,reserved"}, `edw:karpenterCapacityTypes has "reserved": want some of spot, on-demand`},
		{map[string]string{"edw:karpenterMode": "manual"}, `edw:karpenterMode is "manual": want controller or auto`},
		{map[string]string{"edw:karpenterConsolidateAfter": "soon"}, `edw:karpenterConsolidateAfter is "soon": want whole seconds, minutes or hours`},
		{map[string]string{"edw:karpenterExpireAfter": "1.5h"}, `edw:karpenterExpireAfter is "1.5h"`},
		{map[string]string{"edw:clusterEndpointAccess": "internal"}, `edw:clusterEndpointAccess is "internal": want public-and-private, public, private`},
		{map[string]string{"edw:clusterPublicAccessCidrs": "10.0.0.0/33"}, `edw:clusterPublicAccessCidrs has "10.0.0.0/33": want IPv4 ranges`},
		{map[string]string{"edw:clusterPublicAccessCidrs": "[]"}, "edw:clusterPublicAccessCidrs is empty: list the ranges"},
		{map[string]string{"edw:clusterLogRetentionDays": "10"}, "edw:clusterLogRetentionDays is 10: want a CloudWatch retention"},
		{map[string]string{"edw:karpenterTerminationGracePeriod": "20s"}, "edw:karpenterTerminationGracePeriod is 20s: want at least a consumer pod's grace period, 30s"},
		{map[string]string{"edw:karpenterTerminationGracePeriod": "Never"}, `edw:karpenterTerminationGracePeriod is "Never": want whole seconds`},
		{map[string]string{"edw:karpenterAmiAlias": "ubuntu@latest"}, `edw:karpenterAmiAlias is "ubuntu@latest"`},
		{map[string]string{"edw:consumerMemory": "lots"}, `edw:consumerMemory is "lots": want a Kubernetes quantity`},
		{map[string]string{"edw:producerEphemeralStorage": "lots"}, `edw:producerEphemeralStorage is "lots": want a Kubernetes quantity`},
		{map[string]string{"edw:metricsNamespaces": "Monitoring"}, `edw:metricsNamespaces has "Monitoring": want Kubernetes namespace names`},
		{map[string]string{"edw:producerRatePerSecond": "-1"}, "edw:producerRatePerSecond is -1: want 0 (off) or more"},
		{map[string]string{"edw:imagesConsumer": "repo/consumer:1"}, "edw:imagesProducer and edw:imagesConsumer must be set together"},
		{map[string]string{"edw:karpenterImageFamily": "Windows"}, `edw:karpenterImageFamily is "Windows": want AzureLinux or Ubuntu2204`},
		{map[string]string{"edw:karpenterOsDiskSizeGB": "10"}, "edw:karpenterOsDiskSizeGB is 10: want 30 to 2048"},
		{map[string]string{"edw:tableService": "mongo"}, `edw:tableService is "mongo": want storage or cosmos`},
		{map[string]string{"edw:tableService": "cosmos"}, `edw:tableService is cosmos on "aws": Cosmos DB is the Azure stack's option`},
		{map[string]string{"edw:cloud": "azure", "edw:tableCosmosMaxThroughput": "4000"}, `edw:tableCosmosMaxThroughput is 4000 but edw:tableService is "storage": set edw:tableService cosmos, or 0`},
		{map[string]string{"edw:cloud": "azure", "edw:tableService": "cosmos", "edw:tableCosmosMaxThroughput": "1500"}, "edw:tableCosmosMaxThroughput is 1500: want 0 (serverless) or 1000 to 1000000 RU/s in steps of 1000"},
		{map[string]string{"edw:cloud": "azure", "edw:tableService": "cosmos", "edw:tableCosmosMaxThroughput": "400"}, "edw:tableCosmosMaxThroughput is 400: want 0 (serverless) or 1000"},
		{map[string]string{"edw:kedaPrometheusQuery": "up"}, `edw:kedaPrometheusWorkspaceId is set on "aws": the Prometheus trigger is for the Azure stack`},
		{map[string]string{"edw:cloud": "azure", "edw:kedaPrometheusQuery": "up"}, "edw:kedaPrometheusWorkspaceId edw:kedaPrometheusQueryEndpoint and edw:kedaPrometheusQuery must be set together"},
	} {
		values := map[string]string{"edw:cloud": "aws"}
		for k, v := range tc.set {
			values[k] = v
		}
		if len(tc.set) == 0 {
			values = map[string]string{}
		}
		_, err := Load("dev", get(values))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %v: error %v, want it to contain %q", tc.set, err, tc.want)
		}
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Load("dev", get(map[string]string{"edw:cloud": "aws", "edw:kedaQueueLength": "-1", "edw:consumerWorkers": "0"}))
	if err == nil || !strings.Contains(err.Error(), "edw:kedaQueueLength") || !strings.Contains(err.Error(), "edw:consumerWorkers") {
		t.Fatalf("error %v: want both keys reported", err)
	}
}

// Pulumi.yaml declares exactly the keys of Config, with their defaults, so
// the CLI and the configuration reference cannot drift from the code.
func TestPulumiYamlDeclaresEveryKey(t *testing.T) {
	b, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Name    string
		Runtime string
		Config  map[string]struct {
			Type        string
			Description string
			Default     any
		}
	}
	if err := yaml.Unmarshal(b, &project); err != nil {
		t.Fatal(err)
	}
	if project.Name != "edw" || project.Runtime != "go" {
		t.Fatalf("project %q runtime %q", project.Name, project.Runtime)
	}
	keys := Keys()
	if len(project.Config) != len(keys) {
		t.Errorf("Pulumi.yaml declares %d keys, Config has %d", len(project.Config), len(keys))
	}
	for _, k := range keys {
		d, ok := project.Config[k.Name]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %s", k.Name)
			continue
		}
		// Pulumi's config types have no number: a number is declared an
		// integer, so that the CLI refuses a word or a fraction.
		want := map[string]string{"integer": "integer", "number": "integer", "boolean": "boolean", "list": "array"}[k.Type]
		if want == "" {
			want = "string"
		}
		if d.Type != want || d.Description != k.Help {
			t.Errorf("%s: Pulumi.yaml type %q description %q, want %q %q", k.Name, d.Type, d.Description, want, k.Help)
		}
		if got := yamlDefault(d.Default); got != k.Default {
			t.Errorf("%s: Pulumi.yaml default %q, code default %q", k.Name, got, k.Default)
		}
	}
}

func yamlDefault(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = e.(string)
		}
		return strings.Join(parts, ",")
	default:
		return strings.TrimSpace(strings.Trim(yamlString(v), `"`))
	}
}

func yamlString(v any) string {
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

// The configuration reference (docs/configuration.md) lists every key with
// its type, as Pulumi.yaml declares it, and its default.
func TestReadmeListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, k := range Keys() {
		def := "—"
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		typ := k.Type
		if typ == "number" {
			typ = "integer"
		}
		row := fmt.Sprintf("| `%s` | %s | %s | %s |", k.Name, typ, def, k.Help)
		if !strings.Contains(page, row) {
			t.Errorf("docs/configuration.md lacks the row %s", row)
		}
	}
}

// A backlog below the activation length waits with no consumer when the
// minimum is zero: the program warns, and no committed stack does it.
func TestStrandedBacklogWarns(t *testing.T) {
	cfg, err := Load("dev", get(map[string]string{"edw:cloud": "azure", "edw:kedaActivationQueueLength": "20"}))
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Warnings(); len(w) != 1 || !strings.Contains(w[0], "edw:kedaActivationQueueLength is 20") {
		t.Errorf("warnings %q, want one on the activation length", w)
	}
	cfg, err = Load("dev", get(map[string]string{"edw:cloud": "azure", "edw:kedaActivationQueueLength": "20", "edw:kedaMinReplicas": "1"}))
	if err != nil || len(cfg.Warnings()) != 0 {
		t.Errorf("with a consumer always running: %v, warnings %q", err, cfg.Warnings())
	}
	for _, stack := range []string{"aws", "azure"} {
		b, err := os.ReadFile(fmt.Sprintf("Pulumi.%s.yaml", stack))
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Config map[string]string }
		if err := yaml.Unmarshal(b, &file); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(stack, get(file.Config))
		if err != nil {
			t.Fatalf("%s: %v", stack, err)
		}
		if w := cfg.Warnings(); len(w) > 0 {
			t.Errorf("Pulumi.%s.yaml: %q", stack, w)
		}
	}
}
