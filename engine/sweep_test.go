//go:build engine

package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/edw-project/edw/internal/render"
	"github.com/edw-project/edw/stacks"
)

// guid is an Entra ID object id for the settings that take one.
const guid = "00000000-0000-0000-0000-0000000000aa"

// callerArn is who the stand-ins' calls come from (engine/standin).
const callerArn = "arn:aws:iam::123456789012:user/stand-in"

// sweep is the value each user-facing key is changed to on a live stack,
// with the keys it needs beside it; a key with no entry fails the sweep,
// so that a new key gets its row.
var sweep = map[string]struct {
	value string
	with  map[string]string
	// only limits the key to one stack's cloud.
	only string
}{
	"edw:namespace":                       {value: "edw2"},
	"edw:protectData":                     {value: "false"},
	"edw:metricsNamespaces":               {value: `["kube-system","monitoring"]`},
	"edw:clusterName":                     {value: "edw-other"},
	"edw:clusterVersion":                  {value: "1.35"},
	"edw:clusterSupportType":              {value: "EXTENDED", only: "aws"},
	"edw:clusterAvailabilityZones":        {value: "3", only: "aws"},
	"edw:clusterVpcCidr":                  {value: "10.1.0.0/16", only: "aws"},
	"edw:clusterSystemNodeCount":          {value: "3"},
	"edw:clusterEndpointAccess":           {value: "public", only: "aws"},
	"edw:clusterPublicAccessCidrs":        {value: `["203.0.113.0/24"]`},
	"edw:clusterAdminPrincipalArns":       {value: `["` + callerArn + `","arn:aws:iam::123456789012:role/ci"]`, only: "aws"},
	"edw:clusterReaderPrincipalArns":      {value: `["arn:aws:iam::123456789012:role/preview"]`, with: map[string]string{"edw:clusterAdminPrincipalArns": `["` + callerArn + `"]`}, only: "aws"},
	"edw:clusterAdminGroupObjectIds":      {value: `["` + guid + `"]`, only: "azure"},
	"edw:clusterDeployerAdmin":            {value: "false", with: map[string]string{"edw:clusterAdminGroupObjectIds": `["` + guid + `"]`}, only: "azure"},
	"edw:clusterReaderGroupObjectIds":     {value: `["` + guid + `"]`, with: map[string]string{"edw:clusterDeployerAdmin": "false", "edw:clusterAdminGroupObjectIds": `["00000000-0000-0000-0000-0000000000ab"]`}, only: "azure"},
	"edw:clusterKubeloginMode":            {value: "workloadidentity", only: "azure"},
	"edw:clusterUpgradeChannel":           {value: "stable", only: "azure"},
	"edw:clusterNodeOsUpgradeChannel":     {value: "SecurityPatch", only: "azure"},
	"edw:clusterMaintenanceDay":           {value: "Saturday", only: "azure"},
	"edw:clusterMaintenanceStartTime":     {value: "02:00", only: "azure"},
	"edw:clusterMaintenanceDurationHours": {value: "6", only: "azure"},
	"edw:clusterLogRetentionDays":         {value: "30", only: "aws"},
	"edw:queueVisibilityTimeoutSeconds":   {value: "90"},
	"edw:queueMaxReceiveCount":            {value: "3"},
	"edw:queueRetentionSeconds":           {value: "86400", only: "aws"},
	"edw:kedaMinReplicas":                 {value: "1"},
	"edw:kedaMaxReplicas":                 {value: "12"},
	"edw:drainObjectiveSeconds":           {value: "400"},
	"edw:kedaQueueLength":                 {value: "10"},
	"edw:kedaActivationQueueLength":       {value: "1"},
	"edw:kedaPollingIntervalSeconds":      {value: "15"},
	"edw:kedaCooldownPeriodSeconds":       {value: "120"},
	"edw:kedaScaleDownWindowSeconds":      {value: "60"},
	"edw:kedaScaleDownPercent":            {value: "50"},
	"edw:kedaScaleUpPercent":              {value: "50"},
	"edw:kedaScaleUpPods":                 {value: "2"},
	"edw:kedaPrometheusThreshold":         {value: "20", only: "azure"},
	"edw:karpenterMode":                   {value: "auto", only: "aws"},
	"edw:karpenterCapacityTypes":          {value: `["on-demand"]`, only: "aws"},
	"edw:karpenterInstanceCategories":     {value: `["c","m"]`, only: "aws"},
	"edw:karpenterArchitectures":          {value: `["amd64","arm64"]`},
	"edw:karpenterCpuLimit":               {value: "300"},
	"edw:karpenterConsolidateAfter":       {value: "5m"},
	"edw:karpenterExpireAfter":            {value: "360h"},
	"edw:karpenterTerminationGracePeriod": {value: "10m"},
	"edw:karpenterAmiAlias":               {value: "al2023@v20260801", only: "aws"},
	"edw:karpenterSkuFamilies":            {value: `["D","E"]`, only: "azure"},
	"edw:karpenterImageFamily":            {value: "Ubuntu2204", only: "azure"},
	"edw:karpenterOsDiskSizeGB":           {value: "64", only: "azure"},
	"edw:consumerWorkers":                 {value: "8"},
	"edw:consumerMessagesPerSecond":       {value: "300"},
	"edw:consumerCpu":                     {value: "500m"},
	"edw:consumerMemory":                  {value: "512Mi"},
	"edw:consumerEphemeralStorage":        {value: "256Mi"},
	"edw:consumerShutdownTimeoutSeconds":  {value: "30"},
	"edw:producerRatePerSecond":           {value: "10"},
	"edw:producerReplicas":                {value: "2"},
	"edw:producerEphemeralStorage":        {value: "256Mi"},
	"edw:tableService":                    {value: "cosmos", only: "azure"},
	"edw:tableCosmosMaxThroughput":        {value: "4000", with: map[string]string{"edw:tableService": "cosmos"}, only: "azure"},
	"edw:alertEmail":                      {value: "ops@example.com"},
	"edw:alertSetAsideMessages":           {value: "5"},
	"edw:alertWriteFailures":              {value: "20"},
	"edw:alertBacklogAgeSeconds":          {value: "900"},
	"edw:imagesKeep":                      {value: "20", only: "aws"},
	"edw:clusterSystemNodeType":           {value: "m6i.xlarge", only: "aws"},
	"edw:kedaPrometheusWorkspaceId":       {value: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/obs/providers/Microsoft.Monitor/accounts/obs", with: prometheusTrigger, only: "azure"},
	"edw:kedaPrometheusQueryEndpoint":     {value: "https://obs-abcd.westeurope.prometheus.monitor.azure.com", with: prometheusTrigger, only: "azure"},
	"edw:kedaPrometheusQuery":             {value: "sum(rate(edw_rows_written_total[1m]))", with: prometheusTrigger, only: "azure"},
}

// prometheusTrigger is the second trigger's three settings, which go
// together.
var prometheusTrigger = map[string]string{
	"edw:kedaPrometheusWorkspaceId":   "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/obs/providers/Microsoft.Monitor/accounts/obs",
	"edw:kedaPrometheusQueryEndpoint": "https://obs-abcd.westeurope.prometheus.monitor.azure.com",
	"edw:kedaPrometheusQuery":         "sum(rate(edw_rows_written_total[1m]))",
}

// unswept are keys a live stack is not changed on, and why.
var unswept = map[string]string{
	"edw:cloud":          "the stack's cloud: another cloud is another stack",
	"edw:imagesConsumer": "a prebuilt image replaces the build (edw:imagesProducer too); the engine layer deploys Azure's prebuilt",
	"edw:imagesProducer": "as edw:imagesConsumer",
}

// sweepResults are what each key's change plans, by key and stack.
var sweepResults = struct {
	sync.Mutex
	plans map[string]map[string]string
}{plans: map[string]map[string]string{}}

// sweepConfig changes every key of the stack's cloud on the live stack,
// one at a time, previews, and records what the preview plans; then it
// puts the configuration back.
func sweepConfig(t *testing.T, s auto.Stack, stack string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range stacks.Keys() {
		change, ok := sweep[k.Name]
		if _, skip := unswept[k.Name]; skip {
			continue
		}
		if !ok {
			t.Errorf("%s has no value to sweep it with (engine/sweep_test.go)", k.Name)
			continue
		}
		if change.only != "" && change.only != stack {
			continue
		}
		set := map[string]string{k.Name: change.value}
		for wk, wv := range change.with {
			set[wk] = wv
		}
		// The stack's settings as they were: the CLI's view of the config
		// includes Pulumi.yaml's defaults, which must not be written back.
		before, err := s.Workspace().StackSettings(ctx, s.Name())
		if err != nil {
			t.Fatal(err)
		}
		for key, v := range set {
			if err := setConfig(ctx, s, key, v); err != nil {
				t.Fatal(err)
			}
		}
		announced, _, err := stream(func(ch chan<- events.EngineEvent) error {
			_, err := s.Preview(ctx, optpreview.EventStreams(ch))
			return err
		})
		plan := summarize(announced, err)
		t.Logf("%s %s: %s", k.Name, change.value, plan)
		if err != nil {
			t.Logf("%s: %v", k.Name, err)
		}
		record(k.Name, stack, plan)
		if err := s.Workspace().SaveStackSettings(ctx, s.Name(), before); err != nil {
			t.Fatal(err)
		}
	}
}

// setConfig sets key as pulumi config set does: a list item by item
// (--path), so that the key stays a list.
func setConfig(ctx context.Context, s auto.Stack, key, value string) error {
	var list []string
	if json.Unmarshal([]byte(value), &list) != nil {
		return s.SetConfig(ctx, key, auto.ConfigValue{Value: value})
	}
	if err := s.RemoveConfig(ctx, key); err != nil {
		return err
	}
	for i, item := range list {
		if err := s.SetConfigWithOptions(ctx, fmt.Sprintf("%s[%d]", key, i), auto.ConfigValue{Value: item}, &auto.ConfigOptions{Path: true}); err != nil {
			return err
		}
	}
	return nil
}

func record(key, stack, plan string) {
	sweepResults.Lock()
	defer sweepResults.Unlock()
	if sweepResults.plans[key] == nil {
		sweepResults.plans[key] = map[string]string{}
	}
	sweepResults.plans[key][stack] = plan
}

// summarize says what a preview plans, by operation, and calls out the
// resources holding data that it would replace or delete.
func summarize(announced []step, err error) string {
	if err != nil {
		if strings.Contains(err.Error(), "protect") {
			return "refused: it would delete protected data (set edw:protectData false first)"
		}
		// The engine's own diagnostics follow the command's error.
		lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
		return "refused: " + lines[len(lines)-1]
	}
	byOp := map[string][]string{}
	lost := false
	for _, st := range changes(announced) {
		typ, name := typeAndName(st.urn)
		// The stand-in charts' own objects (engine/swap) are not the
		// program's.
		if strings.HasSuffix(name, "-standin") {
			continue
		}
		op := string(st.op)
		switch st.op {
		case apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced:
			op = "replace"
		}
		if (op == "replace" || st.op == apitype.OpDelete) && render.HoldsData(typ, st.urn) {
			lost = true
		}
		label := shortType(typ) + " " + name
		if !slices.Contains(byOp[op], label) {
			byOp[op] = append(byOp[op], label)
		}
	}
	if len(byOp) == 0 {
		return "no change"
	}
	var parts []string
	for _, op := range []string{"update", "replace", "create", "delete"} {
		if list := byOp[op]; len(list) > 0 {
			sort.Strings(list)
			parts = append(parts, fmt.Sprintf("%s %d: %s", op, len(list), strings.Join(capped(list, 4), ", ")))
		}
	}
	summary := strings.Join(parts, "; ")
	if lost {
		summary = "**loses data** — " + summary
	}
	return summary
}

// capped keeps a list readable in a table cell.
func capped(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), fmt.Sprintf("%d more", len(list)-n))
}

