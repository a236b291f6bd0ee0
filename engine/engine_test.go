//go:build engine

// Package engine_test runs the program through the real Pulumi engine: the
// Pulumi CLI drives the program (inline, through the Automation API), the
// real Kubernetes provider creates, awaits, updates and deletes every object
// in the lab's apiserver, and stand-in plugins answer for the clouds that
// cannot be reached here (aws, azure-native, eks, docker-build), keeping
// the state a cloud would keep. Run it with make test-engine.
package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/edw-project/edw/components/workload"
	"github.com/edw-project/edw/engine/swap"
	"github.com/edw-project/edw/engine/workspace"
	"github.com/edw-project/edw/versions"
)

// updatedQueueLength is the one setting the update step changes.
const updatedQueueLength = "7"

// order is a destroy-order promise: the first resource is gone before the
// second is deleted.
type order struct{ before, after [2]string }

// stackCase is what the engine layer checks of one stack.
type stackCase struct {
	name string
	// destroyOrder holds the README's promise.
	destroyOrder []order
	// credentialsInKubeconfig: the cluster's kubeconfig holds credentials,
	// so no copy of it may be in clear.
	credentialsInKubeconfig bool
	// builds: the program builds the images (not prebuilt).
	builds bool
	// checkUp checks what the cloud keeps after the first up, given the
	// steps that finished, in order.
	checkUp func(t *testing.T, k *workspace.Kube, done []step)
	// monitoring are the alerts' and metrics' outputs, and what the
	// cloud's answers for them look like.
	monitoring map[string]*regexp.Regexp
	// change is an option a user turns on in the live stack.
	change *change
}

// change is a setting changed on a live stack: it creates and deletes
// exactly the resources listed, each [type, name], and updates the
// consumer, whose env then holds env's values that match.
type change struct {
	key, value       string
	creates, deletes [][2]string
	env              map[string]*regexp.Regexp
}

var (
	scaledObject = [2]string{"kubernetes:keda.sh/v1alpha1:ScaledObject", "consumer"}
	consumer     = [2]string{"kubernetes:apps/v1:Deployment", "edw-consumer"}
	nodePool     = [2]string{"kubernetes:karpenter.sh/v1:NodePool", "workload"}
)

