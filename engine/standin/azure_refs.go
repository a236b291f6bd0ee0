package standin

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// azureParents are the nested resources, by service:Kind, and the parent
// each is made in: its service:Kind and the input that names it, beside
// resourceGroupName. ARM answers ParentResourceNotFound for a child of no
// parent (Azure Resource Manager docs, "Resolve resource not found
// errors").
var azureParents = map[string]struct{ parent, key string }{
	"storage:Queue": {"storage:StorageAccount", "accountName"},
	"storage:Table": {"storage:StorageAccount", "accountName"},
	"managedidentity:FederatedIdentityCredential": {"managedidentity:UserAssignedIdentity", "resourceName"},
	"containerservice:MaintenanceConfiguration":   {"containerservice:ManagedCluster", "resourceName"},
	"containerservice:AgentPool":                  {"containerservice:ManagedCluster", "resourceName"},
}

// azureIDRefs are the inputs of each service:Kind that hold another
// resource's ARM id (refsAt paths), from the render's inputs
// (build/render/azure/resources.json). ARM resolves each at the PUT and
// answers ResourceNotFound, or the service's BadRequest naming the id,
// for one that names nothing ("Resolve resource not found errors"). A role
// assignment's scope is one too (refusesRoleAssignment).
var azureIDRefs = map[string][]string{
	"insights:DataCollectionRuleAssociation": {"resourceUri", "dataCollectionRuleId", "dataCollectionEndpointId"},
	"insights:DataCollectionRule":            {"dataCollectionEndpointId", "destinations.monitoringAccounts[].accountResourceId"},
	"alertsmanagement:PrometheusRuleGroup":   {"scopes[]", "rules[].actions[].actionGroupId"},
	"containerservice:ManagedCluster":        {"identity.userAssignedIdentities[]"},
}

// refuses answers as Azure does for what it refuses: a reference that
// names nothing live (a parent, an ARM id, a role assignment's scope and
// principal), a second role assignment of one role to one principal at
// one scope, and what Cosmos DB refuses (cosmos.go).
func (z *azure) refuses(typ string, in resource.PropertyMap, live finder) error {
	service, kind := tokenParts(typ)
	if service == "documentdb" {
		return refusesCosmos(kind, in, live)
	}
	if err := refusesOrphan(service+":"+kind, in, live); err != nil {
		return err
	}
	for _, path := range azureIDRefs[service+":"+kind] {
		for _, id := range refsAt(in, path) {
			if err := resolveARMID(id, live); err != nil {
				return err
			}
		}
	}
	if service+":"+kind == "authorization:RoleAssignment" {
		return refusesRoleAssignment(z.nameKey(typ), in, live)
	}
	return nil
}

// refusesOrphan refuses a nested resource whose parent is not live.
func refusesOrphan(typ string, in resource.PropertyMap, live finder) error {
	p, ok := azureParents[typ]
	if !ok {
		return nil
	}
	group, name := str(in, "resourceGroupName"), str(in, p.key)
	_, ok, err := live.find(func(r Resource) bool {
		s, k := tokenParts(r.Type)
		return s+":"+k == p.parent && strings.EqualFold(storedString(r.Inputs["resourceGroupName"]), group) &&
			strings.EqualFold(storedString(r.Inputs[p.key]), name)
	})
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("ParentResourceNotFound: Can not perform requested operation on nested resource. Parent resource '%s' not found in resource group '%s': %w", name, group, ErrNotFound)
}

// resolveARMID answers ResourceNotFound (ResourceGroupNotFound for a
// group) for an id that is no live resource's, nor the subscription's.
// ARM ids are case-insensitive.
func resolveARMID(id string, live finder) error {
	if strings.EqualFold(id, "/subscriptions/"+azureSubscription) {
		return nil
	}
	_, ok, err := live.find(func(r Resource) bool { return strings.EqualFold(r.ID, id) })
	switch {
	case err != nil || ok:
		return err
	case !strings.Contains(strings.ToLower(id), "/providers/"):
		return fmt.Errorf("ResourceGroupNotFound: Resource group '%s' could not be found: %w", id[strings.LastIndex(id, "/")+1:], ErrNotFound)
	}
	return fmt.Errorf("ResourceNotFound: The Resource '%s' was not found: %w", id, ErrNotFound)
}

// refusesRoleAssignment answers as Azure RBAC does ("Troubleshoot Azure
// RBAC"; Role Assignments - Create, REST API reference): a scope that
// names nothing, a principal the directory does not have
// (PrincipalNotFound), and an assignment of the same role to the same
// principal at the same scope under another name (409
// RoleAssignmentExists). nameKey is the input that names the assignment.
func refusesRoleAssignment(nameKey string, in resource.PropertyMap, live finder) error {
	scope, principal, role := str(in, "scope"), str(in, "principalId"), str(in, "roleDefinitionId")
	if err := resolveARMID(scope, live); err != nil {
		return err
	}
	if err := resolvePrincipal(principal, str(in, "principalType"), live); err != nil {
		return err
	}
	self := scope + "/providers/Microsoft.Authorization/roleAssignments/" + str(in, nameKey)
	other, taken, err := live.find(func(r Resource) bool {
		s, k := tokenParts(r.Type)
		return s == "authorization" && k == "RoleAssignment" && !strings.EqualFold(r.ID, self) &&
			strings.EqualFold(storedString(r.Inputs["scope"]), scope) &&
			strings.EqualFold(storedString(r.Inputs["principalId"]), principal) &&
			strings.EqualFold(lastSegment(storedString(r.Inputs["roleDefinitionId"])), lastSegment(role))
	})
	if err != nil || !taken {
		return err
	}
	return fmt.Errorf("RoleAssignmentExists: The role assignment already exists (%s): %w", other.ID, ErrAlreadyExists)
}

// resolvePrincipal answers PrincipalNotFound for a principal that is none
// the stand-in's directory knows: the deployer (getClientConfig's object
// id), a live user-assigned identity, a live cluster's kubelet identity.
// Entra ID groups come from the configuration, made and kept outside the
// stack, so the stand-in cannot know them: a principal of type Group is
// taken when it has the form of an object id.
func resolvePrincipal(id, principalType string, live finder) error {
	if strings.EqualFold(id, azureObject) || (principalType == "Group" && guidPattern.MatchString(id)) {
		return nil
	}
	_, ok, err := live.find(func(r Resource) bool { return strings.EqualFold(principalOf(r), id) })
	if err != nil || ok {
		return err
	}
	return fmt.Errorf("PrincipalNotFound: Principal %s does not exist in the directory %s: %w", id, azureTenant, ErrNotFound)
}

// principalOf is the object id of the identity a live resource has in
// Entra ID: a user-assigned identity's, a managed cluster's kubelet's; ""
// for others.
func principalOf(r Resource) string {
	switch _, kind := tokenParts(r.Type); kind {
	case "UserAssignedIdentity":
		return storedString(r.Outputs["principalId"])
	case "ManagedCluster":
		profile, _ := r.Outputs["identityProfile"].(map[string]any)
		kubelet, _ := profile["kubeletidentity"].(map[string]any)
		return storedString(kubelet["objectId"])
	}
	return ""
}

// lastSegment is the last segment of an id: a role definition's GUID,
// whichever scope the id names it at.
func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }
