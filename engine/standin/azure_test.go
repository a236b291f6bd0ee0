package standin

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const kubeconfigYAML = "apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    server: https://127.0.0.1:6443\n"

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAzureIDsAndNames(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	rgID, rg := create(t, s, "urn:pulumi:dev::edw::azure-native:resources:ResourceGroup::edw", resource.PropertyMap{})
	group := str(rg, "name")
	if !regexp.MustCompile(`^edw[0-9a-f]{8}$`).MatchString(group) || rgID != "/subscriptions/"+azureSubscription+"/resourceGroups/"+group {
		t.Errorf("resource group %q named %q", rgID, group)
	}
	if str(rg, "location") != "northeurope" {
		t.Errorf("location = %q, want the provider's", str(rg, "location"))
	}

	inGroup := resource.PropertyMap{"resourceGroupName": resource.NewProperty(group)}
	accountID, account := create(t, s, "urn:pulumi:dev::edw::edw:queue:Storage$azure-native:storage:StorageAccount::storage-account", inGroup)
	name := str(account, "name")
	if !regexp.MustCompile(`^[a-z0-9]{3,24}$`).MatchString(name) || name != str(account, "accountName") {
		t.Errorf("storage account name %q: want 3-24 lower-case letters and digits", name)
	}
	if want := "/subscriptions/" + azureSubscription + "/resourceGroups/" + group + "/providers/Microsoft.Storage/storageAccounts/" + name; accountID != want {
		t.Errorf("account id = %q, want %q", accountID, want)
	}

	queueID, _ := create(t, s, "urn:pulumi:dev::edw::edw:queue:Storage$azure-native:storage:Queue::storage-work", resource.PropertyMap{
		"resourceGroupName": resource.NewProperty(group), "accountName": resource.NewProperty(name), "queueName": resource.NewProperty("work"),
	})
	if want := accountID + "/queueServices/default/queues/work"; queueID != want {
		t.Errorf("queue id = %q, want %q", queueID, want)
	}

	_, registry := create(t, s, "urn:pulumi:dev::edw::edw:images:Acr$azure-native:containerregistry:Registry::images", inGroup)
	if str(registry, "loginServer") != str(registry, "name")+".azurecr.io" {
		t.Errorf("registry = %v, want <name>.azurecr.io", registry)
	}
}

func TestAzureReplacesWhatIsInTheID(t *testing.T) {
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir()})
	olds := resource.PropertyMap{"resourceGroupName": resource.NewProperty("a"), "tags": resource.NewProperty(resource.PropertyMap{})}
	news := resource.PropertyMap{"resourceGroupName": resource.NewProperty("b"), "tags": resource.NewProperty(resource.PropertyMap{"x": resource.NewProperty("y")})}
	resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{
		Urn: "urn:pulumi:dev::edw::azure-native:managedidentity:UserAssignedIdentity::id", OldInputs: wireOf(t, olds), News: wireOf(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetReplaces()) != 1 || resp.GetReplaces()[0] != "resourceGroupName" || len(resp.GetDiffs()) != 2 {
		t.Errorf("diff = %v, want resourceGroupName replaced and tags updated", resp)
	}
}

func TestManagedClusterKeepsItsIdentitiesAndHandsOutTheKubeconfig(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, "azure-native", Env{StateDir: t.TempDir(), Kubeconfig: writeKubeconfig(t)})
	urn := "urn:pulumi:dev::edw::edw:cluster:Aks$azure-native:containerservice/v20241002preview:ManagedCluster::cluster"
	in := resource.PropertyMap{
		"resourceGroupName": resource.NewProperty("rg"), "resourceName": resource.NewProperty("edw-dev"), "dnsPrefix": resource.NewProperty("edw-dev"),
		"oidcIssuerProfile": resource.NewProperty(resource.PropertyMap{"enabled": resource.NewProperty(true)}),
	}
	id, out := create(t, s, urn, in)
	kubelet := obj(obj(out, "identityProfile"), "kubeletidentity")
	issuer := str(obj(out, "oidcIssuerProfile"), "issuerURL")
	if str(out, "name") != "edw-dev" || str(kubelet, "objectId") == "" || issuer == "" || !obj(out, "oidcIssuerProfile")["enabled"].BoolValue() {
		t.Fatalf("cluster outputs = %v", out)
	}

	in["kubernetesVersion"] = resource.NewProperty("1.33")
	updated, err := s.Update(ctx, &pulumirpc.UpdateRequest{Id: id, Urn: urn, Olds: wireOf(t, out), News: wireOf(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	up := fromWire(t, updated.GetProperties())
	if str(obj(obj(up, "identityProfile"), "kubeletidentity"), "objectId") != str(kubelet, "objectId") || str(obj(up, "oidcIssuerProfile"), "issuerURL") != issuer {
		t.Errorf("the update changed what AKS assigned: %v", up)
	}

	creds, err := s.Invoke(ctx, &pulumirpc.InvokeRequest{
		Tok:  "azure-native:containerservice/v20240901:listManagedClusterUserCredentials",
		Args: wireOf(t, resource.PropertyMap{"resourceGroupName": resource.NewProperty("rg"), "resourceName": resource.NewProperty("edw-dev")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	kc := fromWire(t, creds.GetReturn())["kubeconfigs"].ArrayValue()[0].ObjectValue()
	b, err := base64.StdEncoding.DecodeString(str(kc, "value"))
	if err != nil || string(b) != kubeconfigYAML || str(kc, "name") != "clusterUser" {
		t.Errorf("kubeconfig = %q (%v), want the file's", b, err)
	}
}

func TestClientConfig(t *testing.T) {
	resp, err := newServer(t, "azure-native", Env{StateDir: t.TempDir()}).Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "azure-native:authorization:getClientConfig"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fromWire(t, resp.GetReturn()); str(got, "subscriptionId") != azureSubscription || str(got, "tenantId") != azureTenant {
		t.Errorf("client config = %v", got)
	}
}

// Azure Monitor refuses what the managed-Prometheus resources get wrong:
// "5m" where it takes ISO 8601, a severity outside 0-4, a long short name.
func TestAzureMonitorRefusesWhatAzureRefuses(t *testing.T) {
	rule := func(k string, v any) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"rules": []any{map[string]any{"alert": "A", "expression": "up", k: v}}})
	}
	for name, c := range map[string]struct {
		typ string
		in  resource.PropertyMap
		ok  bool
	}{
		"for in ISO 8601":       {"alertsmanagement:PrometheusRuleGroup", rule("for", "PT5M"), true},
		"for in Prometheus'":    {"alertsmanagement:PrometheusRuleGroup", rule("for", "5m"), false},
		"severity 5":            {"alertsmanagement:PrometheusRuleGroup", rule("severity", 5), false},
		"interval in seconds":   {"alertsmanagement:PrometheusRuleGroup", resource.NewPropertyMapFromMap(map[string]any{"interval": "60s"}), false},
		"short name of 10":      {"insights:ActionGroup", resource.NewPropertyMapFromMap(map[string]any{"groupShortName": "edw-alerts"}), true},
		"short name of 13":      {"insights:ActionGroup", resource.NewPropertyMapFromMap(map[string]any{"groupShortName": "edw-alerts-xy"}), false},
		"other types, anything": {"insights:DataCollectionRule", rule("for", "5m"), true},
	} {
		if err := checkMonitor(c.typ, c.in); (err == nil) != c.ok {
			t.Errorf("%s: %v, want accepted %v", name, err, c.ok)
		}
	}
}
