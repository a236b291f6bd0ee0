// Package ci_test holds the workflows (.github/workflows) to the
// properties docs/ci.md promises: what a pull request may do, what needs
// a reviewed environment, how long credentials last, which Pulumi CLI
// runs. Each property has a deliberate break that must fail it.
package ci_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"
)

const root = "../.."

// The roles the workflows sign in with: read-only for previews and the
// drift check, deploy for up and destroy (docs/ci.md, bootstrap).
var (
	readOnlyIdentities = []string{"vars.AWS_PREVIEW_ROLE_ARN", "vars.AZURE_PREVIEW_CLIENT_ID"}
	deployIdentities   = []string{"vars.AWS_DEPLOY_ROLE_ARN", "vars.AZURE_DEPLOY_CLIENT_ID"}
)

// deployEnvironments are the environments a deploy identity may run in,
// each trusted by the deploy role's OIDC subject.
var deployEnvironments = map[string]string{"deploy.yml": "production", "destroy.yml": "destroy"}

const mainOnly = "github.ref == 'refs/heads/main'"

// forkGuard keeps a job from runs that get no secrets or OIDC token.
var forkGuard = []string{"github.event.pull_request.head.repo.full_name == github.repository", "github.actor != 'dependabot[bot]'"}

type workflow struct {
	name string
	doc  map[string]any
}

type job struct {
	workflow *workflow
	id       string
	m        map[string]any
}

func (j job) String() string { return j.workflow.name + ": " + j.id }

// text is the job as YAML: what an expression search reads.
func (j job) text() string {
	b, _ := yaml.Marshal(j.m)
	return string(b)
}

func (j job) str(key string) string { s, _ := j.m[key].(string); return s }

func (j job) permissions() map[string]string {
	p := map[string]string{}
	m, _ := j.m["permissions"].(map[string]any)
	for k, v := range m {
		p[k], _ = v.(string)
	}
	return p
}

func (j job) steps() []map[string]any {
	var steps []map[string]any
	list, _ := j.m["steps"].([]any)
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			steps = append(steps, m)
		}
	}
	return steps
}

// signIn is the job's step that uses the sign-in action, or nil.
func (j job) signIn() map[string]any {
	for _, s := range j.steps() {
		if s["uses"] == "./.github/actions/sign-in" {
			w, _ := s["with"].(map[string]any)
			return w
		}
	}
	return nil
}

func (w *workflow) triggers() []string {
	var t []string
	switch on := w.doc["on"].(type) {
	case string:
		t = append(t, on)
	case map[string]any:
		for k := range on {
			t = append(t, k)
		}
	}
	return t
}

func (w *workflow) jobs() []job {
	var jobs []job
	m, _ := w.doc["jobs"].(map[string]any)
	for id, v := range m {
		jm, _ := v.(map[string]any)
		jobs = append(jobs, job{w, id, jm})
	}
	slices.SortFunc(jobs, func(a, b job) int { return strings.Compare(a.id, b.id) })
	return jobs
}

func load(t *testing.T) map[string]*workflow {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, ".github/workflows/*.yml"))
	if len(files) == 0 {
		t.Fatal("no workflows")
	}
	wfs := map[string]*workflow{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w := &workflow{name: filepath.Base(f)}
		if err := yaml.Unmarshal(b, &w.doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		wfs[w.name] = w
	}
	return wfs
}

// check is one property over every workflow; it returns what breaks it.
type check struct {
	name string
	run  func(map[string]*workflow) []string
}

