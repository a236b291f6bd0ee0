// Command edw-engine deploys or destroys a stack through the real Pulumi
// engine on this machine, for the lab: the real Kubernetes provider against
// the apiserver KUBECONFIG names, stand-in plugins for the clouds, and the
// lab's swaps (EDW_LAB_OBJECTS) applied by a transform.
//
//	edw-engine -stack aws -dir build/lab/aws/engine [-set edw:kedaQueueLength=50] up
//	edw-engine -stack aws -dir build/lab/aws/engine destroy
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edw-project/edw/engine/swap"
	"github.com/edw-project/edw/engine/workspace"
	"github.com/edw-project/edw/internal/render"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "edw-engine: %v\n", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run() error {
	fs := flag.NewFlagSet("edw-engine", flag.ContinueOnError)
	stack := fs.String("stack", "aws", "stack to deploy: aws or azure")
	dir := fs.String("dir", "", "folder for the Pulumi home, the state and the stand-ins' state (kept between up and destroy)")
	bin := fs.String("bin", "build/engine/bin", "folder of the Pulumi CLI and the plugins")
	settings := render.Settings{}
	fs.Var(settings, "set", "a config value set on the stack before up, key=value (repeatable), as `pulumi config set` does")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return usageError{err}
	}
	op := fs.Arg(0)
	switch {
	case fs.NArg() != 1 || (op != "up" && op != "destroy"):
		return usageError{fmt.Errorf("want one operation, up or destroy; got %q", fs.Args())}
	case *stack != "aws" && *stack != "azure":
		return usageError{fmt.Errorf("-stack %q: want aws or azure", *stack)}
	case *dir == "":
		return usageError{fmt.Errorf("-dir is required: up and destroy must share it")}
	case os.Getenv("KUBECONFIG") == "":
		return usageError{fmt.Errorf("KUBECONFIG is not set: the lab passes its apiserver's")}
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	absBin, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	var transforms []pulumi.ResourceTransform
	if path := os.Getenv("EDW_LAB_OBJECTS"); path != "" {
		t, err := swap.FromFile(path)
		if err != nil {
			return err
		}
		transforms = append(transforms, t)
	}
	env, err := workspace.Setup(workspace.Options{Root: root, Bin: absBin, Dir: absDir, Kubeconfig: os.Getenv("KUBECONFIG")})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := env.Stack(ctx, *stack, transforms...)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	switch op {
	case "up":
		// The lab's stacks hold nothing to keep, and its destroy runs under
		// load: their data is not protected, unless -set says otherwise.
		if _, set := settings["edw:protectData"]; !set {
			settings["edw:protectData"] = "false"
		}
		for k, v := range settings {
			if err := s.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
				return fmt.Errorf("config %s: %w", k, err)
			}
		}
		res, err := s.Up(ctx, optup.ProgressStreams(os.Stdout))
		if err != nil {
			return fmt.Errorf("up %s: %w", *stack, err)
		}
		log.Info("up", "stack", *stack, "changes", res.Summary.ResourceChanges)
	case "destroy":
		res, err := s.Destroy(ctx, optdestroy.ProgressStreams(os.Stdout))
		if err != nil {
			return fmt.Errorf("destroy %s: %w", *stack, err)
		}
		log.Info("destroy", "stack", *stack, "changes", res.Summary.ResourceChanges)
	}
	return nil
}
