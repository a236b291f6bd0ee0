package swap

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/edw-project/edw/lab/internal/apply"
)

// The shapes the stacks render (see build/render/<stack>/manifests).
const awsRender = `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: workload}
spec:
  limits: {cpu: "200"}
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: workload}
      requirements:
        - {key: karpenter.sh/capacity-type, operator: In, values: [spot, on-demand]}
        - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}
        - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ["5"]}
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: workload}
spec: {role: node-role}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: consumer, namespace: edw}
spec:
  scaleTargetRef: {name: consumer}
  triggers:
    - type: aws-sqs-queue
      authenticationRef: {name: consumer}
      metadata: {queueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/work", queueLength: "5", awsRegion: us-east-1}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: consumer, namespace: edw}
spec:
  podIdentity: {provider: aws}
`

const azureRender = `
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: workload}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.azure.com, kind: AKSNodeClass, name: workload}
      requirements:
        - {key: karpenter.azure.com/sku-family, operator: In, values: [D]}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: consumer, namespace: edw}
spec:
  scaleTargetRef: {name: consumer}
  triggers:
    - type: azure-queue
      authenticationRef: {name: consumer}
      metadata: {accountName: storage0a1b2c, queueName: work, queueLength: "5", cloud: AzurePublicCloud}
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: consumer, namespace: edw}
spec:
  podIdentity: {provider: azure-workload, identityId: client-id}
`

var emulator = Emulator{QueueURL: "http://127.0.0.1:4100/000000000000/work", SQSEndpoint: "http://127.0.0.1:4100", ConnectionString: "UseDevelopmentStorage=true"}

