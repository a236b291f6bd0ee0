package keda

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/yaml"
)

// messages is how many messages each case enqueues; the scaler must see
// exactly these.
const messages = 23

// rendered is a stack's ScaledObject trigger and TriggerAuthentication as
// `make render` wrote them.
type rendered struct {
	triggerType string
	metadata    map[string]string
	podIdentity kedav1alpha1.AuthPodIdentity
}

func load(t *testing.T, stack string) rendered {
	t.Helper()
	dir := os.Getenv("EDW_RENDER_DIR")
	if dir == "" {
		dir = "../../build/render"
	}
	var so kedav1alpha1.ScaledObject
	var ta kedav1alpha1.TriggerAuthentication
	for file, into := range map[string]any{"scaledobject-edw-consumer.yaml": &so, "triggerauthentication-edw-consumer.yaml": &ta} {
		b, err := os.ReadFile(filepath.Join(dir, stack, "manifests", file))
		if err != nil {
			t.Fatalf("%v (run make render first)", err)
		}
		// Strict: a field KEDA's API types do not know fails here.
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Fatalf("%s/%s: %v", stack, file, err)
		}
	}
	if len(so.Spec.Triggers) == 0 || ta.Spec.PodIdentity == nil {
		t.Fatalf("%s: no trigger or no pod identity rendered", stack)
	}
	return rendered{so.Spec.Triggers[0].Type, so.Spec.Triggers[0].Metadata, *ta.Spec.PodIdentity}
}

func requireEmulators(t *testing.T) {
	t.Helper()
	if os.Getenv("EDW_EMULATORS") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but the emulators are not running")
		}
		t.Skip("emulators not running")
	}
}

// config is what KEDA's operator hands a scaler for the rendered trigger.
func config(r rendered, metadata map[string]string, auth map[string]string, identity kedav1alpha1.AuthPodIdentity, recorder events.EventRecorder) *scalersconfig.ScalerConfig {
	return &scalersconfig.ScalerConfig{
		ScalableObjectName:      "consumer",
		ScalableObjectNamespace: "edw",
		ScalableObjectType:      "ScaledObject",
		TriggerType:             r.triggerType,
		TriggerMetadata:         metadata,
		AuthParams:              auth,
		PodIdentity:             identity,
		GlobalHTTPTimeout:       10 * time.Second,
		TriggerUniqueKey:        "edw-consumer-0",
		Recorder:                recorder,
		ScaledObject:            &kedav1alpha1.ScaledObject{},
	}
}

// queueLength asks the scaler for its metric, as the metrics server does.
func queueLength(t *testing.T, s scalers.Scaler) int64 {
	t.Helper()
	ctx := context.Background()
	spec := s.GetMetricSpecForScaling(ctx)
	if len(spec) != 1 || spec[0].External == nil {
		t.Fatalf("metric spec %v", spec)
	}
	values, active, err := s.GetMetricsAndActivity(ctx, spec[0].External.Metric.Name)
	if err != nil || len(values) != 1 {
		t.Fatalf("metrics: %v %v", values, err)
	}
	if !active {
		t.Error("scaler reports inactive with messages queued")
	}
	return values[0].Value.Value()
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// readOutsideTypedConfig are trigger fields a scaler reads itself rather
// than through its typed configuration, which KEDA's unknown-field check
// does not see; a negative case below proves each one is read.
var readOutsideTypedConfig = []string{"property cloud in scaler azure-queue"}

// unexpected are the "Unmatched input property" warnings KEDA raised.
func unexpected(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			if strings.Contains(e, "Unmatched input property") && !slices.ContainsFunc(readOutsideTypedConfig, func(known string) bool { return strings.Contains(e, known) }) {
				out = append(out, e)
			}
		default:
			return out
		}
	}
}