var checks = []check{
	{"no workflow grants permissions to every job", func(wfs map[string]*workflow) (bad []string) {
		for _, w := range wfs {
			p, ok := w.doc["permissions"].(map[string]any)
			if !ok {
				bad = append(bad, w.name+": no top-level permissions")
				continue
			}
			for k, v := range p {
				if v != "read" || k != "contents" {
					bad = append(bad, fmt.Sprintf("%s: top-level %s: %v (grant it in the job that needs it)", w.name, k, v))
				}
			}
		}
		return bad
	}},
	{"a job with a cloud identity writes nothing else", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			p := j.permissions()
			if p["id-token"] != "write" {
				continue
			}
			for k, v := range p {
				if k != "id-token" && v != "read" {
					bad = append(bad, fmt.Sprintf("%s: id-token and %s: %s", j, k, v))
				}
			}
		}
		return bad
	}},
	{"a job that can write on a pull request reads no secret", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			if !slices.Contains(j.workflow.triggers(), "pull_request") {
				continue
			}
			writes := false
			for k, v := range j.permissions() {
				writes = writes || (v == "write" && k != "id-token")
			}
			if writes && strings.Contains(j.text(), "secrets.") {
				bad = append(bad, j.String()+": can write and reads a secret")
			}
		}
		return bad
	}},
	{"pull-request jobs with cloud access skip forks and Dependabot, and are read-only", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			if !slices.Contains(j.workflow.triggers(), "pull_request") || j.signIn() == nil {
				continue
			}
			for _, g := range forkGuard {
				if !strings.Contains(j.str("if"), g) {
					bad = append(bad, fmt.Sprintf("%s: if lacks %q", j, g))
				}
			}
			bad = append(bad, identity(j, readOnlyIdentities)...)
			if _, ok := j.m["environment"]; ok {
				bad = append(bad, j.String()+": a pull request job in an environment gets that environment's subject")
			}
		}
		return bad
	}},
	{"deploy identities only in a reviewed environment, from main", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			if !mentionsAny(j.text(), deployIdentities) {
				continue
			}
			if slices.Contains(j.workflow.triggers(), "pull_request") {
				bad = append(bad, j.String()+": a deploy identity in a pull-request workflow")
			}
			if want := deployEnvironments[j.workflow.name]; want == "" || j.str("environment") != want {
				bad = append(bad, fmt.Sprintf("%s: environment %q, want %q", j, j.str("environment"), want))
			}
			if !strings.Contains(j.str("if"), mainOnly) {
				bad = append(bad, fmt.Sprintf("%s: if lacks %q", j, mainOnly))
			}
			bad = append(bad, identity(j, deployIdentities)...)
		}
		return bad
	}},
	{"every stack step runs scripts/ci/stack.sh after the sign-in", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			signedIn := false
			for _, s := range j.steps() {
				uses, _ := s["uses"].(string)
				run, _ := s["run"].(string)
				if strings.HasPrefix(uses, "pulumi/actions") {
					bad = append(bad, j.String()+": pulumi/actions runs a command the tests do not")
				}
				signedIn = signedIn || uses == "./.github/actions/sign-in"
				if strings.Contains(run, "scripts/ci/stack.sh") && !signedIn {
					bad = append(bad, j.String()+": stack.sh before the sign-in")
				}
			}
		}
		for name, command := range map[string]string{"preview.yml": "preview", "deploy.yml": "up", "drift.yml": "drift", "destroy.yml": "destroy"} {
			if w := wfs[name]; w == nil || !strings.Contains(fmt.Sprint(w.doc["jobs"]), "scripts/ci/stack.sh "+command) {
				bad = append(bad, fmt.Sprintf("%s: no step runs stack.sh %s", name, command))
			}
		}
		return bad
	}},
	{"credentials outlast the job", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			with := j.signIn()
			if with == nil {
				continue
			}
			timeout, _ := j.m["timeout-minutes"].(int)
			session, _ := strconv.Atoi(fmt.Sprint(with["session-seconds"]))
			if timeout == 0 || session < timeout*60 {
				bad = append(bad, fmt.Sprintf("%s: a %d s session for a %d min job", j, session, timeout))
			}
		}
		return bad
	}},
	{"every job has a timeout", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			if _, calls := j.m["uses"]; !calls && j.m["timeout-minutes"] == nil {
				bad = append(bad, j.String()+": no timeout-minutes")
			}
		}
		return bad
	}},
	{"Azure jobs sign kubelogin in with the job's own identity", func(wfs map[string]*workflow) (bad []string) {
		for _, j := range allJobs(wfs) {
			with := j.signIn()
			if with == nil {
				continue
			}
			env, _ := j.m["env"].(map[string]any)
			client := fmt.Sprint(with["azure-client-id"])
			if env["AAD_LOGIN_METHOD"] != "workloadidentity" || env["AZURE_CLIENT_ID"] != client || env["ARM_CLIENT_ID"] != client {
				bad = append(bad, j.String()+": AAD_LOGIN_METHOD workloadidentity, AZURE_CLIENT_ID and ARM_CLIENT_ID must name the identity it signs in as")
			}
		}
		return bad
	}},
	{"deploys follow the tests and a preview; destroys and deploys queue apart", func(wfs map[string]*workflow) (bad []string) {
		deploy, destroy := wfs["deploy.yml"], wfs["destroy.yml"]
		if deploy == nil || destroy == nil {
			return []string{"deploy.yml or destroy.yml missing"}
		}
		if !slices.Equal(deploy.triggers(), []string{"push"}) || !slices.Equal(destroy.triggers(), []string{"workflow_dispatch"}) {
			bad = append(bad, "deploy runs on push only, destroy by hand only")
		}
		needs := map[string]string{}
		for _, j := range deploy.jobs() {
			needs[j.id] = fmt.Sprint(j.m["needs"])
		}
		if needs["up"] != "preview" || needs["preview"] != "test" {
			bad = append(bad, fmt.Sprintf("deploy.yml: up needs %q, preview needs %q; want preview, test", needs["up"], needs["preview"]))
		}
		for _, j := range deploy.jobs() {
			if j.id == "test" && j.m["uses"] != "./.github/workflows/ci.yml" {
				bad = append(bad, "deploy.yml: the test job does not call ci.yml")
			}
		}
		group := func(w *workflow) string { c, _ := w.doc["concurrency"].(map[string]any); return fmt.Sprint(c["group"]) }
		if group(deploy) == group(destroy) {
			bad = append(bad, "deploy and destroy share a concurrency group: a queued one would cancel the other")
		}
		return bad
	}},
}

