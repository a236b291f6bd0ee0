package swap

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/internal/transform"
)

// Object is a Kubernetes object as the lab swapped it.
type Object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec map[string]any `json:"spec"`
}

// FromFile reads the objects the lab swapped (a JSON list) and returns a
// transform that gives each matching resource of the program the lab's
// spec: the lab decides what cannot run here (lab/internal/swap), this
// applies it to what the engine deploys.
func FromFile(path string) (pulumi.ResourceTransform, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []Object
	if err := json.Unmarshal(b, &objs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Specs(objs), nil
}

// Specs replaces the spec of each Kubernetes resource whose kind and name
// match one of objs.
func Specs(objs []Object) pulumi.ResourceTransform {
	return func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
		if !strings.HasPrefix(args.Type, "kubernetes:") {
			return nil
		}
		kind := args.Type[strings.LastIndex(args.Type, ":")+1:]
		meta, _ := args.Props["metadata"].(pulumi.Map)
		name, _ := meta["name"].(pulumi.String)
		for _, o := range objs {
			if o.Kind == kind && o.Metadata.Name == string(name) {
				return transform.Edit(args, func(props pulumi.Map) { props["spec"] = pulumi.ToMap(o.Spec) })
			}
		}
		return nil
	}
}