// typeAndName splits a URN's last type and its name.
func typeAndName(urn string) (string, string) {
	i := strings.LastIndex(urn, "::")
	types := urn[:i]
	if j := strings.LastIndex(types, "$"); j >= 0 {
		types = types[j+1:]
	} else if j := strings.LastIndex(types, "::"); j >= 0 {
		types = types[j+2:]
	}
	return types, urn[i+2:]
}

// shortType is a type token without its package's module path:
// aws:sqs/queue:Queue is sqs Queue.
func shortType(typ string) string {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 {
		return typ
	}
	module, _, _ := strings.Cut(parts[1], "/")
	if module == "index" || module == "" {
		return parts[2]
	}
	return module + " " + parts[2]
}

// sweepPage is the page whose section holds the sweep's table.
const (
	sweepPage    = "docs/configuration.md"
	sweepHeading = "## What changing a key does"
)

// checkSweepTable compares the sweep with the table on sweepPage; with
// EDW_WRITE_SWEEP set it writes the table instead.
func checkSweepTable(t *testing.T, root string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(sweepHeading + "\n\n")
	b.WriteString("What a preview of the live stack plans when one key changes, produced by\n")
	b.WriteString("the engine layer (`engine/sweep_test.go`) against the stand-ins, whose\n")
	b.WriteString("replacements follow the providers' schemas. A change that would delete or\n")
	b.WriteString("replace a queue, a table or their account is **refused** while\n")
	b.WriteString("`edw:protectData` is true; lift it in an `up` of its own first.\n\n")
	b.WriteString("| key | AWS | Azure |\n|---|---|---|\n")
	sweepResults.Lock()
	keys := make([]string, 0, len(sweepResults.plans))
	for k := range sweepResults.plans {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cell := func(stack string) string {
			if p, ok := sweepResults.plans[k][stack]; ok {
				return p
			}
			return "—"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k, cell("aws"), cell("azure"))
	}
	sweepResults.Unlock()
	for _, k := range slices.Sorted(maps.Keys(unswept)) {
		fmt.Fprintf(&b, "| `%s` | not swept: %s | |\n", k, unswept[k])
	}
	want := b.String()
	path := filepath.Join(root, sweepPage)
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(page), sweepHeading)
	if start < 0 {
		t.Fatalf("%s has no section %q", sweepPage, sweepHeading)
	}
	end := len(page)
	if next := strings.Index(string(page[start+len(sweepHeading):]), "\n## "); next >= 0 {
		end = start + len(sweepHeading) + next + 1
	}
	got := string(page[start:end])
	if strings.TrimSpace(got) == strings.TrimSpace(want) {
		return
	}
	if os.Getenv("EDW_WRITE_SWEEP") != "" {
		updated := string(page[:start]) + want + "\n" + strings.TrimLeft(string(page[end:]), "\n")
		if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", sweepPage)
		return
	}
	out := filepath.Join(root, "build", "engine", "sweep.md")
	_ = os.WriteFile(out, []byte(want), 0o644)
	t.Errorf("%s's %q differs from what the sweep plans (the sweep's table is in %s; rerun with EDW_WRITE_SWEEP=1 to write it)", sweepPage, sweepHeading, out)
}
