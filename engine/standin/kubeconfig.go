package standin

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// kubeconfigJSON is the kubeconfig the clusters hand out, the test
// apiserver's, as JSON: the form pulumi-eks gives its kubeconfigJson.
func kubeconfigJSON(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s is not set; it names the kubeconfig the clusters hand out", KubeconfigEnv)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	// YAML is a superset of JSON: one decoder reads either form.
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return string(j), nil
}
