package standin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The environment variables a stand-in reads.
const (
	// StateEnv names the directory of the state files and call logs.
	StateEnv = "EDW_STANDIN_STATE"
	// KubeconfigEnv names the kubeconfig file of the test apiserver, which
	// the clusters hand out.
	KubeconfigEnv = "EDW_STANDIN_KUBECONFIG"
	// RBACPropagationEnv is how long an Azure role assignment takes to
	// reach an AKS apiserver, a Go duration; unset, none.
	RBACPropagationEnv = "EDW_STANDIN_RBAC_PROPAGATION"
)

// Packages are the packages a stand-in plays.
var Packages = []string{"aws", "azure-native", "eks", "docker-build"}

// Env is what a stand-in takes from its environment.
type Env struct {
	// StateDir is $EDW_STANDIN_STATE.
	StateDir string
	// Kubeconfig is $EDW_STANDIN_KUBECONFIG.
	Kubeconfig string
	// RBACPropagation is $EDW_STANDIN_RBAC_PROPAGATION.
	RBACPropagation time.Duration
}

// EnvFromOS reads the stand-in's environment variables.
func EnvFromOS() Env {
	// A malformed value reads as none: the stand-ins then answer as
	// before, and the test that set it fails on what it expected.
	propagation, _ := time.ParseDuration(os.Getenv(RBACPropagationEnv))
	return Env{StateDir: os.Getenv(StateEnv), Kubeconfig: os.Getenv(KubeconfigEnv), RBACPropagation: propagation}
}

// Options configure a Server.
type Options struct {
	// Package is the package played, one of Packages. Required.
	Package string
	// Version is the version reported to the engine. Required.
	Version string
	// Env locates the state and the kubeconfig. Required.
	Env Env
	// Engine is the connection to the engine, through which components
	// register their children. Optional; nil serves no component.
	Engine *grpc.ClientConn
	// Log receives one line per call. Optional; default text on stderr.
	Log *slog.Logger
}

// Server is a stand-in provider plugin for one package.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer

	pkg, version string
	cloud        cloud
	store        *store
	engine       *grpc.ClientConn
	log          *slog.Logger
}

var _ pulumirpc.ResourceProviderServer = (*Server)(nil)

// New returns the stand-in for opts.Package.
func New(opts Options) (*Server, error) {
	c, err := newCloud(opts.Package, opts.Env)
	if err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return &Server{
		pkg: opts.Package, version: opts.Version, cloud: c,
		store:  &store{dir: opts.Env.StateDir, pkg: opts.Package},
		engine: opts.Engine, log: log.With("standin", opts.Package),
	}, nil
}

// observe ends every call: it names the stand-in in the call's error, so
// that an engine failure says who answered, appends the call to the call
// log and logs it.
func (s *Server) observe(c *Call, errp *error) {
	if *errp != nil {
		*errp = fmt.Errorf("stand-in %s: %w", s.pkg, *errp)
		c.Error = (*errp).Error()
	}
	c.Time = time.Now().UTC()
	// Without a state directory there is no call log either; Configure
	// says so.
	if s.store.ready() == nil {
		if err := s.store.record(*c); err != nil && *errp == nil {
			*errp = fmt.Errorf("stand-in %s: recording %s: %w", s.pkg, c.Method, err)
		}
	}
	level := slog.LevelInfo
	if *errp != nil {
		level = slog.LevelError
	}
	s.log.LogAttrs(context.Background(), level, "stand-in "+s.pkg+": "+c.Method,
		slog.String("token", c.Token), slog.String("urn", c.URN), slog.String("id", c.ID),
		slog.Bool("preview", c.Preview), slog.String("error", c.Error))
}

// GetPluginInfo reports the version the plugin was installed as.
func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (_ *pulumirpc.PluginInfo, err error) {
	defer s.observe(&Call{Method: "GetPluginInfo"}, &err)
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

// CheckConfig accepts any configuration.
func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (_ *pulumirpc.CheckResponse, err error) {
	defer s.observe(&Call{Method: "CheckConfig", URN: req.GetUrn()}, &err)
	if err := s.store.ready(); err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports the changed keys; none forces a replacement.
func (s *Server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (_ *pulumirpc.DiffResponse, err error) {
	defer s.observe(&Call{Method: "DiffConfig", URN: req.GetUrn()}, &err)
	olds, news, err := diffArgs(req)
	if err != nil {
		return nil, err
	}
	return diffInputs(olds, news, neverReplaces, nil), nil
}

// Configure takes the region or location, and accepts secrets, resource
// references and previews.
func (s *Server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (_ *pulumirpc.ConfigureResponse, err error) {
	defer s.observe(&Call{Method: "Configure"}, &err)
	if err := s.store.ready(); err != nil {
		return nil, err
	}
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	s.cloud.configure(func(key string) string {
		if v := str(args, key); v != "" {
			return v
		}
		// Engines that send no args send variables, pkg:config:key.
		return req.GetVariables()[s.pkg+":config:"+key]
	})
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true, SupportsPreview: true}, nil
}

// Invoke answers a function the way the cloud would.
func (s *Server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (_ *pulumirpc.InvokeResponse, err error) {
	defer s.observe(&Call{Method: "Invoke", Token: req.GetTok(), Preview: req.GetPreview()}, &err)
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	ret, err := s.cloud.invoke(req.GetTok(), args, s.store)
	if err != nil {
		return nil, err
	}
	out, err := marshal(ret)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

// constructor is a package whose resources are components.
type constructor interface {
	construct(ctx context.Context, req *pulumirpc.ConstructRequest, engine *grpc.ClientConn) (*pulumirpc.ConstructResponse, error)
}

// Construct builds a component, registering its children with the engine.
func (s *Server) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (_ *pulumirpc.ConstructResponse, err error) {
	c := &Call{Method: "Construct", Token: req.GetType(), Preview: req.GetDryRun()}
	defer s.observe(c, &err)
	builder, ok := s.cloud.(constructor)
	if !ok || s.engine == nil {
		return nil, fmt.Errorf("no component %s", req.GetType())
	}
	resp, err := builder.construct(ctx, req, s.engine)
	c.URN = resp.GetUrn()
	return resp, err
}

// Cancel has nothing to stop: every call is short.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (_ *emptypb.Empty, err error) {
	defer s.observe(&Call{Method: "Cancel"}, &err)
	return &emptypb.Empty{}, nil
}
