package stacks_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/keda"
	"github.com/edw-project/edw/internal/render"
	"github.com/edw-project/edw/stacks"
)

// renderStack runs the program for a stack file with overrides, under mocks.
func renderStack(t *testing.T, stack string, overrides map[string]string) (*render.Plan, error) {
	t.Helper()
	cfg, err := render.StackConfig(fmt.Sprintf("Pulumi.%s.yaml", stack))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	return render.Run("edw", stack, render.Region(cfg), cfg, stacks.Program)
}

// plans caches each stack file's plan: rendering is the slow part.
var plans = struct {
	sync.Mutex
	m map[string]*render.Plan
}{m: map[string]*render.Plan{}}

// plan is the plan of Pulumi.<stack>.yaml, rendered once for every test.
func plan(t *testing.T, stack string) *render.Plan {
	t.Helper()
	plans.Lock()
	defer plans.Unlock()
	if p, ok := plans.m[stack]; ok {
		return p
	}
	file, _, _ := strings.Cut(stack, "-")
	p, err := renderStack(t, file, variants[stack])
	if err != nil {
		t.Fatalf("render %s: %v", stack, err)
	}
	plans.m[stack] = p
	return p
}

// variants are plans of a stack file with settings changed, named
// <stack>-<variant>.
var variants = map[string]map[string]string{
	"azure-cosmos": {"edw:tableService": "cosmos"},
}

func aws(t *testing.T) *render.Plan { return plan(t, "aws") }

// both are the two stacks' plans, by name.
func both(t *testing.T) map[string]*render.Plan {
	return map[string]*render.Plan{"aws": plan(t, "aws"), "azure": plan(t, "azure")}
}

// one returns the single resource of typ named name.
func one(t *testing.T, p *render.Plan, typ, name string) render.Resource {
	t.Helper()
	for _, r := range p.Find(typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return render.Resource{}
}

// at walks a path of keys and indexes into an input value.
func at(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			a, _ := v.([]any)
			if p >= len(a) {
				return nil
			}
			v = a[p]
		}
	}
	return v
}

