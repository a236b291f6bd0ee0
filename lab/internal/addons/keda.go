// Package addons starts the autoscalers the stacks install in the cloud, KEDA
// and Karpenter, as processes against the lab's control plane, and registers
// what they serve.
package addons

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/edw-project/edw/lab/internal/apply"
	"github.com/edw-project/edw/lab/internal/controlplane"
	"github.com/edw-project/edw/lab/internal/proc"
)

const (
	// KedaNamespace holds the lab's KEDA objects (its metrics Service and
	// leader lease). It is not the stack's namespace for KEDA, which the
	// program creates itself when it deploys through the engine.
	KedaNamespace = "edw-lab-keda"
	// metricsServerPort is where KEDA's metrics server listens on
	// controlplane.Address for the apiserver's proxied requests.
	metricsServerPort = 6444
	// operatorGRPC is where the operator serves metrics to the metrics server.
	operatorGRPC        = "127.0.0.1:9666"
	kedaOperatorProbe   = "127.0.0.1:18081"
	kedaOperatorMetrics = "127.0.0.1:18080"
	kedaServerMetrics   = 18082
	metricsService      = "keda-metrics-apiserver"
	externalMetricsAPI  = "v1beta1.external.metrics.k8s.io"
)

// Keda locates KEDA's binaries and CRDs.
type Keda struct {
	Operator, MetricsServer string
	// CRDs is a glob of KEDA's CRD manifests.
	CRDs string
	// Env is added to the operator's environment: what its scalers need to
	// reach the emulators.
	Env []string
}

// StartKeda installs KEDA's CRDs, starts the operator and the metrics server
// and registers the external metrics API, then waits until the apiserver
// reports that API available.
func StartKeda(ctx context.Context, g *proc.Group, cp *controlplane.ControlPlane, a *apply.Applier, k Keda) error {
	crds, err := apply.ReadFiles(k.CRDs)
	if err != nil {
		return fmt.Errorf("keda crds: %w", err)
	}
	if err := a.CRDs(ctx, crds); err != nil {
		return err
	}
	if err := a.Apply(ctx, apply.Object("v1", "Namespace", "", KedaNamespace, nil)); err != nil {
		return err
	}

	// The operator and the metrics server authenticate each other with one
	// certificate, read from ca.crt, tls.crt and tls.key in a folder.
	certs := filepath.Join(cp.Dir, "keda-certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	svc := metricsService + "." + KedaNamespace + ".svc"
	pair, err := cp.CA.Serving(certs, "tls", "keda", "127.0.0.1", controlplane.Address, svc, "keda-operator."+KedaNamespace+".svc")
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(cp.CA.CertFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(certs, "ca.crt"), caPEM, 0o600); err != nil {
		return err
	}
	kubeconfig, err := cp.Kubeconfig("keda", "edw-lab-keda", "system:masters")
	if err != nil {
		return err
	}
	env := append([]string{"KUBECONFIG=" + kubeconfig, "WATCH_NAMESPACE=", "POD_NAMESPACE=" + KedaNamespace,
		"KEDA_CLUSTER_OBJECT_NAMESPACE=" + KedaNamespace}, k.Env...)

	operator, err := g.Start("keda-operator", k.Operator, []string{
		"--leader-elect=false", "--zap-log-level=info", "--cert-dir=" + certs, "--ca-dir=" + certs,
		"--metrics-bind-address=" + kedaOperatorMetrics, "--health-probe-bind-address=" + kedaOperatorProbe,
		"--metrics-service-bind-address=" + operatorGRPC, "--enable-webhook-patching=false",
	}, env)
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := proc.WaitHTTP(waitCtx, operator, http.DefaultClient, "http://"+kedaOperatorProbe+"/readyz"); err != nil {
		return err
	}
	if _, err := g.Start("keda-metrics-apiserver", k.MetricsServer, []string{
		"--bind-address=" + controlplane.Address, "--secure-port=" + strconv.Itoa(metricsServerPort),
		"--tls-cert-file=" + pair.CertFile, "--tls-private-key-file=" + pair.KeyFile, "--cert-dir=" + certs,
		"--lister-kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--metrics-service-address=" + operatorGRPC, "--port=" + strconv.Itoa(kedaServerMetrics),
	}, env); err != nil {
		return err
	}
	return registerMetricsAPI(ctx, a, caPEM)
}

// registerMetricsAPI points the external metrics API at the metrics server.
// There is no kube-proxy: the Service has no selector, its EndpointSlice is
// written by hand, and the apiserver routes to it directly.
func registerMetricsAPI(ctx context.Context, a *apply.Applier, caPEM []byte) error {
	port := map[string]any{"name": "https", "port": int64(443), "targetPort": int64(metricsServerPort)}
	objs := []*unstructured.Unstructured{
		apply.Object("v1", "Service", KedaNamespace, metricsService, map[string]any{"spec": map[string]any{"ports": []any{port}}}),
		apply.Object("discovery.k8s.io/v1", "EndpointSlice", KedaNamespace, metricsService, map[string]any{
			"metadata":    map[string]any{"labels": map[string]any{"kubernetes.io/service-name": metricsService}},
			"addressType": "IPv4",
			"endpoints":   []any{map[string]any{"addresses": []any{controlplane.Address}, "conditions": map[string]any{"ready": true}}},
			"ports":       []any{map[string]any{"name": "https", "port": int64(metricsServerPort), "protocol": "TCP"}},
		}),
		apply.Object("apiregistration.k8s.io/v1", "APIService", "", externalMetricsAPI, map[string]any{"spec": map[string]any{
			"service":              map[string]any{"name": metricsService, "namespace": KedaNamespace, "port": int64(443)},
			"group":                "external.metrics.k8s.io",
			"version":              "v1beta1",
			"caBundle":             base64.StdEncoding.EncodeToString(caPEM),
			"groupPriorityMinimum": int64(100),
			"versionPriority":      int64(100),
		}}),
	}
	if err := a.Apply(ctx, objs...); err != nil {
		return err
	}
	api := a.Client().Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := api.Get(ctx, externalMetricsAPI, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return conditionTrue(got, "Available"), nil
	})
	if err != nil {
		return fmt.Errorf("%s not available (see keda-metrics-apiserver.log): %w", externalMetricsAPI, err)
	}
	return nil
}

func conditionTrue(o *unstructured.Unstructured, kind string) bool {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == kind && m["status"] == "True" {
			return true
		}
	}
	return false
}
