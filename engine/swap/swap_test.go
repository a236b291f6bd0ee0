package swap

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestChartsPointsChartsAtTheStandIn(t *testing.T) {
	transform := Charts("/stand-in")
	got := transform(context.Background(), &pulumi.ResourceTransformArgs{
		Type: ChartType, Name: "consumer-keda",
		Props: pulumi.Map{
			"chart": pulumi.String("keda"), "version": pulumi.String("2.18.1"),
			"repositoryOpts": pulumi.Map{"repo": pulumi.String("https://charts.example")},
			"namespace":      pulumi.String("keda"),
		},
	})
	if got == nil {
		t.Fatal("a chart was not transformed")
	}
	if got.Props["chart"] != pulumi.String("/stand-in") || got.Props["namespace"] != pulumi.String("keda") {
		t.Errorf("props %v: want chart /stand-in and the namespace kept", got.Props)
	}
	for _, k := range []string{"version", "repositoryOpts"} {
		if _, ok := got.Props[k]; ok {
			t.Errorf("%s kept: a local chart has neither", k)
		}
	}
}

func TestChartsLeavesOtherResources(t *testing.T) {
	got := Charts("/stand-in")(context.Background(), &pulumi.ResourceTransformArgs{
		Type: "kubernetes:apps/v1:Deployment", Props: pulumi.Map{"chart": pulumi.String("x")},
	})
	if got != nil {
		t.Errorf("a Deployment was transformed: %v", got.Props)
	}
}

func TestSpecsReplacesTheSwappedSpecByKindAndName(t *testing.T) {
	var pool Object
	pool.Kind, pool.Metadata.Name = "NodePool", "workload"
	pool.Spec = map[string]any{"template": map[string]any{"spec": map[string]any{"nodeClassRef": map[string]any{"kind": "KWOKNodeClass"}}}}
	transform := Specs([]Object{pool})
	args := func(typ, name string) *pulumi.ResourceTransformArgs {
		return &pulumi.ResourceTransformArgs{Type: typ, Props: pulumi.Map{
			"metadata": pulumi.Map{"name": pulumi.String(name)},
			"spec":     pulumi.Map{"template": pulumi.Map{}},
		}}
	}
	got := transform(context.Background(), args("kubernetes:karpenter.sh/v1:NodePool", "workload"))
	if got == nil {
		t.Fatal("the swapped NodePool was not transformed")
	}
	spec, _ := got.Props["spec"].(pulumi.Map)
	if _, ok := spec["template"]; !ok || got.Props["metadata"] == nil {
		t.Errorf("props %v: want the lab's spec and the program's metadata", got.Props)
	}
	for _, other := range []*pulumi.ResourceTransformArgs{
		args("kubernetes:karpenter.sh/v1:NodePool", "system"),
		args("kubernetes:apps/v1:Deployment", "workload"),
		args("aws:sqs/queue:Queue", "workload"),
	} {
		if transform(context.Background(), other) != nil {
			t.Errorf("%s %v was transformed", other.Type, other.Props["metadata"])
		}
	}
}