// dependsOn reports whether from depends on to, directly, through other
// resources or through its provider: the engine deletes from before to.
func dependsOn(p *render.Plan, from, to string) bool {
	byURN := p.ByURN()
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(u string) bool {
		if seen[u] {
			return false
		}
		seen[u] = true
		r := byURN[u]
		deps := r.Dependencies
		if i := strings.LastIndex(r.Provider, "::"); i > 0 {
			deps = append(slices.Clone(deps), r.Provider[:i])
		}
		for _, d := range deps {
			if d == to || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// Every resource belongs to a component of ours (but the namespace, which
// both the identities and the workload use), and components carry edw:
// type tokens; remote components are the providers' own.
func TestEveryChildIsParented(t *testing.T) {
	remote := []string{"eks:index:Cluster", "eks:index:ManagedNodeGroup", "kubernetes:helm.sh/v4:Chart"}
	for _, stack := range []string{"aws", "azure"} {
		for _, r := range plan(t, stack).Resources {
			top := r.Parent == "" || strings.Contains(r.Parent, "pulumi:pulumi:Stack")
			switch {
			case !r.Custom && !strings.HasPrefix(r.Type, "edw:") && !slices.Contains(remote, r.Type):
				t.Errorf("%s: component %s has type %s, want edw:<module>:<Type>", stack, r.Name, r.Type)
			case r.Custom && top && r.Type != "kubernetes:core/v1:Namespace" && r.Type != "azure-native:resources:ResourceGroup":
				t.Errorf("%s: %s %s is not parented to a component", stack, r.Type, r.Name)
			}
		}
	}
}

func TestAWSScaledObjectWatchesTheQueue(t *testing.T) {
	p := aws(t)
	so := one(t, p, "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").Inputs
	trigger := at(so, "spec", "triggers", 0)
	if at(trigger, "type") != "aws-sqs-queue" {
		t.Fatalf("trigger type %v", at(trigger, "type"))
	}
	if got, want := at(trigger, "metadata", "queueURL"), p.Outputs["queueUrl"]; got != want || got == nil {
		t.Fatalf("trigger queueURL %v, want the queue's URL %v", got, want)
	}
	for k, want := range map[string]any{"queueLength": "75000", "activationQueueLength": "0", "awsRegion": "us-east-1"} {
		if got := at(trigger, "metadata", k); got != want {
			t.Errorf("trigger %s = %v, want %v", k, got, want)
		}
	}
	if at(trigger, "metadata", "identityOwner") != nil {
		t.Error("trigger uses the deprecated identityOwner")
	}
	for k, want := range map[string]any{"minReplicaCount": 0.0, "maxReplicaCount": 50.0, "pollingInterval": 10.0, "cooldownPeriod": 60.0} {
		if got := at(so, "spec", k); got != want {
			t.Errorf("ScaledObject %s = %v, want %v", k, got, want)
		}
	}
	if got := at(so, "spec", "scaleTargetRef", "name"); got != p.Outputs["consumerDeployment"] {
		t.Errorf("scaleTargetRef %v, want the consumer Deployment %v", got, p.Outputs["consumerDeployment"])
	}
	auth := one(t, p, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication", "consumer-auth").Inputs
	if at(trigger, "authenticationRef", "name") != at(auth, "metadata", "name") {
		t.Errorf("authenticationRef %v, TriggerAuthentication %v", at(trigger, "authenticationRef", "name"), at(auth, "metadata", "name"))
	}
	if pi := at(auth, "spec", "podIdentity"); at(pi, "provider") != "aws" || len(pi.(map[string]any)) != 1 {
		t.Errorf("podIdentity %v, want just provider aws (the operator's role)", pi)
	}
}

// Every pod identity names a service account that exists: created by the
// program, or by the chart of the controller it serves.
func TestAWSIdentitiesBindExistingServiceAccounts(t *testing.T) {
	p := aws(t)
	accounts := map[string]bool{
		keda.Namespace + "/" + keda.OperatorServiceAccount:   len(p.Find("kubernetes:helm.sh/v4:Chart")) > 0,
		karpenter.Namespace + "/" + karpenter.ServiceAccount: len(p.Find("kubernetes:helm.sh/v4:Chart")) > 1,
	}
	for _, sa := range p.Find("kubernetes:core/v1:ServiceAccount") {
		accounts[fmt.Sprintf("%v/%v", at(sa.Inputs, "metadata", "namespace"), at(sa.Inputs, "metadata", "name"))] = true
	}
	bound := map[string]bool{}
	for _, a := range p.Find("aws:eks/podIdentityAssociation:PodIdentityAssociation") {
		key := fmt.Sprintf("%v/%v", a.Inputs["namespace"], a.Inputs["serviceAccount"])
		if !accounts[key] {
			t.Errorf("association %s binds %s, which nothing creates", a.Name, key)
		}
		if a.Inputs["clusterName"] != "edw-aws" {
			t.Errorf("association %s on cluster %v", a.Name, a.Inputs["clusterName"])
		}
		bound[key] = true
	}
	for _, d := range p.Find("kubernetes:apps/v1:Deployment") {
		key := fmt.Sprintf("%v/%v", at(d.Inputs, "metadata", "namespace"), at(d.Inputs, "spec", "template", "spec", "serviceAccountName"))
		if !bound[key] {
			t.Errorf("Deployment %s runs as %s, which has no pod identity", d.Name, key)
		}
	}
	if len(bound) != 4 {
		t.Errorf("%d principals bound, want 4 (consumer, producer, KEDA, Karpenter)", len(bound))
	}
}

type statement struct {
	Sid       string
	Principal any
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]any
}

func policy(t *testing.T, r render.Resource) []statement {
	t.Helper()
	var doc struct{ Statement []statement }
	if err := json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc); err != nil {
		t.Fatalf("%s policy: %v", r.Name, err)
	}
	return doc.Statement
}

// No role may use a wildcard action; data-plane statements name exact ARNs.
func TestAWSLeastPrivilege(t *testing.T) {
	p := aws(t)
	queueArn := "arn:aws:sqs:us-east-1:123456789012:work"
	tableArn := "arn:aws:dynamodb:us-east-1:123456789012:table/payments"
	want := map[string]map[string][]string{
		"consumer-policy": {
			"sqs:ReceiveMessage": {queueArn}, "sqs:DeleteMessage": {queueArn}, "sqs:ChangeMessageVisibility": {queueArn},
			"dynamodb:BatchWriteItem": {tableArn},
		},
		"producer-policy":      {"sqs:SendMessage": {queueArn}},
		"keda-operator-policy": {"sqs:GetQueueAttributes": {queueArn}},
	}
	for _, r := range p.Find("aws:iam/rolePolicy:RolePolicy") {
		got := map[string][]string{}
		for _, s := range policy(t, r) {
			for _, a := range s.Action {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("%s %s: wildcard action %s", r.Name, s.Sid, a)
				}
				dataPlane := strings.HasPrefix(a, "sqs:") || strings.HasPrefix(a, "dynamodb:")
				for _, res := range s.Resource {
					if dataPlane && strings.Contains(res, "*") {
						t.Errorf("%s %s: data-plane action %s on %s", r.Name, s.Sid, a, res)
					}
				}
				got[a] = append(got[a], s.Resource...)
			}
		}
		if w, ok := want[r.Name]; ok && fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s grants %v, want exactly %v", r.Name, got, w)
		}
	}
}

