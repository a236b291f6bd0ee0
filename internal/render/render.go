// Package render runs the program offline, under Pulumi's mocks, and
// writes what it would deploy: every resource with its inputs and
// dependencies (resources.json), every Kubernetes object as YAML
// (manifests/) and the alert rules (monitoring/rules.yaml). Tests, reviewers
// and the lab read the same files.
package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Resource is one registered resource.
type Resource struct {
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	URN          string         `json:"urn"`
	Parent       string         `json:"parent,omitempty"`
	Provider     string         `json:"provider,omitempty"`
	Custom       bool           `json:"custom"`
	Protect      bool           `json:"protect,omitempty"`
	Inputs       map[string]any `json:"inputs"`
	Dependencies []string       `json:"dependencies,omitempty"`
}

// Plan is what a program would deploy.
type Plan struct {
	Resources []Resource     `json:"resources"`
	Outputs   map[string]any `json:"outputs"`
}

// Program builds a stack and returns its outputs.
type Program func(ctx *pulumi.Context) (map[string]pulumi.Input, error)

// Run runs program for project and stack with config (keys like
// "edw:cloud") under mocks that answer as region would. On error the plan
// still lists what was registered before it.
func Run(project, stack, region string, config map[string]string, program Program) (*Plan, error) {
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	// The SDK reads a stack's configuration from the environment.
	if err := os.Setenv(pulumi.EnvConfig, string(raw)); err != nil {
		return nil, err
	}
	defer os.Unsetenv(pulumi.EnvConfig)
	m := &mocks{project: project, stack: stack, region: region}
	plan := &Plan{Outputs: map[string]any{}}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		outputs, err := program(ctx)
		if err != nil {
			return err
		}
		for k, v := range outputs {
			o := pulumi.ToOutput(v)
			secret := pulumi.IsSecret(o)
			o.ApplyT(func(x any) any {
				m.mu.Lock()
				defer m.mu.Unlock()
				if secret {
					x = "[secret]"
				}
				plan.Outputs[k] = x
				return nil
			})
		}
		return nil
	}, pulumi.WithMocks(project, stack, m), preview)
	plan.Resources = m.resources
	slices.SortStableFunc(plan.Resources, func(a, b Resource) int { return strings.Compare(a.URN, b.URN) })
	return plan, err
}

// preview runs the program as `pulumi preview` would: nothing it does may
// act on the outside world.
func preview(info *pulumi.RunInfo) { info.DryRun = true }

// StackConfig reads the config: section of a Pulumi.<stack>.yaml as flat
// strings, the form the program receives them in.
func StackConfig(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]string{}
	for k, v := range file.Config {
		switch v := v.(type) {
		case string:
			out[k] = v
		case []any, map[string]any:
			j, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, k, err)
			}
			out[k] = string(j)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// Find returns the resources of type typ.
func (p *Plan) Find(typ string) []Resource {
	var out []Resource
	for _, r := range p.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByURN indexes the resources.
func (p *Plan) ByURN() map[string]Resource {
	out := make(map[string]Resource, len(p.Resources))
	for _, r := range p.Resources {
		out[r.URN] = r
	}
	return out
}

// Manifests are the Kubernetes objects among the resources: every
// kubernetes: resource but providers, charts (whose objects the chart
// renders at deploy time) and patches (a few fields of an object someone
// else owns, such as a cluster add-on).
func (p *Plan) Manifests() []Resource {
	var out []Resource
	for _, r := range p.Resources {
		if r.Custom && strings.HasPrefix(r.Type, "kubernetes:") && !strings.HasPrefix(r.Type, "kubernetes:helm.sh/") && !strings.HasSuffix(r.Type, "Patch") {
			out = append(out, r)
		}
	}
	return out
}

// Write stores the plan in dir: resources.json,
// manifests/<kind>-<namespace>-<name>.yaml and, when the plan deploys alert
// rules, RulesFile, and when it deploys a scrape configuration, ScrapeFile.
func (p *Plan) Write(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "manifests"), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	for _, r := range p.Manifests() {
		obj := maps.Clone(r.Inputs)
		meta, _ := obj["metadata"].(map[string]any)
		file := strings.ToLower(fmt.Sprintf("%v-%v-%v.yaml", obj["kind"], orDefault(meta["namespace"], "cluster"), meta["name"]))
		y, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", r.URN, err)
		}
		if err := os.WriteFile(filepath.Join(dir, "manifests", file), y, 0o644); err != nil {
			return err
		}
	}
	for file, content := range map[string]func() (string, error){RulesFile: p.AlertRules, ScrapeFile: p.ScrapeConfig} {
		text, err := content()
		if err != nil {
			return err
		}
		if text == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(file)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func orDefault(v any, def string) any {
	if v == nil || v == "" {
		return def
	}
	return v
}

// defaultRegion answers for a stack that sets no region.
const defaultRegion = "us-east-1"

// Region is the stack's cloud region from its config.
func Region(config map[string]string) string {
	for _, k := range []string{"aws:region", "azure-native:location"} {
		if v := config[k]; v != "" {
			return v
		}
	}
	return defaultRegion
}

// Settings are config values given as key=value flags (repeatable), such
// as edw:kedaQueueLength=50; they apply over the stack's file.
type Settings map[string]string

func (s Settings) String() string {
	var kv []string
	for k, v := range s {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, " ")
}

// Set takes one key=value; the key names its namespace (edw:...).
func (s Settings) Set(arg string) error {
	k, v, ok := strings.Cut(arg, "=")
	if !ok || !strings.Contains(k, ":") {
		return fmt.Errorf("%q: want namespace:key=value, e.g. edw:kedaQueueLength=50", arg)
	}
	s[k] = v
	return nil
}
