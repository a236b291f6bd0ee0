package workspace

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Kube reads and writes the lab's apiserver as the admin, with nothing but
// net/http: the engine layer checks what the real Kubernetes provider left
// there, and the workspace adds what a cloud's cluster would run.
type Kube struct {
	server string
	client *http.Client
}

// NewKube reads the admin credentials of kubeconfig.
func NewKube(kubeconfig string) (*Kube, error) {
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
	return &Kube{
		server: cfg.Clusters[0].Cluster.Server,
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}},
	}, nil
}

// Object is the part of an object the checks read.
type Object struct {
	Metadata struct {
		Name, Namespace string
		Annotations     map[string]string
	}
	Spec map[string]any
}

// List returns the objects at path (e.g. /apis/karpenter.sh/v1/nodeclaims);
// a resource the apiserver does not serve lists as empty.
func (k *Kube) List(path string) ([]Object, error) {
	status, body, err := k.do(http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("GET %s: %d: %s", path, status, body)
	}
	var l struct{ Items []Object }
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return l.Items, nil
}

// Get reads the object at path into into.
func (k *Kube) Get(path string, into any) error {
	status, body, err := k.do(http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %s", path, status, body)
	}
	return json.Unmarshal(body, into)
}

// Ensure creates obj in the collection at path unless it exists.
func (k *Kube) Ensure(path string, obj any) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	status, body, err := k.do(http.MethodPost, path, b)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusConflict {
		return fmt.Errorf("POST %s: %d: %s", path, status, body)
	}
	return nil
}

// maxRetries bounds the retries of a request the apiserver asks to retry
// (429: a new resource's storage is still initializing, a second or so).
const maxRetries = 30

// do sends a request, retrying after a second while the apiserver answers
// 429, and returns the status and body.
func (k *Kube) do(method, path string, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(method, k.server+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := k.client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt == maxRetries {
			return resp.StatusCode, b, nil
		}
		time.Sleep(time.Second)
	}
}
