package standin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const queueURN = "urn:pulumi:dev::edw::edw:queue:Sqs$aws:sqs/queue:Queue::work"

// newServer is a configured stand-in keeping its state in dir.
func newServer(t *testing.T, pkg string, env Env) *Server {
	t.Helper()
	s, err := New(Options{Package: pkg, Version: "1.2.3", Env: env, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: wireOf(t, resource.PropertyMap{
		"region": resource.NewProperty("eu-west-1"), "location": resource.NewProperty("northeurope"),
	})}); err != nil {
		t.Fatal(err)
	}
	return s
}

func wireOf(t *testing.T, pm resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(pm)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fromWire(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	pm, err := unmarshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// create checks and creates a resource as the engine does.
func create(t *testing.T, s *Server, urn string, in resource.PropertyMap) (string, resource.PropertyMap) {
	t.Helper()
	ctx := context.Background()
	checked, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: wireOf(t, in), RandomSeed: []byte(urn)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: checked.GetInputs()})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetId(), fromWire(t, resp.GetProperties())
}

func TestQueueLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	id, out := create(t, s, queueURN, resource.PropertyMap{"visibilityTimeoutSeconds": resource.NewProperty(60.0)})

	name := str(out, "name")
	if !regexp.MustCompile(`^work-[0-9a-f]{7}$`).MatchString(name) {
		t.Errorf("auto-name = %q, want work-<7 hex>", name)
	}
	if want := "https://sqs.eu-west-1.amazonaws.com/123456789012/" + name; id != want || str(out, "url") != want {
		t.Errorf("id, url = %q, %q; want %q", id, str(out, "url"), want)
	}
	if want := "arn:aws:sqs:eu-west-1:123456789012:" + name; str(out, "arn") != want {
		t.Errorf("arn = %q, want %q", str(out, "arn"), want)
	}

	read, err := s.Read(ctx, &pulumirpc.ReadRequest{Id: id, Urn: queueURN})
	if err != nil {
		t.Fatal(err)
	}
	if read.GetId() != id || !fromWire(t, read.GetProperties()).DeepEquals(out) {
		t.Errorf("read = %v, want the created outputs", read)
	}

	news := fromWire(t, read.GetInputs())
	news["visibilityTimeoutSeconds"] = resource.NewProperty(120.0)
	updated, err := s.Update(ctx, &pulumirpc.UpdateRequest{Id: id, Urn: queueURN, Olds: read.GetProperties(), News: wireOf(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	up := fromWire(t, updated.GetProperties())
	if up["visibilityTimeoutSeconds"].NumberValue() != 120 || str(up, "arn") != str(out, "arn") {
		t.Errorf("updated = %v, want the new timeout and the same arn", up)
	}

	for range 2 { // deleting what is gone is no error
		if _, err := s.Delete(ctx, &pulumirpc.DeleteRequest{Id: id, Urn: queueURN}); err != nil {
			t.Fatal(err)
		}
	}
	if gone, err := s.Read(ctx, &pulumirpc.ReadRequest{Id: id, Urn: queueURN}); err != nil || gone.GetId() != "" {
		t.Errorf("read after delete = %v, %v; want no id", gone, err)
	}
	if _, err := s.Update(ctx, &pulumirpc.UpdateRequest{Id: id, Urn: queueURN, News: wireOf(t, news)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update after delete: %v, want ErrNotFound", err)
	}
}

func TestCreatingATakenNameFails(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	named := resource.PropertyMap{"name": resource.NewProperty("edw-dev")}
	create(t, s, "urn:pulumi:dev::edw::aws:eks/cluster:Cluster::a", named)
	_, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: "urn:pulumi:dev::edw::aws:eks/cluster:Cluster::b", Properties: wireOf(t, named)})
	if !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second cluster named edw-dev: %v, want ErrAlreadyExists", err)
	}
}