var cases = []stackCase{
	{name: "aws", builds: true, checkUp: checkEKS, monitoring: map[string]*regexp.Regexp{
		"alertTopicArn":         regexp.MustCompile(`^arn:aws:sns:us-east-1:[0-9]{12}:monitoring-alerts-[0-9a-f]{7}$`),
		"prometheusWorkspaceId": regexp.MustCompile(`^ws-[0-9a-f]+$`),
		"prometheusEndpoint":    regexp.MustCompile(`^https://aps-workspaces\.us-east-1\.amazonaws\.com/workspaces/ws-[0-9a-f]+/$`),
	}, destroyOrder: []order{
		{scaledObject, consumer},
		{consumer, nodePool},
		{nodePool, [2]string{"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "workload-nodeclass"}},
		{[2]string{"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "workload-nodeclass"}, [2]string{"kubernetes:helm.sh/v4:Chart", "workload-controller"}},
		{[2]string{"kubernetes:helm.sh/v4:Chart", "workload-controller"}, [2]string{"aws:iam/rolePolicy:RolePolicy", "workload-controller-policy"}},
		{[2]string{"kubernetes:helm.sh/v4:Chart", "workload-controller"}, [2]string{"aws:sqs/queue:Queue", "workload-interruption"}},
		{[2]string{"kubernetes:helm.sh/v4:Chart", "workload-controller"}, [2]string{"eks:index:ManagedNodeGroup", "cluster-system"}},
		{[2]string{"eks:index:Cluster", "cluster"}, [2]string{"aws:ec2/natGateway:NatGateway", "cluster-us-east-1a"}},
		{[2]string{"eks:index:Cluster", "cluster"}, [2]string{"aws:ec2/vpc:Vpc", "cluster-vpc"}},
		{[2]string{"aws:eks/nodeGroup:NodeGroup", "cluster-system-nodeGroup"}, [2]string{"aws:eks/cluster:Cluster", "cluster-eksCluster"}},
		{[2]string{"aws:eks/cluster:Cluster", "cluster-eksCluster"}, [2]string{"aws:cloudwatch/logGroup:LogGroup", "cluster-logs"}},
	}},
	{name: "azure", credentialsInKubeconfig: true, checkUp: checkAKS, monitoring: map[string]*regexp.Regexp{
		"alertActionGroupId":      regexp.MustCompile(`/providers/Microsoft\.Insights/actionGroups/monitoring-alerts`),
		"prometheusWorkspaceId":   regexp.MustCompile(`/providers/Microsoft\.Monitor/accounts/monitoring`),
		"prometheusQueryEndpoint": regexp.MustCompile(`^https://monitoring[0-9a-z]*-[0-9a-f]+\.[a-z]+\.prometheus\.monitor\.azure\.com$`),
	}, change: &change{
		key: "edw:tableService", value: "cosmos",
		creates: [][2]string{
			{"edw:store:CosmosTable", "payments"},
			{"azure-native:documentdb:DatabaseAccount", "payments"},
			{"azure-native:documentdb:TableResourceTable", "payments"},
			{"azure-native:documentdb:TableResourceTableRoleAssignment", "payments-writer"},
		},
		deletes: [][2]string{
			{"edw:store:Table", "payments"},
			{"azure-native:storage:Table", "payments"},
			{"azure-native:authorization:RoleAssignment", "consumer-table"},
		},
		env: map[string]*regexp.Regexp{
			"AZURE_TABLE_ENDPOINT": regexp.MustCompile(`^https://payments[0-9a-z]{8}\.table\.cosmos\.azure\.com:443/$`),
			"AZURE_TABLE_NAME":     regexp.MustCompile(`^payments$`),
		},
	}, destroyOrder: []order{
		{scaledObject, consumer},
		{consumer, nodePool},
		{nodePool, [2]string{"azure-native:containerservice/v20241002preview:ManagedCluster", "cluster"}},
		{[2]string{"azure-native:containerservice/v20241002preview:ManagedCluster", "cluster"}, [2]string{"azure-native:resources:ResourceGroup", "edw"}},
	}},
}

// TestStacks takes each stack through what a user does: preview, up, a
// second preview, one setting changed, destroy.
func TestStacks(t *testing.T) {
	k, err := workspace.NewKube(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { lifecycle(t, k, c) })
	}
	checkSweepTable(t, env.Root)
}

func lifecycle(t *testing.T, k *workspace.Kube, c stackCase) {
	ctx := context.Background()
	s := newStack(t, c.name)
	defer func() {
		// A failed run must not leave the next stack a namespace in use.
		if t.Failed() {
			_, _ = s.Destroy(ctx)
		}
		_ = s.Workspace().RemoveStack(ctx, c.name)
	}()

	start := time.Now()
	announced, _ := run(t, "preview", func(ch chan<- events.EngineEvent) error {
		_, err := s.Preview(ctx, optpreview.EventStreams(ch))
		return err
	})
	if changed := changes(announced); len(changed) == 0 || len(urns(changed, apitype.OpCreate)) != len(changed) {
		t.Fatalf("first preview: %d changes, want only creates: %v", len(changed), changed)
	}
	t.Logf("preview: %d creates in %v", len(urns(announced, apitype.OpCreate)), time.Since(start).Round(time.Second))

	start = time.Now()
	planned, done := run(t, "up", func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	// A preview cannot render a chart whose cluster does not exist yet, so
	// the objects in a chart are the only creates it may leave out.
	unannounced := slices.DeleteFunc(minus(urns(planned, apitype.OpCreate), urns(announced, apitype.OpCreate)),
		func(urn string) bool { return strings.Contains(urn, swap.ChartType+"$") })
	if missing := minus(urns(announced, apitype.OpCreate), urns(planned, apitype.OpCreate)); len(missing)+len(unannounced) > 0 {
		t.Errorf("up did not create what the preview announced:\n  announced, not created: %v\n  created, not announced: %v", missing, unannounced)
	}
	t.Logf("up: %d created in %v", len(urns(done, apitype.OpCreate)), time.Since(start).Round(time.Second))
	checkSecrets(t, c)
	outs, err := s.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The deployed target is the one the scaling output shows, derived
	// from the drain objective.
	scaling, _ := outs["scaling"].Value.(map[string]any)
	if scaling["derived"] != true {
		t.Errorf("output scaling %v: want a derived target", scaling)
	}
	target, _ := scaling["queueLength"].(float64)
	checkDeployed(t, k, strconv.FormatFloat(target, 'f', -1, 64))
	for name, want := range c.monitoring {
		if got := fmt.Sprint(outs[name].Value); !want.MatchString(got) {
			t.Errorf("output %s = %q, want %v", name, got, want)
		}
	}
	if c.checkUp != nil {
		c.checkUp(t, k, done)
	}

	again, _ := run(t, "second preview", func(ch chan<- events.EngineEvent) error {
		_, err := s.Preview(ctx, optpreview.EventStreams(ch))
		return err
	})
	if changed := changes(again); len(changed) > 0 {
		t.Errorf("a preview right after up shows %d changes, want none: %v", len(changed), changed)
	}
	sweepConfig(t, s, c.name)

	if err := s.SetConfig(ctx, "edw:kedaQueueLength", auto.ConfigValue{Value: updatedQueueLength}); err != nil {
		t.Fatal(err)
	}
	_, done = run(t, "update", func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	if changed := changes(done); len(changed) != 1 || changed[0].op != apitype.OpUpdate || !is(changed[0].urn, scaledObject[0], scaledObject[1]) {
		t.Errorf("changing edw:kedaQueueLength: %v, want one update, of the ScaledObject", changed)
	}
	checkDeployed(t, k, updatedQueueLength)

	// Nodes of a second architecture: the NodePool admits them and, where
	// the program builds the images, they are built again for both, which
	// a registry with immutable tags must accept. A list is set item by
	// item, as the README says: the CLI keeps the key a list.
	for i, arch := range []string{"amd64", "arm64"} {
		key := fmt.Sprintf("edw:karpenterArchitectures[%d]", i)
		if err := s.SetConfigWithOptions(ctx, key, auto.ConfigValue{Value: arch}, &auto.ConfigOptions{Path: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, done = run(t, "second architecture", func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	rebuilt := slices.ContainsFunc(changes(done), func(s step) bool { return is(s.urn, "docker-build:index:Image", "images-consumer") })
	pool := slices.ContainsFunc(changes(done), func(s step) bool { return is(s.urn, nodePool[0], nodePool[1]) })
	if !pool || rebuilt != c.builds {
		t.Errorf("adding arm64 nodes: NodePool changed %v, consumer image rebuilt %v (want %v): %v", pool, rebuilt, c.builds, changes(done))
	}

	checkProtected(t, s)

	if c.change != nil {
		checkChange(t, s, k, c.change)
	}

	checkDependencies(t, s, c.destroyOrder)
	start = time.Now()
	_, done = run(t, "destroy", func(ch chan<- events.EngineEvent) error {
		_, err := s.Destroy(ctx, optdestroy.EventStreams(ch))
		return err
	})
	t.Logf("destroy: %d deleted in %v", len(urns(done, apitype.OpDelete)), time.Since(start).Round(time.Second))
	checkOrder(t, done, c.destroyOrder)
	checkNothingLeft(t, k)
}

// checkProtected previews a destroy of the live stack with its data
// protected (the default): as pulumi destroy previews before it deletes,
// the preview must be refused, naming the protected resources. Then, as
// the docs say, edw:protectData false and an up lift the protection.
func checkProtected(t *testing.T, s auto.Stack) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.PreviewDestroy(ctx); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
		t.Fatalf("previewing the destroy of a stack with protected data: %v, want it refused", err)
	}
	if err := s.SetConfig(ctx, "edw:protectData", auto.ConfigValue{Value: "false"}); err != nil {
		t.Fatal(err)
	}
	_, done := run(t, "up without protection", func(ch chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	// Lifting the protection changes what the clouds hold only where they
	// protect too: DynamoDB's table.
	for _, st := range changes(done) {
		if !is(st.urn, "aws:dynamodb/table:Table", "payments") {
			t.Errorf("lifting the protection: %s %s, want no change but the DynamoDB table's", st.op, st.urn)
		}
	}
}

// checkChange sets ch's key on the live stack, then checks what up made
// of it, what the apiserver's consumer holds and that a preview after it
// shows nothing more to do.
func checkChange(t *testing.T, s auto.Stack, k *workspace.Kube, ch *change) {
	t.Helper()
	ctx := context.Background()
	if err := s.SetConfig(ctx, ch.key, auto.ConfigValue{Value: ch.value}); err != nil {
		t.Fatal(err)
	}
	what := ch.key + " " + ch.value
	_, done := run(t, what, func(events chan<- events.EngineEvent) error {
		_, err := s.Up(ctx, optup.EventStreams(events))
		return err
	})
	for op, want := range map[apitype.OpType][][2]string{apitype.OpCreate: ch.creates, apitype.OpDelete: ch.deletes} {
		got := urns(done, op)
		unexpected := slices.DeleteFunc(slices.Clone(got), func(urn string) bool {
			return slices.ContainsFunc(want, func(w [2]string) bool { return is(urn, w[0], w[1]) })
		})
		missing := slices.DeleteFunc(slices.Clone(want), func(w [2]string) bool {
			return slices.ContainsFunc(got, func(urn string) bool { return is(urn, w[0], w[1]) })
		})
		if len(unexpected)+len(missing) > 0 {
			t.Errorf("%s: %s unexpected %v, missing %v", what, op, unexpected, missing)
		}
	}
	if !slices.ContainsFunc(urns(done, apitype.OpUpdate), func(urn string) bool { return is(urn, consumer[0], consumer[1]) }) {
		t.Errorf("%s did not update the consumer: %v", what, changes(done))
	}
	deployments, err := k.List("/apis/apps/v1/namespaces/edw/deployments")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	for _, d := range deployments {
		if d.Metadata.Name != workload.Consumer {
			continue
		}
		env = map[string]string{}
		containers, _ := d.Spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
		vars, _ := containers[0].(map[string]any)["env"].([]any)
		for _, v := range vars {
			e, _ := v.(map[string]any)
			env[fmt.Sprint(e["name"])] = fmt.Sprint(e["value"])
		}
	}
	if env == nil {
		t.Fatalf("after %s the apiserver has no Deployment %s", what, workload.Consumer)
	}
	for name, want := range ch.env {
		if !want.MatchString(env[name]) {
			t.Errorf("after %s the apiserver's consumer has %s=%q, want %v", what, name, env[name], want)
		}
	}
	again, _ := run(t, "preview after "+what, func(events chan<- events.EngineEvent) error {
		_, err := s.Preview(ctx, optpreview.EventStreams(events))
		return err
	})
	if changed := changes(again); len(changed) > 0 {
		t.Errorf("a preview right after %s shows %d changes, want none: %v", what, len(changed), changed)
	}
}

// checkDeployed reads back what the Kubernetes provider created.
func checkDeployed(t *testing.T, k *workspace.Kube, queueLength string) {
	t.Helper()
	scaled, err := k.List("/apis/keda.sh/v1alpha1/namespaces/edw/scaledobjects")
	if err != nil {
		t.Fatal(err)
	}
	if len(scaled) != 1 {
		t.Fatalf("%d ScaledObjects in edw, want 1", len(scaled))
	}
	triggers, _ := scaled[0].Spec["triggers"].([]any)
	if len(triggers) == 0 {
		t.Fatalf("ScaledObject %s has no triggers", scaled[0].Metadata.Name)
	}
	meta, _ := triggers[0].(map[string]any)["metadata"].(map[string]any)
	if meta["queueLength"] != queueLength {
		t.Errorf("the apiserver's ScaledObject has queueLength %v, want %s", meta["queueLength"], queueLength)
	}
	deployments, err := k.List("/apis/apps/v1/namespaces/edw/deployments")
	if err != nil {
		t.Fatal(err)
	}
	if len(deployments) != 2 {
		t.Errorf("%d Deployments in edw, want the consumer and the producer", len(deployments))
	}
	pools, err := k.List("/apis/karpenter.sh/v1/nodepools")
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 1 {
		t.Errorf("%d NodePools, want 1", len(pools))
	}
	// The apiserver validated and kept the namespace's policies and the
	// consumer's budget (nothing enforces the policies in the lab).
	for path, want := range map[string]int{
		"/apis/networking.k8s.io/v1/namespaces/edw/networkpolicies": 3,
		"/apis/policy/v1/namespaces/edw/poddisruptionbudgets":       1,
	} {
		if got, err := k.List(path); err != nil || len(got) != want {
			t.Errorf("%s: %d objects (%v), want %d", path, len(got), err, want)
		}
	}
}

// checkSecrets reads the state as the backend stores it: the kubeconfig
// output is ciphertext, and where the cluster's kubeconfig carries
// credentials (AKS), its text appears nowhere in clear. (EKS's kubeconfig
// carries none, only the command that fetches a token; pulumi-eks keeps it
// in clear by design.)
func checkSecrets(t *testing.T, c stackCase) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(env.Backend, ".pulumi", "stacks", "*", c.name+".json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("the backend has %d state files of stack %s (%v)", len(files), c.name, err)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Checkpoint struct {
			Latest struct {
				Resources []struct {
					Type    string
					Outputs map[string]json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range state.Checkpoint.Latest.Resources {
		if r.Type == "pulumi:pulumi:Stack" {
			out := string(r.Outputs["kubeconfig"])
			found = strings.Contains(out, `"ciphertext"`) && !strings.Contains(out, `"plaintext"`)
		}
	}
	if !found {
		t.Errorf("the kubeconfig stack output is not stored as ciphertext in %s", files[0])
	}
	if !c.credentialsInKubeconfig {
		return
	}
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Every copy of the cluster's kubeconfig, the Entra ID one AKS hands
	// out included, names the cluster's certificate authority (here a
	// file); the stack's own copies are secrets, so it must not be in
	// clear.
	found = false
	for _, line := range strings.Split(string(kubeconfig), "\n") {
		if _, ca, ok := strings.Cut(line, "certificate-authority: "); ok {
			found = true
			if strings.Contains(string(raw), strings.TrimSpace(ca)) {
				t.Errorf("the state holds the kubeconfig in clear (its certificate authority)")
			}
		}
	}
	if !found {
		t.Fatalf("%s names no certificate-authority to look for", env.Kubeconfig)
	}
}

// checkEKS checks what EKS keeps: the four add-ons as managed add-ons of
// the stack, CoreDNS made only once the system nodes were there, and the
// control plane's log group the program's, with its retention, not one
// EKS made on its own.
func checkEKS(t *testing.T, _ *workspace.Kube, done []step) {
	t.Helper()
	var state struct {
		Resources map[string]struct {
			URN     string         `json:"urn"`
			Type    string         `json:"type"`
			Inputs  map[string]any `json:"inputs"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(env.StandInState, "aws.json"))
	if err == nil {
		err = json.Unmarshal(b, &state)
	}
	if err != nil {
		t.Fatal(err)
	}
	var addons []string
	for _, r := range state.Resources {
		if r.Type == "aws:eks/addon:Addon" && r.URN != "" {
			addons = append(addons, r.Inputs["addonName"].(string))
		}
	}
	slices.Sort(addons)
	if want := []string{"coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"}; !slices.Equal(addons, want) {
		t.Errorf("managed add-ons %v, want %v", addons, want)
	}
	if nodes, dns := created(done, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodeGroup"), created(done, "aws:eks/addon:Addon", "cluster-coredns"); nodes < 0 || dns < nodes {
		t.Errorf("CoreDNS add-on created at step %d, the system nodes at %d: it must wait for them", dns, nodes)
	}
	// The upgrade policy reached the cluster inside pulumi-eks's component,
	// which has no input for it, through the program's transform.
	for _, r := range state.Resources {
		if r.Type == "aws:eks/cluster:Cluster" {
			if policy, _ := r.Inputs["upgradePolicy"].(map[string]any); policy["supportType"] != "STANDARD" || r.Inputs["version"] != versions.Kubernetes {
				t.Errorf("EKS cluster version %v, upgrade policy %v; want %s, STANDARD", r.Inputs["version"], r.Inputs["upgradePolicy"], versions.Kubernetes)
			}
		}
	}
	logs, ok := state.Resources["/aws/eks/edw-aws/cluster"]
	if !ok || logs.URN == "" || logs.Outputs["retentionInDays"] != float64(90) {
		t.Errorf("the cluster's log group: kept %v, the stack's %v, retention %v", ok, logs.URN != "", logs.Outputs["retentionInDays"])
	}
}

// checkAKS checks what the AKS KEDA add-on's operator was given: the
// identity's client id on its service account, and a restart once its
// federated credential existed. (That the Kubernetes provider deployed at
// all says its kubeconfig signed in through kubelogin without a person,
// as the deployer holding a cluster role: the stand-ins refuse anything
// else.)
func checkAKS(t *testing.T, k *workspace.Kube, done []step) {
	t.Helper()
	var sa, operator struct {
		Metadata struct{ Annotations map[string]string }
		Spec     struct {
			Template struct {
				Metadata struct{ Annotations map[string]string }
			}
		}
	}
	if err := k.Get("/api/v1/namespaces/kube-system/serviceaccounts/keda-operator", &sa); err != nil {
		t.Fatal(err)
	}
	if err := k.Get("/apis/apps/v1/namespaces/kube-system/deployments/keda-operator", &operator); err != nil {
		t.Fatal(err)
	}
	if sa.Metadata.Annotations["azure.workload.identity/client-id"] == "" {
		t.Errorf("the KEDA operator's service account names no identity: %v", sa.Metadata.Annotations)
	}
	if operator.Spec.Template.Metadata.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("the KEDA operator was not restarted: %v", operator.Spec.Template.Metadata.Annotations)
	}
	credential := created(done, "azure-native:managedidentity:FederatedIdentityCredential", "keda-operator-federation")
	if restart := created(done, "kubernetes:apps/v1:DeploymentPatch", "keda-addon-restart"); credential < 0 || restart < credential {
		t.Errorf("the KEDA operator restarted at step %d, its federated credential was made at %d", restart, credential)
	}
}

// created is the index in done of the creation of typ name, or -1.
func created(done []step, typ, name string) int {
	return slices.IndexFunc(done, func(s step) bool { return s.op == apitype.OpCreate && is(s.urn, typ, name) })
}

// checkDependencies holds each destroy-order promise to an edge in the
// state: the first resource depends on the second, through dependsOn, an
// input, its provider or its parent, which are what the engine orders
// deletes by. The completion order alone would hold by chance where the
// engine deletes a deeper resource first.
func checkDependencies(t *testing.T, s auto.Stack, promises []order) {
	t.Helper()
	exported, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var deployment struct {
		Resources []struct {
			URN                  string              `json:"urn"`
			Parent               string              `json:"parent"`
			Provider             string              `json:"provider"`
			Dependencies         []string            `json:"dependencies"`
			PropertyDependencies map[string][]string `json:"propertyDependencies"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(exported.Deployment, &deployment); err != nil {
		t.Fatal(err)
	}
	edges := map[string][]string{}
	for _, r := range deployment.Resources {
		deps := append(slices.Clone(r.Dependencies), r.Parent)
		if i := strings.LastIndex(r.Provider, "::"); i > 0 {
			deps = append(deps, r.Provider[:i])
		}
		for _, d := range r.PropertyDependencies {
			deps = append(deps, d...)
		}
		edges[r.URN] = deps
	}
	find := func(r [2]string) string {
		for urn := range edges {
			if is(urn, r[0], r[1]) {
				return urn
			}
		}
		return ""
	}
	for _, p := range promises {
		from, to := find(p.before), find(p.after)
		seen := map[string]bool{}
		var reaches func(string) bool
		reaches = func(u string) bool {
			if u == to {
				return true
			}
			if seen[u] {
				return false
			}
			seen[u] = true
			return slices.ContainsFunc(edges[u], reaches)
		}
		if from == "" || to == "" || !reaches(from) {
			t.Errorf("%s %s does not depend on %s %s in the state: nothing makes the destroy delete it first", p.before[0], p.before[1], p.after[0], p.after[1])
		}
	}
}

// checkOrder checks the destroy's completion order against the promises.
func checkOrder(t *testing.T, done []step, promises []order) {
	t.Helper()
	index := func(r [2]string) int {
		return slices.IndexFunc(done, func(s step) bool { return s.op == apitype.OpDelete && is(s.urn, r[0], r[1]) })
	}
	for _, p := range promises {
		before, after := index(p.before), index(p.after)
		switch {
		case before < 0 || after < 0:
			t.Errorf("destroy did not delete %v (%d) and %v (%d)", p.before, before, p.after, after)
		case before > after:
			t.Errorf("destroy deleted %s %s before %s %s", p.after[0], p.after[1], p.before[0], p.before[1])
		}
	}
}

// checkNothingLeft looks for anything the stack made: in the apiserver
// (the workload's namespace, KEDA's and Karpenter's objects, NodeClaims
// included) and in the stand-ins' state.
func checkNothingLeft(t *testing.T, k *workspace.Kube) {
	t.Helper()
	namespaces, err := k.List("/api/v1/namespaces")
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if ns.Metadata.Name == "edw" || ns.Metadata.Name == "keda" {
			t.Errorf("namespace %s is still there after destroy", ns.Metadata.Name)
		}
	}
	for _, path := range []string{
		"/apis/keda.sh/v1alpha1/scaledobjects",
		"/apis/keda.sh/v1alpha1/triggerauthentications",
		"/apis/karpenter.sh/v1/nodepools",
		"/apis/karpenter.sh/v1/nodeclaims",
		"/apis/karpenter.k8s.aws/v1/ec2nodeclasses",
		"/apis/karpenter.azure.com/v1beta1/aksnodeclasses",
	} {
		left, err := k.List(path)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, o := range left {
			t.Errorf("left after destroy: %s %s/%s", path, o.Metadata.Namespace, o.Metadata.Name)
		}
	}
	files, err := filepath.Glob(filepath.Join(env.StandInState, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no stand-in state in %s (%v): the clouds were never called", env.StandInState, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var state any
		if err := json.Unmarshal(b, &state); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if n := count(state); n > 0 {
			t.Errorf("%s keeps %d resources after destroy", filepath.Base(f), n)
		}
	}
}

// count is how many resources a stand-in state file holds, whether it
// keeps them as a list or keyed by id.
func count(state any) int {
	switch s := state.(type) {
	case []any:
		return len(s)
	case map[string]any:
		if r, ok := s["resources"]; ok {
			return count(r)
		}
		return len(s)
	}
	return 0
}

// TestStackInitKeepsStackFiles runs `pulumi stack init` as a user does in a
// copy of the project: it must add only its encryption salt to the
// committed stack files, and the settings must read back as committed.
func TestStackInitKeepsStackFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.aws.yaml", "Pulumi.azure.yaml"} {
		b, err := os.ReadFile(filepath.Join(env.Root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"aws", "azure"} {
		file := "Pulumi." + name + ".yaml"
		committed, _ := os.ReadFile(filepath.Join(dir, file))
		pulumiCLI(t, dir, "stack", "init", name, "--secrets-provider", "passphrase")
		after, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var added []string
		for _, line := range strings.Split(string(after), "\n") {
			if !strings.Contains(string(committed), line) {
				added = append(added, line)
			}
		}
		if !strings.HasPrefix(string(after), string(committed)) || len(added) != 1 || !strings.HasPrefix(added[0], "encryptionsalt: ") {
			t.Errorf("stack init changed %s beyond its encryption salt:\n%s", file, after)
		}
		values := pulumiCLI(t, dir, "config", "--stack", name, "--json")
		var cfg map[string]struct{ Value string }
		if err := json.Unmarshal([]byte(values), &cfg); err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"aws": "50", "azure": "15"}[name]; cfg["edw:cloud"].Value != name || cfg["edw:kedaMaxReplicas"].Value != want {
			t.Errorf("%s: edw:cloud %q, edw:kedaMaxReplicas %q: want %s and %s", name, cfg["edw:cloud"].Value, cfg["edw:kedaMaxReplicas"].Value, name, want)
		}
	}
}

func pulumiCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(env.CLI(), args...)
	// A backend of its own: the stacks of TestStacks share the names.
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "PULUMI_BACKEND_URL=file://"+dir)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("pulumi %s: %v: %s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

func minus(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return slices.Contains(b, s) })
}

// TestBadConfigFailsBeforeAnyResource gives the engine values it must
// refuse: a wrong type (the CLI's check against Pulumi.yaml) and values out
// of range (the program's), each named with its key, before any resource.
func TestBadConfigFailsBeforeAnyResource(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		set  map[string]string
		want []string
		// asksCloud: the value is judged by the cloud's answer, for which
		// the engine starts the default provider, and nothing else.
		asksCloud bool
	}{
		{map[string]string{"edw:kedaQueueLength": "many"}, []string{"edw:kedaQueueLength", "integer"}, false},
		{map[string]string{"edw:kedaMaxReplicas": "0", "edw:clusterAvailabilityZones": "4"},
			[]string{"edw:kedaMaxReplicas (0) must be >= 1", "edw:clusterAvailabilityZones is 4: want 2 or 3"}, false},
		// EKS answers which versions it offers; one in extended support
		// only needs the key that accepts its price.
		{map[string]string{"edw:clusterVersion": "1.33"}, []string{"edw:clusterVersion is 1.33, which EKS offers in extended support only", "edw:clusterSupportType EXTENDED"}, true},
	} {
		s := newStack(t, "aws")
		for k, v := range tc.set {
			if err := s.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		announced, _, err := stream(func(ch chan<- events.EngineEvent) error {
			_, err := s.Preview(ctx, optpreview.EventStreams(ch))
			return err
		})
		if err == nil {
			t.Errorf("%v: the preview passed", tc.set)
		}
		for _, w := range tc.want {
			if err != nil && !strings.Contains(err.Error(), w) {
				t.Errorf("%v: the error does not say %q:\n%v", tc.set, w, err)
			}
		}
		announced = slices.DeleteFunc(announced, func(s step) bool {
			return strings.HasSuffix(s.urn, "pulumi:pulumi:Stack::edw-aws") || (tc.asksCloud && strings.Contains(s.urn, "::pulumi:providers:aws::default_"))
		})
		if len(announced) > 0 {
			t.Errorf("%v: the preview planned %d resources before failing: %v", tc.set, len(announced), announced)
		}
		if err := s.Workspace().RemoveStack(ctx, "aws"); err != nil {
			t.Fatal(err)
		}
	}
}
