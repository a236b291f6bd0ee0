// Package stacks composes the components into one stack per cloud, from
// the validated configuration.
package stacks

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Outputs are a stack's exports by name.
type Outputs = map[string]pulumi.Input

// Run builds the stack and exports its outputs: the Pulumi program.
func Run(ctx *pulumi.Context) error {
	outputs, err := Program(ctx)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		ctx.Export(k, outputs[k])
	}
	return nil
}

// Program reads the configuration and builds the stack edw:cloud names.
// Invalid configuration fails before any resource is registered.
func Program(ctx *pulumi.Context) (Outputs, error) {
	cfg, err := Load(ctx.Stack(), func(key string) string {
		v, _ := ctx.GetConfig(key)
		return v
	})
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	for _, w := range cfg.Warnings() {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return nil, err
		}
	}
	return Build(ctx, cfg)
}

// Build registers the stack for cfg.Cloud and returns its outputs.
func Build(ctx *pulumi.Context, cfg *Config) (Outputs, error) {
	switch cfg.Cloud {
	case "aws":
		return AWS(ctx, cfg)
	case "azure":
		return Azure(ctx, cfg)
	default:
		// Load already refused any other value.
		return nil, fmt.Errorf("%s:cloud %q: want aws or azure", Namespace, cfg.Cloud)
	}
}
