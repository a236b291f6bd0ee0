// Package prometheus runs Prometheus in the lab against the consumer
// processes, with the alert rules the stack deploys, and asks it what the
// stack's dashboard and alerts show.
package prometheus

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/edw-project/edw/lab/internal/proc"
)

const (
	// Addr is where Prometheus serves its API, inside the lab's network.
	Addr = "127.0.0.1:9090"
	// Interval is how often Prometheus scrapes and evaluates the rules:
	// short, so that a run of a few minutes fills the dashboard's 2 m
	// rates and an alert fires within seconds of its signal.
	Interval = 5 * time.Second
	// Job is the consumers' scrape job, named as in the stacks' scrapers.
	Job = "edw-consumer"
	// targetsFile holds the consumers to scrape, which the kubelet
	// stand-in rewrites as processes come and go.
	targetsFile = "targets.json"
)

// TargetGroup is one entry of a file_sd targets file: addresses and the
// labels their series get.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// WriteTargets replaces the targets file at path with groups. It writes a
// new file and renames it over the old one: Prometheus watches the file and
// must never read half of it.
func WriteTargets(path string, groups []TargetGroup) error {
	if groups == nil {
		groups = []TargetGroup{}
	}
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return fmt.Errorf("targets %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("targets %s: %w", path, err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("targets %s: %w", path, err)
	}
	return nil
}

// Config is the lab's prometheus.yml: the consumers listed in targets,
// scraped and evaluated every Interval, and the alert rules in rules
// ("" for none). scrape is the stack's own scrape configuration ("" for
// none): its first job's name and relabelling label the series as the
// cloud's scraper would, from the Kubernetes discovery labels the targets
// carry; without it, the series keep only the job and the instance.
func Config(targets, rules string, scrape []byte) ([]byte, error) {
	job := map[string]any{"job_name": Job}
	if len(scrape) > 0 {
		var stack struct {
			ScrapeConfigs []map[string]any `json:"scrape_configs"`
		}
		if err := yaml.Unmarshal(scrape, &stack); err != nil || len(stack.ScrapeConfigs) == 0 {
			return nil, fmt.Errorf("the stack's scrape configuration: want a scrape_configs job (%v)", err)
		}
		job = map[string]any{"job_name": stack.ScrapeConfigs[0]["job_name"], "relabel_configs": stack.ScrapeConfigs[0]["relabel_configs"]}
	}
	job["file_sd_configs"] = []any{map[string]any{
		"files": []string{targets},
		// Prometheus rereads the file when it changes; the refresh backs
		// that up, since its default of 5 m is a whole run.
		"refresh_interval": Interval.String(),
	}}
	cfg := map[string]any{
		"global":         map[string]any{"scrape_interval": Interval.String(), "evaluation_interval": Interval.String()},
		"scrape_configs": []any{job},
	}
	if rules != "" {
		cfg["rule_files"] = []string{rules}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus.yml: %w", err)
	}
	return b, nil
}

// Server is a running Prometheus.
type Server struct {
	// TargetsFile is the file_sd file it scrapes the consumers from.
	TargetsFile string
	client      *http.Client
	base        string
}

func newServer(base, targets string) *Server {
	return &Server{TargetsFile: targets, client: &http.Client{Timeout: 10 * time.Second}, base: base}
}

// Start writes the configuration and an empty targets file in dir, starts
// binary with its data there, and waits until Prometheus is ready.
func Start(ctx context.Context, g *proc.Group, binary, dir, rules string, scrape []byte) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := newServer("http://"+Addr, filepath.Join(dir, targetsFile))
	if err := WriteTargets(s.TargetsFile, nil); err != nil {
		return nil, err
	}
	cfg, err := Config(s.TargetsFile, rules, scrape)
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		return nil, err
	}
	p, err := g.Start("prometheus", binary, []string{
		"--config.file=" + cfgFile, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + Addr,
	}, nil)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := proc.WaitHTTP(waitCtx, p, s.client, s.base+"/-/ready"); err != nil {
		return nil, err
	}
	return s, nil
}

// Range is what a range query returned: how many series, how many samples
// with a value (not NaN), and the largest value; NaN when there is none.
type Range struct {
	Series, Samples int
	Max             float64
}

// QueryRange evaluates expr from start to end at every step.
func (s *Server) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (Range, error) {
	all, err := s.queryRange(ctx, expr, start, end, step)
	if err != nil {
		return Range{}, err
	}
	r := Range{Series: len(all), Max: math.NaN()}
	for _, series := range all {
		for _, v := range series.values {
			r.Samples++
			if math.IsNaN(r.Max) || v > r.Max {
				r.Max = v
			}
		}
	}
	return r, nil
}

// Fired lists the alerts that fired between start and end, sampled every
// step, by name.
func (s *Server) Fired(ctx context.Context, start, end time.Time, step time.Duration) ([]string, error) {
	all, err := s.queryRange(ctx, `count by (alertname) (ALERTS{alertstate="firing"})`, start, end, step)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, series := range all {
		if len(series.values) > 0 {
			names = append(names, series.metric["alertname"])
		}
	}
	slices.Sort(names)
	return names, nil
}

// series is one series of a range query: its labels and its values that
// are numbers.
type series struct {
	metric map[string]string
	values []float64
}

func (s *Server) queryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]series, error) {
	q := url.Values{
		"query": {expr}, "start": {unix(start)}, "end": {unix(end)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := s.get(ctx, "/api/v1/query_range", q, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("query %s: result type %q, want matrix", expr, data.ResultType)
	}
	out := make([]series, 0, len(data.Result))
	for _, r := range data.Result {
		x := series{metric: r.Metric}
		for _, point := range r.Values {
			text, _ := point[1].(string)
			v, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("query %s: value %v: %w", expr, point[1], err)
			}
			if !math.IsNaN(v) {
				x.values = append(x.values, v)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// Alert is an alert Prometheus holds, pending or firing.
type Alert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
	Value    string            `json:"value"`
}

// Alerts lists the alerts pending or firing now.
func (s *Server) Alerts(ctx context.Context) ([]Alert, error) {
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	if err := s.get(ctx, "/api/v1/alerts", nil, &data); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return data.Alerts, nil
}

// WaitFiring polls the alerts every second until one named name fires, and
// returns it; it gives up when ctx ends. A failed poll is tried again: a
// busy Prometheus may answer late.
func (s *Server) WaitFiring(ctx context.Context, name string) (Alert, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastErr error
	for {
		alerts, err := s.Alerts(ctx)
		if err != nil {
			lastErr = err
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == name && a.State == "firing" {
				return a, nil
			}
		}
		select {
		case <-ctx.Done():
			return Alert{}, fmt.Errorf("alert %s never fired (last error: %v): %w", name, lastErr, ctx.Err())
		case <-tick.C:
		}
	}
}

// get calls the API at path and decodes the data of its answer into data.
func (s *Server) get(ctx context.Context, path string, q url.Values, data any) error {
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, cmp.Or(body.Error, body.Status))
	}
	if err := json.Unmarshal(body.Data, data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// Query is one query of a Grafana dashboard: a panel's target.
type Query struct {
	Panel, RefID, Expr string
}

// Dashboard reads the queries of the Grafana dashboard at path.
func Dashboard(path string) ([]Query, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", path, err)
	}
	var out []Query
	for _, p := range dash.Panels {
		for _, t := range p.Targets {
			if t.Expr == "" {
				return nil, fmt.Errorf("dashboard %s: panel %q target %s has no query", path, p.Title, t.RefID)
			}
			out = append(out, Query{Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard %s has no queries", path)
	}
	return out, nil
}
