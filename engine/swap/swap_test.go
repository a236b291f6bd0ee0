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
