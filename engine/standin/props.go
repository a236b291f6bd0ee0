package standin

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// wire keeps everything the engine sends as it is: secrets stay secret,
// unknowns (in previews) stay unknown, references stay references.
var wire = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	pm, err := plugin.UnmarshalProperties(s, wire)
	if err != nil {
		return nil, fmt.Errorf("reading properties: %w", err)
	}
	return pm, nil
}

func marshal(pm resource.PropertyMap) (*structpb.Struct, error) {
	s, err := plugin.MarshalProperties(pm, wire)
	if err != nil {
		return nil, fmt.Errorf("writing properties: %w", err)
	}
	return s, nil
}

// toStored turns properties into the JSON the state file holds.
func toStored(pm resource.PropertyMap) (map[string]any, error) {
	s, err := marshal(pm)
	if err != nil {
		return nil, err
	}
	return s.AsMap(), nil
}

// fromStored reads properties back from the state file.
func fromStored(m map[string]any) (resource.PropertyMap, error) {
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("stored properties: %w", err)
	}
	return unmarshal(s)
}

// plain unwraps secrets and known outputs at the top of v, for reading a
// value; it is not for copying it (the secret mark would be lost).
func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

// unwrapped is v with every secret unwrapped, at any depth: diffs compare
// values, not whether they are marked secret.
func unwrapped(v resource.PropertyValue) resource.PropertyValue {
	v = plain(v)
	switch {
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = unwrapped(e)
		}
		return resource.NewProperty(arr)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = unwrapped(e)
		}
		return resource.NewProperty(obj)
	}
	return v
}

// str is the string at key, or "" when it is absent, unknown (in a
// preview) or not a string.
func str(pm resource.PropertyMap, key string) string {
	if v := plain(pm[resource.PropertyKey(key)]); v.IsString() {
		return v.StringValue()
	}
	return ""
}

// obj is the object at key, or an empty one.
func obj(pm resource.PropertyMap, key string) resource.PropertyMap {
	if v := plain(pm[resource.PropertyKey(key)]); v.IsObject() {
		return v.ObjectValue()
	}
	return resource.PropertyMap{}
}

// strs is the strings of the array at key, unknown elements left out.
func strs(pm resource.PropertyMap, key string) []string {
	v := plain(pm[resource.PropertyKey(key)])
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = plain(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// props builds properties from plain Go values.
func props(m map[string]any) resource.PropertyMap {
	return resource.NewPropertyMapFromMap(m)
}

// merged is in with the computed fields laid over it.
func merged(in, computed resource.PropertyMap) resource.PropertyMap {
	out := in.Copy()
	for k, v := range computed {
		out[k] = v
	}
	return out
}

// previewed is what a preview shows of an operation's outputs: the
// inputs, the computed fields that keep their old values (old is nil for a
// create), and the others unknown, since the cloud has not assigned them
// yet.
func previewed(in, computed, old resource.PropertyMap) resource.PropertyMap {
	out := in.Copy()
	for k, v := range computed {
		was, hadIt := old[k]
		_, isInput := in[k]
		switch {
		case hadIt && unwrapped(was).DeepEquals(unwrapped(v)):
			out[k] = was
		case !isInput:
			out[k] = resource.MakeComputed(resource.NewProperty(""))
		}
	}
	return out
}
