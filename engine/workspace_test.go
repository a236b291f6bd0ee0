//go:build engine

package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/edw-project/edw/engine/workspace"
)

var env *workspace.Env

// TestMain prepares one workspace for every test. It runs inside the lab
// (make test-engine), whose apiserver KUBECONFIG names.
func TestMain(m *testing.M) {
	code, err := setUp(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "engine layer: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setUp(m *testing.M) (int, error) {
	root, err := repoRoot()
	if err != nil {
		return 0, err
	}
	// The program reads apps/ relative to the project, as `pulumi up` runs it.
	if err := os.Chdir(root); err != nil {
		return 0, err
	}
	kubeconfig := os.Getenv("KUBECONFIG")
	if kubeconfig == "" {
		return 0, fmt.Errorf("KUBECONFIG is not set: run the engine layer in the lab (make test-engine)")
	}
	dir, err := os.MkdirTemp("", "edw-engine-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if env, err = workspace.Setup(workspace.Options{
		Root: root, Bin: filepath.Join(root, "build", "engine", "bin"), Dir: dir, Kubeconfig: kubeconfig,
	}); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no Pulumi.yaml above the working directory")
		}
		dir = parent
	}
}

func newStack(t *testing.T, name string) auto.Stack {
	t.Helper()
	s, err := env.Stack(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// step is one resource operation the engine reported.
type step struct {
	op  apitype.OpType
	urn string
}

// run collects the engine's event stream of one operation: the steps it
// announced (ResourcePre) and finished (ResOutputs), in order. It fails
// the test if the operation fails.
func run(t *testing.T, what string, op func(chan<- events.EngineEvent) error) (announced, done []step) {
	t.Helper()
	announced, done, err := stream(op)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return announced, done
}

// stream runs op and collects its event stream; the error carries the
// engine's error diagnostics.
func stream(op func(chan<- events.EngineEvent) error) (announced, done []step, err error) {
	ch := make(chan events.EngineEvent)
	collected := make(chan struct{})
	var mu sync.Mutex
	var diags []string
	go func() {
		defer close(collected)
		for e := range ch {
			mu.Lock()
			switch {
			case e.ResourcePreEvent != nil:
				announced = append(announced, step{e.ResourcePreEvent.Metadata.Op, e.ResourcePreEvent.Metadata.URN})
			case e.ResOutputsEvent != nil:
				done = append(done, step{e.ResOutputsEvent.Metadata.Op, e.ResOutputsEvent.Metadata.URN})
			case e.DiagnosticEvent != nil && e.DiagnosticEvent.Severity == "error":
				diags = append(diags, e.DiagnosticEvent.URN+": "+e.DiagnosticEvent.Message)
			}
			mu.Unlock()
		}
	}()
	err = op(ch)
	// The Automation API can leave the stream open when the command
	// fails; the events it sent are in by then.
	wait := 30 * time.Second
	if err != nil {
		wait = 3 * time.Second
	}
	select {
	case <-collected:
	case <-time.After(wait):
	}
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		err = fmt.Errorf("%w\n%s", err, strings.Join(diags, "\n"))
	}
	return slices.Clone(announced), slices.Clone(done), err
}

// changes are the steps that change something.
func changes(steps []step) []step {
	return slices.DeleteFunc(slices.Clone(steps), func(s step) bool {
		return s.op == apitype.OpSame || s.op == apitype.OpRead
	})
}

func urns(steps []step, op apitype.OpType) []string {
	var out []string
	for _, s := range steps {
		if s.op == op {
			out = append(out, s.urn)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// is says whether urn names the resource of type typ called name.
func is(urn, typ, name string) bool {
	i := strings.LastIndex(urn, "::")
	if i < 0 || urn[i+2:] != name {
		return false
	}
	types := urn[:i]
	return strings.HasSuffix(types, "::"+typ) || strings.HasSuffix(types, "$"+typ)
}
