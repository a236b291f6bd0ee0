package stacks

import (
	"fmt"
	"slices"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
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

// AWS composes the AWS stack: EKS, SQS, DynamoDB, ECR, KEDA, Karpenter and
// the workload.
func AWS(ctx *pulumi.Context, cfg *Config) (Outputs, error) {
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("aws region: %w", err)
	}
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("aws account: %w", err)
	}
	partition, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("aws partition: %w", err)
	}
	tags := stackTags(ctx)
	clusterArn := func(name string) string {
		return fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", partition.Partition, region.Name, caller.AccountId, name)
	}
	autoMode := cfg.Karpenter.Mode == "auto"
	part := cluster.Partition{Name: partition.Partition, DNSSuffix: partition.DnsSuffix}
	// The managed scraper reaches the pods from network interfaces in the
	// VPC, through the cluster's private endpoint.
	scrape := cluster.EndpointAccess(cfg.Cluster.EndpointAccess) != cluster.EndpointPublic

	if err := checkEksVersion(ctx, cfg.Cluster.Version, cfg.Cluster.SupportType, time.Now()); err != nil {
		return nil, err
	}
	admins, err := clusterAdmins(ctx, caller.Arn, cfg.Cluster.AdminPrincipalArns, cfg.Cluster.ReaderPrincipalArns)
	if err != nil {
		return nil, err
	}

	// Infrastructure.
	eks, err := cluster.NewEks(ctx, "cluster", &cluster.EksArgs{
		Name: cfg.Cluster.Name, Version: cfg.Cluster.Version, VpcCidr: cfg.Cluster.VpcCidr,
		AvailabilityZones: cfg.Cluster.AvailabilityZones,
		SystemNodeType:    cfg.Cluster.SystemNodeType, SystemNodeCount: cfg.Cluster.SystemNodeCount,
		AutoMode: autoMode, Partition: part,
		EndpointAccess: cluster.EndpointAccess(cfg.Cluster.EndpointAccess), PublicAccessCidrs: cfg.Cluster.PublicAccessCidrs,
		SupportType: cfg.Cluster.SupportType, LogRetentionDays: cfg.Cluster.LogRetentionDays,
		AdminPrincipalArns: admins, ReaderPrincipalArns: cfg.Cluster.ReaderPrincipalArns,
		ScraperSubnets: scrape, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	k8s := pulumi.Provider(eks.Provider)
	data := pulumi.Protect(cfg.ProtectData)
	work, err := queue.NewSqs(ctx, "work", &queue.SqsArgs{
		VisibilityTimeoutSeconds: cfg.Queue.VisibilityTimeoutSeconds,
		MaxReceiveCount:          cfg.Queue.MaxReceiveCount,
		RetentionSeconds:         cfg.Queue.RetentionSeconds,
		Tags:                     tags,
	}, data)
	if err != nil {
		return nil, err
	}
	table, err := store.NewDynamo(ctx, "payments", &store.DynamoArgs{Tags: tags, DeletionProtection: cfg.ProtectData}, data)
	if err != nil {
		return nil, err
	}
	imgs, err := images.NewEcr(ctx, "images", &images.EcrArgs{
		Sources: cfg.imageSources(), Keep: cfg.Images.Keep, Tags: tags,
	})
	if err != nil {
		return nil, err
	}

	// Identities: one role per principal, each scoped to its queue or table.
	namespace, err := cfg.newNamespace(ctx, k8s)
	if err != nil {
		return nil, err
	}
	principal := func(namespace pulumi.StringInput, sa string, create bool, statements ...identity.Statement) (*identity.PodIdentity, error) {
		return identity.NewPodIdentity(ctx, sa, &identity.PodIdentityArgs{
			ClusterName: eks.ClusterName, Namespace: namespace, ServiceAccount: sa,
			CreateServiceAccount: create, Statements: statements, Tags: tags,
		}, k8s)
	}
	onQueue := pulumi.StringArray{work.QueueArn}
	// The consumer's calls, and no more: ReceiveMessage, DeleteMessageBatch
	// (sqs:DeleteMessage), ChangeMessageVisibility and BatchWriteItem
	// (apps/internal/queue/sqs, apps/internal/store/dynamodb).
	consumerID, err := principal(namespace, workload.Consumer, true, identity.Statement{
		Sid:       "ConsumeWorkQueue",
		Actions:   []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"},
		Resources: onQueue,
	}, identity.Statement{
		Sid:       "WriteTable",
		Actions:   []string{"dynamodb:BatchWriteItem"},
		Resources: pulumi.StringArray{table.TableArn},
	})
	if err != nil {
		return nil, err
	}
	producerID, err := principal(namespace, workload.Producer, true, identity.Statement{
		Sid: "SendToWorkQueue", Actions: []string{"sqs:SendMessage"}, Resources: onQueue,
	})
	if err != nil {
		return nil, err
	}
	kedaID, err := principal(pulumi.String(keda.Namespace), keda.OperatorServiceAccount, false, identity.Statement{
		Sid: "ReadWorkQueueDepth", Actions: []string{"sqs:GetQueueAttributes"}, Resources: onQueue,
	})
	if err != nil {
		return nil, err
	}

	// Nodes on demand.
	systemSelector := map[string]string{cluster.SystemPoolLabel: cluster.SystemPool}
	if autoMode {
		systemSelector = map[string]string{"karpenter.sh/nodepool": "system"}
	}
	pool, err := karpenter.NewEks(ctx, "workload", &karpenter.EksArgs{
		ClusterName: eks.ClusterName,
		ClusterArn:  pulumi.String(clusterArn(cfg.Cluster.Name)),
		Cluster:     cfg.Cluster.Name,
		Partition:   part, Region: region.Name, AccountID: caller.AccountId,
		AutoMode:           autoMode,
		NodePool:           cfg.nodePool(),
		InstanceCategories: cfg.Karpenter.InstanceCategories,
		AMIAlias:           cfg.Karpenter.AMIAlias,
		SystemNodeSelector: systemSelector,
		SystemToleration:   cluster.CriticalAddonsOnly,
		SystemNodes:        eks.SystemNodes,
		Tags:               tags,
	}, k8s)
	if err != nil {
		return nil, err
	}

	// Its interfaces have subnets of their own: every pod has an address
	// in the node subnets (the VPC CNI), so admitting those would admit
	// any pod.
	metricsCIDRs := eks.ScraperCidrs

	// The workload, scaled by KEDA. It depends on the NodePool so that at
	// destroy its pods go before the pool, while Karpenter still runs to
	// remove the nodes it launched.
	wl, err := cfg.newWorkload(ctx, namespace, cloudApps{
		images: imgs.ImageRefs, consumerSA: consumerID.ServiceAccountName, producerSA: producerID.ServiceAccountName,
		env: pulumi.StringMap{
			"EDW_CLOUD":     pulumi.String("aws"),
			"AWS_REGION":    pulumi.String(region.Name),
			"SQS_QUEUE_URL": work.QueueUrl,
		},
		consumerEnv:  pulumi.StringMap{"DYNAMODB_TABLE": table.TableName},
		egress:       []workload.Endpoint{{CIDR: identity.AgentCIDR, Port: identity.AgentPort}},
		metricsCIDRs: metricsCIDRs,
		dependsOn:    []pulumi.Resource{pool.NodePool, consumerID.Association, producerID.Association},
	}, k8s)
	if err != nil {
		return nil, err
	}
	scaler, err := cfg.newScaler(ctx, namespace, wl.ConsumerDeployment, scaling{
		install: &keda.InstallArgs{
			NodeSelector: systemSelector, Toleration: cluster.CriticalAddonsOnly,
			DependsOn: append(slices.Clone(kedaID.Ready), eks.SystemNodes...),
		},
		queue: keda.Trigger{
			Type:     "aws-sqs-queue",
			Metadata: pulumi.StringMap{"queueURL": work.QueueUrl, "awsRegion": pulumi.String(region.Name)},
		},
		// The operator's own pod identity reads the queue depth.
		podIdentity: pulumi.StringMap{"provider": pulumi.String("aws")},
	}, k8s)
	if err != nil {
		return nil, err
	}

	monitorArgs := &monitoring.AwsArgs{
		QueueName: work.QueueName, DeadLetterQueueName: work.DeadLetterQueueName,
		Thresholds: cfg.thresholds(), Email: cfg.Alerts.Email,
		Partition: partition.Partition, Region: region.Name, AccountID: caller.AccountId, Tags: tags,
	}
	if scrape {
		monitorArgs.Scraper = &monitoring.ScraperArgs{
			// Through the name, which waits for the cluster.
			ClusterArn: eks.ClusterName.ApplyT(clusterArn).(pulumi.StringOutput), SubnetIds: eks.ScraperSubnetIds,
			SecurityGroupIds: pulumi.StringArray{eks.ClusterSecurityGroupId}, Namespace: namespace,
		}
	}
	monitor, err := monitoring.NewAws(ctx, "monitoring", monitorArgs)
	if err != nil {
		return nil, err
	}

	return Outputs{
		"region":                 pulumi.String(region.Name),
		"clusterName":            eks.ClusterName,
		"kubeconfig":             eks.Kubeconfig,
		"vpcId":                  eks.VpcId,
		"queueUrl":               work.QueueUrl,
		"queueName":              work.QueueName,
		"deadLetterQueueUrl":     work.DeadLetterQueueUrl,
		"alertTopicArn":          monitor.TopicArn,
		"prometheusWorkspaceId":  monitor.WorkspaceId,
		"prometheusEndpoint":     monitor.PrometheusEndpoint,
		"tableName":              table.TableName,
		"repositoryUrls":         imgs.RepositoryUrls,
		"imageRefs":              imgs.ImageRefs,
		"namespace":              namespace,
		"consumerServiceAccount": consumerID.ServiceAccountName,
		"producerServiceAccount": producerID.ServiceAccountName,
		"kedaServiceAccount":     kedaID.ServiceAccountName,
		"consumerRoleArn":        consumerID.RoleArn,
		"producerRoleArn":        producerID.RoleArn,
		"kedaRoleArn":            kedaID.RoleArn,
		"karpenterRoleArn":       pool.ControllerRoleArn,
		"karpenterNodeRoleName":  pool.NodeRoleName,
		"interruptionQueueName":  pool.InterruptionQueueName,
		"nodePoolName":           pool.NodePoolName,
		"scaledObjectName":       scaler.ScaledObjectName,
		"scaling":                cfg.scalingOutput(),
		"consumerDeployment":     wl.ConsumerDeployment,
		"producerDeployment":     wl.ProducerDeployment,
	}, nil
}

// clusterAdmins are the EKS cluster's admins: the configured ones, which
// must include the identity running the program unless it is a reader (a
// preview or drift check, which deploys nothing), or that identity alone.
// An access entry takes the IAM role behind a session, which IAM's session
// context gives (the role's path included).
func clusterAdmins(ctx *pulumi.Context, callerArn string, admins, readers []string) ([]string, error) {
	session, err := iam.GetSessionContext(ctx, &iam.GetSessionContextArgs{Arn: callerArn})
	if err != nil {
		return nil, fmt.Errorf("aws caller %s: naming the role behind its session needs iam:GetRole on that role: %w", callerArn, err)
	}
	switch {
	case len(admins) == 0:
		return []string{session.IssuerArn}, nil
	case slices.Contains(admins, session.IssuerArn), slices.Contains(readers, session.IssuerArn):
		return admins, nil
	}
	return nil, fmt.Errorf("%s:clusterAdminPrincipalArns: %s, which runs pulumi, is not in the list (nor in clusterReaderPrincipalArns): add it, or it cannot deploy to the cluster", Namespace, session.IssuerArn)
}
