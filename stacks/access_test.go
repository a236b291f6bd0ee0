package stacks_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/components/cluster"
	"github.com/edw-project/edw/internal/render"
)

const (
	ciRole      = "arn:aws:iam::" + render.AccountID + ":role/ci/deploy"
	previewRole = "arn:aws:iam::" + render.AccountID + ":role/ci/preview"
	// renderCaller is the IAM user the render runs as (internal/render).
	renderCaller = "arn:aws:iam::" + render.AccountID + ":user/render"
	adminGroup   = "00000000-0000-0000-0000-00000000000a"
	readerGroup  = "00000000-0000-0000-0000-00000000000b"
)

// admins are the principals with an EKS cluster-admin association, each
// with its access entry.
func admins(t *testing.T, p *render.Plan) []string {
	t.Helper()
	entries := map[string]bool{}
	for _, e := range p.Find("aws:eks/accessEntry:AccessEntry") {
		if e.Inputs["type"] == nil {
			entries[e.Inputs["principalArn"].(string)] = e.Inputs["kubernetesGroups"] == nil
		}
	}
	var got []string
	for _, a := range p.Find("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
		arn, _ := a.Inputs["principalArn"].(string)
		if strings.HasSuffix(a.Inputs["policyArn"].(string), "/AmazonEKSClusterAdminPolicy") && at(a.Inputs, "accessScope", "type") == "cluster" && entries[arn] {
			got = append(got, arn)
		}
	}
	slices.Sort(got)
	return got
}

