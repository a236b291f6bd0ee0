package scenario

import (
	"strings"
	"testing"
)

func TestTeardownFailures(t *testing.T) {
	clean := Teardown{Messages: 100, Pods: 3, Nodes: 1, Queued: 40}
	if f := clean.Failures(); len(f) != 0 {
		t.Errorf("a clean teardown fails: %v", f)
	}
	for _, tc := range []struct {
		t    Teardown
		want string
	}{
		{Teardown{Pods: 0, Nodes: 1}, "with 0 consumer pods"},
		{Teardown{Pods: 1, Nodes: 1, NodeClaimsLeft: 2}, "left 2 NodeClaims"},
		{Teardown{Pods: 1, Nodes: 1, NamespaceLeft: true}, "namespace"},
		{Teardown{Pods: 1, Nodes: 1, Lost: 5}, "5 messages of the teardown burst lost"},
	} {
		if f := strings.Join(tc.t.Failures(), "; "); !strings.Contains(f, tc.want) {
			t.Errorf("%+v: failures %q, want %q", tc.t, f, tc.want)
		}
	}
}
