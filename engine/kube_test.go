//go:build engine

package engine_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"gopkg.in/yaml.v3"
)

// kube reads the lab's apiserver as the admin, with nothing but net/http:
// the engine layer checks what the real Kubernetes provider left there.
type kube struct {
	server string
	client *http.Client
}

func newKube(kubeconfig string) (*kube, error) {
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
				CA     string `yaml:"certificate-authority"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User struct {
				Cert string `yaml:"client-certificate"`
				Key  string `yaml:"client-key"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", kubeconfig, err)
	}
	if len(cfg.Clusters) == 0 || len(cfg.Users) == 0 {
		return nil, fmt.Errorf("%s: want a cluster and a user", kubeconfig)
	}
	ca, err := os.ReadFile(cfg.Clusters[0].Cluster.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(cfg.Users[0].User.Cert, cfg.Users[0].User.Key)
	if err != nil {
		return nil, err
	}
	return &kube{
		server: cfg.Clusters[0].Cluster.Server,
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}},
	}, nil
}

// object is the part of an object the checks read.
type object struct {
	Metadata struct {
		Name, Namespace string
	}
	Spec map[string]any
}

// list returns the objects at path (e.g. /apis/karpenter.sh/v1/nodeclaims);
// a resource the apiserver does not serve lists as empty.
func (k *kube) list(path string) ([]object, error) {
	resp, err := k.client.Get(k.server + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	var l struct{ Items []object }
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return l.Items, nil
}
