package addons

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/edw-project/edw/lab/internal/price"
)

func TestInstanceTypesOfferEveryFamilyInSmallSizes(t *testing.T) {
	zones := []string{"us-east-1a", "us-east-1b"}
	types, err := InstanceTypes([]string{"c", "r"}, []string{"amd64", "arm64"}, zones, price.AWS)
	if err != nil {
		t.Fatal(err)
	}
	if len(types) != 2*2*len(sizes) {
		t.Fatalf("%d instance types, want %d", len(types), 2*2*len(sizes))
	}
	byName := map[string]instanceType{}
	for _, it := range types {
		byName[it.Name] = it
	}
	for name, mem := range map[string]string{"c-2x-amd64-linux": "4Gi", "r-8x-amd64-linux": "64Gi", "c-4x-arm64-linux": "8Gi"} {
		if it, ok := byName[name]; !ok || it.Resources["memory"] != mem {
			t.Errorf("%s: %+v, want memory %s", name, it, mem)
		}
	}
	// Every zone offers both capacity types, at the table's prices.
	offers := byName["c-2x-amd64-linux"].Offerings
	if len(offers) != 2*len(zones) {
		t.Fatalf("%d offerings, want on-demand and spot in %d zones: %+v", len(offers), len(zones), offers)
	}
	for _, o := range offers {
		want, _ := price.AWS.Node("c-2x-amd64-linux", o.Requirements[0].Values[0])
		if o.Price != want || !slices.Contains(zones, o.Requirements[1].Values[0]) {
			t.Errorf("offering %+v: want price %g in one of %v", o, want, zones)
		}
	}
	if _, err := InstanceTypes([]string{"Z"}, []string{"amd64"}, zones, price.AWS); err == nil {
		t.Error("a family the price table lacks must be refused, not priced at 0")
	}
	raw, _ := json.Marshal(types[0])
	// The field names the kwok provider's file format reads.
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
