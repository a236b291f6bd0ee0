package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edw-project/edw/lab/internal/lab"
)

func TestValidateNamesTheFlagAndFillsDefaults(t *testing.T) {
	good := func() lab.Options {
		return lab.Options{Stack: "azure", Bin: "bin", Emulators: "e.sh", KedaCRDs: "k/*.yaml", Messages: 10, Rate: 5, Settle: time.Minute}
	}
	o := good()
	if err := validate(&o, "a/*.yaml,b/*.yaml", "s/*.yaml", "", ""); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(o.Out) || !strings.HasSuffix(o.Out, "build/lab/azure") || !strings.HasSuffix(o.RenderDir, "build/render/azure") || len(o.KarpenterCRDs) != 2 {
		t.Errorf("defaults not filled: %+v", o)
	}
	for _, c := range []struct {
		change func(*lab.Options)
		want   string
	}{
		{func(o *lab.Options) { o.Stack = "gcp" }, `-stack "gcp"`},
		{func(o *lab.Options) { o.Messages = 0 }, "-messages 0"},
		{func(o *lab.Options) { o.Rate = -1 }, "-rate -1"},
		{func(o *lab.Options) { o.Settle = time.Second }, "-settle 1s"},
		{func(o *lab.Options) { o.KedaCRDs = "" }, "-keda-crds"},
		{func(o *lab.Options) { o.Poison = -1 }, "-poison"},
	} {
		o := good()
		c.change(&o)
		if err := validate(&o, "a/*.yaml", "s/*.yaml", "", ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want one naming %s", err, c.want)
		}
	}
	// kwok 0.8 runs no stage it is not given: without them its nodes never
	// become Ready.
	o = good()
	if err := validate(&o, "a/*.yaml", "", "", ""); err == nil || !strings.Contains(err.Error(), "-kwok-stages") {
		t.Errorf("err = %v, want one naming -kwok-stages", err)
	}
}
