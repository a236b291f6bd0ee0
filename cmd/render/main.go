// Command render runs the program offline, under mocks, for one stack and
// writes what it would deploy: resources.json and manifests/.
//
//	go run ./cmd/render --stack aws --out build/render/aws
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"

	"github.com/edw-project/edw/internal/render"
	"github.com/edw-project/edw/stacks"
)

// project is the name in Pulumi.yaml.
const project = "edw"

func main() {
	stack := flag.String("stack", "aws", "stack whose Pulumi.<stack>.yaml to render")
	out := flag.String("out", "", "output folder (default build/render/<stack>)")
	settings := render.Settings{}
	flag.Var(settings, "set", "a config value over the stack's file, key=value (repeatable)")
	flag.Parse()
	if *out == "" {
		*out = filepath.Join("build", "render", *stack)
	}
	if err := run(*stack, *out, settings); err != nil {
		fmt.Fprintf(os.Stderr, "render: %v\n", err)
		os.Exit(1)
	}
}

func run(stack, out string, settings render.Settings) error {
	cfg, err := render.StackConfig(fmt.Sprintf("Pulumi.%s.yaml", stack))
	if err != nil {
		return err
	}
	maps.Copy(cfg, settings)
	plan, err := render.Run(project, stack, render.Region(cfg), cfg, stacks.Program)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	if err := plan.Write(out); err != nil {
		return err
	}
	fmt.Printf("render: %d resources, %d Kubernetes objects in %s\n", len(plan.Resources), len(plan.Manifests()), out)
	return nil
}
