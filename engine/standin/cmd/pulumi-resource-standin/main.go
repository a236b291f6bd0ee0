// Command pulumi-resource-standin is the stand-in provider plugin for
// aws, azure-native, eks and docker-build (see package standin). One
// binary plays them all: installed as pulumi-resource-<package>, it plays
// that package; named kubelogin, it plays Entra ID's kubelogin.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"github.com/edw-project/edw/engine/standin"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "stand-in: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	if filepath.Base(os.Args[0]) == standin.KubeloginCommand {
		return standin.Kubelogin(os.Args[1:], standin.EnvFromOS(), os.Stdout)
	}
	pkg, version, err := standin.PluginFromPath(os.Args[0])
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return provider.Main(pkg, func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		// Attached for debugging, there is no host, and no components.
		var engine *grpc.ClientConn
		if host != nil {
			engine = host.EngineConn()
		}
		return standin.New(standin.Options{Package: pkg, Version: version, Env: standin.EnvFromOS(), Engine: engine, Log: log})
	})
}
