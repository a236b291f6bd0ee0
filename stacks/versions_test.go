package stacks_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/keda"
	"github.com/edw-project/edw/versions"
)

// Every pinned version is the version table's: what the stacks deploy,
// what the lab runs in their place (the same Karpenter, the same
// Kubernetes minor), what the trigger checks build with, and what the
// version table of docs/configuration.md says.
func TestVersionsAreOneTable(t *testing.T) {
	if karpenter.ChartVersion != versions.Karpenter || keda.ChartVersion != versions.Keda || karpenter.NapSchemaVersion != versions.KarpenterAzure {
		t.Errorf("components pin Karpenter %s, KEDA %s, NAP schema %s; the table %s, %s, %s",
			karpenter.ChartVersion, keda.ChartVersion, karpenter.NapSchemaVersion, versions.Karpenter, versions.Keda, versions.KarpenterAzure)
	}
	if !strings.HasPrefix(versions.LabKubernetes, versions.Kubernetes+".") {
		t.Errorf("the lab's control plane %s is not of the clusters' minor %s", versions.LabKubernetes, versions.Kubernetes)
	}
	for _, pin := range []struct{ gomod, module, version string }{
		{"lab/tools/kube/go.mod", "k8s.io/kubernetes", versions.LabKubernetes},
		{"lab/tools/karpenter/go.mod", "sigs.k8s.io/karpenter", versions.Karpenter},
		{"lab/tools/kwok/go.mod", "sigs.k8s.io/kwok", versions.Kwok},
		{"conformance/keda/go.mod", "github.com/kedacore/keda/v2", versions.Keda},
	} {
		b, err := os.ReadFile(pin.gomod)
		if err != nil {
			t.Fatal(err)
		}
		require := regexp.MustCompile(`(?m)^\s*(require\s+)?` + regexp.QuoteMeta(pin.module) + ` v(\S+)`)
		m := require.FindSubmatch(b)
		if m == nil || string(m[2]) != pin.version {
			t.Errorf("%s requires %s %q, want v%s (versions/versions.go)", pin.gomod, pin.module, m, pin.version)
		}
	}
	page, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{versions.Kubernetes, versions.Karpenter, versions.KarpenterAzure, versions.AMIAlias, versions.Keda,
		versions.LabKubernetes, versions.Kwok} {
		if !strings.Contains(string(page), " | "+v+" | ") {
			t.Errorf("docs/configuration.md's version table has no row with %s", v)
		}
	}
}
