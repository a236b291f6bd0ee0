package stacks_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/identity"
	"github.com/edw-project/edw/internal/render"
)

func azure(t *testing.T) *render.Plan { return plan(t, "azure") }

func TestAzureCluster(t *testing.T) {
	c := one(t, azure(t), "azure-native:containerservice/v20241002preview:ManagedCluster", "cluster").Inputs
	for _, check := range []struct {
		path []any
		want any
	}{
		{[]any{"nodeProvisioningProfile", "mode"}, "Auto"},
		{[]any{"networkProfile", "networkPlugin"}, "azure"},
		{[]any{"networkProfile", "networkPluginMode"}, "overlay"},
		{[]any{"networkProfile", "networkDataplane"}, "cilium"},
		{[]any{"networkProfile", "networkPolicy"}, "cilium"},
		{[]any{"oidcIssuerProfile", "enabled"}, true},
		{[]any{"securityProfile", "workloadIdentity", "enabled"}, true},
		{[]any{"workloadAutoScalerProfile", "keda", "enabled"}, true},
		{[]any{"identity", "type"}, "UserAssigned"},
		{[]any{"agentPoolProfiles", 0, "mode"}, "System"},
		{[]any{"agentPoolProfiles", 0, "nodeTaints", 0}, "CriticalAddonsOnly=true:NoSchedule"},
		{[]any{"agentPoolProfiles", 0, "vmSize"}, "Standard_D4ds_v5"},
	} {
		if got := at(c, check.path...); got != check.want {
			t.Errorf("cluster %v = %v, want %v", check.path, got, check.want)
		}
	}
	// Open to every address by default, which AKS spells as an empty
	// list, sent so that a narrowed cluster opens again; narrowed, the API
	// server takes only the ranges given.
	if ranges, ok := at(c, "apiServerAccessProfile", "authorizedIPRanges").([]any); !ok || len(ranges) != 0 {
		t.Errorf("default authorized ranges %v, want an empty list (open)", at(c, "apiServerAccessProfile"))
	}
	p, err := renderStack(t, "azure", map[string]string{"edw:clusterPublicAccessCidrs": "203.0.113.0/24,198.51.100.7/32"})
	if err != nil {
		t.Fatal(err)
	}
	narrowed := one(t, p, "azure-native:containerservice/v20241002preview:ManagedCluster", "cluster").Inputs
	if got := fmt.Sprint(at(narrowed, "apiServerAccessProfile", "authorizedIPRanges")); got != "[203.0.113.0/24 198.51.100.7/32]" {
		t.Errorf("authorized ranges %s", got)
	}
}

func TestAzureStorageTakesNoSharedKey(t *testing.T) {
	a := one(t, azure(t), "azure-native:storage:StorageAccount", "storage").Inputs
	for k, want := range map[string]any{
		"allowSharedKeyAccess": false, "enableHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2",
		"allowBlobPublicAccess": false, "kind": "StorageV2",
	} {
		if a[k] != want {
			t.Errorf("storage account %s = %v, want %v", k, a[k], want)
		}
	}
	var queues []string
	for _, q := range azure(t).Find("azure-native:storage:Queue") {
		queues = append(queues, q.Inputs["queueName"].(string))
	}
	if fmt.Sprint(queues) != "[work work-poison]" {
		t.Errorf("queues %v, want the work queue and its poison queue", queues)
	}
	reg := one(t, azure(t), "azure-native:containerregistry:Registry", "images").Inputs
	if reg["adminUserEnabled"] != false {
		t.Error("the registry's admin user is enabled")
	}
}

