// Command lab runs a stack's two-level autoscaling loop on one machine, with
// no cloud: see docs/lab.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/edw-project/edw/lab/internal/controlplane"
	"github.com/edw-project/edw/lab/internal/lab"
	"github.com/edw-project/edw/lab/internal/netns"
)

func main() {
	os.Exit(run())
}

// defaultLatency is a client's round trip to SQS, DynamoDB or Azure Storage
// in its own region: a few milliseconds on the network plus the service's
// own time. It is an assumption, not a measurement here; set -latency to
// yours.
const defaultLatency = 10 * time.Millisecond

// defaultNodeStartup is the time from a NodeClaim to a node that runs pods:
// an instance's boot and its join of the cluster, 40-90 s in either cloud;
// AKS's VMs take longer than EC2's. Assumptions; set -node-startup to
// yours.
var defaultNodeStartup = map[string]time.Duration{"aws": 45 * time.Second, "azure": 60 * time.Second}

// defaultPodStartup is a pod's pull of a small image (the consumer's is a
// static binary on distroless) from a registry in the region, and its
// start.
const defaultPodStartup = 5 * time.Second

func run() int {
	var opts lab.Options
	var karpenterCRDs, kwokStages string
	var check bool
	var execCmd, deployCmd string
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.StringVar(&opts.Stack, "stack", "aws", "stack to run: aws or azure")
	fs.StringVar(&opts.RenderDir, "render", "", "the stack's offline render (default build/render/<stack>)")
	fs.StringVar(&opts.Bin, "bin", "build/lab/bin", "folder of the lab's binaries")
	fs.StringVar(&opts.KedaCRDs, "keda-crds", "", "glob of KEDA's CRD manifests")
	fs.StringVar(&karpenterCRDs, "karpenter-crds", "", "comma-separated globs of Karpenter's and kwok's CRD manifests")
	fs.StringVar(&kwokStages, "kwok-stages", "", "comma-separated globs of kwok's Stage manifests: what it does to the nodes and pods it manages")
	fs.StringVar(&opts.Emulators, "emulators", "scripts/emulators.sh", "script that starts and stops the emulators")
	fs.StringVar(&opts.Out, "out", "", "folder for logs, timeline and plot (default build/lab/<stack>)")
	fs.IntVar(&opts.Messages, "messages", 20000, "messages in the burst")
	fs.Float64Var(&opts.Rate, "rate", 2000, "messages per second of the burst, at most")
	fs.DurationVar(&opts.Settle, "settle", 10*time.Minute, "longest wait for each phase: baseline, drain, zero pods, nodes back")
	fs.DurationVar(&opts.Latency, "latency", defaultLatency, "round trip the consumers wait for on every queue and table request, as in a cloud region (0: the emulators' loopback)")
	fs.DurationVar(&opts.NodeStartup, "node-startup", -1, "time a Karpenter node boots before pods run on it (default: 45s on aws, 60s on azure)")
	fs.DurationVar(&opts.PodStartup, "pod-startup", defaultPodStartup, "time a consumer pod takes from scheduled to running: image pull and start")
	fs.IntVar(&opts.Goal.Pods, "goal-pods", 0, "running consumer pods the run must reach, with -check (0: no goal)")
	fs.IntVar(&opts.Goal.Nodes, "goal-nodes", 0, "initialized Karpenter nodes the run must reach, with -check (0: no goal)")
	fs.IntVar(&opts.Hold, "hold", 0, "after the burst, keep the queue at this many messages for -hold-for, topping it up every second (0: no hold)")
	fs.DurationVar(&opts.HoldFor, "hold-for", 3*time.Minute, "how long -hold keeps the queue up")
	fs.StringVar(&opts.Dashboard, "dashboard", "components/monitoring/dashboard.json", "the stack's Grafana dashboard: the run evaluates its queries in the lab's Prometheus")
	fs.IntVar(&opts.Poison, "poison", 0, "after the burst, send this many unprocessable messages (not JSON) and wait for the stack's set-aside alert to fire (0: none)")
	fs.BoolVar(&check, "check", false, "exit 1 unless the loop scaled out and back in, lost or duplicated nothing, set aside just the poison, fired only its alert and every dashboard query returned data")
	fs.StringVar(&deployCmd, "deploy", "", "command (space-separated) that deploys the stack through the engine: run with up before the burst and with destroy, under load, at the end")
	fs.StringVar(&execCmd, "exec", "", "command (space-separated) to run in the lab instead of applying the stack and sending the burst; the lab exits with its code")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := validate(&opts, karpenterCRDs, kwokStages, execCmd, deployCmd); err != nil {
		fmt.Fprintf(os.Stderr, "lab: %v\n", err)
		return 2
	}
	if !netns.Inside() {
		code, err := netns.Exec(controlplane.Address, os.Args[1:])
		if err != nil {
			fmt.Fprintf(os.Stderr, "lab: %v\n", err)
			return 1
		}
		return code
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := lab.Start(ctx, opts, log)
	if l != nil {
		defer l.Close()
	}
	if err != nil {
		log.Error("starting the lab", "err", err, "logs", opts.Out+"/logs")
		return 1
	}
	if len(opts.Exec) > 0 {
		code, err := l.Exec(ctx)
		if err != nil {
			log.Error("running the command", "err", err)
		}
		return code
	}
	summary, err := l.Run(ctx)
	summary.Write(os.Stdout)
	fmt.Printf("timeline: %s/timeline.csv, plot: %[1]s/timeline.svg, logs: %[1]s/logs\n", opts.Out)
	if err != nil {
		log.Error("running the scenario", "err", err)
		return 1
	}
	failures := summary.Failures()
	if len(opts.Deploy) > 0 {
		teardown, err := l.Teardown(ctx)
		teardown.Write(os.Stdout)
		if err != nil {
			log.Error("destroying the stack", "err", err)
			return 1
		}
		failures = append(failures, teardown.Failures()...)
	}
	if check && len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "lab check failed:\n  %s\n", strings.Join(failures, "\n  "))
		return 1
	}
	return 0
}

