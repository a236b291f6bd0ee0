package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/monitoring"
	"github.com/edw-project/edw/components/store"
	"github.com/edw-project/edw/components/workload"
	"github.com/edw-project/edw/versions"
)

// Namespace is the config namespace of every key below: edw:<key>.
const Namespace = "edw"

// The services the Azure stack's table may live in (edw:tableService).
const (
	tableStorage = "storage"
	tableCosmos  = "cosmos"
)

// alertWindow is the span the alerts count set-aside messages and failed
// writes over.
const alertWindow = 10 * time.Minute

// Config is the stack configuration. Each field's tags give its key under
// edw:, its default, and its description; Pulumi.yaml declares the same
// keys (a test holds the two together).
type Config struct {
	Cloud       string `key:"cloud" help:"Cloud to deploy to: aws or azure."`
	Namespace   string `key:"namespace" default:"edw" help:"Kubernetes namespace of the workload."`
	ProtectData bool   `key:"protectData" default:"true" help:"Keep the queues, the tables and the accounts that hold them from being deleted or replaced (Pulumi's protect, and DynamoDB's deletion protection): a destroy, or a change that would delete them, stops before anything is deleted. To allow it, set false and run pulumi up first, then destroy or change."`
	// MetricsNamespaces may scrape the apps (NetworkPolicy ingress).
	MetricsNamespaces []string `key:"metricsNamespaces" default:"kube-system" help:"Namespaces whose pods may reach the apps' metrics and health port; every other connection into the workload's namespace is refused."`

	Cluster struct {
		Name                 string   `key:"clusterName" help:"Cluster name; default edw-<stack>."`
		Version              string   `key:"clusterVersion" default:"1.36" help:"Kubernetes minor version; it must be in the cloud's standard support (the program checks it)."`
		SupportType          string   `key:"clusterSupportType" default:"STANDARD" help:"AWS: what EKS does when edw:clusterVersion leaves standard support: STANDARD upgrades the control plane to the next version; EXTENDED keeps it, at $0.60 a cluster-hour instead of $0.10."`
		AvailabilityZones    int      `key:"clusterAvailabilityZones" default:"2" help:"AWS: availability zones of the VPC (2 or 3), each with a private subnet, a public subnet and a NAT gateway."`
		VpcCidr              string   `key:"clusterVpcCidr" default:"10.0.0.0/16" help:"AWS: VPC address range (a /16)."`
		SystemNodeType       string   `key:"clusterSystemNodeType" help:"Instance type (AWS) or VM size (Azure) of the system nodes, where the controllers run; default m6i.large or Standard_D4ds_v5."`
		SystemNodeCount      int      `key:"clusterSystemNodeCount" default:"2" help:"Nodes in the system node group."`
		EndpointAccess       string   `key:"clusterEndpointAccess" default:"public-and-private" help:"AWS: who reaches the API endpoint: public-and-private (nodes inside the VPC, you from clusterPublicAccessCidrs), public, or private (run pulumi from inside the VPC)."`
		PublicAccessCidrs    []string `key:"clusterPublicAccessCidrs" default:"0.0.0.0/0" help:"Address ranges that may reach the API endpoint (AWS: a public endpoint; Azure: the API server's authorized ranges); both clouds still sign in every request. The default admits laptops and hosted CI runners; narrow it to your own."`
		AdminPrincipalArns   []string `key:"clusterAdminPrincipalArns" help:"AWS: IAM roles and users made cluster admins (EKS access entries); the identity that runs pulumi must be one of them. Empty: that identity alone. Set it when more than one identity deploys (you and CI)."`
		ReaderPrincipalArns  []string `key:"clusterReaderPrincipalArns" help:"AWS: IAM roles and users that may read the stack's Kubernetes objects, Secrets excepted: the pull-request and drift-check role."`
		AdminGroupObjectIDs  []string `key:"clusterAdminGroupObjectIds" help:"Azure: Entra ID groups made cluster admins, besides whoever runs pulumi."`
		DeployerAdmin        bool     `key:"clusterDeployerAdmin" default:"true" help:"Azure: make whoever runs pulumi a cluster admin through a role assignment of its own. Set false when more than one identity deploys (you and CI) and put them in a group of edw:clusterAdminGroupObjectIds, or the assignment moves to whoever ran the last up."`
		ReaderGroupObjectIDs []string `key:"clusterReaderGroupObjectIds" help:"Azure: Entra ID groups that may read the stack's Kubernetes objects, Secrets excepted: the group of the pull-request and drift-check identity."`
		KubeloginMode        string   `key:"clusterKubeloginMode" default:"azurecli" help:"Azure: how the kubeconfig's kubelogin signs in: azurecli (az login), workloadidentity, spn or msi. The workflows keep azurecli and override it with kubelogin's AAD_LOGIN_METHOD, so the kubeconfig does not change between a laptop and CI."`
		UpgradeChannel       string   `key:"clusterUpgradeChannel" default:"patch" help:"Azure: Kubernetes auto-upgrade channel (patch, stable, rapid, node-image or none)."`
		NodeOSUpgradeChannel string   `key:"clusterNodeOsUpgradeChannel" default:"NodeImage" help:"Azure: node OS upgrade channel (NodeImage, SecurityPatch, Unmanaged or None)."`
		MaintenanceDay       string   `key:"clusterMaintenanceDay" default:"Sunday" help:"Azure: weekday of the weekly maintenance window, when both channels may upgrade."`
		MaintenanceStartTime string   `key:"clusterMaintenanceStartTime" default:"00:00" help:"Azure: start of the maintenance window, HH:MM in UTC."`
		MaintenanceHours     int      `key:"clusterMaintenanceDurationHours" default:"4" help:"Azure: length of the maintenance window in hours (4 to 24)."`
		LogRetentionDays     int      `key:"clusterLogRetentionDays" default:"90" help:"AWS: days CloudWatch keeps the control plane's logs (a CloudWatch retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."`
	}

	Queue struct {
		VisibilityTimeoutSeconds int `key:"queueVisibilityTimeoutSeconds" default:"60" help:"Lease of a received message; the consumer uses the same value."`
		MaxReceiveCount          int `key:"queueMaxReceiveCount" default:"5" help:"Receives before a message moves to the dead-letter queue (the consumer's poison limit too)."`
		RetentionSeconds         int `key:"queueRetentionSeconds" default:"345600" help:"AWS: how long an unprocessed message is kept (60 to 1209600). Azure Storage keeps a message 7 days, the time-to-live the producer gives it."`
	}

	Keda struct {
		MinReplicas            int `key:"kedaMinReplicas" default:"0" help:"Fewest consumer pods (0 scales to zero when the queue is empty)."`
		MaxReplicas            int `key:"kedaMaxReplicas" default:"100" help:"Most consumer pods."`
		DrainObjectiveSeconds  int `key:"drainObjectiveSeconds" default:"300" help:"The longest a message may wait, from the producer to its row, when a burst of up to edw:kedaMaxReplicas targets finds no consumer running; under steady traffic messages wait about as long. KEDA's target and the HPA's scale-down window follow from it and edw:consumerMessagesPerSecond (the stack output scaling shows them). Below edw:alertBacklogAgeSeconds."`
		QueueLength            int `key:"kedaQueueLength" default:"0" help:"Target messages per consumer pod; 0 derives it from edw:drainObjectiveSeconds. Set it to scale on a fixed target instead."`
		ActivationQueueLength  int `key:"kedaActivationQueueLength" default:"0" help:"Messages needed to scale from zero; with kedaMinReplicas 0, a smaller backlog waits with no consumer (the program warns)."`
		PollingInterval        int `key:"kedaPollingIntervalSeconds" default:"10" help:"Seconds between KEDA's queue-length checks."`
		CooldownPeriod         int `key:"kedaCooldownPeriodSeconds" default:"60" help:"Seconds after the last activity before scaling to zero."`
		ScaleDownWindowSeconds int `key:"kedaScaleDownWindowSeconds" default:"30" help:"Seconds a lower replica recommendation must last before the consumers scale in (the HPA's scale-down stabilization); with a derived target, at least edw:drainObjectiveSeconds, so that no consumer goes while the backlog it was started for remains."`
		ScaleDownPercent       int `key:"kedaScaleDownPercent" default:"100" help:"Most consumers, in percent, removed every 15 s."`
		ScaleUpPercent         int `key:"kedaScaleUpPercent" default:"100" help:"Consumers added every 15 s, in percent (the larger of this and kedaScaleUpPods applies)."`
		ScaleUpPods            int `key:"kedaScaleUpPods" default:"4" help:"Consumers added every 15 s (the larger of this and kedaScaleUpPercent applies)."`

		// Prometheus is an optional second trigger (Azure).
		Prometheus struct {
			WorkspaceID   string `key:"kedaPrometheusWorkspaceId" help:"Azure: Azure Monitor workspace resource id; with queryEndpoint and query, adds a Prometheus trigger read with KEDA's identity (granted Monitoring Data Reader on it)."`
			QueryEndpoint string `key:"kedaPrometheusQueryEndpoint" help:"Azure: the workspace's Prometheus query endpoint (https://<name>.<region>.prometheus.monitor.azure.com)."`
			Query         string `key:"kedaPrometheusQuery" help:"Azure: PromQL query whose value drives the second trigger."`
			Threshold     string `key:"kedaPrometheusThreshold" default:"10" help:"Azure: value of the query per consumer pod."`
		}
	}

	Karpenter struct {
		Mode                   string   `key:"karpenterMode" default:"controller" help:"AWS: controller (install Karpenter) or auto (EKS Auto Mode's built-in Karpenter)."`
		CapacityTypes          []string `key:"karpenterCapacityTypes" default:"spot,on-demand" help:"AWS: capacity types Karpenter may launch (spot, on-demand)."`
		InstanceCategories     []string `key:"karpenterInstanceCategories" default:"c,m,r" help:"AWS: EC2 instance categories Karpenter may launch."`
		Architectures          []string `key:"karpenterArchitectures" default:"amd64" help:"CPU architectures of the nodes (amd64, arm64)."`
		CPULimit               int      `key:"karpenterCpuLimit" default:"1000" help:"Most vCPUs Karpenter may run for the workload."`
		ConsolidateAfter       string   `key:"karpenterConsolidateAfter" default:"1m" help:"How long a node must be empty or underused before Karpenter consolidates it."`
		ExpireAfter            string   `key:"karpenterExpireAfter" default:"720h" help:"Age at which Karpenter replaces a node."`
		TerminationGracePeriod string   `key:"karpenterTerminationGracePeriod" default:"5m" help:"Longest a node may take to drain (its consumers carry do-not-disrupt); at least a consumer pod's grace period, edw:consumerShutdownTimeoutSeconds + 10 s."`
		AMIAlias               string   `key:"karpenterAmiAlias" default:"al2023@v20260903" help:"AWS: EC2NodeClass AMI alias, pinned (al2023@v<date> or bottlerocket@v<version>); a release built for edw:clusterVersion (awslabs/amazon-eks-ami releases)."`
		SKUFamilies            []string `key:"karpenterSkuFamilies" default:"D" help:"Azure: VM families node auto-provisioning may launch."`
		ImageFamily            string   `key:"karpenterImageFamily" default:"AzureLinux" help:"Azure: AKSNodeClass image family (AzureLinux or Ubuntu2204)."`
		OSDiskSizeGB           int      `key:"karpenterOsDiskSizeGB" default:"128" help:"Azure: OS disk of each node, in GB."`
	}

	Consumer struct {
		Workers                int    `key:"consumerWorkers" default:"4" help:"Concurrent receive loops per consumer pod."`
		MessagesPerSecond      int    `key:"consumerMessagesPerSecond" default:"0" help:"A consumer pod's sustained messages a second, which KEDA's target is derived from; 0 takes the cloud's figure (AWS 500, Azure 150; see docs/configuration.md). The objective moves one for one with it: measure yours from edw_consumer_messages_processed_total of a busy pod."`
		CPU                    string `key:"consumerCpu" default:"250m" help:"CPU request (and limit) of a consumer pod."`
		Memory                 string `key:"consumerMemory" default:"256Mi" help:"Memory request (and limit) of a consumer pod."`
		EphemeralStorage       string `key:"consumerEphemeralStorage" default:"128Mi" help:"Ephemeral storage request (and limit) of a consumer pod: its logs; the root filesystem is read-only."`
		ShutdownTimeoutSeconds int    `key:"consumerShutdownTimeoutSeconds" default:"20" help:"Time a consumer gets after SIGTERM to finish its in-flight messages."`
	}

	Producer struct {
		RatePerSecond    float64 `key:"producerRatePerSecond" default:"0" help:"Messages per second per producer pod; 0 runs no producer."`
		Replicas         int     `key:"producerReplicas" default:"1" help:"Producer pods while ratePerSecond is above 0."`
		EphemeralStorage string  `key:"producerEphemeralStorage" default:"128Mi" help:"Ephemeral storage request (and limit) of a producer pod: its logs; the root filesystem is read-only."`
	}

	Table struct {
		Service             string `key:"tableService" default:"storage" help:"Azure: where the consumer writes its rows: storage (a table in the stack's storage account) or cosmos (Azure Cosmos DB for Table, keys disabled, serverless unless edw:tableCosmosMaxThroughput is set). Switching a live stack deletes the old table and its rows."`
		CosmosMaxThroughput int    `key:"tableCosmosMaxThroughput" default:"0" help:"Azure, tableService cosmos: the table's autoscale ceiling in RU/s (1000 to 1000000, in steps of 1000), billed hourly at the highest reached (at least a tenth of it); 0 makes the account serverless, billed per request. Moving between 0 and a ceiling on a live stack replaces the account and its rows."`
	}

	Alerts struct {
		Email             string `key:"alertEmail" help:"Address the alerts are e-mailed to (AWS asks it to confirm the SNS subscription); empty: they go to the SNS topic or action group only."`
		SetAsideMessages  int    `key:"alertSetAsideMessages" default:"0" help:"Messages set aside (dead-letter or poison queue) in 10 minutes above which the set-aside alert fires; 0 fires on the first."`
		WriteFailures     int    `key:"alertWriteFailures" default:"10" help:"Failed row writes in 10 minutes above which the write-failure alert fires."`
		BacklogAgeSeconds int    `key:"alertBacklogAgeSeconds" default:"600" help:"Age in seconds of the oldest queued message (AWS) or of the oldest one received (Azure) above which the backlog alert fires."`
	}

	Images struct {
		Consumer string `key:"imagesConsumer" help:"Prebuilt consumer image; empty builds apps/ and pushes it."`
		Producer string `key:"imagesProducer" help:"Prebuilt producer image; empty builds apps/ and pushes it."`
		Keep     int    `key:"imagesKeep" default:"10" help:"AWS: images each ECR repository keeps (a lifecycle policy expires older ones); the Azure registry keeps every image."`
	}
}

