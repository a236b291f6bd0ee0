// Package controlplane starts a Kubernetes control plane from binaries: etcd,
// kube-apiserver with the aggregation layer, kube-controller-manager,
// kube-scheduler, and kwok standing in for kubelets. Everything listens on
// loopback, except what the aggregation layer must reach at Address.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/edw-project/edw/lab/internal/pki"
	"github.com/edw-project/edw/lab/internal/proc"
)

const (
	// adminQPS bounds the lab's own requests to the apiserver.
	adminQPS = 100
	// Address is the lab network's one non-loopback address. Endpoints may
	// not be loopback, so servers the apiserver proxies to (KEDA's metrics
	// server) listen here.
	Address = "10.254.0.1"

	apiserverPort   = 6443
	etcdClientURL   = "http://127.0.0.1:2379"
	etcdPeerURL     = "http://127.0.0.1:2380"
	serviceCIDR     = "10.0.0.0/24"
	podCIDR         = "10.244.0.0/16"
	kubernetesSvcIP = "10.0.0.1"
	// KwokNodeAnnotation marks the nodes kwok manages (Karpenter's kwok
	// provider sets it on the nodes it creates).
	KwokNodeAnnotation = "kwok.x-k8s.io/node=fake"
	// nodeLeaseSeconds is the node lease kwok renews for its nodes.
	nodeLeaseSeconds = 40
	// startTimeout bounds each component's start.
	startTimeout = 90 * time.Second
)

// Binaries locates the programs the control plane runs.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kwok string
	// KwokStages are globs of kwok's Stage manifests. kwok 0.8 runs no
	// stage it is not given: the lab gives it those kwokctl gives it by
	// default with node leases (node-initialize,
	// node-heartbeat-with-lease, pod-ready, pod-complete, pod-delete).
	KwokStages []string
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// CA signs every lab certificate; add-ons get theirs from it.
	CA *pki.CA
	// Dir holds certificates, kubeconfigs and etcd's data.
	Dir string
	// Admin is a client with cluster-admin rights.
	Admin *rest.Config
	// AdminKubeconfig is Admin as a kubeconfig file, for kubectl and add-ons.
	AdminKubeconfig string
}

// URL is where the apiserver serves.
func URL() string { return fmt.Sprintf("https://127.0.0.1:%d", apiserverPort) }

// Start brings up etcd, the apiserver, the controller manager, the scheduler
// and kwok under g, in that order, each once the one before answers.
func Start(ctx context.Context, g *proc.Group, bin Binaries, dir string) (*ControlPlane, error) {
	if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
		return nil, err
	}
	ca, err := pki.NewCA(dir, "ca", "edw-lab-ca")
	if err != nil {
		return nil, err
	}
	frontProxyCA, err := pki.NewCA(dir, "front-proxy-ca", "edw-lab-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{CA: ca, Dir: dir}

	serving, err := ca.Serving(dir, "apiserver", "kube-apiserver", "127.0.0.1", Address, kubernetesSvcIP,
		"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
	if err != nil {
		return nil, err
	}
	proxyClient, err := frontProxyCA.Client(dir, "front-proxy-client", "front-proxy-client")
	if err != nil {
		return nil, err
	}
	sa, err := pki.ServiceAccountKeys(dir, "service-account")
	if err != nil {
		return nil, err
	}
	if cp.AdminKubeconfig, err = cp.Kubeconfig("admin", "edw-lab-admin", "system:masters"); err != nil {
		return nil, err
	}
	if cp.Admin, err = clientcmd.BuildConfigFromFlags("", cp.AdminKubeconfig); err != nil {
		return nil, err
	}
	// The lab samples, boots and backs hundreds of pods and nodes in a
	// scale run; client-go's default 5 requests a second would make its
	// own figures lag.
	cp.Admin.QPS, cp.Admin.Burst = adminQPS, 2*adminQPS

	etcd, err := g.Start("etcd", bin.Etcd, []string{
		"--name=lab", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdClientURL, "--advertise-client-urls=" + etcdClientURL,
		"--listen-peer-urls=" + etcdPeerURL, "--initial-advertise-peer-urls=" + etcdPeerURL,
		"--initial-cluster=lab=" + etcdPeerURL, "--listen-metrics-urls=http://127.0.0.1:2381",
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, etcd, http.DefaultClient, "http://127.0.0.1:2381/health"); err != nil {
		return nil, err
	}

	apiserver, err := g.Start("kube-apiserver", bin.APIServer, []string{
		"--etcd-servers=" + etcdClientURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiserverPort),
		// Loopback is no valid endpoint address, and no kube-proxy routes the
		// kubernetes Service here anyway.
		"--advertise-address=" + Address, "--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--tls-cert-file=" + serving.CertFile, "--tls-private-key-file=" + serving.KeyFile,
		"--client-ca-file=" + ca.CertFile,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + sa.CertFile, "--service-account-signing-key-file=" + sa.KeyFile,
		// The aggregation layer, for KEDA's external metrics API.
		"--requestheader-client-ca-file=" + frontProxyCA.CertFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + proxyClient.CertFile, "--proxy-client-key-file=" + proxyClient.KeyFile,
		"--enable-aggregator-routing=true",
		"--profiling=false",
	}, nil)
	if err != nil {
		return nil, err
	}
	client, err := cp.httpClient()
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, apiserver, client, URL()+"/readyz"); err != nil {
		return nil, err
	}

	if err := cp.startControllers(ctx, g, bin, sa); err != nil {
		return nil, err
	}
	return cp, nil
}

