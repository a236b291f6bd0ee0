package standin

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func (z *azure) invoke(tok string, args resource.PropertyMap, live finder) (resource.PropertyMap, error) {
	switch {
	case tok == "azure-native:authorization:getClientConfig":
		return props(map[string]any{
			"subscriptionId": azureSubscription, "tenantId": azureTenant, "clientId": azureClient, "objectId": azureObject,
		}), nil
	case tok == "azure-native:authorization:getClientToken":
		return props(map[string]any{"token": "stand-in-token"}), nil
	case strings.HasPrefix(tok, "azure-native:containerservice") && strings.HasSuffix(tok, ":listManagedClusterUserCredentials"):
		return z.userCredentials(str(args, "resourceGroupName"), str(args, "resourceName"), str(args, "format"), live)
	}
	return nil, noAnswer(tok)
}

// userCredentials hands out the kubeconfig of the test apiserver for a
// cluster the stand-in created, signing in through Entra ID when its local
// accounts are off; AKS answers ResourceNotFound for any other cluster.
func (z *azure) userCredentials(group, name, format string, live finder) (resource.PropertyMap, error) {
	what := fmt.Sprintf("listing user credentials of managed cluster %q in resource group %q", name, group)
	cluster, ok, err := live.find(func(r Resource) bool {
		service, kind := tokenParts(r.Type)
		return service == "containerservice" && kind == "ManagedCluster" &&
			r.Inputs["resourceName"] == name && r.Inputs["resourceGroupName"] == group
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !ok {
		return nil, fmt.Errorf("%s: ResourceNotFound: %w", what, ErrNotFound)
	}
	if z.kubeconfig == "" {
		return nil, fmt.Errorf("%s: %s is not set; it names the kubeconfig the clusters hand out", what, KubeconfigEnv)
	}
	read := os.ReadFile
	if cluster.Inputs["disableLocalAccounts"] == true {
		read = func(path string) ([]byte, error) { return aksKubeconfig(path, format) }
	}
	b, err := read(z.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return props(map[string]any{"kubeconfigs": []any{map[string]any{
		"name": "clusterUser", "value": base64.StdEncoding.EncodeToString(b),
	}}}), nil
}
