package standin

import (
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// replaceKinds are the kinds of a change that forces a replacement.
var replaceKinds = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

// diffArgs are the old inputs (the old outputs from engines that do not
// send them) and the new inputs of a diff.
func diffArgs(req *pulumirpc.DiffRequest) (olds, news resource.PropertyMap, err error) {
	old := req.GetOldInputs()
	if old == nil {
		old = req.GetOlds()
	}
	if olds, err = unmarshal(old); err != nil {
		return nil, nil, err
	}
	news, err = unmarshal(req.GetNews())
	return olds, news, err
}

// diffInputs compares old and new inputs by top-level key, ignoring
// whether values are marked secret and the keys in ignore. A change of a
// key for which replaces is true, given the key's old and new values,
// forces a replacement.
func diffInputs(olds, news resource.PropertyMap, replaces func(key string, was, now resource.PropertyValue) bool, ignore []string) *pulumirpc.DiffResponse {
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if slices.Contains(ignore, string(k)) {
			continue
		}
		kind, changed := change(olds[k], news[k])
		if !changed {
			continue
		}
		if replaces(string(k), olds[k], news[k]) {
			kind = replaceKinds[kind]
			resp.Replaces = append(resp.Replaces, string(k))
		}
		resp.Diffs = append(resp.Diffs, string(k))
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

// neverReplaces is the rule of a diff in which nothing forces a
// replacement.
func neverReplaces(string, resource.PropertyValue, resource.PropertyValue) bool { return false }

// change is how a value changed, if it did; an unknown new value (in a
// preview) may be a change.
func change(was, now resource.PropertyValue) (pulumirpc.PropertyDiff_Kind, bool) {
	switch {
	case was.IsNull() && now.IsNull():
		return 0, false
	case was.IsNull():
		return pulumirpc.PropertyDiff_ADD, true
	case now.IsNull():
		return pulumirpc.PropertyDiff_DELETE, true
	case now.ContainsUnknowns() || !unwrapped(was).DeepEquals(unwrapped(now)):
		return pulumirpc.PropertyDiff_UPDATE, true
	}
	return 0, false
}