// Each principal holds exactly its roles, each on the one queue or table
// it needs; nothing is granted on the account, group or subscription.
func TestAzureRolesAreNarrow(t *testing.T) {
	p := azure(t)
	roleID := func(role string) string { return identity.RoleDefinitionID(render.SubscriptionID, role) }
	account := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%v", render.SubscriptionID, render.ResourceGroup, p.Outputs["storageAccountName"])
	queue, poison, table := account+"/queueServices/default/queues/work", account+"/queueServices/default/queues/work-poison", account+"/tableServices/default/tables/payments"
	want := map[string][2]string{
		"consumer-queue":        {roleID(identity.StorageQueueDataContributor), queue},
		"consumer-poison-queue": {roleID(identity.StorageQueueDataSender), poison},
		"consumer-table":        {roleID(identity.StorageTableDataContributor), table},
		"producer-queue":        {roleID(identity.StorageQueueDataSender), queue},
		"keda-operator-queue":   {roleID(identity.StorageQueueDataReader), queue},
		"images-pull":           {roleID(identity.AcrPull), ""},
		// Whoever runs pulumi administers the cluster (Entra ID only).
		"cluster-deployer-admin": {roleID(identity.AKSRBACClusterAdmin), ""},
	}
	assignments := p.Find("azure-native:authorization:RoleAssignment")
	if len(assignments) != len(want) {
		t.Errorf("%d role assignments, want %d", len(assignments), len(want))
	}
	for _, ra := range assignments {
		w, ok := want[ra.Name]
		if !ok {
			t.Errorf("unexpected role assignment %s", ra.Name)
			continue
		}
		if ra.Inputs["roleDefinitionId"] != w[0] || (w[1] != "" && ra.Inputs["scope"] != w[1]) {
			t.Errorf("%s: role %v on %v, want %s on %s", ra.Name, ra.Inputs["roleDefinitionId"], ra.Inputs["scope"], w[0], w[1])
		}
		if ra.Inputs["principalType"] != "ServicePrincipal" && ra.Name != "cluster-deployer-admin" {
			t.Errorf("%s: principalType %v", ra.Name, ra.Inputs["principalType"])
		}
	}
	pull := one(t, p, "azure-native:authorization:RoleAssignment", "images-pull").Inputs
	if pull["principalId"] != "kubelet-object-id" || !strings.HasSuffix(pull["scope"].(string), "/images") {
		t.Errorf("AcrPull to %v on %v, want the kubelet identity on the registry", pull["principalId"], pull["scope"])
	}
}

// Each federated credential trusts the cluster's issuer for exactly the
// service account its identity serves, and that account names the
// identity's client id.
func TestAzureFederatedCredentialsMatchServiceAccounts(t *testing.T) {
	p := azure(t)
	annotated := map[string]string{}
	for _, sa := range p.Find("kubernetes:core/v1:ServiceAccount") {
		key := fmt.Sprintf("%v:%v", at(sa.Inputs, "metadata", "namespace"), at(sa.Inputs, "metadata", "name"))
		annotated[key] = fmt.Sprint(at(sa.Inputs, "metadata", "annotations", identity.ClientIDAnnotation))
	}
	clientIDs := map[string]string{}
	for _, id := range p.Find("azure-native:managedidentity:UserAssignedIdentity") {
		clientIDs[id.Name] = "client-id-of-" + id.Name
	}
	subjects := map[string]bool{}
	for _, fic := range p.Find("azure-native:managedidentity:FederatedIdentityCredential") {
		in := fic.Inputs
		if in["issuer"] != p.Outputs["oidcIssuerUrl"] || fmt.Sprint(in["audiences"]) != "[api://AzureADTokenExchange]" {
			t.Errorf("%s: issuer %v audiences %v", fic.Name, in["issuer"], in["audiences"])
		}
		subject := in["subject"].(string)
		subjects[subject] = true
		sa := strings.TrimPrefix(subject, "system:serviceaccount:")
		if sa == "kube-system:keda-operator" {
			continue // the add-on's operator, which AKS runs
		}
		if got, ok := annotated[sa]; !ok || got != clientIDs[in["resourceName"].(string)] {
			t.Errorf("%s: subject %s: service account annotated %q, want the client id of %v", fic.Name, subject, got, in["resourceName"])
		}
	}
	for _, s := range []string{"system:serviceaccount:edw:consumer", "system:serviceaccount:edw:producer", "system:serviceaccount:kube-system:keda-operator"} {
		if !subjects[s] {
			t.Errorf("no federated credential for %s", s)
		}
	}
	for _, d := range p.Find("kubernetes:apps/v1:Deployment") {
		if at(d.Inputs, "spec", "template", "metadata", "labels", "azure.workload.identity/use") != "true" {
			t.Errorf("%s pods do not opt in to workload identity", d.Name)
		}
	}
}

