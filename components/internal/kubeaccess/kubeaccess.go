// Package kubeaccess waits until a kubeconfig's user may act on its
// cluster: Azure RBAC for Kubernetes takes up to five minutes to carry a
// new role assignment to an AKS apiserver (AKS docs, "Use Azure role-based
// access control for Kubernetes authorization"), and until then every
// request is forbidden. It asks the apiserver itself, with the
// kubeconfig's own credentials, as a Kubernetes client would.
package kubeaccess

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Check is the request whose permission is awaited, and Wait's schedule.
type Check struct {
	// Verb and Resource (a core-group resource) are what the user must be
	// allowed, e.g. create namespaces.
	Verb, Resource string
	// Timeout bounds the wait; Interval separates the attempts.
	Timeout, Interval time.Duration
	// SignInTimeout bounds how long sign-ins may fail in a row: a role
	// propagates to the apiserver, not to the sign-in, so a sign-in that
	// keeps failing (a user signed out) is not worth the whole Timeout.
	SignInTimeout time.Duration
	// Progress, if set, hears why each attempt before the last failed.
	Progress func(attempt int, reason error)
}

// Wait asks the cluster of kubeconfig (JSON) whether its user may do
// c.Verb on c.Resource, until it may or c.Timeout passes. Unreachable
// servers are retried, and failed sign-ins for c.SignInTimeout; a
// credential plugin that is not installed ends the wait at once.
func Wait(ctx context.Context, kubeconfig []byte, c Check) error {
	cfg, err := parse(kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var reason error
	var signInFailing time.Time
	for attempt := 1; ; attempt++ {
		err := cfg.allowed(ctx, c.Verb, c.Resource)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, exec.ErrNotFound):
			return err
		case errors.Is(err, ErrSignIn):
			if signInFailing.IsZero() {
				signInFailing = time.Now()
			}
			if time.Since(signInFailing) > c.SignInTimeout {
				return fmt.Errorf("%s %s on %s: signing in failed for %s: %w", c.Verb, c.Resource, cfg.server, c.SignInTimeout, err)
			}
		default:
			signInFailing = time.Time{}
		}
		// An attempt the deadline cut short says less than the one before.
		if ctx.Err() == nil || reason == nil {
			reason = err
		}
		if c.Progress != nil && ctx.Err() == nil {
			c.Progress(attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s on %s: not allowed after %s: %w", c.Verb, c.Resource, cfg.server, c.Timeout, reason)
		case <-time.After(c.Interval):
		}
	}
}

// ErrForbidden is the apiserver's answer while the user may not act, and
// ErrSignIn a credential plugin's failure to sign the user in.
var (
	ErrForbidden = errors.New("forbidden")
	ErrSignIn    = errors.New("signing in")
)

// config is what a client needs of a kubeconfig: the current context's
// server, its CA, and how its user signs in.
type config struct {
	server string
	ca     []byte
	user   user
}

type user struct {
	Token                 string `json:"token"`
	ClientCertificateData string `json:"client-certificate-data"`
	ClientKeyData         string `json:"client-key-data"`
	// ClientCertificate and ClientKey are the same in files, as a
	// kubeconfig may give them.
	ClientCertificate string `json:"client-certificate"`
	ClientKey         string `json:"client-key"`
	Exec              *struct {
		APIVersion string   `json:"apiVersion"`
		Command    string   `json:"command"`
		Args       []string `json:"args"`
		Env        []struct {
			Name, Value string
		} `json:"env"`
	} `json:"exec"`
}

func parse(kubeconfig []byte) (*config, error) {
	var doc struct {
		CurrentContext string `json:"current-context"`
		Clusters       []struct {
			Name    string
			Cluster struct {
				Server string `json:"server"`
				CAData string `json:"certificate-authority-data"`
				CAFile string `json:"certificate-authority"`
			}
		}
		Contexts []struct {
			Name    string
			Context struct{ Cluster, User string }
		}
		Users []struct {
			Name string
			User user
		}
	}
	if err := json.Unmarshal(kubeconfig, &doc); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	var clusterName, userName string
	for _, c := range doc.Contexts {
		if c.Name == doc.CurrentContext || len(doc.Contexts) == 1 {
			clusterName, userName = c.Context.Cluster, c.Context.User
		}
	}
	cfg := &config{}
	for _, c := range doc.Clusters {
		if c.Name != clusterName {
			continue
		}
		cfg.server = strings.TrimSuffix(c.Cluster.Server, "/")
		switch {
		case c.Cluster.CAData != "":
			ca, err := base64.StdEncoding.DecodeString(c.Cluster.CAData)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig: cluster %q: certificate-authority-data: %w", c.Name, err)
			}
			cfg.ca = ca
		case c.Cluster.CAFile != "":
			ca, err := os.ReadFile(c.Cluster.CAFile)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig: cluster %q: %w", c.Name, err)
			}
			cfg.ca = ca
		}
	}
	for _, u := range doc.Users {
		if u.Name != userName {
			continue
		}
		cfg.user = u.User
		// A kubeconfig holds certificates in base64; a credential
		// plugin's answer holds them as they are.
		for _, pem := range []*string{&cfg.user.ClientCertificateData, &cfg.user.ClientKeyData} {
			b, err := base64.StdEncoding.DecodeString(*pem)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig: user %q: %w", u.Name, err)
			}
			*pem = string(b)
		}
	}
	if cfg.server == "" {
		return nil, fmt.Errorf("kubeconfig: the current context %q names no cluster with a server", doc.CurrentContext)
	}
	return cfg, nil
}

