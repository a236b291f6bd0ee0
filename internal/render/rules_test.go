package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edw-project/edw/internal/render"
	"github.com/edw-project/edw/stacks"
)

// writeRules renders stack from its committed file with overrides and
// returns the rules file Write left, "" when there is none.
func writeRules(t *testing.T, stack string, overrides map[string]string) string {
	return written(t, stack, overrides, render.RulesFile)
}

// written renders stack from its committed file with overrides and returns
// file of what Write left, "" when there is none.
func written(t *testing.T, stack string, overrides map[string]string, file string) string {
	t.Helper()
	cfg, err := render.StackConfig("Pulumi." + stack + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range overrides {
		cfg[k] = v
	}
	plan, err := render.Run("edw", stack, render.Region(cfg), cfg, stacks.Program)
	if err != nil {
		t.Fatalf("render %s: %v", stack, err)
	}
	dir := t.TempDir()
	if err := plan.Write(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The render writes the alert rules each stack deploys as one Prometheus
// rules file, for the lab's Prometheus: the AWS workspace's file as is, the
// Azure rule group read back from its notation, the same rules either way.
// A stack that deploys no rules gets no file.
func TestRenderWritesTheStacksAlertRules(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	aws, azure := writeRules(t, "aws", nil), writeRules(t, "azure", nil)
	for _, want := range []string{"name: edw-consumer", "alert: EdwMessagesSetAside", "alert: EdwWriteFailures", "alert: EdwBacklogOld", "for: 1m"} {
		if !strings.Contains(aws, want) {
			t.Errorf("the AWS rules file lacks %q:\n%s", want, aws)
		}
	}
	if azure != aws {
		t.Errorf("the Azure rule group reads back as\n%s\nwant the AWS rules file\n%s", azure, aws)
	}
	if got := writeRules(t, "aws", map[string]string{"edw:clusterEndpointAccess": "public"}); got != "" {
		t.Errorf("a public endpoint (no managed scraper, no rules) wrote rules:\n%s", got)
	}
}

// The render writes the scrape configuration each stack deploys, the same
// job on both clouds, for the lab's Prometheus to label the consumers'
// series as the clouds' scrapers do.
func TestRenderWritesTheStacksScrapeConfig(t *testing.T) {
	t.Chdir(filepath.Join("..", ".."))
	aws, azure := written(t, "aws", nil, render.ScrapeFile), written(t, "azure", nil, render.ScrapeFile)
	for _, want := range []string{"job_name: edw-consumer", "target_label: namespace", "target_label: node"} {
		if !strings.Contains(aws, want) {
			t.Errorf("the AWS scrape config lacks %q:\n%s", want, aws)
		}
	}
	if azure != aws {
		t.Errorf("the Azure agent's scrape config\n%s\nwant AWS's\n%s", azure, aws)
	}
	if got := written(t, "aws", map[string]string{"edw:clusterEndpointAccess": "public"}, render.ScrapeFile); got != "" {
		t.Errorf("a public endpoint (no managed scraper) wrote a scrape config:\n%s", got)
	}
}