// Load reads every key through get (which returns "" for an unset key),
// applies defaults, and validates. stack names the stack, for defaults
// derived from it.
func Load(stack string, get func(key string) string) (*Config, error) {
	c := &Config{}
	var errs []error
	walk(reflect.ValueOf(c).Elem(), func(f reflect.Value, tag reflect.StructTag) {
		key := tag.Get("key")
		raw := get(Namespace + ":" + key)
		if raw == "" {
			raw = tag.Get("default")
		}
		if err := set(f, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s:%s: %w", Namespace, key, err))
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.Cluster.Name == "" {
		c.Cluster.Name = "edw-" + stack
	}
	if c.Cluster.SystemNodeType == "" {
		c.Cluster.SystemNodeType = defaultSystemNodeType[c.Cloud]
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Key is one configuration key as declared on Config.
type Key struct{ Name, Type, Default, Help string }

// Keys lists every key of Config, in declaration order.
func Keys() []Key {
	var keys []Key
	walk(reflect.ValueOf(&Config{}).Elem(), func(f reflect.Value, tag reflect.StructTag) {
		keys = append(keys, Key{Name: Namespace + ":" + tag.Get("key"), Type: typeName(f.Kind()), Default: tag.Get("default"), Help: tag.Get("help")})
	})
	return keys
}

func walk(v reflect.Value, visit func(reflect.Value, reflect.StructTag)) {
	for i := range v.NumField() {
		f, sf := v.Field(i), v.Type().Field(i)
		if sf.Type.Kind() == reflect.Struct {
			walk(f, visit)
			continue
		}
		visit(f, sf.Tag)
	}
}

func typeName(k reflect.Kind) string {
	switch k {
	case reflect.Int:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "list"
	default:
		return "string"
	}
}

func set(f reflect.Value, raw string) error {
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want an integer, got %q", raw)
		}
		f.SetInt(int64(n))
	case reflect.Float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", raw)
		}
		f.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		f.SetBool(b)
	case reflect.Slice:
		list, err := parseList(raw)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(list))
	}
	return nil
}

// parseList takes a YAML/JSON list (["a","b"]) or a comma-separated one.
func parseList(raw string) ([]string, error) {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "[") {
		var list []string
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, fmt.Errorf("want a list of strings, got %s", raw)
		}
		return list, nil
	}
	var list []string
	for _, s := range strings.Split(raw, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	return list, nil
}