// allowed asks for a SelfSubjectAccessReview, which every signed-in user
// may create, and returns nil when the answer allows the request.
func (c *config) allowed(ctx context.Context, verb, resource string) error {
	client, token, err := c.client(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{ // plain strings always marshal
		"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
		"spec": map[string]any{"resourceAttributes": map[string]any{"verb": verb, "resource": resource}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.server+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("%w: %s", ErrForbidden, resp.Status)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("access review: %s: %s", resp.Status, b)
	}
	var review struct {
		Status struct {
			Allowed bool   `json:"allowed"`
			Reason  string `json:"reason"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &review); err != nil {
		return fmt.Errorf("access review: %w", err)
	}
	if !review.Status.Allowed {
		return fmt.Errorf("%w: %s", ErrForbidden, review.Status.Reason)
	}
	return nil
}

// client is an HTTP client that trusts the cluster's CA and presents the
// user's certificate, with the user's bearer token if it has one.
func (c *config) client(ctx context.Context) (*http.Client, string, error) {
	u := c.user
	if u.Exec != nil {
		var err error
		if u, err = c.exec(ctx); err != nil {
			return nil, "", err
		}
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(c.ca) > 0 {
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(c.ca) {
			return nil, "", errors.New("kubeconfig: the cluster's certificate authority is not PEM")
		}
	}
	if u.ClientCertificate != "" {
		certPEM, err := os.ReadFile(u.ClientCertificate)
		if err != nil {
			return nil, "", fmt.Errorf("kubeconfig: client certificate: %w", err)
		}
		keyPEM, err := os.ReadFile(u.ClientKey)
		if err != nil {
			return nil, "", fmt.Errorf("kubeconfig: client key: %w", err)
		}
		u.ClientCertificateData, u.ClientKeyData = string(certPEM), string(keyPEM)
	}
	if u.ClientCertificateData != "" {
		cert, err := tls.X509KeyPair([]byte(u.ClientCertificateData), []byte(u.ClientKeyData))
		if err != nil {
			return nil, "", fmt.Errorf("kubeconfig: client certificate: %w", err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}
	// One request per attempt, attempts seconds apart: no connection to keep.
	transport := &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}
	return &http.Client{Transport: transport, Timeout: 30 * time.Second}, u.Token, nil
}

// exec runs the user's credential plugin (kubelogin on AKS, aws on EKS) as
// client-go does, and returns the credentials it prints; its PEM data is
// given as it is, not base64.
func (c *config) exec(ctx context.Context) (user, error) {
	e := c.user.Exec
	cmd := exec.CommandContext(ctx, e.Command, e.Args...)
	cmd.Env = os.Environ()
	for _, kv := range e.Env {
		cmd.Env = append(cmd.Env, kv.Name+"="+kv.Value)
	}
	info, _ := json.Marshal(map[string]any{"apiVersion": e.APIVersion, "kind": "ExecCredential", "spec": map[string]any{"interactive": false}})
	cmd.Env = append(cmd.Env, "KUBERNETES_EXEC_INFO="+string(info))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return user{}, fmt.Errorf("credential plugin %s: %w (install it: kubelogin for AKS, the AWS CLI for EKS)", e.Command, err)
	}
	if err != nil {
		return user{}, fmt.Errorf("%w: credential plugin %s: %v: %s", ErrSignIn, e.Command, err, strings.TrimSpace(stderr.String()))
	}
	var cred struct {
		Status struct {
			Token                 string `json:"token"`
			ClientCertificateData string `json:"clientCertificateData"`
			ClientKeyData         string `json:"clientKeyData"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &cred); err != nil {
		return user{}, fmt.Errorf("credential plugin %s: %w", e.Command, err)
	}
	s := cred.Status
	return user{Token: s.Token, ClientCertificateData: s.ClientCertificateData, ClientKeyData: s.ClientKeyData}, nil
}
