package standin

import (
	"cmp"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The identities of the subscription every Azure stand-in deploys to and
// of the principal it deploys as.
const (
	azureSubscription = "00000000-0000-4000-8000-000000000001"
	azureTenant       = "00000000-0000-4000-8000-000000000002"
	azureClient       = "00000000-0000-4000-8000-000000000003"
	azureObject       = "00000000-0000-4000-8000-000000000004"
)

// azureNameKeys are the inputs that name the resources of each type
// (service:Kind, whatever the API version); other types are named by
// <kind>Name.
var azureNameKeys = map[string]string{
	"resources:ResourceGroup":                     "resourceGroupName",
	"storage:StorageAccount":                      "accountName",
	"storage:Queue":                               "queueName",
	"storage:Table":                               "tableName",
	"containerregistry:Registry":                  "registryName",
	"containerservice:ManagedCluster":             "resourceName",
	"managedidentity:UserAssignedIdentity":        "resourceName",
	"managedidentity:FederatedIdentityCredential": "federatedIdentityCredentialResourceName",
	"authorization:RoleAssignment":                "roleAssignmentName",
	"insights:DataCollectionRuleAssociation":      "associationName",
	"alertsmanagement:PrometheusRuleGroup":        "ruleGroupName",
	"documentdb:DatabaseAccount":                  "accountName",
	"documentdb:TableResourceTable":               "tableName",
	"documentdb:TableResourceTableRoleAssignment": "roleAssignmentId",
}

// azurePathKeys are the inputs that are part of a resource's ARM id, which
// Azure cannot change in place, beside the resource's own name.
var azurePathKeys = map[string]bool{
	"resourceGroupName": true, "resourceName": true, "accountName": true,
	"queueName": true, "tableName": true, "scope": true,
}

// azureNamespaces are the resource providers of the services whose
// namespace is not Microsoft.<Service> in title case.
var azureNamespaces = map[string]string{
	"containerregistry": "Microsoft.ContainerRegistry",
	"containerservice":  "Microsoft.ContainerService",
	"managedidentity":   "Microsoft.ManagedIdentity",
	"alertsmanagement":  "Microsoft.AlertsManagement",
	"documentdb":        "Microsoft.DocumentDB",
}

// azure is one subscription, in the location of the provider's
// configuration. Every resource gets an ARM id, a name, a type and a
// provisioning state; identities, clusters, registries and storage
// accounts get what the program reads of them.
type azure struct {
	location string
	// kubeconfig is the file the clusters' user credentials hand out.
	kubeconfig string
}

func (z *azure) configure(setting func(string) string) {
	z.location = cmp.Or(setting("location"), "westeurope")
}

func (z *azure) nameKey(typ string) string {
	service, kind := tokenParts(typ)
	return cmp.Or(azureNameKeys[service+":"+kind], lowerFirst(kind)+"Name")
}

// newName follows azure-native's auto-naming: the URN name and eight
// random characters, within the rules of names that allow only letters and
// digits; role assignments are named by a GUID.
func (z *azure) newName(typ, urnName string, seed []byte) (string, error) {
	service, kind := tokenParts(typ)
	const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	switch service + ":" + kind {
	case "storage:StorageAccount":
		return autonamed(seed, alphanumeric(urnName), 8, 24, []rune(lowerAlnum))
	case "containerregistry:Registry":
		return autonamed(seed, alphanumeric(urnName), 8, 50, []rune(lowerAlnum))
	case "storage:Table":
		return autonamed(seed, alphanumeric(urnName), 8, 63, []rune(lowerAlnum))
	case "documentdb:DatabaseAccount":
		return autonamed(seed, alphanumeric(urnName), 8, 44, []rune(lowerAlnum))
	case "authorization:RoleAssignment", "documentdb:TableResourceTableRoleAssignment":
		h, err := autonamed(seed, "", 32, 32, nil)
		return guid(h), err
	}
	return autonamed(seed, urnName, 8, 80, nil)
}

func (z *azure) replaces(typ, key string) bool { return azurePathKeys[key] || key == z.nameKey(typ) }

func (z *azure) compute(typ, urnName, id string, in, old resource.PropertyMap) (string, resource.PropertyMap, error) {
	service, kind := tokenParts(typ)
	if err := checkMonitor(service+":"+kind, in); err != nil {
		return "", nil, err
	}
	name := str(in, z.nameKey(typ))
	if id == "" {
		id = z.armID(service, kind, name, in)
	}
	out := map[string]any{
		"name": name, "type": z.namespace(service) + "/" + plural(kind), "provisioningState": "Succeeded",
	}
	switch service + ":" + kind {
	case "storage:Queue", "storage:Table", "managedidentity:FederatedIdentityCredential", "authorization:RoleAssignment",
		"documentdb:TableResourceTable", "documentdb:TableResourceTableRoleAssignment":
		// Sub-resources and extensions have no location of their own.
	default:
		out["location"] = cmp.Or(str(in, "location"), z.location)
	}
	switch service + ":" + kind {
	case "managedidentity:UserAssignedIdentity":
		out["clientId"] = cmp.Or(str(old, "clientId"), randomGUID())
		out["principalId"] = cmp.Or(str(old, "principalId"), randomGUID())
		out["tenantId"] = azureTenant
	case "containerservice:ManagedCluster":
		for k, v := range z.cluster(name, in, old) {
			out[k] = v
		}
	case "containerregistry:Registry":
		out["loginServer"] = strings.ToLower(name) + ".azurecr.io"
	case "storage:StorageAccount":
		endpoints := map[string]any{}
		for _, svc := range []string{"blob", "queue", "table", "file", "dfs", "web"} {
			endpoints[svc] = fmt.Sprintf("https://%s.%s.core.windows.net/", name, svc)
		}
		out["primaryEndpoints"] = endpoints
	case "authorization:RoleAssignment":
		// ARM stamps an assignment with its creation; Azure RBAC carries
		// it to the places that enforce it from then on (entra.go).
		out["createdOn"] = cmp.Or(str(old, "createdOn"), time.Now().UTC().Format(time.RFC3339Nano))
	case "documentdb:DatabaseAccount":
		out["documentEndpoint"] = fmt.Sprintf("https://%s.documents.azure.com:443/", name)
	case "monitor:AzureMonitorWorkspace":
		out["metrics"] = map[string]any{
			"prometheusQueryEndpoint": fmt.Sprintf("https://%s-%s.%s.prometheus.monitor.azure.com", name, randomHex(4), out["location"]),
			"internalId":              "mac_" + randomGUID(),
		}
	}
	return id, props(out), nil
}

// armID is the id Azure Resource Manager gives the resource.
func (z *azure) armID(service, kind, name string, in resource.PropertyMap) string {
	group := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", azureSubscription, str(in, "resourceGroupName"))
	under := func(parentProvider, parentName string) string {
		return fmt.Sprintf("%s/providers/%s/%s", group, parentProvider, parentName)
	}
	switch service + ":" + kind {
	case "resources:ResourceGroup":
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", azureSubscription, name)
	case "storage:Queue":
		return under("Microsoft.Storage/storageAccounts", str(in, "accountName")) + "/queueServices/default/queues/" + name
	case "storage:Table":
		return under("Microsoft.Storage/storageAccounts", str(in, "accountName")) + "/tableServices/default/tables/" + name
	case "managedidentity:FederatedIdentityCredential":
		return under("Microsoft.ManagedIdentity/userAssignedIdentities", str(in, "resourceName")) + "/federatedIdentityCredentials/" + name
	case "authorization:RoleAssignment":
		return str(in, "scope") + "/providers/Microsoft.Authorization/roleAssignments/" + name
	case "insights:DataCollectionRuleAssociation":
		return str(in, "resourceUri") + "/providers/Microsoft.Insights/dataCollectionRuleAssociations/" + name
	case "monitor:AzureMonitorWorkspace":
		return under("Microsoft.Monitor/accounts", name)
	case "documentdb:TableResourceTable":
		return under("Microsoft.DocumentDB/databaseAccounts", str(in, "accountName")) + "/tables/" + name
	case "documentdb:TableResourceTableRoleAssignment":
		return under("Microsoft.DocumentDB/databaseAccounts", str(in, "accountName")) + "/tableRoleAssignments/" + name
	}
	return under(z.namespace(service)+"/"+plural(kind), name)
}

// cluster is what AKS computes for a managed cluster: its API server's
// name, its OIDC issuer and the kubelet's identity, whose ids stay for the
// cluster's life.
func (z *azure) cluster(name string, in, old resource.PropertyMap) map[string]any {
	location := cmp.Or(str(in, "location"), z.location)
	nodeGroup := fmt.Sprintf("MC_%s_%s_%s", str(in, "resourceGroupName"), name, location)
	oldKubelet := obj(obj(old, "identityProfile"), "kubeletidentity")
	oidc := obj(in, "oidcIssuerProfile").Copy()
	oidc["issuerURL"] = resource.NewProperty(cmp.Or(str(obj(old, "oidcIssuerProfile"), "issuerURL"),
		fmt.Sprintf("https://%s.oic.prod-aks.azure.com/%s/%s/", location, azureTenant, randomGUID())))
	return map[string]any{
		"fqdn":              cmp.Or(str(old, "fqdn"), fmt.Sprintf("%s-%s.hcp.%s.azmk8s.io", str(in, "dnsPrefix"), randomHex(8), location)),
		"nodeResourceGroup": nodeGroup,
		"oidcIssuerProfile": resource.NewProperty(oidc),
		"identityProfile": map[string]any{"kubeletidentity": map[string]any{
			"clientId": cmp.Or(str(oldKubelet, "clientId"), randomGUID()),
			"objectId": cmp.Or(str(oldKubelet, "objectId"), randomGUID()),
			"resourceId": fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/%s-agentpool",
				azureSubscription, nodeGroup, name),
		}},
		"powerState": map[string]any{"code": "Running"},
	}
}