// identity is what is wrong with the identities job j signs in with, given
// the ones it may use.
func identity(j job, allowed []string) (bad []string) {
	with := j.signIn()
	if with == nil {
		return nil
	}
	for _, key := range []string{"aws-role-arn", "azure-client-id"} {
		v := fmt.Sprint(with[key])
		if !mentionsAny(v, allowed) {
			bad = append(bad, fmt.Sprintf("%s: %s is %s, want one of %v", j, key, v, allowed))
		}
	}
	return bad
}

func mentionsAny(s string, names []string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.Contains(s, n) })
}

func allJobs(wfs map[string]*workflow) []job {
	var jobs []job
	for _, name := range slices.Sorted(maps.Keys(wfs)) {
		jobs = append(jobs, wfs[name].jobs()...)
	}
	return jobs
}

func TestWorkflows(t *testing.T) {
	wfs := load(t)
	for _, c := range checks {
		for _, b := range c.run(wfs) {
			t.Errorf("%s: %s", c.name, b)
		}
	}
}

// breaks are one deliberate defect per check: each must fail its check.
var breaks = map[string]func(map[string]*workflow){
	"no workflow grants permissions to every job": func(w map[string]*workflow) {
		w["preview.yml"].doc["permissions"] = map[string]any{"id-token": "write"}
	},
	"a job with a cloud identity writes nothing else": func(w map[string]*workflow) {
		jobMap(w, "preview.yml", "preview")["permissions"].(map[string]any)["pull-requests"] = "write"
	},
	"a job that can write on a pull request reads no secret": func(w map[string]*workflow) {
		jobMap(w, "preview.yml", "comment")["env"] = map[string]any{"P": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}
	},
	"pull-request jobs with cloud access skip forks and Dependabot, and are read-only": func(w map[string]*workflow) {
		jobMap(w, "preview.yml", "preview")["if"] = "always()"
	},
	"deploy identities only in a reviewed environment, from main": func(w map[string]*workflow) {
		delete(jobMap(w, "destroy.yml", "destroy"), "environment")
	},
	"every stack step runs scripts/ci/stack.sh after the sign-in": func(w map[string]*workflow) {
		j := jobMap(w, "drift.yml", "check")
		steps := j["steps"].([]any)
		j["steps"] = append([]any{map[string]any{"uses": "pulumi/actions@v6", "with": map[string]any{"command": "preview"}}}, steps...)
	},
	"credentials outlast the job": func(w map[string]*workflow) {
		jobMap(w, "deploy.yml", "up")["timeout-minutes"] = 180
	},
	"every job has a timeout": func(w map[string]*workflow) {
		delete(jobMap(w, "destroy.yml", "confirm"), "timeout-minutes")
	},
	"Azure jobs sign kubelogin in with the job's own identity": func(w map[string]*workflow) {
		jobMap(w, "deploy.yml", "up")["env"].(map[string]any)["AZURE_CLIENT_ID"] = "${{ vars.AZURE_PREVIEW_CLIENT_ID }}"
	},
	"deploys follow the tests and a preview; destroys and deploys queue apart": func(w map[string]*workflow) {
		w["destroy.yml"].doc["concurrency"] = w["deploy.yml"].doc["concurrency"]
	},
}

