package stacks_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The workload's namespace refuses every connection but DNS, HTTPS out
// (and on AWS the Pod Identity agent), and the apps' HTTP port from the
// metrics namespaces; EKS's VPC CNI is asked to enforce that.
func TestNetworkPolicies(t *testing.T) {
	for stack, plan := range both(t) {
		deny := one(t, plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "edw-deny-all").Inputs
		if fmt.Sprint(at(deny, "spec", "policyTypes")) != "[Ingress Egress]" || len(at(deny, "spec", "podSelector").(map[string]any)) != 0 {
			t.Errorf("%s: deny-all %v", stack, deny["spec"])
		}
		var egress []string
		for _, rule := range at(one(t, plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "edw-egress").Inputs, "spec", "egress").([]any) {
			for _, port := range at(rule, "ports").([]any) {
				to := at(rule, "to", 0, "ipBlock", "cidr")
				if to == nil {
					to = at(rule, "to", 0, "podSelector", "matchLabels", "k8s-app")
				}
				egress = append(egress, fmt.Sprintf("%v %v/%v", to, at(port, "protocol"), at(port, "port")))
			}
		}
		want := []string{"kube-dns UDP/53", "kube-dns TCP/53", "0.0.0.0/0 TCP/443"}
		if stack == "aws" {
			want = append(want, "169.254.170.23/32 TCP/80")
		}
		if !slices.Equal(egress, want) {
			t.Errorf("%s: egress %v, want %v", stack, egress, want)
		}
		metrics := one(t, plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "edw-metrics").Inputs
		ingress := at(metrics, "spec", "ingress", 0)
		if fmt.Sprint(at(ingress, "from", 0, "namespaceSelector", "matchExpressions", 0, "values")) != "[kube-system]" || at(ingress, "ports", 0, "port") != float64(8080) {
			t.Errorf("%s: metrics ingress %v", stack, ingress)
		}
	}
	if c := one(t, aws(t), "eks:index:Cluster", "cluster").Inputs; at(c, "vpcCniOptions", "enableNetworkPolicy") != true {
		t.Errorf("the VPC CNI does not enforce NetworkPolicies: %v", c["vpcCniOptions"])
	}
}

// Both containers bound their ephemeral storage; the consumers spread over
// zones as a preference, and a budget paces evictions without blocking.
func TestWorkloadBoundsAndSpreads(t *testing.T) {
	for stack, plan := range both(t) {
		for _, app := range []string{"edw-consumer", "edw-producer"} {
			c := at(one(t, plan, "kubernetes:apps/v1:Deployment", app).Inputs, "spec", "template", "spec", "containers", 0)
			if at(c, "resources", "requests", "ephemeral-storage") != "128Mi" || at(c, "resources", "limits", "ephemeral-storage") != "128Mi" {
				t.Errorf("%s %s: ephemeral storage %v", stack, app, at(c, "resources"))
			}
		}
		spread := at(one(t, plan, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs, "spec", "template", "spec", "topologySpreadConstraints", 0)
		if at(spread, "topologyKey") != "topology.kubernetes.io/zone" || at(spread, "whenUnsatisfiable") != "ScheduleAnyway" {
			t.Errorf("%s: consumer spread %v", stack, spread)
		}
		pdb := one(t, plan, "kubernetes:policy/v1:PodDisruptionBudget", "edw-consumer").Inputs
		if at(pdb, "spec", "maxUnavailable") != "25%" || at(pdb, "spec", "minAvailable") != nil {
			t.Errorf("%s: consumer budget %v", stack, pdb["spec"])
		}
	}
}

// Every consumer pod carries karpenter.sh/do-not-disrupt, so a node's
// drain is bounded only by the NodePool's terminationGracePeriod; it must
// be set, and long enough for a consumer's own grace period.
func TestNodePoolBoundsTheDrain(t *testing.T) {
	for name, plan := range both(t) {
		np := one(t, plan, "kubernetes:karpenter.sh/v1:NodePool", "workload").Inputs
		grace, err := time.ParseDuration(fmt.Sprint(at(np, "spec", "template", "spec", "terminationGracePeriod")))
		if err != nil {
			t.Errorf("%s: NodePool terminationGracePeriod: %v", name, err)
			continue
		}
		consumer := one(t, plan, "kubernetes:apps/v1:Deployment", "edw-consumer").Inputs
		pod := time.Duration(at(consumer, "spec", "template", "spec", "terminationGracePeriodSeconds").(float64)) * time.Second
		if grace < pod {
			t.Errorf("%s: NodePool terminationGracePeriod %v is shorter than a consumer pod's %v", name, grace, pod)
		}
	}
}
