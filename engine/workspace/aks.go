package workspace

// kedaAddonObjects stand in for what AKS runs in kube-system once the KEDA
// add-on is on: the operator's service account and Deployment, which the
// Azure stack annotates and restarts. The Deployment runs no pod: the
// lab's own KEDA does the scaling.
var kedaAddonObjects = []struct {
	path   string
	object map[string]any
}{{
	path: "/api/v1/namespaces/kube-system/serviceaccounts",
	object: map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": map[string]any{"name": "keda-operator", "namespace": "kube-system"},
	},
}, {
	path: "/apis/apps/v1/namespaces/kube-system/deployments",
	object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "keda-operator", "namespace": "kube-system", "labels": map[string]any{"app": "keda-operator"}},
		"spec": map[string]any{
			"replicas": 0,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "keda-operator"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "keda-operator", "azure.workload.identity/use": "true"}},
				"spec": map[string]any{
					"serviceAccountName": "keda-operator",
					"containers":         []any{map[string]any{"name": "keda-operator", "image": "stand-in/keda-operator"}},
				},
			},
		},
	},
}}

// kedaAddon creates the KEDA add-on's objects unless they exist.
func (e *Env) kedaAddon() error {
	k, err := NewKube(e.Kubeconfig)
	if err != nil {
		return err
	}
	for _, o := range kedaAddonObjects {
		if err := k.Ensure(o.path, o.object); err != nil {
			return err
		}
	}
	return nil
}
