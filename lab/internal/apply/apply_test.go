package apply

import "testing"

func TestObjectKeepsMetadataAndSetsItsName(t *testing.T) {
	o := Object("v1", "Node", "", "system-0", map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"pool": "system"}},
		"spec":     map[string]any{},
	})
	if o.GetAPIVersion() != "v1" || o.GetKind() != "Node" || o.GetName() != "system-0" || o.GetNamespace() != "" {
		t.Errorf("object %v", o.Object)
	}
	if o.GetLabels()["pool"] != "system" {
		t.Errorf("labels %v: the metadata passed in was lost", o.GetLabels())
	}
	objs, err := Decode([]byte("a: 1\n---\n---\nb: 2\n"))
	if err != nil || len(objs) != 2 {
		t.Errorf("decode: %d objects, %v; want 2, empty documents skipped", len(objs), err)
	}
}
