// Package transform builds Pulumi resource transforms that edit what a
// resource is registered with: its inputs change, its options stay.
package transform

import (
	"context"
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Props is a transform that hands edit a copy of the inputs of every
// resource of type typ, and leaves other resources alone.
func Props(typ string, edit func(props pulumi.Map)) pulumi.ResourceTransform {
	return func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
		if args.Type != typ {
			return nil
		}
		return Edit(args, edit)
	}
}

// Edit is the result of a transform that applies edit to a copy of args'
// inputs, the inputs args holds untouched, and keeps args' options.
func Edit(args *pulumi.ResourceTransformArgs, edit func(props pulumi.Map)) *pulumi.ResourceTransformResult {
	props := maps.Clone(args.Props)
	edit(props)
	return &pulumi.ResourceTransformResult{Props: props, Opts: args.Opts}
}
