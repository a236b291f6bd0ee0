// Package workspace runs the program through the real Pulumi engine on this
// machine: the Pulumi CLI drives it inline (the program's own process
// serves the language protocol), the real Kubernetes provider deploys to
// the apiserver a kubeconfig names, and stand-in plugins answer for the
// clouds (aws, azure-native, eks, docker-build). The engine layer's tests
// and the lab's deploys share it.
package workspace

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
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

// plugins maps the SDK modules the program requires to the plugin each one
// asks the engine for. The Kubernetes provider is the real one.
var plugins = []struct{ module, name, binary string }{
	{"github.com/pulumi/pulumi-aws/sdk/v6", "aws", standInBinary},
	{"github.com/pulumi/pulumi-eks/sdk/v3", "eks", standInBinary},
	{"github.com/pulumi/pulumi-azure-native-sdk/", "azure-native", standInBinary},
	{"github.com/pulumi/pulumi-docker-build/sdk/go/dockerbuild", "docker-build", standInBinary},
	{"github.com/pulumi/pulumi-kubernetes/sdk/v4", "kubernetes", "pulumi-resource-kubernetes"},
}

// prebuilt are settings a stack needs here and a cloud does not: the Azure
// program trades the deployer's Azure AD token for a registry token itself,
// over HTTPS to the registry (as az acr login does), which no plugin can
// stand in for; so the Azure stack deploys prebuilt images, as CI previews
// do.
var prebuilt = map[string]map[string]string{
	"azure": {
		"edw:imagesConsumer": "edwlab.azurecr.io/edw-consumer@sha256:" + strings.Repeat("1", 64),
		"edw:imagesProducer": "edwlab.azurecr.io/edw-producer@sha256:" + strings.Repeat("2", 64),
	},
}

// Prebuilt is the configuration the stack needs here beyond its committed
// stack file (see prebuilt), for a test that sets it with `pulumi config
// set` as a user would.
func Prebuilt(stack string) map[string]string { return maps.Clone(prebuilt[stack]) }

// Options say where things are.
type Options struct {
	// Root is the project (Pulumi.yaml, go.mod, apps/).
	Root string
	// Bin holds the CLI, the Kubernetes provider and the stand-in plugin.
	Bin string
	// Dir keeps the Pulumi home, the file backend and the stand-ins' state,
	// so that a later run (a destroy) finds what an earlier one made.
	Dir string
	// Kubeconfig is the apiserver's, which the clusters' stand-ins hand out.
	Kubeconfig string
}

// rbacPropagation is how long the stand-ins take to carry an Azure role
// assignment to the cluster: long enough that a program which does not
// wait for it fails.
const rbacPropagation = "20s"

// Env is a prepared workspace.
type Env struct {
	Options
	// StandInState holds the stand-ins' <package>.json and .calls.jsonl;
	// Backend is the file backend, where the state is as the engine wrote it.
	StandInState, Backend string
	cli                   auto.PulumiCommand
}

// Setup prepares the environment the CLI, the plugins and the inline
// program read, and installs the plugins at the versions go.mod requires.
func Setup(o Options) (*Env, error) {
	e := &Env{Options: o, StandInState: filepath.Join(o.Dir, "standin"), Backend: filepath.Join(o.Dir, "backend")}
	home := filepath.Join(o.Dir, "home")
	for _, d := range []string{home, e.Backend, e.StandInState} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]string{
		"PULUMI_HOME":                                 home,
		"PULUMI_BACKEND_URL":                          "file://" + e.Backend,
		"PULUMI_CONFIG_PASSPHRASE":                    "engine-layer",
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"EDW_STANDIN_STATE":                           e.StandInState,
		"EDW_STANDIN_KUBECONFIG":                      o.Kubeconfig,
		// A new AKS cluster role reaches the apiserver minutes after it is
		// assigned; a shorter delay shows the same race.
		"EDW_STANDIN_RBAC_PROPAGATION": rbacPropagation,
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	if err := kubeloginOnPath(o); err != nil {
		return nil, err
	}
	var err error
	// NewPulumiCommand takes the folder above bin/.
	if e.cli, err = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: filepath.Dir(o.Bin)}); err != nil {
		return nil, err
	}
	return e, e.installPlugins()
}