func (z *azure) namespace(service string) string {
	if ns, ok := azureNamespaces[service]; ok || service == "" {
		return ns
	}
	return "Microsoft." + strings.ToUpper(service[:1]) + service[1:]
}

// plural is a kind as ARM ids spell it: "Registry" → "registries".
func plural(kind string) string {
	k := lowerFirst(kind)
	if len(k) > 1 && strings.HasSuffix(k, "y") && !strings.ContainsAny(k[len(k)-2:len(k)-1], "aeiou") {
		return k[:len(k)-1] + "ies"
	}
	return k + "s"
}

// isoDuration is an ISO 8601 duration as Azure Monitor takes them.
var isoDuration = regexp.MustCompile(`^PT([0-9]+H)?([0-9]+M)?([0-9]+S)?$`)

// checkMonitor answers as Azure Monitor does for settings it refuses: an
// action group's short name over 12 characters, a Prometheus rule's
// duration not in ISO 8601 or its severity outside 0-4.
func checkMonitor(typ string, in resource.PropertyMap) error {
	switch typ {
	case "insights:ActionGroup":
		if n := len(str(in, "groupShortName")); n == 0 || n > 12 {
			return fmt.Errorf("BadRequest: groupShortName %q: 1 to 12 characters", str(in, "groupShortName"))
		}
	case "alertsmanagement:PrometheusRuleGroup":
		if v := str(in, "interval"); v != "" && !isoDuration.MatchString(v) {
			return fmt.Errorf("BadRequest: interval %q is not an ISO 8601 duration", v)
		}
		rules := plain(in["rules"])
		if !rules.IsArray() {
			return nil
		}
		for i, r := range rules.ArrayValue() {
			if !r.IsObject() {
				continue
			}
			rule := r.ObjectValue()
			if v := str(rule, "for"); v != "" && !isoDuration.MatchString(v) {
				return fmt.Errorf("BadRequest: rules[%d].for %q is not an ISO 8601 duration", i, v)
			}
			if s, ok := rule["severity"]; ok && s.IsNumber() && (s.NumberValue() < 0 || s.NumberValue() > 4) {
				return fmt.Errorf("BadRequest: rules[%d].severity %v: want 0 to 4", i, s.NumberValue())
			}
		}
	}
	return nil
}
