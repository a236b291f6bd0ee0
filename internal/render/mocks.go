package render

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Fake identities of the accounts the offline render pretends to deploy to.
const (
	AccountID      = "123456789012"
	Partition      = "aws"
	SubscriptionID = "00000000-0000-0000-0000-000000000001"
	TenantID       = "00000000-0000-0000-0000-000000000002"
	ResourceGroup  = "edw-rg"
)

// nameSuffix stands for the random characters Azure auto-naming appends to
// a globally unique name.
const nameSuffix = "0a1b2c"

// mocks records every registered resource and answers like the clouds
// would, with predictable ids, ARNs and URLs.
type mocks struct {
	project, stack, region string

	mu        sync.Mutex
	resources []Resource
}

var _ pulumi.MockResourceMonitor = (*mocks)(nil)

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	r := Resource{
		Type:         args.TypeToken,
		Name:         args.Name,
		URN:          m.urn(rpc.GetParent(), args.TypeToken, args.Name),
		Parent:       rpc.GetParent(),
		Provider:     args.Provider,
		Custom:       args.Custom,
		Protect:      rpc.GetProtect(),
		Inputs:       plainMap(args.Inputs),
		Dependencies: rpc.GetDependencies(),
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	state := args.Inputs.Copy()
	for k, v := range m.outputs(args.TypeToken, args.Name, args.Inputs) {
		state[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
	}
	return m.id(args.TypeToken, args.Name, args.Inputs), state, nil
}

// id is the resource's provider id: an ARM id for Azure resources, whose
// ids the program uses as role assignment scopes.
func (m *mocks) id(typ, name string, in resource.PropertyMap) string {
	if !strings.HasPrefix(typ, "azure-native:") {
		return name + "-id"
	}
	parts := strings.Split(typ, ":")
	kind := parts[len(parts)-1]
	switch kind {
	case "ResourceGroup":
		return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s", SubscriptionID, ResourceGroup)
	case "Queue":
		return m.armID("Microsoft.Storage/storageAccounts", in["accountName"].StringValue()) + "/queueServices/default/queues/" + in["queueName"].StringValue()
	case "Table":
		return m.armID("Microsoft.Storage/storageAccounts", in["accountName"].StringValue()) + "/tableServices/default/tables/" + in["tableName"].StringValue()
	case "DatabaseAccount":
		return m.armID("Microsoft.DocumentDB/databaseAccounts", name+nameSuffix)
	}
	return m.armID("Microsoft."+strings.Split(parts[1], "/")[0]+"/"+kind, name)
}

func (m *mocks) armID(provider, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/%s/%s", SubscriptionID, ResourceGroup, provider, name)
}

// outputs are the fields a provider computes, for the types whose outputs
// the program reads.
func (m *mocks) outputs(typ, name string, in resource.PropertyMap) map[string]any {
	arn := func(service, res string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", Partition, service, m.region, AccountID, res)
	}
	switch typ {
	case "aws:sqs/queue:Queue":
		return map[string]any{
			"arn": arn("sqs", name), "name": name,
			"url": fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", m.region, AccountID, name),
		}
	case "aws:dynamodb/table:Table":
		return map[string]any{"arn": arn("dynamodb", "table/"+name), "name": name}
	case "aws:iam/role:Role":
		return map[string]any{"arn": fmt.Sprintf("arn:%s:iam::%s:role/%s", Partition, AccountID, name), "name": name}
	case "aws:ecr/repository:Repository":
		return map[string]any{
			"name": name, "registryId": AccountID,
			"repositoryUrl": fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, m.region, name),
		}
	case "aws:kms/key:Key":
		return map[string]any{"arn": arn("kms", "key/"+name), "keyId": name}
	case "aws:sns/topic:Topic":
		return map[string]any{"arn": arn("sns", name), "name": name}
	case "aws:cloudwatch/eventRule:EventRule":
		return map[string]any{"arn": arn("events", "rule/"+name), "name": name}
	case "aws:amp/workspace:Workspace":
		return map[string]any{
			"arn":                arn("aps", "workspace/ws-"+name),
			"prometheusEndpoint": fmt.Sprintf("https://aps-workspaces.%s.amazonaws.com/workspaces/ws-%s/", m.region, name),
		}
	case "azure-native:monitor:AzureMonitorWorkspace":
		return map[string]any{"metrics": map[string]any{
			"prometheusQueryEndpoint": fmt.Sprintf("https://%s.%s.prometheus.monitor.azure.com", name, m.region),
		}}
	case "aws:ec2/vpc:Vpc":
		return map[string]any{"id": "vpc-0123456789abcdef0"}
	case "docker-build:index:Image":
		// Pushed by digest, untagged: no ref.
		return map[string]any{"digest": "sha256:" + strings.Repeat("0", 64), "ref": ""}
	case "azure-native:resources:ResourceGroup":
		return map[string]any{"name": ResourceGroup, "location": m.region}
	case "azure-native:managedidentity:UserAssignedIdentity":
		return map[string]any{"name": name, "clientId": "client-id-of-" + name, "principalId": "principal-id-of-" + name}
	case "azure-native:managedidentity:FederatedIdentityCredential":
		return map[string]any{"name": in["federatedIdentityCredentialResourceName"].StringValue()}
	case "azure-native:storage:StorageAccount":
		return map[string]any{"name": name + nameSuffix, "primaryEndpoints": map[string]any{"table": fmt.Sprintf("https://%s.table.core.windows.net/", name+nameSuffix)}}
	case "azure-native:documentdb:DatabaseAccount":
		return map[string]any{"name": name + nameSuffix}
	case "azure-native:documentdb:TableResourceTable":
		return map[string]any{"name": in["tableName"].StringValue()}
	case "azure-native:storage:Queue":
		return map[string]any{"name": in["queueName"].StringValue()}
	case "azure-native:storage:Table":
		return map[string]any{"name": in["tableName"].StringValue()}
	case "azure-native:containerregistry:Registry":
		return map[string]any{"name": name + nameSuffix, "loginServer": name + nameSuffix + ".azurecr.io"}
	case "azure-native:containerservice/v20241002preview:ManagedCluster":
		return map[string]any{
			"name":              in["resourceName"].StringValue(),
			"oidcIssuerProfile": map[string]any{"enabled": true, "issuerURL": "https://" + m.region + ".oic.prod-aks.azure.com/" + TenantID + "/cluster/"},
			"identityProfile":   map[string]any{"kubeletidentity": map[string]any{"objectId": "kubelet-object-id", "clientId": "kubelet-client-id"}},
		}
	case "eks:index:Cluster":
		return map[string]any{
			"kubeconfigJson":         `{"apiVersion":"v1","kind":"Config","clusters":[],"contexts":[],"users":[]}`,
			"oidcProviderArn":        fmt.Sprintf("arn:%s:iam::%s:oidc-provider/oidc.eks.%s.amazonaws.com/id/EXAMPLE", Partition, AccountID, m.region),
			"oidcIssuer":             fmt.Sprintf("oidc.eks.%s.amazonaws.com/id/EXAMPLE", m.region),
			"autoModeNodeRoleName":   "",
			"clusterSecurityGroupId": "sg-0123456789abcdef0",
		}
	}
	return nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	var out map[string]any
	switch args.Token {
	case "aws:index/getRegion:getRegion":
		out = map[string]any{"name": m.region, "id": m.region}
	case "aws:index/getCallerIdentity:getCallerIdentity":
		out = map[string]any{"accountId": AccountID, "arn": fmt.Sprintf("arn:%s:iam::%s:user/render", Partition, AccountID), "userId": "render"}
	case "aws:iam/getSessionContext:getSessionContext":
		// The render's caller is an IAM user: its own issuer.
		out = map[string]any{"arn": args.Args["arn"].StringValue(), "issuerArn": args.Args["arn"].StringValue()}
	case "aws:index/getPartition:getPartition":
		// The China regions are the one partition a test renders besides
		// aws, for the ARNs and service principals the stack derives.
		out = map[string]any{"partition": Partition, "dnsSuffix": "amazonaws.com"}
		if strings.HasPrefix(m.region, "cn-") {
			out = map[string]any{"partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn"}
		}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		out = map[string]any{"names": []any{m.region + "a", m.region + "b", m.region + "c"}}
	case "azure-native:authorization:getClientConfig":
		out = map[string]any{"subscriptionId": SubscriptionID, "tenantId": TenantID, "clientId": "render", "objectId": "render"}
	case "azure-native:authorization:getClientToken":
		out = map[string]any{"token": "render-token"}
	case "azure-native:containerservice/v20241002preview:listManagedClusterUserCredentials":
		kubeconfig := base64.StdEncoding.EncodeToString([]byte(`{"apiVersion":"v1","kind":"Config","clusters":[],"contexts":[],"users":[]}`))
		out = map[string]any{"kubeconfigs": []any{map[string]any{"name": "clusterUser", "value": kubeconfig}}}
	case "aws:eks/getClusterVersions:getClusterVersions":
		// EKS's versions on 2026-12-04 (Amazon EKS Kubernetes version
		// calendar): the render is of a stack deployed that day.
		var versions []any
		for v, status := range map[string]string{"1.33": "EXTENDED_SUPPORT", "1.34": "EXTENDED_SUPPORT", "1.35": "STANDARD_SUPPORT", "1.36": "STANDARD_SUPPORT"} {
			versions = append(versions, map[string]any{"clusterType": "eks", "clusterVersion": v, "versionStatus": status})
		}
		out = map[string]any{"clusterVersions": versions}
	case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
		out = map[string]any{"userName": "AWS", "password": "render-token"}
	default:
		return nil, fmt.Errorf("render: no mock answer for %s", args.Token)
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// urn is the URN the engine gives a resource (the mocks' own formula).
func (m *mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(typ), name))
}

// plainMap turns property values into plain JSON values; secrets and
// unknowns become markers.
func plainMap(pm resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(pm))
	for k, v := range pm {
		out[string(k)] = plain(v)
	}
	return out
}

func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return "[secret]"
	case v.IsComputed():
		return "[unknown]"
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return "[unknown]"
		}
		if o.Secret {
			return "[secret]"
		}
		return plain(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsAsset(), v.IsArchive():
		return "[asset]"
	case v.IsNull():
		return nil
	}
	return v.V
}
