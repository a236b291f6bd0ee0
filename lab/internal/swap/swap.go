// Package swap is the one place where the lab changes what the stack
// rendered, and only what cannot exist without a cloud:
//
//   - the cloud's node class (EC2NodeClass, AKSNodeClass, EKS Auto Mode's
//     NodeClass) becomes a KWOKNodeClass, and the NodePool's instance-family
//     requirement becomes the same requirement on kwok's label; its families
//     and architectures say which stand-in instance types to offer;
//   - the KEDA trigger reads the emulator's queue: SQS gets the emulator's
//     endpoint and queue URL (the operator's credentials come from its
//     environment, as EKS Pod Identity provides them); Azure workload
//     identity becomes the emulator's connection string in a Secret;
//   - a consumer process gets the emulator endpoints and credentials on top
//     of the Deployment's own environment.
//
// Everything else (names, the Deployment, the ScaledObject's scaling
// settings, the NodePool's limits and disruption) is applied as rendered.
package swap

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/edw-project/edw/lab/internal/apply"
	"github.com/edw-project/edw/lab/internal/boot"
)

const (
	kwokGroup   = "karpenter.kwok.sh"
	kwokVersion = "v1alpha1"
	// FamilyLabel is kwok's instance family label.
	FamilyLabel = kwokGroup + "/instance-family"
	// EmulatorSecret holds the emulator connection for KEDA's Azure trigger.
	EmulatorSecret = "edw-lab-emulator"
)

// familyLabels are the cloud labels that name an instance family, which the
// lab's stand-in instance types carry as kwok's family label.
var familyLabels = []string{
	"karpenter.k8s.aws/instance-category",
	"karpenter.k8s.aws/instance-family",
	"eks.amazonaws.com/instance-category",
	"karpenter.azure.com/sku-family",
}

// providerDomains are the label domains only a cloud's Karpenter provider
// (or EKS Auto Mode) knows.
var providerDomains = []string{"karpenter.k8s.aws/", "eks.amazonaws.com/", "karpenter.azure.com/"}

// nodeClassKinds are the cloud node classes (EKS Auto Mode's NodeClass is
// built in and not rendered); a KWOKNodeClass of the same name replaces each
// one a NodePool refers to.
var nodeClassKinds = []string{"EC2NodeClass", "AKSNodeClass", "NodeClass"}

// archLabel is the well-known architecture label.
const archLabel = "kubernetes.io/arch"

// Emulator is what stands in for the cloud.
type Emulator struct {
	// QueueURL is the emulator's URL of the work queue (SQS).
	QueueURL string
	// SQSEndpoint is the emulator's SQS endpoint.
	SQSEndpoint string
	// ConnectionString reaches the Storage emulator (Azure).
	ConnectionString string
}

// Result is the swapped objects and what the lab must provide for them.
type Result struct {
	Objects []*unstructured.Unstructured
	// Families and Architectures are what the NodePools admit; the lab
	// offers instance types of each.
	Families, Architectures []string
	// Notes say what was dropped, for the run's log.
	Notes []string
}

// Objects swaps the rendered objects for the lab.
func Objects(rendered []*unstructured.Unstructured, em Emulator) (Result, error) {
	var r Result
	for _, in := range rendered {
		o := in.DeepCopy()
		if slices.Contains(nodeClassKinds, o.GetKind()) {
			r.Notes = append(r.Notes, fmt.Sprintf("%s %s replaced by a KWOKNodeClass of that name", o.GetKind(), o.GetName()))
			continue
		}
		switch o.GetKind() {
		case "NodePool":
			if err := r.nodePool(o); err != nil {
				return Result{}, fmt.Errorf("nodepool %s: %w", o.GetName(), err)
			}
		case "ScaledObject":
			if err := scaledObject(o, em); err != nil {
				return Result{}, fmt.Errorf("scaledobject %s: %w", o.GetName(), err)
			}
		case "TriggerAuthentication":
			if extra, err := triggerAuthentication(o, em); err != nil {
				return Result{}, fmt.Errorf("triggerauthentication %s: %w", o.GetName(), err)
			} else if extra != nil {
				r.Objects = append(r.Objects, extra)
			}
		}
		r.Objects = append(r.Objects, o)
	}
	slices.Sort(r.Families)
	r.Families = slices.Compact(r.Families)
	slices.Sort(r.Architectures)
	r.Architectures = slices.Compact(r.Architectures)
	if len(r.Architectures) == 0 {
		r.Architectures = []string{"amd64"}
	}
	return r, nil
}

