package standin

import (
	"encoding/json"
	"testing"
)

func TestPluginFromPath(t *testing.T) {
	for path, want := range map[string][2]string{
		"/home/plugins/resource-azure-native-v2.81.0/pulumi-resource-azure-native": {"azure-native", "2.81.0"},
		"/home/plugins/resource-aws-v6.83.4/pulumi-resource-aws":                   {"aws", "6.83.4"},
		"build/engine/bin/pulumi-resource-docker-build":                            {"docker-build", "0.0.0"},
		"pulumi-resource-eks": {"eks", "0.0.0"},
	} {
		pkg, version, err := PluginFromPath(path)
		if err != nil || pkg != want[0] || version != want[1] {
			t.Errorf("%s: %q %q %v, want %q", path, pkg, version, err, want)
		}
	}
	if _, _, err := PluginFromPath("/bin/pulumi-resource-gcp"); err == nil {
		t.Error("a package without a stand-in was accepted")
	}
}

func TestKubeconfigJSON(t *testing.T) {
	got, err := kubeconfigJSON(writeKubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Kind     string `json:"kind"`
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(got), &doc); err != nil || doc.Kind != "Config" || doc.Clusters[0].Cluster.Server != "https://127.0.0.1:6443" {
		t.Errorf("kubeconfig JSON %s (%v)", got, err)
	}
	if _, err := kubeconfigJSON(""); err == nil {
		t.Errorf("no error without %s", KubeconfigEnv)
	}
}
