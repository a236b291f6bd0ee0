package standin

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// replacesJSON is the table of the inputs whose change makes each
// provider replace a resource, with the source of every rule: for AWS the
// Terraform schema pulumi-aws v6 bridges, mapped from CloudFormation's
// create-only properties (conformance/cloudspec checks the mapping
// against them); for Azure azure-native v2's force-new rules and the REST
// specs' create-only properties; docker-build's schema. pulumi-eks's
// components are not diffed: their children are aws resources.
//
//go:embed replaces.json
var replacesJSON []byte

// replaceOn maps a type token to the input paths ("a" or "a.b") whose
// change forces a replacement, beyond the rules each cloud keeps in code
// (names, ARM path keys).
var replaceOn = mustReplaceOn(replacesJSON)

func mustReplaceOn(b []byte) map[string][][]string {
	var table struct {
		Types map[string]struct {
			ReplaceOn []string `json:"replaceOn"`
			Source    string   `json:"source"`
		} `json:"types"`
	}
	if err := json.Unmarshal(b, &table); err != nil {
		panic(fmt.Sprintf("replaces.json: %v", err))
	}
	m := map[string][][]string{}
	for typ, t := range table.Types {
		if t.Source == "" {
			panic(fmt.Sprintf("replaces.json: %s has no source", typ))
		}
		m[typ] = [][]string{}
		for _, p := range t.ReplaceOn {
			m[typ] = append(m[typ], strings.Split(p, "."))
		}
	}
	return m
}

// replacesOnChange reports whether a change of the top-level input key of
// a resource of type typ, from was to now, changes a path in the table.
func replacesOnChange(typ, key string, was, now resource.PropertyValue) bool {
	for _, path := range replaceOn[typ] {
		if path[0] == key && changedAt(was, now, path[1:]) {
			return true
		}
	}
	return false
}

// changedAt reports whether the values at path inside was and now
// differ; what is unknown may differ.
func changedAt(was, now resource.PropertyValue, path []string) bool {
	for _, k := range path {
		if unknown(was) || unknown(now) {
			return true
		}
		was, now = field(was, k), field(now, k)
	}
	_, changed := change(was, now)
	return changed
}

// field is the value at key of an object, null for anything else.
func field(v resource.PropertyValue, key string) resource.PropertyValue {
	if v = plain(v); v.IsObject() {
		return v.ObjectValue()[resource.PropertyKey(key)]
	}
	return resource.NewNullProperty()
}

// unknown reports whether v is a value a preview does not know yet.
func unknown(v resource.PropertyValue) bool {
	v = plain(v)
	return v.IsComputed() || v.IsOutput()
}
