package stacks_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edw-project/edw/components/karpenter"
	"github.com/edw-project/edw/components/keda"
	"github.com/edw-project/edw/versions"
)

// crdSource is where a module keeps the CRDs of one version.
type crdSource struct{ module, version, dir string }

// crdSources are the CRDs each stack's objects must satisfy, at the versions
// the program deploys: the same constants pick the charts and the schemas.
var crdSources = map[string][]crdSource{
	"aws": {
		{"github.com/kedacore/keda/v2", keda.ChartVersion, "config/crd/bases"},
		{"github.com/aws/karpenter-provider-aws", karpenter.ChartVersion, "pkg/apis/crds"},
	},
	"azure": {
		{"github.com/kedacore/keda/v2", keda.ChartVersion, "config/crd/bases"},
		{"github.com/Azure/karpenter-provider-azure", karpenter.NapSchemaVersion, "pkg/apis/crds"},
	},
}

// openAPIDir is where k8s.io/kubernetes keeps the OpenAPI v3 schemas of
// its built-in kinds, one file per group and version.
const openAPIDir = "api/openapi-spec/v3"

// tool finds a checker `make tools` builds into build/bin; without it the
// test skips, except under CI.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("build", "bin", name))
	if err == nil {
		if _, err = os.Stat(path); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing (%v): run make tools", name, err)
	}
	t.Skip(name + " missing: run make tools")
	return ""
}

// moduleDir downloads module at version from the module proxy and returns
// its folder.
func moduleDir(t *testing.T, module, version string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module+"@v"+version).Output()
	if err != nil {
		t.Fatalf("download %s@v%s: %v", module, version, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Error != "" {
		t.Fatalf("download %s@v%s: %v %s", module, version, err, mod.Error)
	}
	return mod.Dir
}

// builtinSchemas lays out the OpenAPI of the Kubernetes release the
// clusters run as kubectl-validate reads it (api/v1.json,
// apis/<group>/<version>.json): its own bundled schemas stop at 1.30.
func builtinSchemas(t *testing.T) string {
	t.Helper()
	src := filepath.Join(moduleDir(t, "k8s.io/kubernetes", versions.LabKubernetes), openAPIDir)
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(src, "*__*_openapi.json"))
	for _, f := range files {
		// api__v1_openapi.json, apis__apps__v1_openapi.json; not the
		// groups' own lists (apis__apps_openapi.json)
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), "_openapi.json"), "__")
		if len(parts) != 3 && parts[0] != "api" {
			continue
		}
		target := filepath.Join(append([]string{dir}, parts...)...) + ".json"
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(f, target); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "apis", "apps", "v1.json")); err != nil {
		t.Fatalf("no apps/v1 schema among %d files of %s: %v", len(files), src, err)
	}
	return dir
}

// crds gathers a stack's CRDs from the module proxy into one folder.
func crds(t *testing.T, stack string) string {
	t.Helper()
	dir := t.TempDir()
	for _, src := range crdSources[stack] {
		modDir := moduleDir(t, src.module, src.version)
		files, _ := filepath.Glob(filepath.Join(modDir, src.dir, "*.yaml"))
		if len(files) == 0 {
			t.Fatalf("no CRDs in %s/%s", modDir, src.dir)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// validate runs kubectl-validate on paths and returns its report and
// whether everything passed.
func validate(t *testing.T, crdDir string, paths ...string) (string, bool) {
	t.Helper()
	args := append(paths, "--local-schemas", builtinSchemas(t), "--local-crds", crdDir, "--output", "json")
	out, err := exec.Command(tool(t, "kubectl-validate"), args...).CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("kubectl-validate: %v", err)
	}
	return string(out), err == nil
}

// Every Kubernetes object the program creates passes the API server's own
// validation: built-in schemas, and the KEDA and Karpenter CRDs with their
// enums, patterns and CEL rules.
func TestManifestsMatchUpstreamSchemas(t *testing.T) {
	for _, stack := range []string{"aws", "azure"} {
		t.Run(stack, func(t *testing.T) {
			dir := t.TempDir()
			p := plan(t, stack)
			if err := p.Write(dir); err != nil {
				t.Fatal(err)
			}
			n := len(p.Manifests())
			if n < 9 {
				t.Fatalf("%d objects rendered, want the namespace, accounts, Deployments, KEDA and Karpenter objects", n)
			}
			report, ok := validate(t, crds(t, stack), filepath.Join(dir, "manifests"))
			if !ok {
				t.Fatalf("%d objects, some invalid:\n%s", n, report)
			}
		})
	}
}

// The check can fail: objects the samples shipped (Karpenter v1beta1-era
// values) and broken fields are refused.
func TestSchemaCheckRejectsBadObjects(t *testing.T) {
	dir := t.TempDir()
	if err := plan(t, "aws").Write(dir); err != nil {
		t.Fatal(err)
	}
	nodePool, err := os.ReadFile(filepath.Join(dir, "manifests", "nodepool-cluster-workload.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := os.ReadFile(filepath.Join(dir, "manifests", "scaledobject-edw-consumer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deployment, err := os.ReadFile(filepath.Join(dir, "manifests", "deployment-edw-consumer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crdDir := crds(t, "aws")
	for name, bad := range map[string]string{
		"deprecated consolidation policy": strings.Replace(string(nodePool), "WhenEmptyOrUnderutilized", "WhenUnderutilized", 1),
		"duration the CRD refuses":        strings.Replace(string(nodePool), "consolidateAfter: 1m", "consolidateAfter: 1.5m", 1),
		"unknown ScaledObject field":      strings.Replace(string(scaled), "pollingInterval:", "pollingIntervall:", 1),
		"unknown Deployment field":        strings.Replace(string(deployment), "replicas:", "replicaz:", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if bad == string(nodePool) || bad == string(scaled) || bad == string(deployment) {
				t.Fatal("the mutation did not apply")
			}
			f := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			if report, ok := validate(t, crdDir, f); ok {
				t.Fatalf("accepted:\n%s\nreport: %s", bad, report)
			}
		})
	}
}