func TestCheckKeepsTheOldName(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	olds := resource.PropertyMap{"name": resource.NewProperty("work-abcdef0")}
	resp, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: queueURN, Olds: wireOf(t, olds), News: wireOf(t, resource.PropertyMap{})})
	if err != nil {
		t.Fatal(err)
	}
	if got := str(fromWire(t, resp.GetInputs()), "name"); got != "work-abcdef0" {
		t.Errorf("name = %q, want the old one", got)
	}
}

func TestStatePersistsAcrossServers(t *testing.T) {
	env := Env{StateDir: t.TempDir()}
	urn := "urn:pulumi:dev::edw::eks:index:Cluster$aws:eks/cluster:Cluster::cluster-eksCluster"
	first := newServer(t, "aws", env)
	subnet, _ := create(t, first, "urn:pulumi:dev::edw::aws:ec2/subnet:Subnet::a", resource.PropertyMap{})
	id, out := create(t, first, urn, resource.PropertyMap{
		"name":      resource.NewProperty("edw-dev"),
		"vpcConfig": resource.NewProperty(resource.PropertyMap{"subnetIds": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(subnet)})}),
	})

	other := newServer(t, "aws", env)
	read, err := other.Read(context.Background(), &pulumirpc.ReadRequest{Id: id, Urn: urn})
	if err != nil || read.GetId() != "edw-dev" {
		t.Fatalf("read by another server = %v, %v; want the cluster", read, err)
	}
	got, err := other.Invoke(context.Background(), &pulumirpc.InvokeRequest{
		Tok: "aws:eks/getCluster:getCluster", Args: wireOf(t, resource.PropertyMap{"name": resource.NewProperty("edw-dev")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	sg := str(obj(fromWire(t, got.GetReturn()), "vpcConfig"), "clusterSecurityGroupId")
	if want := str(obj(out, "vpcConfig"), "clusterSecurityGroupId"); sg != want || !strings.HasPrefix(sg, "sg-") {
		t.Errorf("clusterSecurityGroupId = %q, want the created %q", sg, want)
	}
}

func TestLookupsOfWhatWasNeverCreatedFail(t *testing.T) {
	env := Env{StateDir: t.TempDir(), Kubeconfig: writeKubeconfig(t)}
	_, err := newServer(t, "aws", env).Invoke(context.Background(), &pulumirpc.InvokeRequest{
		Tok: "aws:eks/getCluster:getCluster", Args: wireOf(t, resource.PropertyMap{"name": resource.NewProperty("nope")}),
	})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "stand-in aws: ") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("getCluster of an unknown cluster: %v, want a stand-in ResourceNotFoundException", err)
	}
	_, err = newServer(t, "azure-native", env).Invoke(context.Background(), &pulumirpc.InvokeRequest{
		Tok:  "azure-native:containerservice/v20241002preview:listManagedClusterUserCredentials",
		Args: wireOf(t, resource.PropertyMap{"resourceGroupName": resource.NewProperty("rg"), "resourceName": resource.NewProperty("nope")}),
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("user credentials of an unknown cluster: %v, want ErrNotFound", err)
	}
	_, err = newServer(t, "aws", env).Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "aws:s3/getBucket:getBucket"})
	if err == nil || err.Error() != "stand-in aws: no answer for aws:s3/getBucket:getBucket" {
		t.Errorf("unknown function: %v", err)
	}
}