func TestAWSPodsAreHardened(t *testing.T) {
	p := aws(t)
	for _, d := range p.Find("kubernetes:apps/v1:Deployment") {
		pod := at(d.Inputs, "spec", "template", "spec")
		if at(pod, "securityContext", "runAsNonRoot") != true || at(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
			t.Errorf("%s pod securityContext %v", d.Name, at(pod, "securityContext"))
		}
		for _, c := range at(pod, "containers").([]any) {
			sc := at(c, "securityContext")
			if at(sc, "runAsNonRoot") != true || at(sc, "readOnlyRootFilesystem") != true || at(sc, "allowPrivilegeEscalation") != false ||
				fmt.Sprint(at(sc, "capabilities", "drop")) != "[ALL]" || at(sc, "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s container %v: securityContext %v", d.Name, at(c, "name"), sc)
			}
			if at(c, "resources", "limits", "memory") == nil {
				t.Errorf("%s container %v has no memory limit", d.Name, at(c, "name"))
			}
		}
	}
	consumer := one(t, p, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs
	if grace := at(consumer, "spec", "template", "spec", "terminationGracePeriodSeconds"); grace.(float64) <= 20 {
		t.Errorf("consumer grace period %v, want above the 20 s shutdown timeout", grace)
	}
	if at(consumer, "spec", "template", "metadata", "annotations", "karpenter.sh/do-not-disrupt") != "true" {
		t.Error("consumer pods may be disrupted by consolidation")
	}
	// Created at the ScaledObject's minimum (0 here): no pod, no node and no
	// wait for an empty queue at the first up. Later updates leave the count
	// to KEDA (ignoreChanges, held by the engine layer).
	if at(consumer, "spec", "replicas") != 0.0 {
		t.Errorf("consumer Deployment replicas %v, want edw:kedaMinReplicas (0)", at(consumer, "spec", "replicas"))
	}
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		if at(consumer, "spec", "template", "spec", "containers", 0, probe, "httpGet", "path") == nil {
			t.Errorf("consumer has no %s", probe)
		}
	}
}

