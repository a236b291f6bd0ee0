//go:build engine

package engine_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/mod/modfile"

	"github.com/edw-project/edw/engine/swap"
	"github.com/edw-project/edw/stacks"
)

// standInBinary plays every cloud package; installed under each package's
// name, it takes its part from its own file name.
const standInBinary = "pulumi-resource-standin"

// plugins maps the SDK modules the program links to the plugin each one
// asks the engine for. The Kubernetes provider is the real one.
var plugins = []struct{ module, name, binary string }{
	{"github.com/pulumi/pulumi-aws/sdk/v6", "aws", standInBinary},
	{"github.com/pulumi/pulumi-eks/sdk/v3", "eks", standInBinary},
	{"github.com/pulumi/pulumi-azure-native-sdk/", "azure-native", standInBinary},
	{"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild", "docker-build", standInBinary},
	{"github.com/pulumi/pulumi-kubernetes/sdk/v4", "kubernetes", "pulumi-resource-kubernetes"},
}

// env is where the engine layer keeps its state; see TestMain.
type env struct {
	root, bin, home, standInState, kubeconfig string
	cli                                       auto.PulumiCommand
}

var lab env

// TestMain prepares one Pulumi home for every test: a file backend, the
// stand-in plugins and the Kubernetes provider installed at the versions
// the program's SDKs ask for. It runs inside the lab (make test-engine),
// whose apiserver KUBECONFIG names.
func TestMain(m *testing.M) {
	if err := setUp(); err != nil {
		fmt.Fprintf(os.Stderr, "engine layer: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setUp() error {
	var err error
	if lab.root, err = repoRoot(); err != nil {
		return err
	}
	// The program reads apps/ relative to the project, as `pulumi up` runs it.
	if err := os.Chdir(lab.root); err != nil {
		return err
	}
	lab.kubeconfig = os.Getenv("KUBECONFIG")
	if lab.kubeconfig == "" {
		return fmt.Errorf("KUBECONFIG is not set: run the engine layer in the lab (make test-engine)")
	}
	lab.bin = filepath.Join(lab.root, "build", "engine", "bin")
	if v := os.Getenv("EDW_ENGINE_BIN"); v != "" {
		lab.bin = v
	}
	tmp, err := os.MkdirTemp("", "edw-engine-")
	if err != nil {
		return err
	}
	lab.home = filepath.Join(tmp, "home")
	lab.standInState = filepath.Join(tmp, "standin")
	backend := filepath.Join(tmp, "backend")
	for _, d := range []string{lab.home, lab.standInState, backend} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The CLI, the plugins it starts and this process's inline program all
	// read these.
	for k, v := range map[string]string{
		"PULUMI_HOME":                                 lab.home,
		"PULUMI_BACKEND_URL":                          "file://" + backend,
		"PULUMI_CONFIG_PASSPHRASE":                    "engine-layer",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"EDW_STANDIN_STATE":                           lab.standInState,
		"EDW_STANDIN_KUBECONFIG":                      lab.kubeconfig,
		"PATH":                                        lab.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	// NewPulumiCommand takes the folder above bin/.
	if lab.cli, err = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(lab.bin), SkipVersionCheck: true}); err != nil {
		return err
	}
	return installPlugins()
}

// installPlugins installs each plugin at every version of its SDK module
// that go.mod requires (the azure-native modules differ).
func installPlugins() error {
	b, err := os.ReadFile(filepath.Join(lab.root, "go.mod"))
	if err != nil {
		return err
	}
	mod, err := modfile.ParseLax("go.mod", b, nil)
	if err != nil {
		return err
	}
	installed := 0
	for _, req := range mod.Require {
		for _, p := range plugins {
			if req.Mod.Path != p.module && !(strings.HasSuffix(p.module, "/") && strings.HasPrefix(req.Mod.Path, p.module)) {
				continue
			}
			version := strings.TrimPrefix(req.Mod.Version, "v")
			out, err := exec.Command(filepath.Join(lab.bin, "pulumi"), "plugin", "install", "resource", p.name, version,
				"--file", filepath.Join(lab.bin, p.binary)).CombinedOutput()
			if err != nil {
				return fmt.Errorf("plugin %s %s: %w: %s", p.name, version, err, out)
			}
			installed++
		}
	}
	if installed < len(plugins) {
		return fmt.Errorf("installed %d plugins, want at least %d: is an SDK module missing from go.mod?", installed, len(plugins))
	}
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no Pulumi.yaml above the working directory")
		}
		dir = parent
	}
}

// program is the real program with the one swap the engine layer makes.
func program(ctx *pulumi.Context) error {
	if err := ctx.RegisterResourceTransform(swap.Charts(filepath.Join(lab.root, "engine", "swap", "chart"))); err != nil {
		return err
	}
	return stacks.Run(ctx)
}

// newStack makes the stack from the committed Pulumi.yaml and
// Pulumi.<name>.yaml, so the engine validates the same configuration a
// user's `pulumi preview` does.
func newStack(t *testing.T, name string) auto.Stack {
	t.Helper()
	project, err := workspace.LoadProject(filepath.Join(lab.root, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	settings, err := workspace.LoadProjectStack(diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never}), project, filepath.Join(lab.root, "Pulumi."+name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := auto.UpsertStackInlineSource(ctx, name, project.Name.String(), program,
		auto.Pulumi(lab.cli), auto.WorkDir(t.TempDir()),
		auto.Project(*project), auto.Stacks(map[string]workspace.ProjectStack{name: *settings}),
		auto.SecretsProvider("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step is one resource operation the engine reported.
type step struct {
	op  apitype.OpType
	urn string
}

// run collects the engine's event stream of one operation: the steps it
// announced (ResourcePre) and finished (ResOutputs), in order.
func run(t *testing.T, what string, op func(chan<- events.EngineEvent) error) (announced, done []step) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	collected := make(chan struct{})
	var diags []string
	go func() {
		defer close(collected)
		for e := range ch {
			switch {
			case e.ResourcePreEvent != nil:
				announced = append(announced, step{e.ResourcePreEvent.Metadata.Op, e.ResourcePreEvent.Metadata.URN})
			case e.ResOutputsEvent != nil:
				done = append(done, step{e.ResOutputsEvent.Metadata.Op, e.ResOutputsEvent.Metadata.URN})
			case e.DiagnosticEvent != nil && e.DiagnosticEvent.Severity == "error":
				diags = append(diags, e.DiagnosticEvent.URN+": "+e.DiagnosticEvent.Message)
			}
		}
	}()
	err := op(ch)
	<-collected
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, strings.Join(diags, "\n"))
	}
	return announced, done
}

// changes are the steps that change something.
func changes(steps []step) []step {
	return slices.DeleteFunc(slices.Clone(steps), func(s step) bool {
		return s.op == apitype.OpSame || s.op == apitype.OpRead
	})
}

func urns(steps []step, op apitype.OpType) []string {
	var out []string
	for _, s := range steps {
		if s.op == op {
			out = append(out, s.urn)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// is says whether urn names the resource of type typ called name.
func is(urn, typ, name string) bool {
	i := strings.LastIndex(urn, "::")
	if i < 0 || urn[i+2:] != name {
		return false
	}
	types := urn[:i]
	return strings.HasSuffix(types, "::"+typ) || strings.HasSuffix(types, "$"+typ)
}
