package addons

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestInstanceTypesOfferEveryFamilyInSmallSizes(t *testing.T) {
	types := InstanceTypes([]string{"c", "r", "Z"}, []string{"amd64", "arm64"})
	if len(types) != 3*2*len(sizes) {
		t.Fatalf("%d instance types, want %d", len(types), 3*2*len(sizes))
	}
	byName := map[string]instanceType{}
	for _, it := range types {
		byName[it.Name] = it
	}
	for name, mem := range map[string]string{"c-2x-amd64-linux": "4Gi", "r-8x-amd64-linux": "64Gi", "Z-4x-arm64-linux": "16Gi"} {
		if it, ok := byName[name]; !ok || it.Resources["memory"] != mem {
			t.Errorf("%s: %+v, want memory %s", name, it, mem)
		}
	}
	spot, onDemand := byName["c-2x-amd64-linux"].Offerings[1], byName["c-2x-amd64-linux"].Offerings[0]
	if spot.Price >= onDemand.Price || spot.Requirements[0].Values[0] != "spot" {
		t.Errorf("spot %+v should undercut on-demand %+v", spot, onDemand)
	}
	// The field names the kwok provider's file format reads.
	raw, _ := json.Marshal(types[0])
	for _, field := range []string{`"name"`, `"offerings"`, `"Price"`, `"Available"`, `"Requirements"`, `"resources"`, `"architecture"`, `"operatingSystems"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("instance type JSON lacks %s: %s", field, raw)
		}
	}
}

func TestVCPUsReadsTheLabsInstanceTypes(t *testing.T) {
	for name, want := range map[string]int{"c-2x-amd64-linux": 2, "m-8x-arm64-linux": 8, "Standard_D4ds_v5": 0, "": 0} {
		if got := VCPUs(name); got != want {
			t.Errorf("VCPUs(%q) = %d, want %d", name, got, want)
		}
	}
}