// defaultSystemNodeType sizes the system nodes per cloud: m6i.large has 2
// vCPUs and 8 GiB, Standard_D4ds_v5 4 vCPUs and 16 GiB.
var defaultSystemNodeType = map[string]string{"aws": "m6i.large", "azure": "Standard_D4ds_v5"}

var (
	clusterName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,37}[a-z0-9]$`)
	k8sName     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	quantity    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$`)
	amiAlias    = regexp.MustCompile(`^(al2023|bottlerocket)@(latest|v[0-9a-z.\-]+)$`)
	k8sVersion  = regexp.MustCompile(`^1\.[0-9]{2}$`)
	imageRef    = regexp.MustCompile(`^[a-z0-9.\-:/_@]+$`)
	// karpenterDuration is the NodePool CRD's pattern for durations.
	karpenterDuration = regexp.MustCompile(`^(([0-9]+(s|m|h))+|Never)$`)
	karpenterGrace    = regexp.MustCompile(`^([0-9]+(s|m|h))+$`)
	monitorWorkspace  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Monitor/accounts/[^/]+$`)
	capacities        = []string{karpenter.CapacitySpot, karpenter.CapacityOnDemand}
	archs             = []string{"amd64", "arm64"}
	karpModes         = []string{"controller", "auto"}
	clouds            = []string{"aws", "azure"}
	imageFamilies     = []string{"AzureLinux", "Ubuntu2204"}
	tableServices     = []string{tableStorage, tableCosmos}
	maxRetention      = 1209600
	// iamPrincipal is an IAM role or user ARN, path included: what an EKS
	// access entry takes ("Create access entries": no STS sessions).
	iamPrincipal          = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+$`)
	kubeloginModes        = []string{"azurecli", "workloadidentity", "spn", "msi"}
	upgradeChannels       = []string{"patch", "stable", "rapid", "node-image", "none"}
	nodeOSUpgradeChannels = []string{"NodeImage", "SecurityPatch", "Unmanaged", "None"}
	weekdays              = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	guid                  = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)
	supportTypes          = []string{supportStandard, supportExtended}
	endpointAccesses      = []string{string(cluster.EndpointPublicAndPrivate), string(cluster.EndpointPublic), string(cluster.EndpointPrivate)}
	// logRetentions are the retentions CloudWatch Logs accepts, in days.
	logRetentions = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// validate checks every value and relation, reporting all problems at once;
