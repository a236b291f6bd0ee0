package addons

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edw-project/edw/lab/internal/apply"
	"github.com/edw-project/edw/lab/internal/controlplane"
	"github.com/edw-project/edw/lab/internal/proc"
)

const (
	karpenterMetricsPort = 18090
	karpenterProbePort   = 18091
	// zone is the one zone of the lab's stand-in instance types.
	zone = "lab-zone-a"
)

// Karpenter locates Karpenter's kwok build and CRDs.
type Karpenter struct {
	Binary string
	// CRDs are globs of the NodePool, NodeClaim and KWOKNodeClass CRDs.
	CRDs []string
	// Families and Architectures are what the NodePools admit; the lab
	// offers instance types of each.
	Families, Architectures []string
}

// StartKarpenter installs the CRDs and starts Karpenter with its kwok cloud
// provider, which creates kwok-managed Nodes for the NodeClaims it launches.
func StartKarpenter(ctx context.Context, g *proc.Group, cp *controlplane.ControlPlane, a *apply.Applier, k Karpenter) error {
	for _, glob := range k.CRDs {
		crds, err := apply.ReadFiles(glob)
		if err != nil {
			return fmt.Errorf("karpenter crds: %w", err)
		}
		if err := a.CRDs(ctx, crds); err != nil {
			return err
		}
	}
	types, err := json.MarshalIndent(InstanceTypes(k.Families, k.Architectures), "", "  ")
	if err != nil {
		return err
	}
	typesFile := filepath.Join(cp.Dir, "instance-types.json")
	if err := os.WriteFile(typesFile, types, 0o600); err != nil {
		return err
	}
	kubeconfig, err := cp.Kubeconfig("karpenter", "edw-lab-karpenter", "system:masters")
	if err != nil {
		return err
	}
	p, err := g.Start("karpenter", k.Binary, nil, []string{
		"KUBECONFIG=" + kubeconfig, "DISABLE_LEADER_ELECTION=true", "INSTANCE_TYPES_FILE_PATH=" + typesFile,
		"METRICS_PORT=" + strconv.Itoa(karpenterMetricsPort), "HEALTH_PROBE_PORT=" + strconv.Itoa(karpenterProbePort),
		"LOG_LEVEL=info",
	})
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return proc.WaitHTTP(waitCtx, p, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", karpenterProbePort))
}

// instanceType is one entry of the kwok provider's instance-types file.
type instanceType struct {
	Name             string            `json:"name"`
	Offerings        []offering        `json:"offerings"`
	Architecture     string            `json:"architecture"`
	OperatingSystems []string          `json:"operatingSystems"`
	Resources        map[string]string `json:"resources"`
}

type offering struct {
	Price        float64       `json:"Price"`
	Available    bool          `json:"Available"`
	Requirements []requirement `json:"Requirements"`
}

type requirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// memoryPerCPU is GiB per vCPU by family, after the clouds' compute (c),
// general purpose (m, D) and memory (r) families; others get 4.
var memoryPerCPU = map[string]int{"c": 2, "m": 4, "r": 8, "D": 4}

// sizes are the vCPU counts offered in every family. Small on purpose: the
// consumer's pods should need more than one node when they scale out.
var sizes = []int{2, 4, 8}

// Per-hour prices in the shape of the clouds' lists; Karpenter picks the
// cheapest fit, so only their ratios matter.
const (
	pricePerCPU  = 0.035
	pricePerGiB  = 0.0045
	spotDiscount = 0.35
	podsPerNode  = 58
)

// InstanceTypes are the stand-ins for the cloud's instance types: each family
// in each size and architecture, on-demand and spot, Linux.
func InstanceTypes(families, archs []string) []instanceType {
	var out []instanceType
	for _, f := range families {
		perCPU, ok := memoryPerCPU[f]
		if !ok {
			perCPU = 4
		}
		for _, arch := range archs {
			out = append(out, family(f, arch, perCPU)...)
		}
	}
	return out
}

// VCPUs is the vCPU count of one of the lab's instance types: what a cloud
// bills a node for (its capacity, as kwok reports it, is less).
func VCPUs(instanceType string) int {
	var f, arch string
	var cpu int
	if _, err := fmt.Sscanf(strings.ReplaceAll(instanceType, "-", " "), "%s %dx %s linux", &f, &cpu, &arch); err != nil {
		return 0
	}
	return cpu
}

func family(f, arch string, perCPU int) []instanceType {
	var out []instanceType
	for _, cpu := range sizes {
		mem := cpu * perCPU
		price := float64(cpu)*pricePerCPU + float64(mem)*pricePerGiB
		out = append(out, instanceType{
			Name:             fmt.Sprintf("%s-%dx-%s-linux", f, cpu, arch),
			Architecture:     arch,
			OperatingSystems: []string{"linux"},
			Resources: map[string]string{
				"cpu": strconv.Itoa(cpu), "memory": fmt.Sprintf("%dGi", mem),
				"pods": strconv.Itoa(podsPerNode), "ephemeral-storage": "20Gi",
			},
			Offerings: []offering{
				{Price: price, Available: true, Requirements: capacity("on-demand")},
				{Price: price * spotDiscount, Available: true, Requirements: capacity("spot")},
			},
		})
	}
	return out
}

func capacity(kind string) []requirement {
	return []requirement{
		{Key: "karpenter.sh/capacity-type", Operator: "In", Values: []string{kind}},
		{Key: "topology.kubernetes.io/zone", Operator: "In", Values: []string{zone}},
	}
}