func TestAzureScaledObjectWatchesTheQueue(t *testing.T) {
	p := azure(t)
	trigger := at(one(t, p, "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").Inputs, "spec", "triggers", 0)
	if at(trigger, "type") != "azure-queue" {
		t.Fatalf("trigger type %v", at(trigger, "type"))
	}
	for k, want := range map[string]any{
		"queueName": p.Outputs["queueName"], "accountName": p.Outputs["storageAccountName"], "cloud": "AzurePublicCloud",
		"queueLength": "24545", "activationQueueLength": "0",
	} {
		if got := at(trigger, "metadata", k); got != want || got == nil {
			t.Errorf("trigger %s = %v, want %v", k, got, want)
		}
	}
	auth := one(t, p, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication", "consumer-auth").Inputs
	if at(auth, "spec", "podIdentity", "provider") != "azure-workload" || at(auth, "spec", "podIdentity", "identityId") != p.Outputs["kedaClientId"] {
		t.Errorf("podIdentity %v, want azure-workload with the KEDA identity's client id %v", at(auth, "spec", "podIdentity"), p.Outputs["kedaClientId"])
	}
	if len(p.Find("kubernetes:helm.sh/v4:Chart")) != 0 {
		t.Error("the Azure stack installs a chart; the KEDA add-on runs KEDA")
	}
}

func TestAzureConsumerSettingsComeFromTheStack(t *testing.T) {
	p := azure(t)
	env := consumerEnv(t, p)
	for k, v := range map[string]any{
		"EDW_CLOUD": "azure", "AZURE_STORAGE_ACCOUNT_NAME": p.Outputs["storageAccountName"], "AZURE_QUEUE_NAME": "work",
		"AZURE_TABLE_NAME": "payments", "AZURE_TABLE_ENDPOINT": fmt.Sprintf("https://%s.table.core.windows.net/", p.Outputs["storageAccountName"]),
		"AZURE_POISON_QUEUE_NAME": "work-poison", "EDW_MAX_DELIVERIES": "5", "EDW_VISIBILITY_TIMEOUT": "60s",
	} {
		if env[k] != v {
			t.Errorf("consumer env %s = %v, want %v", k, env[k], v)
		}
	}
	if _, ok := env["AZURE_STORAGE_CONNECTION_STRING"]; ok {
		t.Error("the consumer gets a connection string; it must use its identity")
	}
}

func TestAzureNodePool(t *testing.T) {
	p := azure(t)
	np := one(t, p, "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
	ref := at(np, "spec", "template", "spec", "nodeClassRef")
	nc := one(t, p, "kubernetes:karpenter.azure.com/v1beta1:AKSNodeClass", "workload-nodeclass").Inputs
	if at(ref, "group") != "karpenter.azure.com" || at(ref, "kind") != "AKSNodeClass" || at(ref, "name") != at(nc, "metadata", "name") {
		t.Errorf("nodeClassRef %v", ref)
	}
	if at(nc, "spec", "imageFamily") != "AzureLinux" || at(nc, "spec", "osDiskSizeGB") != 128.0 {
		t.Errorf("AKSNodeClass spec %v", at(nc, "spec"))
	}
	if r := at(np, "spec", "template", "spec", "requirements", 1); at(r, "key") != "karpenter.azure.com/sku-family" || fmt.Sprint(at(r, "values")) != "[D]" {
		t.Errorf("instance requirement %v", r)
	}
}

// At destroy: the ScaledObject, then the consumer, then the NodePool (NAP
// removes its nodes), then the cluster.
func TestAzureDestroyOrder(t *testing.T) {
	p := azure(t)
	urn := func(typ, name string) string { return one(t, p, typ, name).URN }
	chain := []string{
		urn("kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer"),
		urn("kubernetes:apps/v1:Deployment", "edw-consumer"),
		urn("kubernetes:karpenter.sh/v1:NodePool", "workload"),
		urn("azure-native:containerservice/v20241002preview:ManagedCluster", "cluster"),
	}
	for i := 0; i+1 < len(chain); i++ {
		if !dependsOn(p, chain[i], chain[i+1]) {
			t.Errorf("%s does not depend on %s", chain[i], chain[i+1])
		}
	}
}

func TestAzureOutputs(t *testing.T) {
	p := azure(t)
	for _, k := range []string{
		"resourceGroup", "location", "storageAccountName", "queueName", "poisonQueueName", "tableName", "tableEndpoint", "registryName",
		"clusterName", "clusterIdentityName", "kubeconfig", "consumerIdentityName", "consumerClientId", "consumerServiceAccount",
		"consumerFederatedCredentialName", "kedaFederatedCredentialName", "kedaClientId", "imageRefs",
	} {
		if v, ok := p.Outputs[k]; !ok || v == "" || v == nil {
			t.Errorf("output %s = %v", k, v)
		}
	}
	if p.Outputs["kubeconfig"] != "[secret]" {
		t.Error("the kubeconfig output is not secret")
	}
}

// The optional Prometheus trigger reads an Azure Monitor workspace with
// KEDA's identity, which then holds Monitoring Data Reader on it.
func TestAzurePrometheusTrigger(t *testing.T) {
	workspace := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Monitor/accounts/metrics"
	p, err := renderStack(t, "azure", map[string]string{
		"edw:kedaPrometheusWorkspaceId":   workspace,
		"edw:kedaPrometheusQueryEndpoint": "https://metrics-abcd.westeurope.prometheus.monitor.azure.com",
		"edw:kedaPrometheusQuery":         `sum(rate(edw_consumer_messages_received_total[1m]))`,
	})
	if err != nil {
		t.Fatal(err)
	}
	triggers := at(one(t, p, "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").Inputs, "spec", "triggers").([]any)
	if len(triggers) != 2 || at(triggers[1], "type") != "prometheus" || at(triggers[1], "metadata", "threshold") != "10" ||
		at(triggers[1], "authenticationRef", "name") != at(triggers[0], "authenticationRef", "name") {
		t.Fatalf("triggers %v, want the queue and a prometheus trigger sharing the workload identity", triggers)
	}
	ra := one(t, p, "azure-native:authorization:RoleAssignment", "keda-operator-metrics").Inputs
	if ra["scope"] != workspace || ra["roleDefinitionId"] != identity.RoleDefinitionID(render.SubscriptionID, identity.MonitoringDataReader) {
		t.Errorf("metrics grant %v", ra)
	}
	if n := len(at(one(t, azure(t), "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").Inputs, "spec", "triggers").([]any)); n != 1 {
		t.Errorf("without the keys the ScaledObject has %d triggers, want 1", n)
	}
}

// The cluster takes Entra ID accounts only, authorized by Azure RBAC, keeps
// itself and its node images current inside a weekly window, and deploys
// with a kubeconfig that signs in without a person.
func TestAzureClusterAccessAndUpgrades(t *testing.T) {
	p := azure(t)
	mc := p.Find("azure-native:containerservice/v20241002preview:ManagedCluster")
	if len(mc) != 1 {
		t.Fatalf("%d managed clusters", len(mc))
	}
	in := mc[0].Inputs
	if in["disableLocalAccounts"] != true || at(in, "aadProfile", "managed") != true || at(in, "aadProfile", "enableAzureRBAC") != true {
		t.Errorf("local accounts off %v, Entra ID %v, Azure RBAC %v", in["disableLocalAccounts"], at(in, "aadProfile", "managed"), at(in, "aadProfile", "enableAzureRBAC"))
	}
	if at(in, "autoUpgradeProfile", "upgradeChannel") != "patch" || at(in, "autoUpgradeProfile", "nodeOSUpgradeChannel") != "NodeImage" {
		t.Errorf("upgrade channels %v", in["autoUpgradeProfile"])
	}
	windows := map[string]bool{}
	for _, m := range p.Find("azure-native:containerservice/v20241002preview:MaintenanceConfiguration") {
		windows[fmt.Sprint(m.Inputs["configName"])] = at(m.Inputs, "maintenanceWindow", "durationHours") == float64(4) &&
			at(m.Inputs, "maintenanceWindow", "schedule", "weekly", "dayOfWeek") == "Sunday"
	}
	if !windows["aksManagedAutoUpgradeSchedule"] || !windows["aksManagedNodeOSUpgradeSchedule"] || len(windows) != 2 {
		t.Errorf("maintenance windows %v, want both channels' on Sundays for 4 hours", windows)
	}
	admin := one(t, p, "azure-native:authorization:RoleAssignment", "cluster-deployer-admin")
	provider := one(t, p, "pulumi:providers:kubernetes", "cluster-k8s")
	if !slices.Contains(provider.Dependencies, admin.URN) {
		t.Error("the Kubernetes provider does not wait for the deployer's cluster-admin role: its first create would be forbidden")
	}
}

func TestKubeloginConfigSignsInWithoutAPerson(t *testing.T) {
	aks := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://c.hcp.eastus.azmk8s.io:443"}}]
users:
- name: clusterUser_rg_c
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
        --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, t, --login, devicecode]
- name: other
  user: {token: abc}
`
	got, err := cluster.KubeloginConfig([]byte(aks), "azurecli")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	args := fmt.Sprint(at(doc, "users", 0, "user", "exec", "args"))
	if args != "[get-token --login azurecli --environment AzurePublicCloud --server-id 6dae42f8-4368-4678-94ff-3960e28e3630 --tenant-id t]" {
		t.Errorf("kubelogin args %s", args)
	}
	if at(doc, "users", 1, "user", "token") != "abc" {
		t.Errorf("a user that is not kubelogin's was changed: %v", at(doc, "users", 1))
	}
}

// The KEDA add-on's operator restarts once its federated credential exists,
// so that its new pods get a workload identity token, and the ScaledObject
// waits for that.
func TestAzureKedaAddonRestartsAfterItsCredential(t *testing.T) {
	p := azure(t)
	credential := one(t, p, "azure-native:managedidentity:FederatedIdentityCredential", "keda-operator-federation")
	restart := one(t, p, "kubernetes:apps/v1:DeploymentPatch", "keda-addon-restart")
	if at(restart.Inputs, "metadata", "namespace") != "kube-system" || at(restart.Inputs, "metadata", "name") != "keda-operator" {
		t.Errorf("restart patches %v/%v", at(restart.Inputs, "metadata", "namespace"), at(restart.Inputs, "metadata", "name"))
	}
	if at(restart.Inputs, "spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt") == nil {
		t.Error("the patch does not change the operator's pod template: nothing restarts")
	}
	if !dependsOn(p, restart.URN, credential.URN) {
		t.Error("the operator restarts without waiting for its federated credential")
	}
	sa := one(t, p, "kubernetes:core/v1:ServiceAccountPatch", "keda-addon-sa")
	if at(sa.Inputs, "metadata", "annotations", "azure.workload.identity/client-id") == nil {
		t.Error("the operator's service account does not name the identity")
	}
	if !dependsOn(p, one(t, p, "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").URN, restart.URN) {
		t.Error("the ScaledObject does not wait for the operator's restart")
	}
}

// With edw:tableService cosmos the rows go to a Cosmos DB for Table
// account that takes Entra ID tokens only; the consumer holds the built-in
// data contributor role on the table and nothing on Storage tables,
// is given the account's Table API endpoint, and starts after its role.
func TestAzureCosmosTable(t *testing.T) {
	p, err := renderStack(t, "azure", map[string]string{"edw:tableService": "cosmos"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Find("azure-native:storage:Table")); n != 0 {
		t.Errorf("%d storage tables beside the Cosmos DB table", n)
	}
	for _, ra := range p.Find("azure-native:authorization:RoleAssignment") {
		if ra.Inputs["roleDefinitionId"] == identity.RoleDefinitionID(render.SubscriptionID, identity.StorageTableDataContributor) {
			t.Errorf("%s grants Storage Table Data Contributor with the table in Cosmos DB", ra.Name)
		}
	}
	acct := one(t, p, "azure-native:documentdb:DatabaseAccount", "payments")
	in := acct.Inputs
	if in["disableLocalAuth"] != true || in["kind"] != "GlobalDocumentDB" {
		t.Errorf("account: local auth off %v, kind %v", in["disableLocalAuth"], in["kind"])
	}
	if caps := fmt.Sprint(in["capabilities"]); caps != "[map[name:EnableTable] map[name:EnableServerless]]" {
		t.Errorf("capabilities %s, want the Table API, serverless", caps)
	}
	if at(in, "locations", 0, "locationName") != p.Outputs["location"] {
		t.Errorf("account location %v, want the group's %v", at(in, "locations", 0, "locationName"), p.Outputs["location"])
	}
	accountID := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.DocumentDB/databaseAccounts/payments0a1b2c", render.SubscriptionID, render.ResourceGroup)
	table := one(t, p, "azure-native:documentdb:TableResourceTable", "payments").Inputs
	if table["tableName"] != "payments" || at(table, "resource", "id") != "payments" || len(table["options"].(map[string]any)) != 0 {
		t.Errorf("table %v, want payments with no throughput of its own (serverless)", table)
	}
	writer := one(t, p, "azure-native:documentdb:TableResourceTableRoleAssignment", "payments-writer")
	if writer.Inputs["principalId"] != "principal-id-of-consumer" || writer.Inputs["scope"] != accountID+"/dbs/TablesDB/colls/payments" ||
		writer.Inputs["roleDefinitionId"] != accountID+"/tableRoleDefinitions/00000000-0000-0000-0000-000000000002" {
		t.Errorf("table role %v, want the consumer as Built-in Data Contributor on the table", writer.Inputs)
	}
	if n := len(p.Find("azure-native:documentdb:TableResourceTableRoleAssignment")); n != 1 {
		t.Errorf("%d table role assignments, want the consumer's only", n)
	}
	env := consumerEnv(t, p)
	deployment := one(t, p, "kubernetes:apps/v1:Deployment", "edw-consumer")
	if env["AZURE_TABLE_ENDPOINT"] != "https://payments0a1b2c.table.cosmos.azure.com:443/" || env["AZURE_TABLE_NAME"] != "payments" || p.Outputs["tableEndpoint"] != env["AZURE_TABLE_ENDPOINT"] {
		t.Errorf("consumer table %v at %v (output %v), want payments at the account's Table API endpoint", env["AZURE_TABLE_NAME"], env["AZURE_TABLE_ENDPOINT"], p.Outputs["tableEndpoint"])
	}
	if !dependsOn(p, deployment.URN, writer.URN) {
		t.Error("the consumer does not wait for its table role: its first writes would be refused")
	}

	autoscaled, err := renderStack(t, "azure", map[string]string{"edw:tableService": "cosmos", "edw:tableCosmosMaxThroughput": "4000"})
	if err != nil {
		t.Fatal(err)
	}
	if caps := fmt.Sprint(one(t, autoscaled, "azure-native:documentdb:DatabaseAccount", "payments").Inputs["capabilities"]); caps != "[map[name:EnableTable]]" {
		t.Errorf("autoscaled account's capabilities %s, want the Table API only", caps)
	}
	if v := at(one(t, autoscaled, "azure-native:documentdb:TableResourceTable", "payments").Inputs, "options", "autoscaleSettings", "maxThroughput"); v != 4000.0 {
		t.Errorf("autoscale ceiling %v, want 4000", v)
	}
}
