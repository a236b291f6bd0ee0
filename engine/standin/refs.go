package standin

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// References: an input that holds another resource's id, ARN, URL or name
// is resolved against the live resources when the cloud would resolve it,
// at create and update, after the engine has created what it refers to. A
// preview refuses nothing (Server.apply): what a value names may be
// created by the same update, and its value is often not known yet.

// refsAt are the known, non-empty strings at path in pm. A path is keys
// joined by dots; a key ending in "[]" stands for each element of the list
// at that key ("routes[].gatewayId"). Unknowns are left out: there is
// nothing to resolve yet.
func refsAt(pm resource.PropertyMap, path string) []string {
	return stringsAt(resource.NewProperty(pm), strings.Split(path, "."))
}

func stringsAt(v resource.PropertyValue, path []string) []string {
	if len(path) == 0 {
		if v = plain(v); v.IsString() && v.StringValue() != "" {
			return []string{v.StringValue()}
		}
		return nil
	}
	key, each := strings.CutSuffix(path[0], "[]")
	v = field(v, key)
	if !each {
		return stringsAt(v, path[1:])
	}
	if v = plain(v); !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, stringsAt(e, path[1:])...)
	}
	return out
}

// storedString is the string a stored value holds, secret or not.
func storedString(v any) string {
	if m, ok := v.(map[string]any); ok {
		v = m["value"]
	}
	s, _ := v.(string)
	return s
}
