package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

func TestConfigScrapesTheTargetsFileAndLoadsTheRules(t *testing.T) {
	b, err := Config("/lab/prometheus/targets.json", "/render/monitoring/rules.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Global struct {
			ScrapeInterval     string `json:"scrape_interval"`
			EvaluationInterval string `json:"evaluation_interval"`
		} `json:"global"`
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			FileSDConfigs []struct {
				Files           []string `json:"files"`
				RefreshInterval string   `json:"refresh_interval"`
			} `json:"file_sd_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict(b, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if cfg.Global.ScrapeInterval != "5s" || cfg.Global.EvaluationInterval != "5s" {
		t.Errorf("global %+v, want scrapes and evaluations every 5s", cfg.Global)
	}
	if len(cfg.RuleFiles) != 1 || cfg.RuleFiles[0] != "/render/monitoring/rules.yaml" {
		t.Errorf("rule_files %v", cfg.RuleFiles)
	}
	if len(cfg.ScrapeConfigs) != 1 || cfg.ScrapeConfigs[0].JobName != "edw-consumer" ||
		len(cfg.ScrapeConfigs[0].FileSDConfigs) != 1 || fmt.Sprint(cfg.ScrapeConfigs[0].FileSDConfigs[0].Files) != "[/lab/prometheus/targets.json]" {
		t.Errorf("scrape_configs %+v, want one job reading the targets file\n%s", cfg.ScrapeConfigs, b)
	}
	b, err = Config("targets.json", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "rule_files") || strings.Contains(string(b), "relabel_configs") {
		t.Errorf("no rules and no scrape configuration, yet:\n%s", b)
	}
}

// With the stack's scrape configuration, the job is the stack's own: its
// name and relabelling, over the targets file instead of the API server.
func TestConfigRelabelsAsTheStacksScraper(t *testing.T) {
	stack := []byte(`global: {scrape_interval: 30s}
scrape_configs:
- job_name: edw-consumer
  kubernetes_sd_configs: [{role: pod}]
  relabel_configs:
  - {source_labels: [__meta_kubernetes_pod_node_name], target_label: node}
`)
	b, err := Config("targets.json", "", stack)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	job := cfg.ScrapeConfigs[0]
	if job["job_name"] != "edw-consumer" || fmt.Sprint(job["relabel_configs"]) != "[map[source_labels:[__meta_kubernetes_pod_node_name] target_label:node]]" ||
		job["kubernetes_sd_configs"] != nil || job["file_sd_configs"] == nil {
		t.Errorf("job %v, want the stack's name and relabelling over the targets file", job)
	}
	if _, err := Config("targets.json", "", []byte("rule_files: []")); err == nil {
		t.Error("a scrape configuration without a job was taken")
	}
}

func TestWriteTargetsReplacesTheFileWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.json")
	read := func() []TargetGroup {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var groups []TargetGroup
		if err := json.Unmarshal(b, &groups); err != nil || groups == nil {
			t.Fatalf("targets file %q: %v, want a JSON list", b, err)
		}
		return groups
	}
	if err := WriteTargets(path, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 0 {
		t.Errorf("no targets written as %v", got)
	}
	groups := []TargetGroup{
		{Targets: []string{"127.0.0.1:20000"}, Labels: map[string]string{"namespace": "edw", "pod": "consumer-a", "node": "n1"}},
		{Targets: []string{"127.0.0.1:20001"}, Labels: map[string]string{"namespace": "edw", "pod": "consumer-b", "node": "n2"}},
	}
	if err := WriteTargets(path, groups); err != nil {
		t.Fatal(err)
	}
	if got := read(); fmt.Sprint(got) != fmt.Sprint(groups) {
		t.Errorf("targets %v, want %v", got, groups)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files left beside the targets: %v", entries)
	}
	if err := WriteTargets(filepath.Join(dir, "missing", "targets.json"), nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

// fakeAPI answers Prometheus' API paths with the given bodies.
func fakeAPI(t *testing.T, answer func(r *http.Request) string) *Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answer(r))
	}))
	t.Cleanup(srv.Close)
	return newServer(srv.URL, "")
}

func TestQueryRangeCountsSeriesAndSamplesWithAValue(t *testing.T) {
	var asked string
	s := fakeAPI(t, func(r *http.Request) string {
		asked = r.URL.Path + "?" + r.URL.RawQuery
		switch r.URL.Query().Get("query") {
		case "empty":
			return `{"status":"success","data":{"resultType":"matrix","result":[]}}`
		case "nan":
			return `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[6,"NaN"]]}]}}`
		case "bad":
			return `{"status":"error","errorType":"bad_data","error":"parse error"}`
		}
		return `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"namespace":"edw","disposal":"a"},"values":[[1,"0"],[6,"2.5"],[11,"NaN"]]},
			{"metric":{"namespace":"edw","disposal":"b"},"values":[[1,"0"]]}]}}`
	})
	start := time.Unix(1000, 0)
	got, err := s.QueryRange(t.Context(), "sum(x)", start, start.Add(time.Minute), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Series != 2 || got.Samples != 3 || got.Max != 2.5 {
		t.Errorf("range %+v, want 2 series, 3 samples with a value, max 2.5", got)
	}
	if !strings.Contains(asked, "/api/v1/query_range?") || !strings.Contains(asked, "start=1000.000") || !strings.Contains(asked, "end=1060.000") || !strings.Contains(asked, "step=5") {
		t.Errorf("asked %s", asked)
	}
	// A histogram quantile of no traffic is NaN: a series, but no data.
	for _, expr := range []string{"empty", "nan"} {
		got, err := s.QueryRange(t.Context(), expr, start, start, time.Second)
		if err != nil || got.Samples != 0 || !math.IsNaN(got.Max) {
			t.Errorf("%s: %+v, %v, want no samples", expr, got, err)
		}
	}
	if _, err := s.QueryRange(t.Context(), "bad", start, start, time.Second); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("err = %v, want Prometheus' error", err)
	}
}

func TestWaitFiringSkipsPendingAndOtherAlerts(t *testing.T) {
	var polls atomic.Int32
	s := fakeAPI(t, func(*http.Request) string {
		state := "pending"
		if polls.Add(1) >= 2 {
			state = "firing"
		}
		return fmt.Sprintf(`{"status":"success","data":{"alerts":[
			{"labels":{"alertname":"EdwWriteFailures"},"state":"firing","activeAt":"2026-11-30T20:00:00Z","value":"12"},
			{"labels":{"alertname":"EdwMessagesSetAside","namespace":"edw"},"state":%q,"activeAt":"2026-11-30T20:00:05Z","value":"5e+00"}]}}`, state)
	})
	a, err := s.WaitFiring(t.Context(), "EdwMessagesSetAside")
	if err != nil {
		t.Fatal(err)
	}
	if a.State != "firing" || a.Labels["namespace"] != "edw" || !a.ActiveAt.Equal(time.Date(2026, 11, 30, 20, 0, 5, 0, time.UTC)) || polls.Load() != 2 {
		t.Errorf("alert %+v after %d polls, want the set-aside alert firing on the second", a, polls.Load())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := s.WaitFiring(ctx, "EdwBacklogOld"); err == nil || !strings.Contains(err.Error(), "EdwBacklogOld never fired") {
		t.Errorf("err = %v, want the alert named as never fired", err)
	}
}

func TestDashboardListsEveryPanelsQueries(t *testing.T) {
	queries, err := Dashboard(filepath.Join("..", "..", "..", "components", "monitoring", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	panels := map[string]int{}
	for _, q := range queries {
		if q.Expr == "" || q.RefID == "" {
			t.Errorf("query %+v lacks its expression or refId", q)
		}
		panels[q.Panel]++
	}
	if len(panels) < 5 || panels["Messages per second"] != 2 {
		t.Errorf("queries per panel %v", panels)
	}
	bad := filepath.Join(t.TempDir(), "dashboard.json")
	if err := os.WriteFile(bad, []byte(`{"panels":[{"title":"Empty","targets":[{"refId":"A"}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Dashboard(bad); err == nil || !strings.Contains(err.Error(), `"Empty"`) {
		t.Errorf("err = %v, want the panel without a query named", err)
	}
}

func TestFiredNamesTheAlertsThatFired(t *testing.T) {
	var query string
	s := fakeAPI(t, func(r *http.Request) string {
		query = r.URL.Query().Get("query")
		return `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"alertname":"EdwWriteFailures"},"values":[[6,"1"]]},
			{"metric":{"alertname":"EdwMessagesSetAside"},"values":[[1,"1"],[6,"1"]]}]}}`
	})
	start := time.Unix(1000, 0)
	names, err := s.Fired(t.Context(), start, start.Add(time.Minute), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[EdwMessagesSetAside EdwWriteFailures]" || !strings.Contains(query, `ALERTS{alertstate="firing"}`) {
		t.Errorf("fired %v from %s", names, query)
	}
}
