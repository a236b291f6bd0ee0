package stacks

import (
	"fmt"
	"slices"
	"time"

	"github.com/pulumi/pulumi-azure-native-sdk/authorization/v2"
	"github.com/pulumi/pulumi-azure-native-sdk/resources/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/identity"
	"github.com/edw-project/edw/components/images"
	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/keda"
	"github.com/edw-project/edw/components/monitoring"
	"github.com/edw-project/edw/components/queue"
	"github.com/edw-project/edw/components/store"
	"github.com/edw-project/edw/components/workload"
)

const (
	// azureQueue and azureTable name the work queue and the table in the
	// stack's own storage account.
	azureQueue = "work"
	azureTable = "payments"
	// workloadIdentityLabel opts pods in to the workload identity webhook.
	workloadIdentityLabel = "azure.workload.identity/use"
)

// prometheusTriggers is the optional second trigger: a PromQL query on an
// Azure Monitor workspace, read with KEDA's workload identity.
func (c *Config) prometheusTriggers() []keda.Trigger {
	p := c.Keda.Prometheus
	if p.WorkspaceID == "" {
		return nil
	}
	return []keda.Trigger{{
		Type: "prometheus",
		Metadata: pulumi.StringMap{
			"serverAddress": pulumi.String(p.QueryEndpoint),
			"query":         pulumi.String(p.Query),
			"threshold":     pulumi.String(p.Threshold),
		},
	}}
}