func (cp *ControlPlane) startControllers(ctx context.Context, g *proc.Group, bin Binaries, sa pki.Pair) error {
	cm, err := cp.Kubeconfig("controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	controllers, err := g.Start("kube-controller-manager", bin.ControllerManager, []string{
		"--kubeconfig=" + cm, "--authentication-kubeconfig=" + cm, "--authorization-kubeconfig=" + cm,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10257",
		"--service-account-private-key-file=" + sa.KeyFile, "--root-ca-file=" + cp.CA.CertFile,
		// Each controller acts as its own service account, with the roles
		// the apiserver bootstraps for it, as kubeadm clusters do.
		"--use-service-account-credentials=true",
		"--cluster-cidr=" + podCIDR, "--service-cluster-ip-range=" + serviceCIDR,
	}, nil)
	if err != nil {
		return err
	}
	sched, err := cp.Kubeconfig("scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	scheduler, err := g.Start("kube-scheduler", bin.Scheduler, []string{
		"--kubeconfig=" + sched, "--authentication-kubeconfig=" + sched, "--authorization-kubeconfig=" + sched,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=10259",
	}, nil)
	if err != nil {
		return err
	}
	kwokConfig, err := cp.Kubeconfig("kwok", "edw-lab-kwok", "system:masters")
	if err != nil {
		return err
	}
	stages, err := files(bin.KwokStages)
	if err != nil {
		return fmt.Errorf("kwok stages: %w", err)
	}
	kwok, err := g.Start("kwok", bin.Kwok, []string{
		"--kubeconfig=" + kwokConfig, "--config=" + strings.Join(stages, ","),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation,
		"--cidr=" + podCIDR, "--node-ip=" + Address,
		"--server-address=127.0.0.1:10247",
		// Heartbeats by lease, as kubelets send them; without, the node
		// lifecycle controller marks kwok's nodes NotReady every 50 s.
		fmt.Sprintf("--node-lease-duration-seconds=%d", nodeLeaseSeconds),
	}, nil)
	if err != nil {
		return err
	}
	// The controller manager and the scheduler serve their health checks
	// with certificates they sign themselves.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, c := range []struct {
		p   *proc.Process
		url string
	}{
		{controllers, "https://127.0.0.1:10257/healthz"},
		{scheduler, "https://127.0.0.1:10259/healthz"},
		{kwok, "http://127.0.0.1:10247/healthz"},
	} {
		if err := wait(ctx, c.p, insecure, c.url); err != nil {
			return err
		}
	}
	return nil
}

// Kubeconfig writes dir/<name>.kubeconfig for a client certificate of user
// cn in groups, and returns its path.
func (cp *ControlPlane) Kubeconfig(name, cn string, groups ...string) (string, error) {
	pair, err := cp.CA.Client(cp.Dir, name, cn, groups...)
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lab"] = &clientcmdapi.Cluster{Server: URL(), CertificateAuthority: cp.CA.CertFile}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificate: pair.CertFile, ClientKey: pair.KeyFile}
	cfg.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: name}
	cfg.CurrentContext = "lab"
	path := filepath.Join(cp.Dir, name+".kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

func (cp *ControlPlane) httpClient() (*http.Client, error) {
	pem, err := os.ReadFile(cp.CA.CertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(cp.Admin.CertFile, cp.Admin.KeyFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}, nil
}

// files expands globs, each of which must match.
func files(globs []string) ([]string, error) {
	var out []string
	for _, glob := range globs {
		matches, err := filepath.Glob(glob)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no files match %s", glob)
		}
		out = append(out, matches...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("none given")
	}
	return out, nil
}

func wait(ctx context.Context, p *proc.Process, client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	return proc.WaitHTTP(ctx, p, client, url)
}