func (r *Result) nodePool(o *unstructured.Unstructured) error {
	ref, found, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec", "nodeClassRef")
	if !found || !slices.Contains(nodeClassKinds, fmt.Sprint(ref["kind"])) {
		return fmt.Errorf("nodeClassRef %v: want one of %v", ref, nodeClassKinds)
	}
	ref["group"], ref["kind"] = kwokGroup, "KWOKNodeClass"
	if err := unstructured.SetNestedMap(o.Object, ref, "spec", "template", "spec", "nodeClassRef"); err != nil {
		return err
	}
	class := fmt.Sprint(ref["name"])
	if !slices.ContainsFunc(r.Objects, func(o *unstructured.Unstructured) bool { return o.GetKind() == "KWOKNodeClass" && o.GetName() == class }) {
		r.Objects = append(r.Objects, kwokNodeClass(class))
	}
	reqs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "requirements")
	var kept []any
	for _, raw := range reqs {
		req, _ := raw.(map[string]any)
		key := fmt.Sprint(req["key"])
		switch {
		case slices.Contains(familyLabels, key):
			req["key"] = FamilyLabel
			values, _, _ := unstructured.NestedStringSlice(req, "values")
			if req["operator"] != "In" || len(values) == 0 {
				return fmt.Errorf("requirement %s: the lab maps only \"In\" with values to instance families", key)
			}
			r.Families = append(r.Families, values...)
		case key == archLabel:
			values, _, _ := unstructured.NestedStringSlice(req, "values")
			r.Architectures = append(r.Architectures, values...)
		case slices.ContainsFunc(providerDomains, func(d string) bool { return strings.HasPrefix(key, d) }):
			r.Notes = append(r.Notes, fmt.Sprintf("NodePool %s: requirement %s dropped (no kwok counterpart)", o.GetName(), key))
			continue
		}
		kept = append(kept, req)
	}
	if len(r.Families) == 0 {
		return fmt.Errorf("no requirement on %v: the lab cannot tell which instance families to offer", familyLabels)
	}
	if err := unstructured.SetNestedSlice(o.Object, kept, "spec", "template", "spec", "requirements"); err != nil {
		return err
	}
	// The node boots (package boot) before pods may run on it.
	taints, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "startupTaints")
	taints = append(taints, map[string]any{"key": boot.Taint, "effect": "NoSchedule"})
	return unstructured.SetNestedSlice(o.Object, taints, "spec", "template", "spec", "startupTaints")
}

func kwokNodeClass(name string) *unstructured.Unstructured {
	return apply.Object(kwokGroup+"/"+kwokVersion, "KWOKNodeClass", "", name, map[string]any{"spec": map[string]any{}})
}

func scaledObject(o *unstructured.Unstructured, em Emulator) error {
	triggers, _, _ := unstructured.NestedSlice(o.Object, "spec", "triggers")
	for _, raw := range triggers {
		t, _ := raw.(map[string]any)
		meta, _ := t["metadata"].(map[string]any)
		switch t["type"] {
		case "aws-sqs-queue":
			if em.QueueURL == "" || em.SQSEndpoint == "" {
				return fmt.Errorf("aws-sqs-queue trigger: the emulator has no SQS queue")
			}
			meta["queueURL"], meta["awsEndpoint"] = em.QueueURL, em.SQSEndpoint
		case "azure-queue":
			if em.ConnectionString == "" {
				return fmt.Errorf("azure-queue trigger: the emulator has no connection string")
			}
		default:
			// Other triggers (Prometheus) query services the lab does not run.
			return fmt.Errorf("trigger type %v: the lab runs aws-sqs-queue and azure-queue triggers only; unset the config that adds it", t["type"])
		}
	}
	return unstructured.SetNestedSlice(o.Object, triggers, "spec", "triggers")
}

// triggerAuthentication replaces Azure workload identity with the emulator's
// connection string, and returns the Secret that holds it.
func triggerAuthentication(o *unstructured.Unstructured, em Emulator) (*unstructured.Unstructured, error) {
	provider, _, _ := unstructured.NestedString(o.Object, "spec", "podIdentity", "provider")
	switch provider {
	case "aws":
		return nil, nil
	case "azure-workload":
		unstructured.RemoveNestedField(o.Object, "spec", "podIdentity")
		ref := []any{map[string]any{"parameter": "connection", "name": EmulatorSecret, "key": "connection"}}
		if err := unstructured.SetNestedSlice(o.Object, ref, "spec", "secretTargetRef"); err != nil {
			return nil, err
		}
		return apply.Object("v1", "Secret", o.GetNamespace(), EmulatorSecret,
			map[string]any{"stringData": map[string]any{"connection": em.ConnectionString}}), nil
	}
	return nil, fmt.Errorf("podIdentity provider %q: want aws or azure-workload", provider)
}

// ProcessEnv is the environment of a consumer process backing a pod: the
// container's own variables, then the emulator's (later entries win), then
// where to serve its probes and metrics.
func ProcessEnv(container, emulator []string, httpAddr string) []string {
	env := slices.Concat(container, emulator)
	return append(env, "EDW_HTTP_ADDR="+httpAddr)
}