// The EKS admins are the ones configured, or whoever runs the program;
// the program's provider waits for them.
func TestAWSClusterAdmins(t *testing.T) {
	p := aws(t)
	if got := admins(t, p); !slices.Equal(got, []string{renderCaller}) {
		t.Errorf("admins by default %v, want the caller %s", got, renderCaller)
	}
	provider := one(t, p, "pulumi:providers:kubernetes", "cluster-k8s")
	for _, a := range p.Find("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
		if !slices.Contains(provider.Dependencies, a.URN) {
			t.Errorf("the cluster's provider does not wait for %s", a.Name)
		}
	}

	set, err := renderStack(t, "aws", map[string]string{
		"edw:clusterAdminPrincipalArns":  `["` + ciRole + `","` + renderCaller + `"]`,
		"edw:clusterReaderPrincipalArns": `["` + previewRole + `"]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := admins(t, set); !slices.Equal(got, []string{ciRole, renderCaller}) {
		t.Errorf("admins %v, want the configured ones", got)
	}
	readers := 0
	for _, e := range set.Find("aws:eks/accessEntry:AccessEntry") {
		if e.Inputs["principalArn"] == previewRole {
			readers++
			if g := at(e.Inputs, "kubernetesGroups", 0); g != cluster.ReadersGroup {
				t.Errorf("the reader's entry maps it to %v, want %s", g, cluster.ReadersGroup)
			}
		}
	}
	if readers != 1 {
		t.Errorf("%d access entries for the reader, want 1", readers)
	}

	// A list without the identity running pulumi would lock it out of the
	// cluster it creates.
	_, err = renderStack(t, "aws", map[string]string{"edw:clusterAdminPrincipalArns": `["` + ciRole + `"]`})
	if err == nil || !strings.Contains(err.Error(), "clusterAdminPrincipalArns") || !strings.Contains(err.Error(), renderCaller) {
		t.Errorf("admins without the caller: error %v, want one naming the key and the caller", err)
	}
	// A reader (a pull request's preview) runs the program with the
	// configured admins, not as one.
	asReader, err := renderStack(t, "aws", map[string]string{
		"edw:clusterAdminPrincipalArns":  `["` + ciRole + `"]`,
		"edw:clusterReaderPrincipalArns": `["` + renderCaller + `"]`,
	})
	if err != nil {
		t.Fatalf("a reader's preview: %v", err)
	}
	if got := admins(t, asReader); !slices.Equal(got, []string{ciRole}) {
		t.Errorf("admins in a reader's preview %v, want the configured %s", got, ciRole)
	}
	for _, bad := range []struct{ key, set string }{
		{"clusterAdminPrincipalArns", `["arn:aws:sts::111122223333:assumed-role/deploy/me"]`},
		{"clusterReaderPrincipalArns", `["` + previewRole + `"]`},
	} {
		_, err = renderStack(t, "aws", map[string]string{"edw:" + bad.key: bad.set})
		if err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("edw:%s %s alone: error %v, want one naming the key", bad.key, bad.set, err)
		}
	}
	_, err = renderStack(t, "aws", map[string]string{
		"edw:clusterAdminPrincipalArns":  `["` + renderCaller + `"]`,
		"edw:clusterReaderPrincipalArns": `["` + renderCaller + `"]`,
	})
	if err == nil || !strings.Contains(err.Error(), "clusterReaderPrincipalArns") {
		t.Errorf("one principal in both lists: error %v, want one naming the second list", err)
	}
}

// The readers' role reads what the stack creates, never Secrets, and is
// bound to the readers' group and the configured Entra ID groups.
func TestClusterReaders(t *testing.T) {
	for name, p := range both(t) {
		role := one(t, p, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "cluster-readers")
		rules, _ := role.Inputs["rules"].([]any)
		for _, r := range rules {
			resources, _ := at(r, "resources").([]any)
			verbs, _ := at(r, "verbs").([]any)
			if slices.Contains(resources, any("secrets")) || (at(r, "apiGroups", 0) == "" && slices.Contains(resources, any("*"))) {
				t.Errorf("%s: the readers' role reads Secrets: %v", name, r)
			}
			if !slices.Equal(verbs, []any{"get", "list", "watch"}) {
				t.Errorf("%s: the readers' role may %v", name, verbs)
			}
		}
		readable := map[string]bool{}
		for _, r := range rules {
			for _, res := range at(r, "resources").([]any) {
				readable[at(r, "apiGroups", 0).(string)+"/"+res.(string)] = true
			}
		}
		for _, r := range p.Resources {
			group, kind, ok := kubernetesKind(r.Type)
			if !ok {
				continue
			}
			if !readable[group+"/*"] && !readable[group+"/"+plural(strings.TrimSuffix(kind, "Patch"))] {
				t.Errorf("%s: the readers cannot read the stack's %s", name, r.Type)
			}
		}
	}

	p, err := renderStack(t, "azure", map[string]string{
		"edw:clusterReaderGroupObjectIds": `["` + readerGroup + `"]`,
		"edw:clusterDeployerAdmin":        "false", "edw:clusterAdminGroupObjectIds": `["` + adminGroup + `"]`,
	})
	if err != nil {
		t.Fatal(err)
	}
	binding := one(t, p, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "cluster-readers")
	if !strings.Contains(fmt.Sprint(binding.Inputs["subjects"]), readerGroup) {
		t.Errorf("the readers' binding leaves out the configured group: %v", binding.Inputs["subjects"])
	}
	listed := false
	for _, a := range p.Find("azure-native:authorization:RoleAssignment") {
		listed = listed || (a.Inputs["principalId"] == readerGroup && strings.HasSuffix(a.Inputs["roleDefinitionId"].(string), "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"))
	}
	if !listed {
		t.Error("the reader group may not list the cluster's kubeconfig (Azure Kubernetes Service Cluster User Role)")
	}
}

// With edw:clusterDeployerAdmin false, the deployer's access is its
// groups': no assignment follows whoever ran the last up.
func TestAzureDeployerAdmin(t *testing.T) {
	deployer := func(p *render.Plan) int {
		n := 0
		for _, a := range p.Find("azure-native:authorization:RoleAssignment") {
			if strings.HasSuffix(a.Name, "-deployer-admin") {
				n++
			}
		}
		return n
	}
	if n := deployer(plan(t, "azure")); n != 1 {
		t.Errorf("%d deployer assignments by default, want 1", n)
	}
	p, err := renderStack(t, "azure", map[string]string{"edw:clusterDeployerAdmin": "false", "edw:clusterAdminGroupObjectIds": `["` + adminGroup + `"]`})
	if err != nil {
		t.Fatal(err)
	}
	if n := deployer(p); n != 0 {
		t.Errorf("%d deployer assignments with clusterDeployerAdmin false, want 0", n)
	}
	if _, err := renderStack(t, "azure", map[string]string{"edw:clusterDeployerAdmin": "false"}); err == nil || !strings.Contains(err.Error(), "clusterDeployerAdmin") {
		t.Errorf("no deployer admin and no admin group: error %v, want one naming clusterDeployerAdmin", err)
	}
	if _, err := renderStack(t, "azure", map[string]string{"edw:clusterReaderGroupObjectIds": `["` + readerGroup + `"]`}); err == nil || !strings.Contains(err.Error(), "clusterReaderGroupObjectIds") {
		t.Errorf("readers with the deployer's own assignment: error %v, want one naming clusterReaderGroupObjectIds", err)
	}
}

// kubernetesKind splits a Kubernetes resource type token
// (kubernetes:<group>/<version>:<Kind>, core/v1 for the core group).
func kubernetesKind(typ string) (group, kind string, ok bool) {
	rest, found := strings.CutPrefix(typ, "kubernetes:")
	if !found || strings.HasPrefix(typ, "kubernetes:helm") || strings.HasPrefix(typ, "kubernetes:yaml") {
		return "", "", false
	}
	gv, kind, found := strings.Cut(rest, ":")
	group, _, _ = strings.Cut(gv, "/")
	if group == "core" {
		group = ""
	}
	return group, kind, found
}

// plural is the resource name of a kind, as the API serves it.
func plural(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(k, "y"):
		return strings.TrimSuffix(k, "y") + "ies"
	case strings.HasSuffix(k, "s"):
		return k + "es"
	}
	return k + "s"
}