func jobMap(w map[string]*workflow, file, id string) map[string]any {
	return w[file].doc["jobs"].(map[string]any)[id].(map[string]any)
}

func TestWorkflowChecksCanFail(t *testing.T) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			brk, ok := breaks[c.name]
			if !ok {
				t.Fatal("no deliberate break")
			}
			wfs := load(t)
			brk(wfs)
			if len(c.run(wfs)) == 0 {
				t.Error("the break passed")
			}
		})
	}
}

// TestPulumiCLIPinned holds the workflows' CLI to the one the engine
// layer's tests build (engine/tools/pulumi/go.mod).
func TestPulumiCLIPinned(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "engine/tools/pulumi/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.ParseLax("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var tested string
	for _, r := range mod.Require {
		if r.Mod.Path == "github.com/pulumi/pulumi/pkg/v3" {
			tested = strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	action, err := os.ReadFile(filepath.Join(root, ".github/actions/sign-in/action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`(?m)^\s+pulumi-version:\s*(\S+)`).FindAllStringSubmatch(string(action), -1)
	if tested == "" || len(pinned) != 1 || pinned[0][1] != tested {
		t.Errorf("the sign-in action pins the Pulumi CLI at %v; the tests run %s", pinned, tested)
	}
}

// TestTrustMatchesTheWorkflows holds scripts/ci/trust.sh, which the
// bootstrap gives the clouds, to the OIDC subjects the workflows' jobs
// present (GitHub docs, "OpenID Connect reference": a job's environment
// names its subject; without one, a pull request's is pull_request and a
// push's, schedule's or dispatch's on main is ref:refs/heads/main).
func TestTrustMatchesTheWorkflows(t *testing.T) {
	const prefix = "repo:acme/edw"
	presented := map[string][]string{}
	for _, j := range allJobs(load(t)) {
		with := j.signIn()
		if with == nil {
			continue
		}
		subject := "ref:refs/heads/main"
		switch {
		case j.str("environment") != "":
			subject = "environment:" + j.str("environment")
		case slices.Contains(j.workflow.triggers(), "pull_request"):
			subject = "pull_request"
		case !strings.Contains(j.str("if"), mainOnly) && !slices.Equal(j.workflow.triggers(), []string{"push"}):
			t.Errorf("%s: may run from any branch, so its subject is unknown", j)
		}
		id := "deploy"
		if mentionsAny(fmt.Sprint(with["aws-role-arn"]), readOnlyIdentities) {
			id = "preview"
		}
		if !slices.Contains(presented[id], prefix+":"+subject) {
			presented[id] = append(presented[id], prefix+":"+subject)
		}
	}
	for _, id := range []string{"preview", "deploy"} {
		out, err := exec.Command("bash", "trust.sh", "subjects", id, prefix).Output()
		if err != nil {
			t.Fatalf("trust.sh subjects %s: %v", id, err)
		}
		trusted := strings.Fields(string(out))
		slices.Sort(trusted)
		slices.Sort(presented[id])
		if !slices.Equal(trusted, presented[id]) {
			t.Errorf("the %s identity trusts %v; its jobs present %v", id, trusted, presented[id])
		}
	}
}
