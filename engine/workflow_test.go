//go:build engine

package engine_test

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/edw-project/edw/engine/workspace"
)

// The workflows that must run their Pulumi operation through stack.sh.
var stackWorkflows = []string{"preview.yml", "deploy.yml", "drift.yml", "destroy.yml"}

// stackScript is how a step calls the workflows' one Pulumi script; the
// submatch is the operation.
var stackScript = regexp.MustCompile(`scripts/ci/stack\.sh\s+"?(\w+)`)

// ciStep is a workflow step that runs scripts/ci/stack.sh, with the env
// the runner gives it (the workflow's, the job's and the step's, the
// nearest winning), its expressions not yet replaced.
type ciStep struct {
	workflow, job string
	index         int
	command       string
	env           map[string]string
	run           string
}

func (s ciStep) String() string {
	return fmt.Sprintf("%s job %s step %d (stack.sh %s)", s.workflow, s.job, s.index+1, s.command)
}

// TestWorkflows runs the workflows' own Pulumi steps, as a runner would,
// with the real Pulumi CLI against the stand-ins, in a copy of the
// project: what the workflows leave out (a variable, a login, the stack)
// fails here first. The CLI runs the program through the stand-in Go
// language host (engine/cmd/pulumi-language-go). No step deploys: up is
// TestStacks'.
func TestWorkflows(t *testing.T) {
	steps := workflowSteps(t)
	ci := ciBin(t)
	byCommand := func(workflow string, commands ...string) []ciStep {
		return slices.DeleteFunc(slices.Clone(steps), func(s ciStep) bool {
			return (workflow != "" && s.workflow != workflow) || !slices.Contains(commands, s.command)
		})
	}
	// Every step but up, which would deploy if a check failed to stop it.
	runnable := byCommand("", "preview", "drift", "destroy")

	t.Run("expressions", func(t *testing.T) {
		// Every step's, up's too, for both stacks: an expression the test
		// has no value for is a new input the cases below do not set.
		for _, s := range steps {
			for _, stack := range []string{"aws", "azure"} {
				c := ciValues{stack: stack, backend: "file:///backend", confirm: stack}
				if _, _, err := s.resolve(c); err != nil {
					t.Errorf("%v: %v", s, err)
				}
			}
		}
	})

	t.Run("no backend", func(t *testing.T) {
		// The repository variable unset, on a stack bootstrapped (against
		// another backend) so that nothing else is missing: the step names
		// the variable and stops before any login, so nothing is written.
		for _, s := range runnable {
			sc := newScratch(t, ci)
			sc.pulumi(t, "file://"+t.TempDir(), "stack", "init", "aws", "--secrets-provider", "passphrase")
			before := sc.snapshot(t)
			out, err := sc.run(t, s, ciValues{stack: "aws", backend: "", confirm: "aws"})
			if err == nil || !strings.Contains(out, "PULUMI_BACKEND_URL") {
				t.Errorf("%v with PULUMI_BACKEND_URL empty: %v, want a failure naming PULUMI_BACKEND_URL:\n%s", s, err, out)
			}
			sc.unchanged(t, s, before)
		}
	})

	t.Run("no stack", func(t *testing.T) {
		// A fresh checkout whose stack was never created: the committed
		// stack file has no encryption salt.
		for _, s := range runnable {
			sc := newScratch(t, ci)
			out, err := sc.run(t, s, ciValues{stack: "aws", backend: sc.backendURL(), confirm: "aws"})
			if err == nil || !strings.Contains(out, "docs/ci.md#bootstrap") {
				t.Errorf("%v before the stack exists: %v, want a failure naming docs/ci.md#bootstrap:\n%s", s, err, out)
			}
		}
		// The stack file has its salt (created against another backend),
		// but the backend the workflows use has no such stack.
		for _, s := range runnable {
			sc := newScratch(t, ci)
			sc.pulumi(t, "file://"+t.TempDir(), "stack", "init", "aws", "--secrets-provider", "passphrase")
			out, err := sc.run(t, s, ciValues{stack: "aws", backend: sc.backendURL(), confirm: "aws"})
			if err == nil || !strings.Contains(out, "docs/ci.md#bootstrap") {
				t.Errorf("%v with the stack missing from the backend: %v, want a failure naming docs/ci.md#bootstrap:\n%s", s, err, out)
			}
		}
	})

	t.Run("bootstrapped", func(t *testing.T) {
		sc := newScratch(t, ci)
		for _, stack := range []string{"aws", "azure"} {
			// The bootstrap's command (docs/ci.md), then what the stack
			// needs in the engine layer and a cloud does not.
			sc.pulumi(t, sc.backendURL(), "stack", "init", stack, "--secrets-provider", "passphrase")
			for k, v := range workspace.Prebuilt(stack) {
				sc.pulumi(t, sc.backendURL(), "config", "set", "--stack", stack, k, v)
			}
		}
		for _, workflow := range []string{"preview.yml", "deploy.yml"} {
			previews := byCommand(workflow, "preview")
			if len(previews) == 0 {
				t.Errorf("%s has no step that runs scripts/ci/stack.sh preview", workflow)
			}
			for _, s := range previews {
				for _, stack := range []string{"aws", "azure"} {
					c := ciValues{stack: stack, backend: sc.backendURL()}
					plan := sc.planFile(t, s, c)
					if err := os.Remove(plan); err != nil && !errors.Is(err, fs.ErrNotExist) {
						t.Fatal(err)
					}
					out, err := sc.run(t, s, c)
					if err != nil {
						t.Errorf("%v, stack %s: %v\n%s", s, stack, err, out)
						continue
					}
					b, err := os.ReadFile(plan)
					if err != nil {
						t.Errorf("%v, stack %s: the plan: %v", s, stack, err)
						continue
					}
					if n := creates(string(b)); n == 0 {
						t.Errorf("%v, stack %s: the plan %s shows nothing to create:\n%s", s, stack, plan, b)
					} else {
						t.Logf("%v, stack %s: %d to create", s, stack, n)
					}
					summary, _ := os.ReadFile(sc.summary)
					if want := fmt.Sprintf("### pulumi preview: %s (exit 0)", stack); !strings.Contains(string(summary), want) {
						t.Errorf("%v, stack %s: the job summary lacks %q", s, stack, want)
					}
				}
			}
		}

		// Never deployed, so the code and the state differ: drift must
		// report it, not pass.
		for _, s := range byCommand("drift.yml", "drift") {
			for _, stack := range []string{"aws", "azure"} {
				out, err := sc.run(t, s, ciValues{stack: stack, backend: sc.backendURL()})
				if err == nil || !strings.Contains(out, "no changes were expected") {
					t.Errorf("%v, stack %s, never deployed: %v, want --expect-no-changes to fail:\n%s", s, stack, err, out)
				}
			}
		}

		// The other stack's name typed: refused before any pulumi
		// command (a login or a stack select would write to the home, the
		// destroy to the backend and the stand-ins' log).
		for _, s := range byCommand("destroy.yml", "destroy") {
			before := sc.snapshot(t)
			out, err := sc.run(t, s, ciValues{stack: "aws", backend: sc.backendURL(), confirm: "azure"})
			if err == nil || !strings.Contains(out, "confirm") {
				t.Errorf("%v with the confirmation azure for stack aws: %v, want a failure naming the confirmation:\n%s", s, err, out)
			}
			sc.unchanged(t, s, before)
		}
	})
}

