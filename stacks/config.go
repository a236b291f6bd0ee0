package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Namespace is the config namespace of every key below: edw:<key>.
const Namespace = "edw"

// Config is the stack configuration. Each field's tags give its key under
// edw:, its default, and its description; Pulumi.yaml declares the same
// keys (a test holds the two together).
type Config struct {
	Cloud     string `key:"cloud" help:"Cloud to deploy to: aws or azure."`
	Namespace string `key:"namespace" default:"edw" help:"Kubernetes namespace of the workload."`

	Cluster struct {
		Name              string `key:"cluster.name" help:"Cluster name; default edw-<stack>."`
		Version           string `key:"cluster.version" default:"1.33" help:"Kubernetes version."`
		AvailabilityZones int    `key:"cluster.availabilityZones" default:"2" help:"AWS: availability zones of the VPC (2 or 3), each with a private subnet, a public subnet and a NAT gateway."`
		VpcCidr           string `key:"cluster.vpcCidr" default:"10.0.0.0/16" help:"AWS: VPC address range (a /16)."`
		SystemNodeType    string `key:"cluster.systemNodeType" help:"Instance type (AWS) or VM size (Azure) of the system nodes, where the controllers run; default m6i.large or Standard_D4ds_v5."`
		SystemNodeCount   int    `key:"cluster.systemNodeCount" default:"2" help:"Nodes in the system node group."`
	}

	Queue struct {
		VisibilityTimeoutSeconds int `key:"queue.visibilityTimeoutSeconds" default:"60" help:"Lease of a received message; the consumer uses the same value."`
		MaxReceiveCount          int `key:"queue.maxReceiveCount" default:"5" help:"Receives before a message moves to the dead-letter queue (the consumer's poison limit too)."`
		RetentionSeconds         int `key:"queue.retentionSeconds" default:"345600" help:"How long an unprocessed message is kept (60 to 1209600)."`
	}

	Keda struct {
		MinReplicas           int `key:"keda.minReplicas" default:"0" help:"Fewest consumer pods (0 scales to zero when the queue is empty)."`
		MaxReplicas           int `key:"keda.maxReplicas" default:"100" help:"Most consumer pods."`
		QueueLength           int `key:"keda.queueLength" default:"5" help:"Target messages per consumer pod."`
		ActivationQueueLength int `key:"keda.activationQueueLength" default:"0" help:"Messages needed to scale from zero."`
		PollingInterval       int `key:"keda.pollingIntervalSeconds" default:"10" help:"Seconds between KEDA's queue-length checks."`
		CooldownPeriod        int `key:"keda.cooldownPeriodSeconds" default:"60" help:"Seconds after the last activity before scaling to zero."`

		// Prometheus is an optional second trigger (Azure).
		Prometheus struct {
			WorkspaceID   string `key:"keda.prometheus.workspaceId" help:"Azure: Azure Monitor workspace resource id; with queryEndpoint and query, adds a Prometheus trigger read with KEDA's identity (granted Monitoring Data Reader on it)."`
			QueryEndpoint string `key:"keda.prometheus.queryEndpoint" help:"Azure: the workspace's Prometheus query endpoint (https://<name>.<region>.prometheus.monitor.azure.com)."`
			Query         string `key:"keda.prometheus.query" help:"Azure: PromQL query whose value drives the second trigger."`
			Threshold     string `key:"keda.prometheus.threshold" default:"10" help:"Azure: value of the query per consumer pod."`
		}
	}

	Karpenter struct {
		Mode               string   `key:"karpenter.mode" default:"controller" help:"AWS: controller (install Karpenter) or auto (EKS Auto Mode's built-in Karpenter)."`
		CapacityTypes      []string `key:"karpenter.capacityTypes" default:"spot,on-demand" help:"AWS: capacity types Karpenter may launch (spot, on-demand)."`
		InstanceCategories []string `key:"karpenter.instanceCategories" default:"c,m,r" help:"AWS: EC2 instance categories Karpenter may launch."`
		Architectures      []string `key:"karpenter.architectures" default:"amd64" help:"CPU architectures of the nodes (amd64, arm64)."`
		CPULimit           int      `key:"karpenter.cpuLimit" default:"1000" help:"Most vCPUs Karpenter may run for the workload."`
		ConsolidateAfter   string   `key:"karpenter.consolidateAfter" default:"1m" help:"How long a node must be empty or underused before Karpenter consolidates it."`
		ExpireAfter        string   `key:"karpenter.expireAfter" default:"720h" help:"Age at which Karpenter replaces a node."`
		AMIAlias           string   `key:"karpenter.amiAlias" default:"al2023@latest" help:"AWS: EC2NodeClass AMI alias (al2023@<version> or bottlerocket@<version>)."`
		SKUFamilies        []string `key:"karpenter.skuFamilies" default:"D" help:"Azure: VM families node auto-provisioning may launch."`
		ImageFamily        string   `key:"karpenter.imageFamily" default:"AzureLinux" help:"Azure: AKSNodeClass image family (AzureLinux or Ubuntu2204)."`
		OSDiskSizeGB       int      `key:"karpenter.osDiskSizeGB" default:"128" help:"Azure: OS disk of each node, in GB."`
	}

	Consumer struct {
		Workers                int    `key:"consumer.workers" default:"4" help:"Concurrent receive loops per consumer pod."`
		CPU                    string `key:"consumer.cpu" default:"250m" help:"CPU request (and limit) of a consumer pod."`
		Memory                 string `key:"consumer.memory" default:"256Mi" help:"Memory request (and limit) of a consumer pod."`
		ShutdownTimeoutSeconds int    `key:"consumer.shutdownTimeoutSeconds" default:"20" help:"Time a consumer gets after SIGTERM to finish its in-flight messages."`
	}

	Producer struct {
		RatePerSecond float64 `key:"producer.ratePerSecond" default:"0" help:"Messages per second per producer pod; 0 runs no producer."`
		Replicas      int     `key:"producer.replicas" default:"1" help:"Producer pods while ratePerSecond is above 0."`
	}

	Images struct {
		Consumer string `key:"images.consumer" help:"Prebuilt consumer image; empty builds apps/ and pushes it."`
		Producer string `key:"images.producer" help:"Prebuilt producer image; empty builds apps/ and pushes it."`
		Keep     int    `key:"images.keep" default:"10" help:"Images each repository keeps."`
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

// defaultSystemNodeType sizes the system nodes per cloud: 2 vCPUs, 8 GiB.
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
	monitorWorkspace  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Monitor/accounts/[^/]+$`)
	capacities        = []string{"spot", "on-demand"}
	archs             = []string{"amd64", "arm64"}
	karpModes         = []string{"controller", "auto"}
	clouds            = []string{"aws", "azure"}
	imageFamilies     = []string{"AzureLinux", "Ubuntu2204"}
	maxRetention      = 1209600
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
	if !clusterName.MatchString(c.Cluster.Name) {
		bad("cluster.name", "is %q: want 2-39 lowercase letters, digits and '-', starting with a letter", c.Cluster.Name)
	}
	if !k8sVersion.MatchString(c.Cluster.Version) {
		bad("cluster.version", "is %q: want a Kubernetes minor version like 1.33", c.Cluster.Version)
	}
	if c.Cluster.AvailabilityZones < 2 || c.Cluster.AvailabilityZones > 3 {
		bad("cluster.availabilityZones", "is %d: want 2 or 3", c.Cluster.AvailabilityZones)
	}
	if !strings.HasSuffix(c.Cluster.VpcCidr, "/16") {
		bad("cluster.vpcCidr", "is %q: want a /16 range like 10.0.0.0/16", c.Cluster.VpcCidr)
	}
	if c.Cluster.SystemNodeCount < 1 || c.Cluster.SystemNodeCount > 10 {
		bad("cluster.systemNodeCount", "is %d: want 1 to 10 (2 keeps KEDA and Karpenter up through a node loss)", c.Cluster.SystemNodeCount)
	}
	if v := c.Queue.VisibilityTimeoutSeconds; v < 2*c.Consumer.ShutdownTimeoutSeconds || v > 43200 {
		bad("queue.visibilityTimeoutSeconds", "is %d: want at least twice edw:consumer.shutdownTimeoutSeconds (%d) and at most 43200", v, c.Consumer.ShutdownTimeoutSeconds)
	}
	if v := c.Queue.MaxReceiveCount; v < 1 || v > 1000 {
		bad("queue.maxReceiveCount", "is %d: want 1 to 1000", v)
	}
	if v := c.Queue.RetentionSeconds; v < 60 || v > maxRetention {
		bad("queue.retentionSeconds", "is %d: want 60 to %d (14 days)", v, maxRetention)
	}
	if c.Keda.MinReplicas < 0 {
		bad("keda.minReplicas", "is %d: want 0 or more", c.Keda.MinReplicas)
	}
	if c.Keda.MaxReplicas < 1 || c.Keda.MaxReplicas < c.Keda.MinReplicas {
		bad("keda.maxReplicas", "(%d) must be >= 1 and >= edw:keda.minReplicas (%d)", c.Keda.MaxReplicas, c.Keda.MinReplicas)
	}
	if c.Keda.QueueLength < 1 {
		bad("keda.queueLength", "is %d: want 1 or more messages per pod", c.Keda.QueueLength)
	}
	if c.Keda.ActivationQueueLength < 0 {
		bad("keda.activationQueueLength", "is %d: want 0 or more", c.Keda.ActivationQueueLength)
	}
	if c.Keda.PollingInterval < 1 {
		bad("keda.pollingIntervalSeconds", "is %d: want 1 or more", c.Keda.PollingInterval)
	}
	if c.Keda.CooldownPeriod < 0 {
		bad("keda.cooldownPeriodSeconds", "is %d: want 0 or more", c.Keda.CooldownPeriod)
	}
	c.validatePrometheus(bad)
	if !slices.Contains(karpModes, c.Karpenter.Mode) {
		bad("karpenter.mode", "is %q: want controller or auto", c.Karpenter.Mode)
	}
	if err := subset(c.Karpenter.CapacityTypes, capacities); err != nil {
		bad("karpenter.capacityTypes", "%v", err)
	}
	if err := subset(c.Karpenter.Architectures, archs); err != nil {
		bad("karpenter.architectures", "%v", err)
	}
	if len(c.Karpenter.InstanceCategories) == 0 {
		bad("karpenter.instanceCategories", "is empty: list at least one, e.g. c,m,r")
	}
	if c.Karpenter.CPULimit < 1 {
		bad("karpenter.cpuLimit", "is %d: want 1 or more vCPUs", c.Karpenter.CPULimit)
	}
	for key, v := range map[string]string{"karpenter.consolidateAfter": c.Karpenter.ConsolidateAfter, "karpenter.expireAfter": c.Karpenter.ExpireAfter} {
		if !karpenterDuration.MatchString(v) {
			bad(key, "is %q: want whole seconds, minutes or hours like 30s, 1m or 720h (or Never)", v)
		}
	}
	if !amiAlias.MatchString(c.Karpenter.AMIAlias) {
		bad("karpenter.amiAlias", "is %q: want al2023@latest or bottlerocket@latest (or @v<version>)", c.Karpenter.AMIAlias)
	}
	if len(c.Karpenter.SKUFamilies) == 0 {
		bad("karpenter.skuFamilies", "is empty: list at least one, e.g. D")
	}
	if !slices.Contains(imageFamilies, c.Karpenter.ImageFamily) {
		bad("karpenter.imageFamily", "is %q: want AzureLinux or Ubuntu2204", c.Karpenter.ImageFamily)
	}
	if v := c.Karpenter.OSDiskSizeGB; v < 30 || v > 2048 {
		bad("karpenter.osDiskSizeGB", "is %d: want 30 to 2048", v)
	}
	if c.Cluster.SystemNodeType == "" && slices.Contains(clouds, c.Cloud) {
		bad("cluster.systemNodeType", "is empty: set the system nodes' instance type or VM size")
	}
	if c.Consumer.Workers < 1 || c.Consumer.Workers > 256 {
		bad("consumer.workers", "is %d: want 1 to 256", c.Consumer.Workers)
	}
	for key, v := range map[string]string{"consumer.cpu": c.Consumer.CPU, "consumer.memory": c.Consumer.Memory} {
		if !quantity.MatchString(v) {
			bad(key, "is %q: want a Kubernetes quantity like 250m or 256Mi", v)
		}
	}
	if v := c.Consumer.ShutdownTimeoutSeconds; v < 1 || v > 600 {
		bad("consumer.shutdownTimeoutSeconds", "is %d: want 1 to 600", v)
	}
	if c.Producer.RatePerSecond < 0 {
		bad("producer.ratePerSecond", "is %g: want 0 (off) or more", c.Producer.RatePerSecond)
	}
	if c.Producer.Replicas < 1 {
		bad("producer.replicas", "is %d: want 1 or more (set edw:producer.ratePerSecond 0 to stop the producer)", c.Producer.Replicas)
	}
	for key, v := range map[string]string{"images.consumer": c.Images.Consumer, "images.producer": c.Images.Producer} {
		if v != "" && !imageRef.MatchString(v) {
			bad(key, "is %q: want an image reference like 123456789012.dkr.ecr.us-east-1.amazonaws.com/edw-consumer@sha256:...", v)
		}
	}
	if (c.Images.Consumer == "") != (c.Images.Producer == "") {
		bad("images.producer", "and edw:images.consumer must be set together (prebuilt) or both left empty (built by the program)")
	}
	if c.Images.Keep < 1 {
		bad("images.keep", "is %d: want 1 or more", c.Images.Keep)
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
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
		bad("keda.prometheus.workspaceId", "is set on %q: the Prometheus trigger is for the Azure stack; unset the edw:keda.prometheus.* keys", c.Cloud)
	case p.WorkspaceID == "" || p.QueryEndpoint == "" || p.Query == "":
		bad("keda.prometheus.workspaceId", "edw:keda.prometheus.queryEndpoint and edw:keda.prometheus.query must be set together (or all left empty)")
	case !monitorWorkspace.MatchString(p.WorkspaceID):
		bad("keda.prometheus.workspaceId", "is %q: want /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Monitor/accounts/<name>", p.WorkspaceID)
	case !strings.HasPrefix(p.QueryEndpoint, "https://"):
		bad("keda.prometheus.queryEndpoint", "is %q: want the workspace's https:// query endpoint", p.QueryEndpoint)
	}
	if _, err := strconv.ParseFloat(p.Threshold, 64); err != nil {
		bad("keda.prometheus.threshold", "is %q: want a number", p.Threshold)
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
