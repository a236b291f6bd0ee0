package standin

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Entra ID as an AKS cluster with local accounts off sees it: the
// kubeconfig AKS hands out runs kubelogin, which signs in and returns a
// token the apiserver authorizes with Azure RBAC. The stand-ins play both
// ends: AKS's exec kubeconfig (aksKubeconfig) and kubelogin (Kubelogin),
// which hands out the test apiserver's admin credentials only to a
// sign-in mode that needs no person, and only once the deployer holds a
// cluster role through Azure RBAC, and the assignment has had
// Env.RBACPropagation to reach the apiserver, as the real apiserver would
// answer 403 before that (AKS docs, "Use Azure role-based access control
// for Kubernetes authorization": up to five minutes).
const (
	// aksServerID is the Entra ID application every AKS apiserver trusts.
	aksServerID = "6dae42f8-4368-4678-94ff-3960e28e3630"
	// aksClientID is the public client AKS's kubeconfig signs in with.
	aksClientID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
	// KubeloginCommand is the name the binary answers to as kubelogin.
	KubeloginCommand = "kubelogin"
)

// aksClusterRoles are the built-in roles that let a principal use an AKS
// cluster through Azure RBAC (Azure Kubernetes Service RBAC Cluster Admin,
// Admin, Writer).
var aksClusterRoles = []string{
	"b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
	"3498e952-d568-435e-9b2c-8d77e338d7f7",
	"a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
}

// interactiveLogins are kubelogin's modes that wait for a person.
var interactiveLogins = []string{"devicecode", "interactive"}

// aksKubeconfig is what AKS answers listClusterUserCredentials with for a
// cluster whose local accounts are off: the test apiserver, and a user
// that runs kubelogin (format exec) or the azure auth provider that
// Kubernetes clients dropped in 1.26 (any other format).
func aksKubeconfig(path, format string) ([]byte, error) {
	doc, err := readKubeconfig(path)
	if err != nil {
		return nil, err
	}
	user := map[string]any{"auth-provider": map[string]any{"name": "azure", "config": map[string]any{
		"apiserver-id": aksServerID, "client-id": aksClientID, "tenant-id": azureTenant, "environment": "AzurePublicCloud",
	}}}
	if strings.EqualFold(format, "exec") {
		user = map[string]any{"exec": map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1",
			"command":    KubeloginCommand,
			"args": []any{"get-token", "--environment", "AzurePublicCloud", "--server-id", aksServerID,
				"--client-id", aksClientID, "--tenant-id", azureTenant, "--login", "devicecode"},
			"interactiveMode": "IfAvailable",
		}}
	}
	users, _ := doc["users"].([]any)
	for _, u := range users {
		if m, ok := u.(map[string]any); ok {
			m["user"] = user
		}
	}
	return json.Marshal(doc)
}

// Kubelogin answers `kubelogin get-token` with an ExecCredential holding
// the test apiserver's admin client certificate.
func Kubelogin(args []string, env Env, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "get-token" {
		return fmt.Errorf("the stand-in kubelogin only answers get-token, not %q", args)
	}
	fs := flag.NewFlagSet("get-token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	login := fs.String("login", "devicecode", "")
	serverID := fs.String("server-id", "", "")
	fs.String("environment", "", "")
	fs.String("tenant-id", "", "")
	fs.String("client-id", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("get-token: %w", err)
	}
	switch {
	case *serverID != aksServerID:
		return fmt.Errorf("get-token: --server-id %q is not the AKS server application %s", *serverID, aksServerID)
	case slices.Contains(interactiveLogins, *login):
		return fmt.Errorf("get-token: --login %s waits for a person to sign in at a browser; nobody is there", *login)
	}
	if err := azureRBACGranted(env.StateDir, env.RBACPropagation, time.Now()); err != nil {
		return err
	}
	cert, key, err := adminCredentials(env.Kubeconfig)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1beta1",
		"kind":       "ExecCredential",
		"status":     map[string]any{"clientCertificateData": string(cert), "clientKeyData": string(key)},
	})
}

// azureRBACGranted reports whether the deployer holds a cluster role on a
// managed cluster, in the azure-native stand-in's state, assigned at
// least propagation before now.
func azureRBACGranted(stateDir string, propagation time.Duration, now time.Time) error {
	s := &store{dir: stateDir, pkg: "azure-native"}
	if err := s.ready(); err != nil {
		return err
	}
	assignment, ok, err := s.find(func(r Resource) bool {
		role, _ := r.Inputs["roleDefinitionId"].(string)
		scope, _ := r.Inputs["scope"].(string)
		return strings.HasSuffix(r.Type, ":RoleAssignment") && r.Inputs["principalId"] == azureObject &&
			strings.Contains(strings.ToLower(scope), "/microsoft.containerservice/managedclusters/") &&
			slices.Contains(aksClusterRoles, role[strings.LastIndex(role, "/")+1:])
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return errors.New("get-token: the signed-in principal holds no Azure Kubernetes Service RBAC role on a cluster: the apiserver would answer 403 Forbidden")
	}
	created, err := time.Parse(time.RFC3339Nano, fmt.Sprint(assignment.Outputs["createdOn"]))
	if err != nil {
		return fmt.Errorf("get-token: role assignment %s: createdOn: %w", assignment.ID, err)
	}
	if age := now.Sub(created); age < propagation {
		return fmt.Errorf("get-token: the principal's cluster role was assigned %s ago and takes %s to reach the apiserver: it would answer 403 Forbidden", age.Round(time.Second), propagation)
	}
	return nil
}

// adminCredentials are the PEM client certificate and key of the test
// apiserver's kubeconfig, which names them as files.
func adminCredentials(kubeconfig string) (cert, key []byte, err error) {
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	var cfg struct {
		Users []struct {
			User struct {
				Cert string `yaml:"client-certificate"`
				Key  string `yaml:"client-key"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil || len(cfg.Users) == 0 {
		return nil, nil, fmt.Errorf("kubeconfig %s: want a user with a client certificate (%v)", kubeconfig, err)
	}
	if cert, err = os.ReadFile(cfg.Users[0].User.Cert); err != nil {
		return nil, nil, err
	}
	key, err = os.ReadFile(cfg.Users[0].User.Key)
	return cert, key, err
}
