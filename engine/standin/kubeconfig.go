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
	doc, err := readKubeconfig(path)
	if err != nil {
		return "", err
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return string(j), nil
}

// readKubeconfig reads a kubeconfig in either form: YAML is a superset of
// JSON, so one decoder reads both.
func readKubeconfig(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return doc, nil
}