// Azure composes the Azure stack: AKS with node auto-provisioning and the
// KEDA add-on, Storage Queue, a Storage or Cosmos DB table, ACR, workload
// identities and the workload.
func Azure(ctx *pulumi.Context, cfg *Config) (Outputs, error) {
	if err := checkAksVersion(cfg.Cluster.Version, time.Now()); err != nil {
		return nil, err
	}
	client, err := authorization.GetClientConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("azure subscription: %w", err)
	}
	tags := stackTags(ctx)

	// Infrastructure.
	rg, err := resources.NewResourceGroup(ctx, "edw", &resources.ResourceGroupArgs{Tags: tags})
	if err != nil {
		return nil, err
	}
	aks, err := cluster.NewAks(ctx, "cluster", &cluster.AksArgs{
		ResourceGroupName: rg.Name, Name: cfg.Cluster.Name, Version: cfg.Cluster.Version,
		SystemNodeSize: cfg.Cluster.SystemNodeType, SystemNodeCount: cfg.Cluster.SystemNodeCount,
		SubscriptionID: client.SubscriptionId, TenantID: client.TenantId, DeployerObjectID: client.ObjectId,
		DeployerNotAdmin: !cfg.Cluster.DeployerAdmin, AdminGroupObjectIDs: cfg.Cluster.AdminGroupObjectIDs,
		ReaderGroupObjectIDs: cfg.Cluster.ReaderGroupObjectIDs, KubeloginMode: cfg.Cluster.KubeloginMode,
		AuthorizedIPRanges: cfg.Cluster.PublicAccessCidrs,
		UpgradeChannel:     cfg.Cluster.UpgradeChannel, NodeOSUpgradeChannel: cfg.Cluster.NodeOSUpgradeChannel,
		Maintenance: cluster.MaintenanceWindow{
			Day: cfg.Cluster.MaintenanceDay, StartTime: cfg.Cluster.MaintenanceStartTime, DurationHours: cfg.Cluster.MaintenanceHours,
		},
		Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	k8s := pulumi.Provider(aks.Provider)
	data := pulumi.Protect(cfg.ProtectData)
	account, err := queue.NewStorage(ctx, "storage", &queue.StorageArgs{ResourceGroupName: rg.Name, QueueName: azureQueue, Tags: tags}, data)
	if err != nil {
		return nil, err
	}
	consumerGrants := []identity.Grant{
		{Name: "queue", Role: identity.StorageQueueDataContributor, Scope: account.QueueId},
		{Name: "poison-queue", Role: identity.StorageQueueDataSender, Scope: account.PoisonQueueId},
	}
	var table *store.Table
	if cfg.Table.Service == tableStorage {
		if table, err = store.NewTable(ctx, azureTable, &store.TableArgs{ResourceGroupName: rg.Name, AccountName: account.AccountName, TableName: azureTable}, data); err != nil {
			return nil, err
		}
		consumerGrants = append(consumerGrants, identity.Grant{Name: "table", Role: identity.StorageTableDataContributor, Scope: table.TableId})
	}
	registry, err := images.NewAcr(ctx, "images", &images.AcrArgs{
		Sources: cfg.imageSources(), ResourceGroupName: rg.Name,
		SubscriptionID: client.SubscriptionId, TenantID: client.TenantId,
		PullPrincipalId: aks.KubeletObjectId, Tags: tags,
	})
	if err != nil {
		return nil, err
	}

	// Identities: one per principal, federated with its service account,
	// each role on the one queue or table it needs.
	namespace, err := cfg.newNamespace(ctx, k8s)
	if err != nil {
		return nil, err
	}
	principal := func(namespace pulumi.StringInput, sa string, create bool, grants ...identity.Grant) (*identity.Federated, error) {
		return identity.NewFederated(ctx, sa, &identity.FederatedArgs{
			ResourceGroupName: rg.Name, SubscriptionID: client.SubscriptionId, Issuer: aks.OidcIssuerUrl,
			Namespace: namespace, ServiceAccount: sa, CreateServiceAccount: create, Grants: grants, Tags: tags,
		}, k8s)
	}
	consumerID, err := principal(namespace, workload.Consumer, true, consumerGrants...)
	if err != nil {
		return nil, err
	}
	rows, err := cfg.rows(ctx, rg, account, table, consumerID, tags)
	if err != nil {
		return nil, err
	}
	producerID, err := principal(namespace, workload.Producer, true,
		identity.Grant{Name: "queue", Role: identity.StorageQueueDataSender, Scope: account.QueueId})
	if err != nil {
		return nil, err
	}
	kedaGrants := []identity.Grant{{Name: "queue", Role: identity.StorageQueueDataReader, Scope: account.QueueId}}
	if p := cfg.Keda.Prometheus; p.WorkspaceID != "" {
		kedaGrants = append(kedaGrants, identity.Grant{Name: "metrics", Role: identity.MonitoringDataReader, Scope: pulumi.String(p.WorkspaceID)})
	}
	kedaID, err := principal(pulumi.String(keda.AddonNamespace), keda.OperatorServiceAccount, false, kedaGrants...)
	if err != nil {
		return nil, err
	}
	kedaAddon, err := keda.NewAddonIdentity(ctx, "keda-addon", &keda.AddonIdentityArgs{ClientID: kedaID.ClientId, Credential: kedaID.Credential}, k8s)
	if err != nil {
		return nil, err
	}

	// Nodes on demand: node auto-provisioning runs Karpenter for the pool.
	pool, err := karpenter.NewNap(ctx, "workload", &karpenter.NapArgs{
		NodePool:    cfg.nodePool(),
		SKUFamilies: cfg.Karpenter.SKUFamilies, ImageFamily: cfg.Karpenter.ImageFamily, OSDiskSizeGB: cfg.Karpenter.OSDiskSizeGB,
	}, k8s)
	if err != nil {
		return nil, err
	}

	// The workload, scaled by the KEDA add-on. It depends on the NodePool so
	// that at destroy its pods go before the pool, and the pool before the
	// cluster.
	dependsOn := append([]pulumi.Resource{pool.NodePool}, rows.ready...)
	wl, err := cfg.newWorkload(ctx, namespace, cloudApps{
		images: registry.ImageRefs, consumerSA: consumerID.ServiceAccountName, producerSA: producerID.ServiceAccountName,
		env: pulumi.StringMap{
			"EDW_CLOUD":                  pulumi.String("azure"),
			"AZURE_STORAGE_ACCOUNT_NAME": account.AccountName,
			"AZURE_QUEUE_NAME":           account.QueueName,
		},
		consumerEnv: pulumi.StringMap{
			"AZURE_TABLE_NAME": rows.tableName, "AZURE_TABLE_ENDPOINT": rows.endpoint,
			"AZURE_POISON_QUEUE_NAME": account.PoisonQueueName,
		},
		podLabels: map[string]string{workloadIdentityLabel: "true"},
		dependsOn: append(dependsOn, producerID.Ready...),
	}, k8s)
	if err != nil {
		return nil, err
	}
	scaler, err := cfg.newScaler(ctx, namespace, wl.ConsumerDeployment, scaling{
		queue: keda.Trigger{
			Type: "azure-queue",
			Metadata: pulumi.StringMap{
				"queueName":   account.QueueName,
				"accountName": account.AccountName,
				"cloud":       pulumi.String("AzurePublicCloud"),
			},
		},
		more: cfg.prometheusTriggers(),
		// The identity's client id, which the token exchange takes (not its
		// principal id).
		podIdentity: pulumi.StringMap{"provider": pulumi.String("azure-workload"), "identityId": kedaID.ClientId},
		dependsOn:   append(slices.Clone(kedaID.Ready), kedaAddon.Restart),
	}, k8s)
	if err != nil {
		return nil, err
	}

	monitor, err := monitoring.NewAzure(ctx, "monitoring", &monitoring.AzureArgs{
		ResourceGroupName: rg.Name, ClusterId: aks.ClusterId, ClusterName: aks.ClusterName, Namespace: namespace,
		Thresholds: cfg.thresholds(), Email: cfg.Alerts.Email, Tags: tags,
	}, k8s)
	if err != nil {
		return nil, err
	}

	return Outputs{
		"resourceGroup":                   rg.Name,
		"location":                        rg.Location,
		"clusterName":                     aks.ClusterName,
		"clusterIdentityName":             aks.ControlPlaneIdentityName,
		"kubeconfig":                      aks.Kubeconfig,
		"oidcIssuerUrl":                   aks.OidcIssuerUrl,
		"storageAccountName":              account.AccountName,
		"queueName":                       account.QueueName,
		"poisonQueueName":                 account.PoisonQueueName,
		"alertActionGroupId":              monitor.ActionGroupId,
		"prometheusWorkspaceId":           monitor.WorkspaceId,
		"prometheusQueryEndpoint":         monitor.PrometheusQueryEndpoint,
		"tableName":                       rows.tableName,
		"tableEndpoint":                   rows.endpoint,
		"registryName":                    registry.RegistryName,
		"registryLoginServer":             registry.LoginServer,
		"imageRefs":                       registry.ImageRefs,
		"namespace":                       namespace,
		"consumerServiceAccount":          consumerID.ServiceAccountName,
		"producerServiceAccount":          producerID.ServiceAccountName,
		"consumerIdentityName":            consumerID.IdentityName,
		"consumerClientId":                consumerID.ClientId,
		"producerIdentityName":            producerID.IdentityName,
		"kedaIdentityName":                kedaID.IdentityName,
		"kedaClientId":                    kedaID.ClientId,
		"consumerFederatedCredentialName": consumerID.FederatedCredentialName,
		"producerFederatedCredentialName": producerID.FederatedCredentialName,
		"kedaFederatedCredentialName":     kedaID.FederatedCredentialName,
		"nodePoolName":                    pool.NodePoolName,
		"scaledObjectName":                scaler.ScaledObjectName,
		"scaling":                         cfg.scalingOutput(),
		"consumerDeployment":              wl.ConsumerDeployment,
		"producerDeployment":              wl.ProducerDeployment,
	}, nil
}

// rows is where the consumer writes: a table in the stack's storage
// account, or one in a Cosmos DB account that grants the consumer through
// its own role-based access.
type rows struct {
	tableName, endpoint pulumi.StringOutput
	// ready is what the consumer needs before its first write.
	ready []pulumi.Resource
}

// rows makes the Cosmos DB table for consumer, or describes the storage
// table, whose role is among the consumer's grants.
func (c *Config) rows(ctx *pulumi.Context, rg *resources.ResourceGroup, account *queue.Storage, table *store.Table, consumer *identity.Federated, tags pulumi.StringMap) (*rows, error) {
	if table != nil {
		return &rows{tableName: table.TableName, endpoint: account.TableEndpoint, ready: consumer.Ready}, nil
	}
	cosmos, err := store.NewCosmosTable(ctx, azureTable, &store.CosmosTableArgs{
		ResourceGroupName: rg.Name, Location: rg.Location, TableName: azureTable,
		MaxThroughput: c.Table.CosmosMaxThroughput, WriterPrincipalId: consumer.PrincipalId, Tags: tags,
	}, pulumi.Protect(c.ProtectData))
	if err != nil {
		return nil, err
	}
	return &rows{tableName: cosmos.TableName, endpoint: cosmos.Endpoint, ready: append(slices.Clone(consumer.Ready), cosmos.Ready...)}, nil
}