// kubeloginOnPath puts the stand-in, named kubelogin, first on PATH: the
// kubeconfig of an AKS cluster with local accounts off runs kubelogin to
// sign in with Entra ID, and the Kubernetes provider finds it there as it
// would the real one.
func kubeloginOnPath(o Options) error {
	dir := filepath.Join(o.Dir, "path")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	link := filepath.Join(dir, "kubelogin")
	if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := os.Symlink(filepath.Join(o.Bin, standInBinary), link); err != nil {
		return err
	}
	return os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// installPlugins installs each plugin at every version of its SDK module
// that go.mod requires (the azure-native modules differ).
func (e *Env) installPlugins() error {
	b, err := os.ReadFile(filepath.Join(e.Root, "go.mod"))
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
			if p.name == "aws" {
				// The eks stand-in's children use the program's aws plugin.
				if err := os.Setenv("EDW_STANDIN_AWS_VERSION", version); err != nil {
					return err
				}
			}
			out, err := exec.Command(e.CLI(), "plugin", "install", "resource", p.name, version,
				"--file", filepath.Join(e.Bin, p.binary)).CombinedOutput()
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

// CLI is the Pulumi CLI's path.
func (e *Env) CLI() string { return filepath.Join(e.Bin, "pulumi") }

// Stack selects the stack, or creates it from the committed Pulumi.yaml and
// Pulumi.<name>.yaml, so that the engine validates the configuration as a
// user's `pulumi preview` does, and runs the real program with the
// transforms given after the swap every run needs (the charts).
func (e *Env) Stack(ctx context.Context, name string, transforms ...pulumi.ResourceTransform) (auto.Stack, error) {
	project, err := workspace.LoadProject(filepath.Join(e.Root, "Pulumi.yaml"))
	if err != nil {
		return auto.Stack{}, err
	}
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	settings, err := workspace.LoadProjectStack(sink, project, filepath.Join(e.Root, "Pulumi."+name+".yaml"))
	if err != nil {
		return auto.Stack{}, err
	}
	if name == "azure" {
		if err := e.kedaAddon(); err != nil {
			return auto.Stack{}, fmt.Errorf("the KEDA add-on's stand-in: %w", err)
		}
	}
	work := filepath.Join(e.Dir, "work", name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return auto.Stack{}, err
	}
	transforms = append([]pulumi.ResourceTransform{swap.Charts(filepath.Join(e.Root, "engine", "swap", "chart"))}, transforms...)
	program := func(ctx *pulumi.Context) error {
		for _, t := range transforms {
			if err := ctx.RegisterResourceTransform(t); err != nil {
				return err
			}
		}
		return stacks.Run(ctx)
	}
	opts := []auto.LocalWorkspaceOption{auto.Pulumi(e.cli), auto.WorkDir(work), auto.Project(*project), auto.SecretsProvider("passphrase")}
	// A stack made by an earlier run (the lab's up, then its destroy) keeps
	// its settings file: the encryption salt `stack init` added is in it.
	s, err := auto.SelectStackInlineSource(ctx, name, project.Name.String(), program, opts...)
	if err == nil {
		return s, nil
	}
	if !auto.IsSelectStack404Error(err) {
		return auto.Stack{}, err
	}
	if err := os.Remove(filepath.Join(work, "Pulumi."+name+".yaml")); err != nil && !os.IsNotExist(err) {
		return auto.Stack{}, err
	}
	opts = append(opts, auto.Stacks(map[string]workspace.ProjectStack{name: *settings}))
	if s, err = auto.NewStackInlineSource(ctx, name, project.Name.String(), program, opts...); err != nil {
		return auto.Stack{}, err
	}
	for k, v := range prebuilt[name] {
		if err := s.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
			return auto.Stack{}, err
		}
	}
	return s, nil
}