// each names its key and says what to set.
func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%s %s", Namespace, key, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(clouds, c.Cloud) {
		bad("cloud", "is %q: set it to aws or azure (pulumi config set edw:cloud aws)", c.Cloud)
	}
	if !k8sName.MatchString(c.Namespace) {
		bad("namespace", "is %q: want a Kubernetes namespace name (lowercase letters, digits, '-')", c.Namespace)
	}
	for _, ns := range c.MetricsNamespaces {
		if !k8sName.MatchString(ns) {
			bad("metricsNamespaces", "has %q: want Kubernetes namespace names", ns)
		}
	}
	if !clusterName.MatchString(c.Cluster.Name) {
		bad("clusterName", "is %q: want 2-39 lowercase letters, digits and '-', starting with a letter", c.Cluster.Name)
	}
	if !k8sVersion.MatchString(c.Cluster.Version) {
		bad("clusterVersion", "is %q: want a Kubernetes minor version like %s", c.Cluster.Version, versions.Kubernetes)
	}
	if !slices.Contains(supportTypes, c.Cluster.SupportType) {
		bad("clusterSupportType", "is %q: want %s", c.Cluster.SupportType, strings.Join(supportTypes, " or "))
	}
	if c.Cluster.AvailabilityZones < 2 || c.Cluster.AvailabilityZones > 3 {
		bad("clusterAvailabilityZones", "is %d: want 2 or 3", c.Cluster.AvailabilityZones)
	}
	if !strings.HasSuffix(c.Cluster.VpcCidr, "/16") {
		bad("clusterVpcCidr", "is %q: want a /16 range like 10.0.0.0/16", c.Cluster.VpcCidr)
	}
	c.validateEndpoint(bad)
	c.validateAKS(bad)
	c.validateAccess(bad)
	c.validateAlerts(bad)
	c.validateTable(bad)
	if !slices.Contains(logRetentions, c.Cluster.LogRetentionDays) {
		bad("clusterLogRetentionDays", "is %d: want a CloudWatch retention, one of %v", c.Cluster.LogRetentionDays, logRetentions)
	}
	if c.Cluster.SystemNodeCount < 1 || c.Cluster.SystemNodeCount > 10 {
		bad("clusterSystemNodeCount", "is %d: want 1 to 10 (2 keeps KEDA and Karpenter up through a node loss)", c.Cluster.SystemNodeCount)
	}
	if v := c.Queue.VisibilityTimeoutSeconds; v < 2*c.Consumer.ShutdownTimeoutSeconds || v > 43200 {
		bad("queueVisibilityTimeoutSeconds", "is %d: want at least twice edw:consumerShutdownTimeoutSeconds (%d) and at most 43200", v, c.Consumer.ShutdownTimeoutSeconds)
	}
	if v := c.Queue.MaxReceiveCount; v < 1 || v > 1000 {
		bad("queueMaxReceiveCount", "is %d: want 1 to 1000", v)
	}
	if v := c.Queue.RetentionSeconds; v < 60 || v > maxRetention {
		bad("queueRetentionSeconds", "is %d: want 60 to %d (14 days)", v, maxRetention)
	}
	if c.Keda.MinReplicas < 0 {
		bad("kedaMinReplicas", "is %d: want 0 or more", c.Keda.MinReplicas)
	}
	if c.Keda.MaxReplicas < 1 || c.Keda.MaxReplicas < c.Keda.MinReplicas {
		bad("kedaMaxReplicas", "(%d) must be >= 1 and >= edw:kedaMinReplicas (%d)", c.Keda.MaxReplicas, c.Keda.MinReplicas)
	}
	if c.Keda.ActivationQueueLength < 0 {
		bad("kedaActivationQueueLength", "is %d: want 0 or more", c.Keda.ActivationQueueLength)
	}
	if c.Keda.PollingInterval < 1 {
		bad("kedaPollingIntervalSeconds", "is %d: want 1 or more", c.Keda.PollingInterval)
	}
	if c.Keda.CooldownPeriod < 0 {
		bad("kedaCooldownPeriodSeconds", "is %d: want 0 or more", c.Keda.CooldownPeriod)
	}
	if v := c.Keda.ScaleDownWindowSeconds; v < 0 || v > 3600 {
		bad("kedaScaleDownWindowSeconds", "is %d: want 0 to 3600", v)
	}
	for key, v := range map[string]int{"kedaScaleDownPercent": c.Keda.ScaleDownPercent, "kedaScaleUpPercent": c.Keda.ScaleUpPercent, "kedaScaleUpPods": c.Keda.ScaleUpPods} {
		if v < 1 {
			bad(key, "is %d: want 1 or more", v)
		}
	}
	c.validateScaling(bad)
	c.validatePrometheus(bad)
	if !slices.Contains(karpModes, c.Karpenter.Mode) {
		bad("karpenterMode", "is %q: want controller or auto", c.Karpenter.Mode)
	}
	if err := subset(c.Karpenter.CapacityTypes, capacities); err != nil {
		bad("karpenterCapacityTypes", "%v", err)
	}
	if err := subset(c.Karpenter.Architectures, archs); err != nil {
		bad("karpenterArchitectures", "%v", err)
	}
	if len(c.Karpenter.InstanceCategories) == 0 {
		bad("karpenterInstanceCategories", "is empty: list at least one, e.g. c,m,r")
	}
	if c.Karpenter.CPULimit < 1 {
		bad("karpenterCpuLimit", "is %d: want 1 or more vCPUs", c.Karpenter.CPULimit)
	}
	for key, v := range map[string]string{"karpenterConsolidateAfter": c.Karpenter.ConsolidateAfter, "karpenterExpireAfter": c.Karpenter.ExpireAfter} {
		if !karpenterDuration.MatchString(v) {
			bad(key, "is %q: want whole seconds, minutes or hours like 30s, 1m or 720h (or Never)", v)
		}
	}
	c.validateTerminationGrace(bad)
	if !amiAlias.MatchString(c.Karpenter.AMIAlias) {
		bad("karpenterAmiAlias", "is %q: want al2023@v<date> or bottlerocket@v<version> (or @latest, which follows every release)", c.Karpenter.AMIAlias)
	}
	if len(c.Karpenter.SKUFamilies) == 0 {
		bad("karpenterSkuFamilies", "is empty: list at least one, e.g. D")
	}
	if !slices.Contains(imageFamilies, c.Karpenter.ImageFamily) {
		bad("karpenterImageFamily", "is %q: want AzureLinux or Ubuntu2204", c.Karpenter.ImageFamily)
	}
	if v := c.Karpenter.OSDiskSizeGB; v < 30 || v > 2048 {
		bad("karpenterOsDiskSizeGB", "is %d: want 30 to 2048", v)
	}
	if c.Cluster.SystemNodeType == "" && slices.Contains(clouds, c.Cloud) {
		bad("clusterSystemNodeType", "is empty: set the system nodes' instance type or VM size")
	}
	if c.Consumer.Workers < 1 || c.Consumer.Workers > 256 {
		bad("consumerWorkers", "is %d: want 1 to 256", c.Consumer.Workers)
	}
	for key, v := range map[string]string{
		"consumerCpu": c.Consumer.CPU, "consumerMemory": c.Consumer.Memory,
		"consumerEphemeralStorage": c.Consumer.EphemeralStorage, "producerEphemeralStorage": c.Producer.EphemeralStorage,
	} {
		if !quantity.MatchString(v) {
			bad(key, "is %q: want a Kubernetes quantity like 250m or 256Mi", v)
		}
	}
	if v := c.Consumer.ShutdownTimeoutSeconds; v < 1 || v > 600 {
		bad("consumerShutdownTimeoutSeconds", "is %d: want 1 to 600", v)
	}
	if c.Producer.RatePerSecond < 0 {
		bad("producerRatePerSecond", "is %g: want 0 (off) or more", c.Producer.RatePerSecond)
	}
	if c.Producer.Replicas < 1 {
		bad("producerReplicas", "is %d: want 1 or more (set edw:producerRatePerSecond 0 to stop the producer)", c.Producer.Replicas)
	}
	for key, v := range map[string]string{"imagesConsumer": c.Images.Consumer, "imagesProducer": c.Images.Producer} {
		if v != "" && !imageRef.MatchString(v) {
			bad(key, "is %q: want an image reference like 123456789012.dkr.ecr.us-east-1.amazonaws.com/edw-consumer@sha256:...", v)
		}
	}
	if (c.Images.Consumer == "") != (c.Images.Producer == "") {
		bad("imagesProducer", "and edw:imagesConsumer must be set together (prebuilt) or both left empty (built by the program)")
	}
	if c.Images.Keep < 1 {
		bad("imagesKeep", "is %d: want 1 or more", c.Images.Keep)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// Warnings are settings that are valid but that a user may not want, each
// naming its key and what it costs.
func (c *Config) Warnings() []string {
	var w []string
	if k := c.Keda; k.MinReplicas == 0 && k.ActivationQueueLength > 0 {
		// KEDA starts the first consumer only above the activation
		// length; below it no consumer runs, so no consumer-side metric
		// sees the messages either.
		w = append(w, fmt.Sprintf("%s:kedaActivationQueueLength is %d with %s:kedaMinReplicas 0: up to %d messages wait with no consumer "+
			"until more arrive, or until the queue's retention deletes them; set it to 0 unless a backlog that small may wait",
			Namespace, k.ActivationQueueLength, Namespace, k.ActivationQueueLength))
	}
	return w
}

// validateAlerts checks the alerts' target and thresholds.
func (c *Config) validateAlerts(bad func(key, format string, args ...any)) {
	a := c.Alerts
	if a.Email != "" {
		if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email {
			bad("alertEmail", "is %q: want one e-mail address like ops@example.com", a.Email)
		}
	}
	if a.SetAsideMessages < 0 {
		bad("alertSetAsideMessages", "is %d: want 0 or more", a.SetAsideMessages)
	}
	if a.WriteFailures < 0 {
		bad("alertWriteFailures", "is %d: want 0 or more", a.WriteFailures)
	}
	if a.BacklogAgeSeconds < 60 || a.BacklogAgeSeconds > maxRetention {
		bad("alertBacklogAgeSeconds", "is %d: want 60 (SQS reports once a minute) to %d", a.BacklogAgeSeconds, maxRetention)
	}
}

// thresholds are the alerts' settings.
func (c *Config) thresholds() monitoring.Thresholds {
	return monitoring.Thresholds{
		SetAside: c.Alerts.SetAsideMessages, WriteFailures: c.Alerts.WriteFailures,
		BacklogAgeSeconds: c.Alerts.BacklogAgeSeconds, Window: alertWindow,
	}
}

// validateTable checks the Azure table's service and throughput.
func (c *Config) validateTable(bad func(key, format string, args ...any)) {
	t := c.Table
	if !slices.Contains(tableServices, t.Service) {
		bad("tableService", "is %q: want %s", t.Service, strings.Join(tableServices, " or "))
	}
	if t.Service == tableCosmos && c.Cloud != "azure" {
		bad("tableService", "is cosmos on %q: Cosmos DB is the Azure stack's option (AWS writes to DynamoDB); unset it", c.Cloud)
	}
	switch v := t.CosmosMaxThroughput; {
	case v == 0:
	case t.Service != tableCosmos:
		bad("tableCosmosMaxThroughput", "is %d but edw:tableService is %q: set edw:tableService cosmos, or 0", v, t.Service)
	case v < store.AutoscaleMin || v > store.AutoscaleMax || v%store.AutoscaleStep != 0:
		bad("tableCosmosMaxThroughput", "is %d: want 0 (serverless) or %d to %d RU/s in steps of %d", v, store.AutoscaleMin, store.AutoscaleMax, store.AutoscaleStep)
	}
}

// validatePrometheus checks the optional trigger: all of it or none, on
// Azure only.
func (c *Config) validatePrometheus(bad func(key, format string, args ...any)) {
	p := c.Keda.Prometheus
	if p.WorkspaceID == "" && p.QueryEndpoint == "" && p.Query == "" {
		return
	}
	switch {
	case c.Cloud != "azure":
		bad("kedaPrometheusWorkspaceId", "is set on %q: the Prometheus trigger is for the Azure stack; unset the edw:kedaPrometheus* keys", c.Cloud)
	case p.WorkspaceID == "" || p.QueryEndpoint == "" || p.Query == "":
		bad("kedaPrometheusWorkspaceId", "edw:kedaPrometheusQueryEndpoint and edw:kedaPrometheusQuery must be set together (or all left empty)")
	case !monitorWorkspace.MatchString(p.WorkspaceID):
		bad("kedaPrometheusWorkspaceId", "is %q: want /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Monitor/accounts/<name>", p.WorkspaceID)
	case !strings.HasPrefix(p.QueryEndpoint, "https://"):
		bad("kedaPrometheusQueryEndpoint", "is %q: want the workspace's https:// query endpoint", p.QueryEndpoint)
	}
	if _, err := strconv.ParseFloat(p.Threshold, 64); err != nil {
		bad("kedaPrometheusThreshold", "is %q: want a number", p.Threshold)
	}
}

// validateEndpoint checks the API endpoint's access and address ranges.
func (c *Config) validateEndpoint(bad func(key, format string, args ...any)) {
	if !slices.Contains(endpointAccesses, c.Cluster.EndpointAccess) {
		bad("clusterEndpointAccess", "is %q: want %s", c.Cluster.EndpointAccess, strings.Join(endpointAccesses, ", "))
	}
	if len(c.Cluster.PublicAccessCidrs) == 0 && c.Cluster.EndpointAccess != string(cluster.EndpointPrivate) {
		bad("clusterPublicAccessCidrs", "is empty: list the ranges that may reach the API endpoint, or set edw:clusterEndpointAccess private")
	}
	for _, cidr := range c.Cluster.PublicAccessCidrs {
		if p, err := netip.ParsePrefix(cidr); err != nil || !p.Addr().Is4() {
			bad("clusterPublicAccessCidrs", "has %q: want IPv4 ranges like 203.0.113.0/24", cidr)
		}
	}
}

// validateAKS checks the Azure cluster's sign-in, upgrades and window.
func (c *Config) validateAKS(bad func(key, format string, args ...any)) {
	for _, k := range []struct {
		key, value string
		allowed    []string
	}{
		{"clusterKubeloginMode", c.Cluster.KubeloginMode, kubeloginModes},
		{"clusterUpgradeChannel", c.Cluster.UpgradeChannel, upgradeChannels},
		{"clusterNodeOsUpgradeChannel", c.Cluster.NodeOSUpgradeChannel, nodeOSUpgradeChannels},
		{"clusterMaintenanceDay", c.Cluster.MaintenanceDay, weekdays},
	} {
		if !slices.Contains(k.allowed, k.value) {
			bad(k.key, "is %q: want one of %s", k.value, strings.Join(k.allowed, ", "))
		}
	}
	if _, err := time.Parse("15:04", c.Cluster.MaintenanceStartTime); err != nil {
		bad("clusterMaintenanceStartTime", "is %q: want HH:MM in UTC, like 00:00", c.Cluster.MaintenanceStartTime)
	}
	if h := c.Cluster.MaintenanceHours; h < 4 || h > 24 {
		bad("clusterMaintenanceDurationHours", "is %d: want 4 to 24 (AKS needs 4 hours with auto-upgrade)", h)
	}
}

// validateAccess checks who besides the program may use the cluster.
func (c *Config) validateAccess(bad func(key, format string, args ...any)) {
	for _, k := range []struct {
		key    string
		values []string
		valid  *regexp.Regexp
		want   string
	}{
		{"clusterAdminPrincipalArns", c.Cluster.AdminPrincipalArns, iamPrincipal, "IAM role or user ARNs like arn:aws:iam::111122223333:role/deploy (not an sts assumed-role session)"},
		{"clusterReaderPrincipalArns", c.Cluster.ReaderPrincipalArns, iamPrincipal, "IAM role or user ARNs like arn:aws:iam::111122223333:role/preview (not an sts assumed-role session)"},
		{"clusterAdminGroupObjectIds", c.Cluster.AdminGroupObjectIDs, guid, "Entra ID group object ids (GUIDs)"},
		{"clusterReaderGroupObjectIds", c.Cluster.ReaderGroupObjectIDs, guid, "Entra ID group object ids (GUIDs)"},
	} {
		for _, v := range k.values {
			if !k.valid.MatchString(v) {
				bad(k.key, "has %q: want %s", v, k.want)
			}
		}
	}
	if !c.Cluster.DeployerAdmin && len(c.Cluster.AdminGroupObjectIDs) == 0 {
		bad("clusterDeployerAdmin", "is false with no edw:clusterAdminGroupObjectIds: nobody could deploy to the cluster; add the group that holds the deploying identities")
	}
	// Readers run the program too (previews, the drift check): admins that
	// depend on who runs it would move to them.
	if len(c.Cluster.ReaderPrincipalArns) > 0 && len(c.Cluster.AdminPrincipalArns) == 0 {
		bad("clusterReaderPrincipalArns", "is set with no edw:clusterAdminPrincipalArns: list the admins too, or a reader's preview would plan to make itself the admin")
	}
	if len(c.Cluster.ReaderGroupObjectIDs) > 0 && c.Cluster.DeployerAdmin {
		bad("clusterReaderGroupObjectIds", "is set with edw:clusterDeployerAdmin true: set it false and name the deployers' group in edw:clusterAdminGroupObjectIds, or a reader's preview would plan to move the deployer's assignment to itself")
	}
	// EKS keeps one access entry per principal ("Create access entries").
	seen := map[string]string{}
	for _, k := range []struct {
		key  string
		arns []string
	}{{"clusterAdminPrincipalArns", c.Cluster.AdminPrincipalArns}, {"clusterReaderPrincipalArns", c.Cluster.ReaderPrincipalArns}} {
		for _, arn := range k.arns {
			if first, dup := seen[arn]; dup {
				bad(k.key, "names %s again (first in edw:%s): EKS gives a principal one access entry; list it once", arn, first)
			}
			seen[arn] = k.key
		}
	}
}

// validateTerminationGrace holds a node's drain bound above a consumer
// pod's grace period, or Karpenter would cut the consumers' shutdown short.
func (c *Config) validateTerminationGrace(bad func(key, format string, args ...any)) {
	const key = "karpenterTerminationGracePeriod"
	v := c.Karpenter.TerminationGracePeriod
	d, err := time.ParseDuration(v)
	if !karpenterGrace.MatchString(v) || err != nil {
		bad(key, "is %q: want whole seconds, minutes or hours like 5m", v)
		return
	}
	if pod := workload.ConsumerGraceSeconds(c.Consumer.ShutdownTimeoutSeconds); d < time.Duration(pod)*time.Second {
		bad(key, "is %s: want at least a consumer pod's grace period, %ds (edw:consumerShutdownTimeoutSeconds + 10 s)", v, pod)
	}
}

func subset(got, allowed []string) error {
	if len(got) == 0 {
		return fmt.Errorf("is empty: list some of %s", strings.Join(allowed, ", "))
	}
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			return fmt.Errorf("has %q: want some of %s", g, strings.Join(allowed, ", "))
		}
	}
	return nil
}
