package workload

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs say where the apps may talk beyond the defaults: DNS, and
// HTTPS to the cloud's APIs.
type NetworkArgs struct {
	// MetricsNamespaces may reach the apps' HTTP port (metrics, health),
	// e.g. where a collector scrapes. Optional; none by default.
	MetricsNamespaces []string
	// MetricsCIDRs may reach the HTTP port too: collectors that do not run
	// in a pod, such as AWS's managed Prometheus scraper, whose network
	// interfaces are in the VPC. Optional.
	MetricsCIDRs []string
	// Egress adds destinations, e.g. the EKS Pod Identity agent on its
	// link-local address. Optional.
	Egress []Endpoint
}

// Endpoint is one destination: an address range and a TCP port.
type Endpoint struct {
	CIDR string
	Port int
}

const (
	// dnsPort is cluster DNS, over UDP and TCP.
	dnsPort = 53
	// httpsPort reaches the clouds' APIs: the queue, the table and the
	// identity endpoints.
	httpsPort = 443
	// anywhere is every IPv4 address.
	anywhere = "0.0.0.0/0"
)

// newNetworkPolicies denies every connection in the namespace but DNS, HTTPS
// out, the configured egress, and the HTTP port from the metrics
// namespaces. The kubelet's probes come from the node, which both clusters'
// policy engines (the VPC CNI's agent, Cilium) always admit.
func newNetworkPolicies(ctx *pulumi.Context, name string, a *Args, opts ...pulumi.ResourceOption) error {
	meta := func(policy string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(policy), Namespace: a.Namespace, Labels: pulumi.StringMap{partOf: pulumi.String(project)}}
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-deny-all", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("deny-all"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
		},
	}, opts...); err != nil {
		return err
	}
	apps := &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{partOf: pulumi.String(project)}}
	egress := networkingv1.NetworkPolicyEgressRuleArray{
		networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: namespaces([]string{"kube-system"}),
				PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
			}},
			Ports: networkingv1.NetworkPolicyPortArray{port("UDP", dnsPort), port("TCP", dnsPort)},
		},
		to(anywhere, httpsPort),
	}
	for _, e := range a.Network.Egress {
		egress = append(egress, to(e.CIDR, e.Port))
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-egress", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("egress"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: apps,
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress:      egress,
		},
	}, opts...); err != nil {
		return err
	}
	var scrapers networkingv1.NetworkPolicyPeerArray
	if len(a.Network.MetricsNamespaces) > 0 {
		scrapers = append(scrapers, networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: namespaces(a.Network.MetricsNamespaces)})
	}
	for _, cidr := range a.Network.MetricsCIDRs {
		scrapers = append(scrapers, networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
	}
	if len(scrapers) == 0 {
		return nil
	}
	_, err := networkingv1.NewNetworkPolicy(ctx, name+"-metrics", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("metrics"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: apps,
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{networkingv1.NetworkPolicyIngressRuleArgs{
				From:  scrapers,
				Ports: networkingv1.NetworkPolicyPortArray{port("TCP", httpPort)},
			}},
		},
	}, opts...)
	return err
}

// namespaces selects namespaces by name.
func namespaces(names []string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{metav1.LabelSelectorRequirementArgs{
		Key: pulumi.String("kubernetes.io/metadata.name"), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(names),
	}}}
}

func to(cidr string, p int) networkingv1.NetworkPolicyEgressRuleArgs {
	return networkingv1.NetworkPolicyEgressRuleArgs{
		To:    networkingv1.NetworkPolicyPeerArray{networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}}},
		Ports: networkingv1.NetworkPolicyPortArray{port("TCP", p)},
	}
}

func port(protocol string, p int) networkingv1.NetworkPolicyPortArgs {
	return networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String(protocol), Port: pulumi.Int(p)}
}
