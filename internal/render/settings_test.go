package render

import (
	"flag"
	"testing"
)

func TestSettingsAreRepeatableKeyValueFlags(t *testing.T) {
	s := Settings{}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(s, "set", "")
	if err := fs.Parse([]string{"-set", "edw:kedaQueueLength=50", "-set", "aws:region=eu-west-1"}); err != nil {
		t.Fatal(err)
	}
	if s["edw:kedaQueueLength"] != "50" || s["aws:region"] != "eu-west-1" || s.String() != "aws:region=eu-west-1 edw:kedaQueueLength=50" {
		t.Errorf("settings %v", s)
	}
	for _, bad := range []string{"kedaQueueLength=50", "edw:kedaQueueLength"} {
		if err := s.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