func swapped(t *testing.T, render string) Result {
	t.Helper()
	objs, err := apply.Decode([]byte(render))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Objects(objs, emulator)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func find(t *testing.T, r Result, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range r.Objects {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s among %d objects", kind, len(r.Objects))
	return nil
}

func TestNodePoolGetsKwokNodeClassAndFamilies(t *testing.T) {
	r := swapped(t, awsRender)
	pool := find(t, r, "NodePool")
	ref, _, _ := unstructured.NestedStringMap(pool.Object, "spec", "template", "spec", "nodeClassRef")
	if ref["group"] != "karpenter.kwok.sh" || ref["kind"] != "KWOKNodeClass" || ref["name"] != "workload" {
		t.Errorf("nodeClassRef = %v, want the KWOKNodeClass workload", ref)
	}
	if class := find(t, r, "KWOKNodeClass"); class.GetName() != "workload" {
		t.Errorf("KWOKNodeClass %q, want workload", class.GetName())
	}
	for _, o := range r.Objects {
		if o.GetKind() == "EC2NodeClass" {
			t.Error("the EC2NodeClass is applied; no CRD serves it in the lab")
		}
	}
	taints, _, _ := unstructured.NestedSlice(pool.Object, "spec", "template", "spec", "startupTaints")
	if len(taints) != 1 || taints[0].(map[string]any)["key"] != "edw.dev/booting" {
		t.Errorf("startupTaints = %v, want the lab's boot taint", taints)
	}
	reqs, _, _ := unstructured.NestedSlice(pool.Object, "spec", "template", "spec", "requirements")
	var keys []string
	for _, raw := range reqs {
		keys = append(keys, raw.(map[string]any)["key"].(string))
	}
	want := []string{"karpenter.sh/capacity-type", FamilyLabel, "kubernetes.io/arch"}
	if !slices.Equal(keys, want) {
		t.Errorf("requirement keys %v, want %v", keys, want)
	}
	if !slices.Equal(r.Families, []string{"c", "m", "r"}) {
		t.Errorf("families %v, want [c m r]", r.Families)
	}
	if limits, _, _ := unstructured.NestedString(pool.Object, "spec", "limits", "cpu"); limits != "200" {
		t.Errorf("limits.cpu %q: the lab must keep the stack's limits", limits)
	}
	if !slices.Equal(r.Architectures, []string{"amd64"}) {
		t.Errorf("architectures %v, want [amd64]", r.Architectures)
	}
	if len(r.Notes) != 2 || !strings.Contains(strings.Join(r.Notes, "\n"), "instance-generation dropped") {
		t.Errorf("notes %q, want the replaced node class and the dropped requirement", r.Notes)
	}
}

func TestAutoModeNodePoolGetsAKwokNodeClassOfItsOwn(t *testing.T) {
	render := strings.NewReplacer("group: karpenter.k8s.aws, kind: EC2NodeClass, name: workload", "group: eks.amazonaws.com, kind: NodeClass, name: default",
		"karpenter.k8s.aws/instance-category", "eks.amazonaws.com/instance-category", "values: [amd64]", "values: [arm64]").Replace(awsRender)
	r := swapped(t, render)
	if class := find(t, r, "KWOKNodeClass"); class.GetName() != "default" {
		t.Errorf("KWOKNodeClass %q, want default, the Auto Mode class the NodePool names", class.GetName())
	}
	if !slices.Equal(r.Families, []string{"c", "m", "r"}) || !slices.Equal(r.Architectures, []string{"arm64"}) {
		t.Errorf("families %v, architectures %v; want [c m r] and [arm64]", r.Families, r.Architectures)
	}
}

func TestNodePoolWithoutFamiliesIsRefused(t *testing.T) {
	render := strings.Replace(azureRender, "karpenter.azure.com/sku-family", "karpenter.azure.com/sku-name", 1)
	objs, _ := apply.Decode([]byte(render))
	if _, err := Objects(objs, emulator); err == nil || !strings.Contains(err.Error(), "instance families") {
		t.Fatalf("err = %v, want a refusal that names the missing family requirement", err)
	}
}

func TestSQSTriggerReadsTheEmulator(t *testing.T) {
	r := swapped(t, awsRender)
	triggers, _, _ := unstructured.NestedSlice(find(t, r, "ScaledObject").Object, "spec", "triggers")
	meta := triggers[0].(map[string]any)["metadata"].(map[string]any)
	if meta["queueURL"] != emulator.QueueURL || meta["awsEndpoint"] != emulator.SQSEndpoint {
		t.Errorf("trigger metadata %v, want the emulator's queue URL and endpoint", meta)
	}
	if meta["queueLength"] != "5" {
		t.Errorf("queueLength %v: the scaling settings must stay as rendered", meta["queueLength"])
	}
	auth := find(t, r, "TriggerAuthentication")
	if p, _, _ := unstructured.NestedString(auth.Object, "spec", "podIdentity", "provider"); p != "aws" {
		t.Errorf("podIdentity %q, want aws kept: the operator's credentials stand for Pod Identity's", p)
	}
}

func TestAzureWorkloadIdentityBecomesTheEmulatorsConnection(t *testing.T) {
	r := swapped(t, azureRender)
	auth := find(t, r, "TriggerAuthentication")
	if _, found, _ := unstructured.NestedMap(auth.Object, "spec", "podIdentity"); found {
		t.Error("podIdentity kept; there is no workload identity in the lab")
	}
	refs, _, _ := unstructured.NestedSlice(auth.Object, "spec", "secretTargetRef")
	if len(refs) != 1 || refs[0].(map[string]any)["parameter"] != "connection" || refs[0].(map[string]any)["name"] != EmulatorSecret {
		t.Errorf("secretTargetRef %v, want the connection from %s", refs, EmulatorSecret)
	}
	secret := find(t, r, "Secret")
	if conn, _, _ := unstructured.NestedString(secret.Object, "stringData", "connection"); conn != emulator.ConnectionString || secret.GetNamespace() != "edw" {
		t.Errorf("secret %s/%s holds %q", secret.GetNamespace(), secret.GetName(), conn)
	}
	if !slices.Equal(r.Families, []string{"D"}) {
		t.Errorf("families %v, want [D]", r.Families)
	}
}

func TestTriggersTheLabCannotServeAreRefused(t *testing.T) {
	render := strings.Replace(awsRender, "type: aws-sqs-queue", "type: prometheus", 1)
	objs, _ := apply.Decode([]byte(render))
	if _, err := Objects(objs, emulator); err == nil || !strings.Contains(err.Error(), "prometheus") {
		t.Fatalf("err = %v, want a refusal naming the prometheus trigger", err)
	}
	render = strings.Replace(awsRender, "provider: aws", "provider: gcp", 1)
	objs, _ = apply.Decode([]byte(render))
	if _, err := Objects(objs, emulator); err == nil || !strings.Contains(err.Error(), `"gcp"`) {
		t.Fatalf("err = %v, want a refusal naming the provider", err)
	}
}

func TestProcessEnvPutsTheEmulatorAfterTheContainer(t *testing.T) {
	env := ProcessEnv([]string{"SQS_QUEUE_URL=https://sqs/work", "EDW_HTTP_ADDR=:8080"}, []string{"SQS_QUEUE_URL=http://emulator/work"}, "127.0.0.1:20001")
	// exec.Cmd keeps the last of duplicate names.
	want := []string{"SQS_QUEUE_URL=https://sqs/work", "EDW_HTTP_ADDR=:8080", "SQS_QUEUE_URL=http://emulator/work", "EDW_HTTP_ADDR=127.0.0.1:20001"}
	if !slices.Equal(env, want) {
		t.Errorf("env %v, want %v", env, want)
	}
}
