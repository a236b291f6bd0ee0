// Package swap is the one place where the engine layer changes what the
// program registers, and only what cannot exist where it runs: Helm charts
// come from repositories this network cannot reach, so each Chart is
// pointed at a local stand-in chart (chart/) while its name, namespace,
// values and dependencies stay the program's. The controllers those charts
// would install run as processes of the lab instead.
package swap

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/internal/transform"
)

// ChartType is the Helm chart component of the Kubernetes provider.
const ChartType = "kubernetes:helm.sh/v4:Chart"

// Charts points every Helm chart at the local chart in dir; register it
// with ctx.RegisterResourceTransform before the program runs.
func Charts(dir string) pulumi.ResourceTransform {
	return transform.Props(ChartType, func(props pulumi.Map) {
		props["chart"] = pulumi.String(dir)
		// A local chart has no repository, and its version is its own.
		delete(props, "repositoryOpts")
		delete(props, "version")
	})
}