// validate checks the flags and fills the defaults, before anything starts.
func validate(o *lab.Options, karpenterCRDs, kwokStages, execCmd, deployCmd string) error {
	if o.Stack != "aws" && o.Stack != "azure" {
		return fmt.Errorf("-stack %q: want aws or azure", o.Stack)
	}
	if o.RenderDir == "" {
		o.RenderDir = "build/render/" + o.Stack
	}
	if o.Out == "" {
		o.Out = "build/lab/" + o.Stack
	}
	if o.NodeStartup < 0 {
		o.NodeStartup = defaultNodeStartup[o.Stack]
	}
	if o.Latency < 0 || o.PodStartup < 0 || o.Goal.Pods < 0 || o.Goal.Nodes < 0 || o.Hold < 0 || o.HoldFor < 0 || o.Poison < 0 {
		return fmt.Errorf("-latency, -pod-startup, -goal-pods, -goal-nodes, -hold, -hold-for and -poison must be 0 or more")
	}
	if o.KedaCRDs == "" || karpenterCRDs == "" || kwokStages == "" {
		return fmt.Errorf("-keda-crds, -karpenter-crds and -kwok-stages are required (make lab passes them)")
	}
	o.KarpenterCRDs, o.KwokStages = strings.Split(karpenterCRDs, ","), strings.Split(kwokStages, ",")
	o.Exec, o.Deploy = strings.Fields(execCmd), strings.Fields(deployCmd)
	// Kubeconfigs and the processes' flags name files: make every path
	// absolute.
	for _, p := range []*string{&o.RenderDir, &o.Out, &o.Bin, &o.Emulators, &o.Dashboard} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	if o.Messages < 1 {
		return fmt.Errorf("-messages %d: want at least 1", o.Messages)
	}
	if o.Rate <= 0 {
		return fmt.Errorf("-rate %g: want messages per second above 0", o.Rate)
	}
	if o.Settle < time.Minute {
		return fmt.Errorf("-settle %v: want at least 1m; consolidation alone takes the NodePool's consolidateAfter", o.Settle)
	}
	return nil
}
