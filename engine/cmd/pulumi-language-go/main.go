// Command pulumi-language-go stands in for Pulumi's Go language host, which
// cannot be obtained here, the way the stand-in plugins stand in for the
// clouds: the Pulumi CLI starts it for the project's `runtime: go` and asks
// it, over the language protocol, to run the program. It runs this
// project's program only, in its own process: stacks.Run, as main.go's
// pulumi.Run does, with a context made from the CLI's RunRequest.
//
// So a `pulumi preview`, `up` or `destroy` in a copy of the project runs as
// it does on a CI runner, with the CLI reading Pulumi.yaml, the stack file,
// the backend and the secrets itself (the Automation API's inline mode
// hands it the program instead).
//
// What the real host does and this one does not: it does not compile
// main.go (the program is the one linked in here, whatever the copy's
// source says), install or list Go dependencies (GetRequiredPackages
// answers none: the engine loads each provider when the program first
// registers one, at the version its SDK names, from the plugins installed
// beforehand), run plugins written in Go, or generate code. Those calls
// answer Unimplemented.
//
// The CLI finds it as it finds its bundled language hosts: on PATH, else
// next to the pulumi binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/edw-project/edw/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go (stand-in): %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// The CLI passes its logging and tracing flags, then the engine's
	// address last.
	fs := flag.NewFlagSet("pulumi-language-go", flag.ContinueOnError)
	fs.Bool("logtostderr", false, "ignored: the CLI's logging flag")
	fs.Int("v", 0, "ignored: the CLI's log level")
	fs.String("tracing", "", "ignored: the CLI's tracing endpoint")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("want the engine's address as the one argument, got %q", fs.Args())
	}
	h := &host{engine: fs.Arg(0)}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("serving the language protocol: %w", err)
	}
	// The CLI reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}

// host serves the calls the CLI makes for preview, up, refresh and destroy.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine string
	// mu runs one program at a time: a run changes the process's working
	// directory.
	mu sync.Mutex
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engine = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	// The SDK linked in is what a real host would report of its own build.
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/pulumi/pulumi/sdk/v3" {
				version = m.Version
			}
		}
	}
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPackages answers none: see the package comment.
func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// GetRequiredPlugins is the older call, which a CLI makes when the newer
// one is unimplemented.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// Run runs the program as pulumi.Run does in main.go: a program error is
// logged to the engine and the run bails (the real host's answer to the
// program's exit status 32); an error of the host's own is returned as the
// run's error.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (resp *pulumirpc.RunResponse, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	// The program reads files relative to the project (apps/), as it does
	// when the real host starts it there.
	if pwd := req.GetPwd(); pwd != "" {
		if err := os.Chdir(pwd); err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("entering the program's directory: %v", err)}, nil
		}
	}
	info := pulumi.RunInfo{
		Project:          req.GetProject(),
		Stack:            req.GetStack(),
		Organization:     req.GetOrganization(),
		RootDirectory:    req.GetInfo().GetRootDirectory(),
		Config:           req.GetConfig(),
		ConfigSecretKeys: req.GetConfigSecretKeys(),
		DryRun:           req.GetDryRun(),
		Parallel:         req.GetParallel(),
		MonitorAddr:      req.GetMonitorAddress(),
		EngineAddr:       h.engine,
	}
	pctx, err := pulumi.NewContext(ctx, info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("connecting to the engine: %v", err)}, nil
	}
	defer pctx.Close()
	// A panic would end a real program's process, which the real host
	// reports; here it would end the host's, so it is reported instead.
	defer func() {
		if p := recover(); p != nil {
			resp, err = &pulumirpc.RunResponse{Error: fmt.Sprintf("the program panicked: %v\n%s", p, debug.Stack())}, nil
		}
	}()
	if err := pulumi.RunWithContext(pctx, stacks.Run); err != nil {
		if logErr := pctx.Log.Error(fmt.Sprintf("an unhandled error occurred: program failed: \n%v", err), nil); logErr != nil {
			return &pulumirpc.RunResponse{Error: errors.Join(err, logErr).Error()}, nil
		}
		return &pulumirpc.RunResponse{Bail: true}, nil
	}
	if err := waitForShutdown(ctx, req.GetMonitorAddress()); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// waitForShutdown tells the engine the program is done and waits for it to
// finish, as pulumi.Run does after the program returns (resource hooks run
// then); an engine without the call needs no wait.
func waitForShutdown(ctx context.Context, monitor string) error {
	conn, err := grpc.NewClient(monitor, grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return fmt.Errorf("connecting to the resource monitor: %w", err)
	}
	defer conn.Close()
	_, err = pulumirpc.NewResourceMonitorClient(conn).SignalAndWaitForShutdown(ctx, &emptypb.Empty{})
	if err != nil && status.Code(err) != codes.Unimplemented {
		return fmt.Errorf("waiting for the engine's shutdown: %w", err)
	}
	return nil
}
