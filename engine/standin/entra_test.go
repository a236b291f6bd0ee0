package standin

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labKubeconfig writes a kubeconfig naming its client certificate as files,
// as the lab's does.
func labKubeconfig(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range map[string]string{"admin.crt": "CERT", "admin.key": "KEY"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "kubeconfig")
	body := "clusters: [{name: lab, cluster: {server: https://127.0.0.1:6443}}]\nusers: [{name: admin, user: {client-certificate: " +
		filepath.Join(dir, "admin.crt") + ", client-key: " + filepath.Join(dir, "admin.key") + "}}]\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAKSKubeconfigWithoutLocalAccounts(t *testing.T) {
	path := labKubeconfig(t)
	exec, err := aksKubeconfig(path, "exec")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(exec), `"command":"kubelogin"`) || !strings.Contains(string(exec), `"devicecode"`) || strings.Contains(string(exec), "admin.crt") {
		t.Errorf("exec kubeconfig %s", exec)
	}
	legacy, err := aksKubeconfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(legacy), `"auth-provider"`) {
		t.Errorf("default kubeconfig %s, want the azure auth provider", legacy)
	}
}

func TestKubeloginSignsInWithoutAPersonOnceTheRoleIsGranted(t *testing.T) {
	env := Env{StateDir: t.TempDir(), Kubeconfig: labKubeconfig(t), RBACPropagation: time.Minute}
	login := func(mode string) (string, error) {
		var out bytes.Buffer
		err := Kubelogin([]string{"get-token", "--login", mode, "--server-id", aksServerID}, env, &out)
		return out.String(), err
	}
	if _, err := login("devicecode"); err == nil || !strings.Contains(err.Error(), "waits for a person") {
		t.Errorf("devicecode: %v", err)
	}
	if _, err := login("azurecli"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("without a role: %v", err)
	}
	s := &store{dir: env.StateDir, pkg: "azure-native"}
	if err := s.add(Resource{Type: "azure-native:authorization:RoleAssignment", ID: "ra", Inputs: map[string]any{
		"principalId":      azureObject,
		"roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + aksClusterRoles[0],
		"scope":            "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerService/managedClusters/c",
	}, Outputs: map[string]any{"createdOn": time.Now().Add(-30 * time.Second).Format(time.RFC3339Nano)}}); err != nil {
		t.Fatal(err)
	}
	// Assigned 30 s ago, a minute from the apiserver.
	if _, err := login("azurecli"); err == nil || !strings.Contains(err.Error(), "takes 1m0s to reach the apiserver") {
		t.Errorf("a role not yet propagated: %v", err)
	}
	env.RBACPropagation = 20 * time.Second
	out, err := login("azurecli")
	if err != nil {
		t.Fatal(err)
	}
	var cred struct {
		Kind   string
		Status struct{ ClientCertificateData, ClientKeyData string }
	}
	if err := json.Unmarshal([]byte(out), &cred); err != nil || cred.Kind != "ExecCredential" || cred.Status.ClientCertificateData != "CERT" || cred.Status.ClientKeyData != "KEY" {
		t.Errorf("credential %s (%v)", out, err)
	}
}