// consumerEnv is the consumer container's env in plan p, by name.
func consumerEnv(t *testing.T, p *render.Plan) map[string]any {
	t.Helper()
	env := map[string]any{}
	for _, e := range at(one(t, p, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs, "spec", "template", "spec", "containers", 0, "env").([]any) {
		env[at(e, "name").(string)] = at(e, "value")
	}
	return env
}

func TestAWSConsumerSettingsComeFromTheStack(t *testing.T) {
	p := aws(t)
	env := consumerEnv(t, p)
	want := map[string]any{
		"EDW_CLOUD": "aws", "AWS_REGION": "us-east-1", "SQS_QUEUE_URL": p.Outputs["queueUrl"], "DYNAMODB_TABLE": p.Outputs["tableName"],
		"EDW_VISIBILITY_TIMEOUT": "60s", "EDW_MAX_DELIVERIES": "5", "EDW_SHUTDOWN_TIMEOUT": "20s", "EDW_HTTP_ADDR": ":8080", "EDW_WORKERS": "4",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("consumer env %s = %v, want %v", k, env[k], v)
		}
	}
	image := at(one(t, p, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs, "spec", "template", "spec", "containers", 0, "image")
	if !strings.Contains(fmt.Sprint(image), "@sha256:") {
		t.Errorf("consumer image %v is not pinned by digest", image)
	}
	producer := one(t, p, "kubernetes:apps/v1:Deployment", "edw-producer").Inputs
	if at(producer, "spec", "replicas") != 0.0 {
		t.Errorf("producer replicas %v, want 0 while edw:producerRatePerSecond is 0", at(producer, "spec", "replicas"))
	}
}

func TestAWSQueueAndTable(t *testing.T) {
	p := aws(t)
	q := one(t, p, "aws:sqs/queue:Queue", "work").Inputs
	if q["receiveWaitTimeSeconds"] != 20.0 || q["visibilityTimeoutSeconds"] != 60.0 || q["sqsManagedSseEnabled"] != true {
		t.Errorf("work queue %v", q)
	}
	if _, ok := q["fifoQueue"]; ok {
		t.Error("work queue is FIFO; a standard queue lets every consumer pod add throughput")
	}
	var redrive map[string]any
	json.Unmarshal([]byte(q["redrivePolicy"].(string)), &redrive)
	if redrive["maxReceiveCount"] != 5.0 || redrive["deadLetterTargetArn"] != "arn:aws:sqs:us-east-1:123456789012:work-dlq" {
		t.Errorf("redrive %v", redrive)
	}
	for _, qp := range p.Find("aws:sqs/queuePolicy:QueuePolicy") {
		if s := policy(t, qp); s[0].Effect != "Deny" || at(s[0].Condition, "Bool", "aws:SecureTransport") != "false" {
			t.Errorf("%s does not deny insecure transport first: %+v", qp.Name, s[0])
		}
	}
	tbl := one(t, p, "aws:dynamodb/table:Table", "payments").Inputs
	if tbl["billingMode"] != "PAY_PER_REQUEST" || tbl["hashKey"] != "id" || at(tbl, "pointInTimeRecovery", "enabled") != true || at(tbl, "serverSideEncryption", "enabled") != true {
		t.Errorf("table %v", tbl)
	}
}

func TestAWSKarpenter(t *testing.T) {
	p := aws(t)
	np := one(t, p, "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
	if at(np, "spec", "disruption", "consolidationPolicy") != "WhenEmptyOrUnderutilized" || at(np, "spec", "limits", "cpu") != "200" {
		t.Errorf("NodePool spec %v", at(np, "spec"))
	}
	if ref := at(np, "spec", "template", "spec", "nodeClassRef"); at(ref, "kind") != "EC2NodeClass" || at(ref, "group") != "karpenter.k8s.aws" {
		t.Errorf("nodeClassRef %v", ref)
	}
	nc := one(t, p, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "workload-nodeclass").Inputs
	if at(np, "spec", "template", "spec", "nodeClassRef", "name") != at(nc, "metadata", "name") {
		t.Error("the NodePool references another node class")
	}
	if at(nc, "spec", "metadataOptions", "httpTokens") != "required" || at(nc, "spec", "metadataOptions", "httpPutResponseHopLimit") != 1.0 {
		t.Errorf("metadataOptions %v: want IMDSv2 with hop limit 1", at(nc, "spec", "metadataOptions"))
	}
	if at(nc, "spec", "blockDeviceMappings", 0, "ebs", "encrypted") != true || at(nc, "spec", "role") != "workload-node-role" {
		t.Errorf("EC2NodeClass %v", at(nc, "spec"))
	}
	if at(nc, "spec", "subnetSelectorTerms", 0, "tags", "karpenter.sh/discovery") != "edw-aws" {
		t.Errorf("subnet selector %v", at(nc, "spec", "subnetSelectorTerms"))
	}
	chart := one(t, p, "kubernetes:helm.sh/v4:Chart", "workload-controller").Inputs
	if chart["version"] != karpenter.ChartVersion || chart["skipCrds"] != true ||
		at(chart, "values", "settings", "interruptionQueue") != "workload-interruption" || at(chart, "values", "settings", "clusterName") != "edw-aws" {
		t.Errorf("karpenter chart %v", chart)
	}
	if c := one(t, p, "kubernetes:helm.sh/v4:Chart", "consumer-keda").Inputs; c["version"] != keda.ChartVersion {
		t.Errorf("keda chart version %v", c["version"])
	}
	if n := len(p.Find("aws:cloudwatch/eventRule:EventRule")); n != 5 {
		t.Errorf("%d interruption rules, want Karpenter's 5", n)
	}
	tagged := 0
	for _, s := range p.Find("aws:ec2/subnet:Subnet") {
		if at(s.Inputs, "tags", "karpenter.sh/discovery") == "edw-aws" {
			tagged++
			if !strings.HasSuffix(s.Name, "-private") {
				t.Errorf("public subnet %s is tagged for Karpenter", s.Name)
			}
		}
	}
	if tagged != 2 {
		t.Errorf("%d subnets tagged for discovery, want the 2 private ones", tagged)
	}
	tags := p.Find("aws:ec2/tag:Tag")
	if len(tags) != 1 || tags[0].Inputs["key"] != "karpenter.sh/discovery" {
		t.Fatalf("security groups tagged for discovery: %v, want exactly one", tags)
	}
	// The cluster component reports the security group EKS made; a lookup
	// would fail in the first preview, before the cluster exists.
	if id := tags[0].Inputs["resourceId"]; id != "sg-0123456789abcdef0" {
		t.Errorf("the discovery tag is on %v, want the cluster component's clusterSecurityGroupId", id)
	}
}

// At destroy, the engine deletes a resource before what it depends on:
// ScaledObject, then the consumer, then the NodePool (Karpenter removes its
// nodes), then Karpenter, then its IAM, queue and system nodes, then the
// cluster.
func TestAWSDestroyOrder(t *testing.T) {
	p := aws(t)
	urn := func(typ, name string) string { return one(t, p, typ, name).URN }
	chain := []string{
		urn("kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer"),
		urn("kubernetes:apps/v1:Deployment", "edw-consumer"),
		urn("kubernetes:karpenter.sh/v1:NodePool", "workload"),
		urn("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "workload-nodeclass"),
		urn("kubernetes:helm.sh/v4:Chart", "workload-controller"),
	}
	for i := 0; i+1 < len(chain); i++ {
		if !dependsOn(p, chain[i], chain[i+1]) {
			t.Errorf("%s does not depend on %s", chain[i], chain[i+1])
		}
	}
	controller := chain[len(chain)-1]
	for _, after := range []struct{ typ, name string }{
		{"aws:eks/podIdentityAssociation:PodIdentityAssociation", "workload-controller-association"},
		{"aws:iam/rolePolicy:RolePolicy", "workload-controller-policy"},
		{"aws:sqs/queue:Queue", "workload-interruption"},
		{"aws:eks/accessEntry:AccessEntry", "workload-node"},
		{"eks:index:ManagedNodeGroup", "cluster-system"},
		{"eks:index:Cluster", "cluster"},
	} {
		if !dependsOn(p, controller, urn(after.typ, after.name)) {
			t.Errorf("the Karpenter chart does not depend on %s %s: it could outlive them at destroy", after.typ, after.name)
		}
	}
	// The controller terminates its instances through the AWS APIs, which
	// it reaches through NAT: the way out must go after the cluster.
	for _, egress := range []struct{ typ, name string }{
		{"aws:ec2/natGateway:NatGateway", "cluster-us-east-1a"},
		{"aws:ec2/routeTableAssociation:RouteTableAssociation", "cluster-us-east-1b-private"},
		{"aws:ec2/subnet:Subnet", "cluster-us-east-1a-private"},
	} {
		if !dependsOn(p, urn("eks:index:Cluster", "cluster"), urn(egress.typ, egress.name)) {
			t.Errorf("the cluster does not depend on %s %s: it could go while Karpenter still drains", egress.typ, egress.name)
		}
	}
}

func TestAWSOutputs(t *testing.T) {
	p := aws(t)
	for _, k := range []string{
		"region", "clusterName", "kubeconfig", "queueUrl", "deadLetterQueueUrl", "tableName", "repositoryUrls", "imageRefs",
		"namespace", "consumerServiceAccount", "producerServiceAccount", "consumerRoleArn", "producerRoleArn", "kedaRoleArn", "karpenterRoleArn",
	} {
		if v, ok := p.Outputs[k]; !ok || v == "" || v == nil {
			t.Errorf("output %s = %v", k, v)
		}
	}
	if p.Outputs["kubeconfig"] != "[secret]" {
		t.Error("the kubeconfig output is not secret")
	}
}

func TestAWSAutoMode(t *testing.T) {
	p, err := renderStack(t, "aws", map[string]string{"edw:karpenterMode": "auto"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Find("kubernetes:helm.sh/v4:Chart") {
		if strings.HasPrefix(c.Name, "workload") {
			t.Errorf("auto mode installs Karpenter chart %s", c.Name)
		}
	}
	if n := len(p.Find("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")); n != 0 {
		t.Errorf("auto mode creates %d EC2NodeClasses", n)
	}
	np := one(t, p, "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
	if at(np, "spec", "template", "spec", "nodeClassRef", "group") != "eks.amazonaws.com" {
		t.Errorf("auto mode nodeClassRef %v", at(np, "spec", "template", "spec", "nodeClassRef"))
	}
	// A NodePool's node class cannot change in place: a switch of mode must
	// make a NodePool of another name.
	if name, controller := at(np, "metadata", "name"), at(one(t, aws(t), "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs, "metadata", "name"); name == controller {
		t.Errorf("auto mode's NodePool is named %v, as the controller's: switching would change its node class in place", name)
	}
	if at(one(t, p, "eks:index:Cluster", "cluster").Inputs, "autoMode", "enabled") != true {
		t.Error("auto mode not enabled on the cluster")
	}
	if len(p.Find("eks:index:ManagedNodeGroup")) != 0 {
		t.Error("auto mode still creates the system node group")
	}
	// Auto Mode enforces NetworkPolicies only with its controller on.
	cni := one(t, p, "kubernetes:core/v1:ConfigMap", "cluster-network-policies").Inputs
	if at(cni, "metadata", "name") != "amazon-vpc-cni" || at(cni, "metadata", "namespace") != "kube-system" ||
		at(cni, "data", "enable-network-policy-controller") != "true" {
		t.Errorf("network policy controller config %v", cni)
	}
	if pool := one(t, p, "kubernetes:karpenter.sh/v1:NodePool", "workload"); !slices.ContainsFunc(pool.Dependencies, func(urn string) bool { return strings.HasSuffix(urn, "::cluster-network-policies") }) {
		t.Errorf("the NodePool does not wait for the network policy controller's setting: %v", pool.Dependencies)
	}
	if len(plan(t, "aws").Find("kubernetes:core/v1:ConfigMap")) != 0 {
		t.Error("without Auto Mode, the VPC CNI add-on enforces the policies: no ConfigMap is needed")
	}
}

func TestAWSPrebuiltImagesNeedNoBuild(t *testing.T) {
	refs := map[string]string{
		"edw:imagesConsumer": "111111111111.dkr.ecr.us-east-1.amazonaws.com/consumer@sha256:" + strings.Repeat("a", 64),
		"edw:imagesProducer": "111111111111.dkr.ecr.us-east-1.amazonaws.com/producer@sha256:" + strings.Repeat("b", 64),
	}
	p, err := renderStack(t, "aws", refs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Find("docker-build:index:Image")); n != 0 {
		t.Errorf("%d images built with prebuilt references set", n)
	}
	for _, app := range []string{"consumer", "producer"} {
		got := at(one(t, p, "kubernetes:apps/v1:Deployment", "edw-"+app).Inputs, "spec", "template", "spec", "containers", 0, "image")
		if got != refs["edw:images"+strings.ToUpper(app[:1])+app[1:]] {
			t.Errorf("%s image %v, want %s", app, got, refs["edw:images"+strings.ToUpper(app[:1])+app[1:]])
		}
	}
}

// Invalid configuration and unknown clouds fail before any resource.
func TestBadConfigCreatesNothing(t *testing.T) {
	for _, set := range []map[string]string{
		{"edw:cloud": "gcp"},
		{"edw:kedaMaxReplicas": "0"},
	} {
		p, err := renderStack(t, "aws", set)
		if err == nil {
			t.Fatalf("config %v: no error", set)
		}
		for k := range set {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("config %v: error %q does not name %s", set, err, k)
			}
		}
		if custom := slices.IndexFunc(p.Resources, func(r render.Resource) bool { return r.Custom }); custom >= 0 {
			t.Errorf("config %v: %s registered before the error", set, p.Resources[custom].URN)
		}
	}
}

func TestAWSImagesBuildFromAppsAndSkipPreview(t *testing.T) {
	p := aws(t)
	for _, app := range []string{"consumer", "producer"} {
		img := one(t, p, "docker-build:index:Image", "images-"+app).Inputs
		if at(img, "context", "location") != "apps" || at(img, "dockerfile", "location") != "apps/"+app+"/Dockerfile" {
			t.Errorf("%s build context %v, dockerfile %v", app, at(img, "context"), at(img, "dockerfile"))
		}
		export := at(img, "exports", 0, "image")
		if at(export, "push") != true || at(export, "pushByDigest") != true || img["tags"] != nil || img["buildOnPreview"] != false {
			t.Errorf("%s: export %v, tags %v, buildOnPreview %v; want a push by digest on up, untagged, and no build on preview", app, export, img["tags"], img["buildOnPreview"])
		}
		if at(img, "labels", "edw.dev/sources") == nil {
			t.Errorf("%s: no label names the sources", app)
		}
		repo := one(t, p, "aws:ecr/repository:Repository", "images-"+app).Inputs
		if repo["imageTagMutability"] != "IMMUTABLE" || at(repo, "imageScanningConfiguration", "scanOnPush") != true {
			t.Errorf("%s repository %v", app, repo)
		}
		if ref := p.Outputs["imageRefs"].(map[string]string)[app]; !strings.HasSuffix(ref, "/images-"+app+"@sha256:"+strings.Repeat("0", 64)) {
			t.Errorf("%s image ref %s, want <repository>@<digest>", app, ref)
		}
	}
	// The images run on every architecture the nodes may have.
	arm, err := renderStack(t, "aws", map[string]string{"edw:karpenterArchitectures": "amd64,arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(one(t, arm, "docker-build:index:Image", "images-consumer").Inputs["platforms"]); got != "[linux/amd64 linux/arm64]" {
		t.Errorf("platforms %s with amd64 and arm64 nodes", got)
	}
}

func TestAWSNetwork(t *testing.T) {
	p := aws(t)
	want := map[string]string{
		"cluster-us-east-1a-private": "10.0.0.0/19", "cluster-us-east-1b-private": "10.0.32.0/19",
		"cluster-us-east-1a-public": "10.0.96.0/22", "cluster-us-east-1b-public": "10.0.100.0/22",
		"cluster-us-east-1a-scraper": "10.0.108.0/28", "cluster-us-east-1b-scraper": "10.0.108.16/28",
	}
	subnets := p.Find("aws:ec2/subnet:Subnet")
	if len(subnets) != len(want) {
		t.Fatalf("%d subnets, want %d", len(subnets), len(want))
	}
	for _, s := range subnets {
		if s.Inputs["cidrBlock"] != want[s.Name] {
			t.Errorf("subnet %s cidr %v, want %s", s.Name, s.Inputs["cidrBlock"], want[s.Name])
		}
		if s.Inputs["mapPublicIpOnLaunch"] == true {
			t.Errorf("subnet %s gives instances public addresses", s.Name)
		}
	}
	if n := len(p.Find("aws:ec2/natGateway:NatGateway")); n != 2 {
		t.Errorf("%d NAT gateways, want one per zone", n)
	}
	c := one(t, p, "eks:index:Cluster", "cluster").Inputs
	if c["authenticationMode"] != "API" || c["createOidcProvider"] != true || c["skipDefaultNodeGroup"] != true {
		t.Errorf("cluster: authenticationMode %v, OIDC %v, skipDefaultNodeGroup %v", c["authenticationMode"], c["createOidcProvider"], c["skipDefaultNodeGroup"])
	}
	ng := one(t, p, "eks:index:ManagedNodeGroup", "cluster-system").Inputs
	if at(ng, "taints", 0, "key") != "CriticalAddonsOnly" || at(ng, "taints", 0, "effect") != "NO_SCHEDULE" {
		t.Errorf("system node group taints %v", ng["taints"])
	}
	// pulumi-eks v3.9.1 puts a node group without subnets in the cluster's
	// public and private ones (nodes/nodegroup.ts), where EKS refuses it.
	var private []any
	for _, s := range p.Find("aws:ec2/subnet:Subnet") {
		if strings.HasSuffix(s.Name, "-private") {
			private = append(private, s.Name+"-id")
		}
	}
	if !reflect.DeepEqual(ng["subnetIds"], private) || len(private) != 2 {
		t.Errorf("system node group subnets %v, want the private ones %v", ng["subnetIds"], private)
	}
	if one(t, p, "aws:eks/addon:Addon", "cluster-pod-identity-agent").Inputs["addonName"] != "eks-pod-identity-agent" {
		t.Error("no Pod Identity agent")
	}
}

// A resource policy's statements must name a principal, or SQS refuses the
// policy at up; every queue policy the stack sets is one.
func TestAWSQueuePoliciesNamePrincipals(t *testing.T) {
	policies := aws(t).Find("aws:sqs/queuePolicy:QueuePolicy")
	if len(policies) != 3 {
		t.Fatalf("%d queue policies, want 3 (work, dead-letter, interruption)", len(policies))
	}
	for _, r := range policies {
		var doc struct{ Statement []map[string]any }
		if err := json.Unmarshal([]byte(r.Inputs["policy"].(string)), &doc); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		for _, s := range doc.Statement {
			if s["Principal"] == nil {
				t.Errorf("%s: statement %v names no principal", r.Name, s["Sid"])
			}
		}
	}
}

// The cluster: its log group made first with a retention, the API endpoint
// as configured, CoreDNS a managed add-on after the system nodes, and node
// roles built from the stack's partition.
func TestAWSCluster(t *testing.T) {
	p := aws(t)
	logs := one(t, p, "aws:cloudwatch/logGroup:LogGroup", "cluster-logs")
	if logs.Inputs["name"] != "/aws/eks/edw-aws/cluster" || logs.Inputs["retentionInDays"] != float64(90) {
		t.Errorf("log group %v, retention %v", logs.Inputs["name"], logs.Inputs["retentionInDays"])
	}
	c := one(t, p, "eks:index:Cluster", "cluster")
	if !slices.Contains(c.Dependencies, logs.URN) {
		t.Error("the cluster does not wait for its log group: EKS would create one without retention")
	}
	if c.Inputs["endpointPrivateAccess"] != true || c.Inputs["endpointPublicAccess"] != true || fmt.Sprint(c.Inputs["publicAccessCidrs"]) != "[0.0.0.0/0]" {
		t.Errorf("endpoint: private %v, public %v to %v", c.Inputs["endpointPrivateAccess"], c.Inputs["endpointPublicAccess"], c.Inputs["publicAccessCidrs"])
	}
	coredns := one(t, p, "aws:eks/addon:Addon", "cluster-coredns")
	if coredns.Inputs["addonName"] != "coredns" || coredns.Inputs["resolveConflictsOnCreate"] != "OVERWRITE" {
		t.Errorf("coredns add-on %v", coredns.Inputs)
	}
	if group := one(t, p, "eks:index:ManagedNodeGroup", "cluster-system"); !slices.Contains(coredns.Dependencies, group.URN) {
		t.Error("the CoreDNS add-on does not wait for the system nodes: it would never become active")
	}
	for _, role := range []string{"cluster-system-node", "workload-node"} {
		var arns []string
		for i := range 4 {
			arns = append(arns, fmt.Sprint(one(t, p, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", fmt.Sprintf("%s-policy-%d", role, i)).Inputs["policyArn"]))
		}
		if !slices.Contains(arns, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore") {
			t.Errorf("%s: policies %v lack AmazonSSMManagedInstanceCore", role, arns)
		}
	}

	private, err := renderStack(t, "aws", map[string]string{"edw:clusterEndpointAccess": "private", "aws:region": "cn-north-1"})
	if err != nil {
		t.Fatal(err)
	}
	c = one(t, private, "eks:index:Cluster", "cluster")
	if c.Inputs["endpointPublicAccess"] != false || c.Inputs["publicAccessCidrs"] != nil {
		t.Errorf("private endpoint: public %v to %v", c.Inputs["endpointPublicAccess"], c.Inputs["publicAccessCidrs"])
	}
	trust := one(t, private, "aws:iam/role:Role", "workload-node-role").Inputs["assumeRolePolicy"]
	arn := one(t, private, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "workload-node-policy-0").Inputs["policyArn"]
	if !strings.Contains(fmt.Sprint(trust), `"ec2.amazonaws.com.cn"`) || !strings.HasPrefix(fmt.Sprint(arn), "arn:aws-cn:") {
		t.Errorf("in aws-cn: node trust %v, policy %v", trust, arn)
	}
}

// The HPA keeps the consumers while the backlog they were started for
// remains: with the derived target, its scale-down window is the drain
// objective; with a fixed target, the configured 30 s.
func TestScaledObjectBehaviorFollowsTheQueue(t *testing.T) {
	fixed, err := renderStack(t, "aws", map[string]string{"edw:kedaQueueLength": "5"})
	if err != nil {
		t.Fatal(err)
	}
	plans := both(t)
	plans["aws with a fixed target"] = fixed
	for name, p := range plans {
		so := one(t, p, "kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer").Inputs
		behavior := at(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")
		window := map[bool]float64{true: 30, false: 300}[p == fixed]
		if at(behavior, "scaleDown", "stabilizationWindowSeconds") != window || at(behavior, "scaleDown", "policies", 0, "value") != float64(100) {
			t.Errorf("%s: scale-down %v, want a %v s window", name, at(behavior, "scaleDown"), window)
		}
		if at(behavior, "scaleUp", "selectPolicy") != "Max" || at(behavior, "scaleUp", "policies", 1, "value") != float64(4) {
			t.Errorf("scale-up %v", at(behavior, "scaleUp"))
		}
	}
}

// EKS is asked which versions it offers before anything is created: a
// version in extended support needs edw:clusterSupportType EXTENDED, one
// it does not offer is refused, each naming the key and what to set.
func TestEksVersionIsChecked(t *testing.T) {
	for _, c := range []struct {
		overrides map[string]string
		want      string
	}{
		{map[string]string{"edw:clusterVersion": "1.34"}, "extended support only, at $0.60 a cluster-hour instead of $0.10: set a version in standard support (1.35, 1.36)"},
		{map[string]string{"edw:clusterVersion": "1.29"}, "edw:clusterVersion is 1.29, which EKS does not offer: set one of 1.35, 1.36"},
		{map[string]string{"edw:clusterVersion": "1.34", "edw:clusterSupportType": "EXTENDED"}, ""},
		{map[string]string{"edw:clusterSupportType": "LONG"}, `edw:clusterSupportType is "LONG": want STANDARD or EXTENDED`},
	} {
		_, err := renderStack(t, "aws", c.overrides)
		if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.overrides, err, c.want)
		}
	}
}
