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
	"github.com/edw-project/edw/lab/internal/price"
	"github.com/edw-project/edw/lab/internal/proc"
)

const (
	karpenterMetricsPort = 18090
	karpenterProbePort   = 18091
)

// Karpenter locates Karpenter's kwok build and CRDs.
type Karpenter struct {
	Binary string
	// CRDs are globs of the NodePool, NodeClaim and KWOKNodeClass CRDs.
	CRDs []string
	// Families and Architectures are what the NodePools admit, Zones
	// where the cloud would launch them; the lab offers instance types of
	// each family and architecture in every zone.
	Families, Architectures, Zones []string
	// Prices are the cloud's, which the offerings carry.
	Prices price.Table
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
	offered, err := InstanceTypes(k.Families, k.Architectures, k.Zones, k.Prices)
	if err != nil {
		return fmt.Errorf("karpenter instance types: %w", err)
	}
	types, err := json.MarshalIndent(offered, "", "  ")
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

const podsPerNode = 58

// InstanceTypes are the stand-ins for the cloud's instance types: each family
// in each size and architecture, on-demand and spot in every zone, Linux,
// at the cloud's prices, so that Karpenter picks among them as it would
// among the cloud's.
func InstanceTypes(families, archs, zones []string, prices price.Table) ([]instanceType, error) {
	var out []instanceType
	for _, f := range families {
		perCPU, ok := memoryPerCPU[f]
		if !ok {
			perCPU = 4
		}
		for _, arch := range archs {
			types, err := family(f, arch, perCPU, zones, prices)
			if err != nil {
				return nil, err
			}
			out = append(out, types...)
		}
	}
	return out, nil
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

func family(f, arch string, perCPU int, zones []string, prices price.Table) ([]instanceType, error) {
	var out []instanceType
	for _, cpu := range sizes {
		it := instanceType{
			Name:             fmt.Sprintf("%s-%dx-%s-linux", f, cpu, arch),
			Architecture:     arch,
			OperatingSystems: []string{"linux"},
			Resources: map[string]string{
				"cpu": strconv.Itoa(cpu), "memory": fmt.Sprintf("%dGi", cpu*perCPU),
				"pods": strconv.Itoa(podsPerNode), "ephemeral-storage": "20Gi",
			},
		}
		for _, zone := range zones {
			for _, capacity := range []string{"on-demand", "spot"} {
				p, err := prices.Node(it.Name, capacity)
				if err != nil {
					return nil, err
				}
				it.Offerings = append(it.Offerings, offering{Price: p, Available: true, Requirements: []requirement{
					{Key: "karpenter.sh/capacity-type", Operator: "In", Values: []string{capacity}},
					{Key: "topology.kubernetes.io/zone", Operator: "In", Values: []string{zone}},
				}})
			}
		}
		out = append(out, it)
	}
	return out, nil
}