func TestDiff(t *testing.T) {
	s := newServer(t, "aws", Env{StateDir: t.TempDir()})
	olds := resource.PropertyMap{
		"name":     resource.NewProperty("work-abcdef0"),
		"policy":   resource.MakeSecret(resource.NewProperty("p")),
		"delay":    resource.NewProperty(0.0),
		"tags":     resource.NewProperty(resource.PropertyMap{"a": resource.NewProperty("1")}),
		"obsolete": resource.NewProperty(true),
	}
	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		resp, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: queueURN, OldInputs: wireOf(t, olds), News: wireOf(t, news)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	same := olds.Copy()
	same["policy"] = resource.NewProperty("p") // only the secret mark differs
	if got := diff(same); got.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE || len(got.GetDiffs()) != 0 {
		t.Errorf("diff of equal inputs = %v, want none", got)
	}

	news := olds.Copy()
	news["name"] = resource.NewProperty("renamed")
	news["tags"] = resource.NewProperty(resource.PropertyMap{"a": resource.NewProperty("2")})
	news["added"] = resource.NewProperty("x")
	delete(news, "obsolete")
	got := diff(news)
	if got.GetChanges() != pulumirpc.DiffResponse_DIFF_SOME ||
		!slices.Equal(got.GetDiffs(), []string{"added", "name", "obsolete", "tags"}) ||
		!slices.Equal(got.GetReplaces(), []string{"name"}) {
		t.Errorf("diff = %v, want added, name (replace), obsolete, tags", got)
	}
	for key, kind := range map[string]pulumirpc.PropertyDiff_Kind{
		"added": pulumirpc.PropertyDiff_ADD, "name": pulumirpc.PropertyDiff_UPDATE_REPLACE,
		"obsolete": pulumirpc.PropertyDiff_DELETE, "tags": pulumirpc.PropertyDiff_UPDATE,
	} {
		if got.GetDetailedDiff()[key].GetKind() != kind {
			t.Errorf("detailed diff of %s = %v, want %v", key, got.GetDetailedDiff()[key], kind)
		}
	}
}

func TestPreviewKeepsNothing(t *testing.T) {
	env := Env{StateDir: t.TempDir()}
	s := newServer(t, "aws", env)
	resp, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: queueURN, Preview: true, Properties: wireOf(t, resource.PropertyMap{"name": resource.NewProperty("work")}),
	})
	if err != nil {
		t.Fatal(err)
	}
	out := fromWire(t, resp.GetProperties())
	if resp.GetId() != "" || !out["arn"].IsComputed() || !out["url"].IsComputed() || str(out, "name") != "work" {
		t.Errorf("preview = %v %v, want no id, the name, arn and url unknown", resp.GetId(), out)
	}
	if _, ok, err := s.store.find(func(Resource) bool { return true }); ok || err != nil {
		t.Errorf("the preview kept a resource (%v)", err)
	}
}

func TestSecretsStaySecret(t *testing.T) {
	env := Env{StateDir: t.TempDir()}
	urn := "urn:pulumi:dev::edw::aws:sqs/queuePolicy:QueuePolicy::work"
	id, out := create(t, newServer(t, "aws", env), urn, resource.PropertyMap{"policy": resource.MakeSecret(resource.NewProperty("{}"))})
	if !out["policy"].IsSecret() {
		t.Errorf("created policy = %v, want a secret", out["policy"])
	}
	read, err := newServer(t, "aws", env).Read(context.Background(), &pulumirpc.ReadRequest{Id: id, Urn: urn})
	if err != nil {
		t.Fatal(err)
	}
	if v := fromWire(t, read.GetProperties())["policy"]; !v.IsSecret() || plain(v).StringValue() != "{}" {
		t.Errorf("read policy = %v, want the secret back", v)
	}
}

func TestConfigureNeedsTheStateDirectory(t *testing.T) {
	s, err := New(Options{Package: "aws", Version: "1.2.3", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{}); err == nil || !strings.Contains(err.Error(), StateEnv) {
		t.Errorf("Configure without state: %v, want an error naming %s", err, StateEnv)
	}
	if info, err := s.GetPluginInfo(context.Background(), nil); err != nil || info.GetVersion() != "1.2.3" {
		t.Errorf("plugin info = %v, %v", info, err)
	}
}

func TestCallsAreRecorded(t *testing.T) {
	env := Env{StateDir: t.TempDir()}
	id, _ := create(t, newServer(t, "aws", env), queueURN, resource.PropertyMap{})

	f, err := os.Open(filepath.Join(env.StateDir, "aws.calls.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []Call
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
	}
	if !slices.Equal(methods, []string{"Configure", "Check", "Create"}) {
		t.Fatalf("calls = %v, want Configure, Check, Create", methods)
	}
	created := calls[2]
	if created.Token != "aws:sqs/queue:Queue" || created.URN != queueURN || created.ID != id || created.Time.IsZero() {
		t.Errorf("create call = %+v", created)
	}
}