// workflowSteps reads every workflow's steps that call stack.sh, and fails
// the test unless each of stackWorkflows has one.
func workflowSteps(t *testing.T) []ciStep {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(env.Root, ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []ciStep
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var w struct {
			Env  map[string]string `yaml:"env"`
			Jobs map[string]struct {
				Env   map[string]string `yaml:"env"`
				Steps []struct {
					Env map[string]string `yaml:"env"`
					Run string            `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, job := range slices.Sorted(maps.Keys(w.Jobs)) {
			for i, step := range w.Jobs[job].Steps {
				m := stackScript.FindStringSubmatch(step.Run)
				if m == nil {
					continue
				}
				e := maps.Clone(w.Env)
				if e == nil {
					e = map[string]string{}
				}
				maps.Copy(e, w.Jobs[job].Env)
				maps.Copy(e, step.Env)
				steps = append(steps, ciStep{workflow: filepath.Base(file), job: job, index: i, command: m[1], env: e, run: step.Run})
			}
		}
	}
	for _, w := range stackWorkflows {
		if !slices.ContainsFunc(steps, func(s ciStep) bool { return s.workflow == w }) {
			t.Errorf(".github/workflows/%s has no step that runs scripts/ci/stack.sh", w)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return steps
}

// ciValues are what a run's ${{ }} expressions stand for.
type ciValues struct {
	stack, backend, confirm string
}

// ciPassphrase is the secret PULUMI_CONFIG_PASSPHRASE, here.
const ciPassphrase = "workflow-test"

var (
	expression = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// github are the github context's values the steps may read.
	github = map[string]string{
		"github.ref":        "refs/heads/main",
		"github.repository": "edw-project/edw",
		"github.sha":        strings.Repeat("0", 40),
		"github.run_id":     "1",
		"github.server_url": "https://github.com",
		"github.actor":      "edw-maintainer",
		"github.token":      "fake-github-token",
	}
)

// value is an expression's value, or an error for one the test does not
// know: a new input must be given a value here, and a case if it can fail.
func (c ciValues) value(expr string) (string, error) {
	switch expr {
	case "matrix.stack", "inputs.stack":
		return c.stack, nil
	case "inputs.confirm":
		return c.confirm, nil
	case "vars.PULUMI_BACKEND_URL":
		return c.backend, nil
	case "secrets.PULUMI_CONFIG_PASSPHRASE":
		return ciPassphrase, nil
	}
	if v, ok := github[expr]; ok {
		return v, nil
	}
	if name, ok := strings.CutPrefix(expr, "vars."); ok && identifier.MatchString(name) {
		switch {
		case strings.HasSuffix(name, "_REGION"):
			return "us-east-1", nil
		case strings.HasSuffix(name, "_ARN"):
			return "arn:aws:iam::123456789012:role/edw-" + strings.ToLower(name), nil
		case strings.HasSuffix(name, "_ID"):
			return "00000000-0000-0000-0000-000000000000", nil
		}
		return "edw" + strings.ToLower(strings.ReplaceAll(name, "_", "")), nil
	}
	if name, ok := strings.CutPrefix(expr, "secrets."); ok && identifier.MatchString(name) {
		return "fake-" + strings.ToLower(name), nil
	}
	return "", fmt.Errorf("the workflow test has no value for ${{ %s }}", expr)
}

func (c ciValues) expand(s string) (string, error) {
	var errs []error
	out := expression.ReplaceAllStringFunc(s, func(m string) string {
		v, err := c.value(expression.FindStringSubmatch(m)[1])
		errs = append(errs, err)
		return v
	})
	return out, errors.Join(errs...)
}

// resolve gives the step's run text and env with c's values.
func (s ciStep) resolve(c ciValues) (string, map[string]string, error) {
	run, err := c.expand(s.run)
	errs := []error{err}
	e := map[string]string{}
	for k, v := range s.env {
		e[k], err = c.expand(v)
		errs = append(errs, err)
	}
	return run, e, errors.Join(errs...)
}

// ciBin is the runner's tools: the CLI and, beside it as the CLI's
// installer puts it, the Go language host (here the stand-in). Only these:
// build/engine/bin's Kubernetes provider on PATH would take the place of
// the installed one.
func ciBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"pulumi", "pulumi-language-go"} {
		target := filepath.Join(env.Bin, name)
		if _, err := os.Stat(target); err != nil {
			t.Fatalf("%v: make engine-build builds it", err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scratch is a checkout of the project on a runner: the files stack.sh,
// the CLI and the program read, a Pulumi home with nobody signed in, a
// file backend and the stand-ins' state of its own.
type scratch struct {
	dir, backend, home, standin, summary, bin string
}

func newScratch(t *testing.T, bin string) *scratch {
	t.Helper()
	root := t.TempDir()
	sc := &scratch{
		dir:     filepath.Join(root, "checkout"),
		backend: filepath.Join(root, "backend"),
		home:    filepath.Join(root, "home"),
		standin: filepath.Join(root, "standin"),
		summary: filepath.Join(root, "summary.md"),
		bin:     bin,
	}
	for _, d := range []string{sc.dir, sc.backend, sc.home, sc.standin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The plugins a runner would download; the home is otherwise empty.
	if err := os.Symlink(filepath.Join(os.Getenv("PULUMI_HOME"), "plugins"), filepath.Join(sc.home, "plugins")); err != nil {
		t.Fatal(err)
	}
	// stack.sh lists the stack files; the program hashes apps/, its
	// images' build context.
	stackFiles, err := filepath.Glob(filepath.Join(env.Root, "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"Pulumi.yaml", filepath.Join("scripts", "ci"), "apps"}
	for _, f := range stackFiles {
		paths = append(paths, filepath.Base(f))
	}
	for _, p := range paths {
		if err := copyTree(filepath.Join(env.Root, p), filepath.Join(sc.dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return sc
}

// copyTree copies a file, or a folder's regular files, keeping their modes.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil
	})
}

func (sc *scratch) backendURL() string { return "file://" + sc.backend }

// environ is the runner's environment before the step's env: the test's
// (the stand-ins' settings, no plugin downloads), less what the workflows
// must set themselves, with the runner's tools first on PATH.
func (sc *scratch) environ() []string {
	e := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains([]string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "EDW_PLAN", "EDW_CONFIRM", "PATH"}, k) ||
			strings.HasPrefix(k, "GITHUB_")
	})
	return append(e,
		"PATH="+sc.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PULUMI_HOME="+sc.home,
		"EDW_STANDIN_STATE="+sc.standin,
		"CI=true", "GITHUB_ACTIONS=true",
		"GITHUB_WORKSPACE="+sc.dir,
		"GITHUB_STEP_SUMMARY="+sc.summary,
	)
}

// run runs the step as the runner does (bash -e, pipefail) in the checkout.
func (sc *scratch) run(t *testing.T, s ciStep, c ciValues) (string, error) {
	t.Helper()
	run, stepEnv, err := s.resolve(c)
	if err != nil {
		t.Fatalf("%v: %v", s, err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run)
	cmd.Dir, cmd.Env = sc.dir, sc.environ()
	for k, v := range stepEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pulumi runs the CLI in the checkout as a maintainer does, against backend.
func (sc *scratch) pulumi(t *testing.T, backend string, args ...string) {
	t.Helper()
	cmd := exec.Command(env.CLI(), append(args, "--non-interactive")...)
	cmd.Dir = sc.dir
	cmd.Env = append(sc.environ(), "PULUMI_BACKEND_URL="+backend, "PULUMI_CONFIG_PASSPHRASE="+ciPassphrase)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// planFile is where the step's stack.sh writes what Pulumi printed.
func (sc *scratch) planFile(t *testing.T, s ciStep, c ciValues) string {
	t.Helper()
	_, e, err := s.resolve(c)
	if err != nil {
		t.Fatalf("%v: %v", s, err)
	}
	plan := e["EDW_PLAN"]
	if plan == "" {
		plan = fmt.Sprintf("build/ci/%s-%s.txt", s.command, c.stack)
	}
	if !filepath.IsAbs(plan) {
		plan = filepath.Join(sc.dir, plan)
	}
	return plan
}

var toCreate = regexp.MustCompile(`(?m)^\s*\+ (\d+) to create$`)

// creates is the count of a plan's "+ N to create" line.
func creates(plan string) int {
	m := toCreate.FindStringSubmatch(plan)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// snapshot records every file of the backend, the Pulumi home (a login or
// a stack select writes there) and the stand-ins' state (every cloud call
// is logged), by size and time.
func (sc *scratch) snapshot(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, dir := range []string{sc.backend, sc.home, sc.standin} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files[path] = fmt.Sprintf("%d bytes, %v", info.Size(), info.ModTime())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func (sc *scratch) unchanged(t *testing.T, s ciStep, before map[string]string) {
	t.Helper()
	after := sc.snapshot(t)
	for path, was := range after {
		if before[path] != was {
			t.Errorf("%v wrote %s before failing", s, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%v removed %s before failing", s, path)
		}
	}
}