func TestAwsSqsQueueTrigger(t *testing.T) {
	requireEmulators(t)
	r := load(t, "aws")
	if r.triggerType != "aws-sqs-queue" || r.podIdentity.Provider != kedav1alpha1.PodIdentityProviderAws {
		t.Fatalf("rendered %s with pod identity %q", r.triggerType, r.podIdentity.Provider)
	}
	// The emulator holds a queue of the rendered queue's name.
	u, err := url.Parse(r.metadata["queueURL"])
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(u.Path)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	for i := range messages {
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}

	// Only the endpoint changes; the rendered pod identity (the operator's
	// own credentials, here the emulator's) is what authenticates.
	rec := events.NewFakeRecorder(16)
	s, err := scalers.NewAwsSqsQueueScaler(ctx, config(r, with(r.metadata, "awsEndpoint", os.Getenv("AWS_ENDPOINT_URL_SQS")), nil, r.podIdentity, rec))
	if err != nil {
		t.Fatalf("KEDA refuses the rendered trigger: %v", err)
	}
	if got := queueLength(t, s); got != messages {
		t.Errorf("KEDA reads %d messages, want %d", got, messages)
	}
	if w := unexpected(rec); len(w) > 0 {
		t.Errorf("KEDA does not know rendered fields: %v", w)
	}

	// Negative: the same trigger without its pod identity has no credentials
	// (the deprecated identityOwner path), and KEDA refuses it.
	if _, err := scalers.NewAwsSqsQueueScaler(ctx, config(r, r.metadata, nil, kedav1alpha1.AuthPodIdentity{}, rec)); err == nil {
		t.Error("KEDA accepts the trigger without a pod identity; the check proves nothing")
	}
	// Negative: a misspelt field is reported.
	if _, err := scalers.NewAwsSqsQueueScaler(ctx, config(r, with(r.metadata, "queueLenght", "5"), nil, r.podIdentity, rec)); err != nil {
		t.Fatal(err)
	}
	if w := unexpected(rec); len(w) == 0 {
		t.Error("KEDA did not report a misspelt field; run with KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled")
	}
}

func TestAzureQueueTrigger(t *testing.T) {
	requireEmulators(t)
	r := load(t, "azure")
	if r.triggerType != "azure-queue" || r.podIdentity.Provider != kedav1alpha1.PodIdentityProviderAzureWorkload || r.podIdentity.GetIdentityID() == "" {
		t.Fatalf("rendered %s with pod identity %+v", r.triggerType, r.podIdentity)
	}
	rec := events.NewFakeRecorder(16)
	// KEDA's own parsing accepts the rendered trigger with its workload
	// identity (the token itself is only fetched when it reads the queue).
	if _, err := scalers.NewAzureQueueScaler(config(r, r.metadata, nil, r.podIdentity, rec)); err != nil {
		t.Fatalf("KEDA refuses the rendered trigger: %v", err)
	}
	if w := unexpected(rec); len(w) > 0 {
		t.Errorf("KEDA does not know rendered fields: %v", w)
	}

	ctx := context.Background()
	conn := os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
	svc, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	queue := svc.NewQueueClient(r.metadata["queueName"])
	if _, err := queue.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { queue.Delete(context.Background(), nil) })
	for i := range messages {
		if _, err := queue.EnqueueMessage(ctx, fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The emulator takes a connection string instead of workload identity;
	// everything else is as rendered.
	s, err := scalers.NewAzureQueueScaler(config(r, r.metadata, map[string]string{"connection": conn}, kedav1alpha1.AuthPodIdentity{}, rec))
	if err != nil {
		t.Fatal(err)
	}
	if got := queueLength(t, s); got != messages {
		t.Errorf("KEDA reads %d messages, want %d", got, messages)
	}

	// Negative: KEDA does read the cloud field: an unknown cloud is refused.
	if _, err := scalers.NewAzureQueueScaler(config(r, with(r.metadata, "cloud", "NoSuchCloud"), nil, r.podIdentity, rec)); err == nil {
		t.Error("KEDA accepts an unknown cloud; the cloud field is not read")
	}
	// Negative: a misspelt field is reported.
	if _, err := scalers.NewAzureQueueScaler(config(r, with(r.metadata, "queueLenght", "5"), nil, r.podIdentity, rec)); err != nil {
		t.Fatal(err)
	}
	if w := unexpected(rec); len(w) == 0 {
		t.Error("KEDA did not report a misspelt field; run with KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled")
	}
	// Negative: a pod identity provider KEDA dropped is refused.
	if _, err := scalers.NewAzureQueueScaler(config(r, r.metadata, nil, kedav1alpha1.AuthPodIdentity{Provider: "azure"}, rec)); err == nil {
		t.Error("KEDA accepts the removed aad-pod-identity provider; the check proves nothing")
	}
}
