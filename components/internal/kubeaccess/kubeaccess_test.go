package kubeaccess

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// apiserver answers access reviews: forbidden for the first denials
// reviews, allowed after; it records the bearer tokens it was shown.
func apiserver(t *testing.T, denials int32) (*httptest.Server, *atomic.Int32, *atomic.Value) {
	t.Helper()
	var reviews atomic.Int32
	var token atomic.Value
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Spec struct {
				ResourceAttributes struct{ Verb, Resource string } `json:"resourceAttributes"`
			}
		}
		if r.URL.Path != "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" || r.Method != http.MethodPost ||
			json.NewDecoder(r.Body).Decode(&review) != nil || review.Spec.ResourceAttributes != (struct{ Verb, Resource string }{"create", "namespaces"}) {
			http.Error(w, "not an access review of create namespaces", http.StatusBadRequest)
			return
		}
		token.Store(r.Header.Get("Authorization"))
		n := reviews.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": map[string]any{"allowed": n > denials, "reason": "no role yet"}})
	}))
	t.Cleanup(srv.Close)
	return srv, &reviews, &token
}

// kubeconfig is a JSON kubeconfig for srv whose user runs a credential
// plugin: a shell script that fails until the file ready exists, as the
// stand-in kubelogin does until the role assignment exists.
func kubeconfig(t *testing.T, srv *httptest.Server, ready string) []byte {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	plugin := filepath.Join(t.TempDir(), "kubelogin")
	script := `#!/bin/sh
[ -f "$READY" ] || { echo "no role yet" >&2; exit 1; }
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"entra-token"}}'
`
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"current-context": "aks",
		"clusters":        []any{map[string]any{"name": "aks", "cluster": map[string]any{"server": srv.URL, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca)}}},
		"contexts":        []any{map[string]any{"name": "aks", "context": map[string]any{"cluster": "aks", "user": "deployer"}}},
		"users": []any{map[string]any{"name": "deployer", "user": map[string]any{"exec": map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1", "command": plugin, "args": []any{"get-token"},
			"env": []any{map[string]any{"name": "READY", "value": ready}},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var check = Check{Verb: "create", Resource: "namespaces", Timeout: 5 * time.Second, Interval: 10 * time.Millisecond, SignInTimeout: 2 * time.Second}

// The wait goes on through failed sign-ins and denied reviews, and ends
// at the first review that allows, signed in with the plugin's token.
func TestWaitsUntilAllowed(t *testing.T) {
	srv, reviews, token := apiserver(t, 3)
	ready := filepath.Join(t.TempDir(), "ready")
	var reasons []string
	c := check
	c.Progress = func(attempt int, reason error) {
		reasons = append(reasons, reason.Error())
		if attempt == 2 {
			// The role assignment now exists: sign-ins succeed.
			if err := os.WriteFile(ready, nil, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
	if err := Wait(context.Background(), kubeconfig(t, srv, ready), c); err != nil {
		t.Fatal(err)
	}
	if reviews.Load() != 4 || token.Load() != "Bearer entra-token" {
		t.Errorf("%d reviews with %v, want 4 with the plugin's token", reviews.Load(), token.Load())
	}
	if len(reasons) != 5 || !strings.Contains(reasons[0], "no role yet") || !strings.Contains(reasons[4], "forbidden") {
		t.Errorf("progress %q: want 2 failed sign-ins, then 3 denials", reasons)
	}
}

// A user who never gets the permission ends the wait with an error that
// says what was awaited, where.
func TestGivesUpAfterTimeout(t *testing.T) {
	srv, _, _ := apiserver(t, 1<<30)
	ready := filepath.Join(t.TempDir(), "ready")
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := check
	c.Timeout = time.Second
	err := Wait(context.Background(), kubeconfig(t, srv, ready), c)
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "create namespaces on "+srv.URL) {
		t.Errorf("err = %v, want forbidden, naming the request and the server", err)
	}
}

// A sign-in that keeps failing, or a credential plugin that is not there,
// ends the wait long before its timeout: no role propagation mends them.
func TestSignInFailuresEndTheWaitEarly(t *testing.T) {
	srv, reviews, _ := apiserver(t, 0)
	c := check
	c.Timeout, c.SignInTimeout = time.Minute, 100*time.Millisecond
	start := time.Now()
	err := Wait(context.Background(), kubeconfig(t, srv, filepath.Join(t.TempDir(), "never")), c)
	if !errors.Is(err, ErrSignIn) || !strings.Contains(err.Error(), "no role yet") || time.Since(start) > 30*time.Second || reviews.Load() != 0 {
		t.Errorf("err = %v after %s and %d reviews, want the sign-in's failure within seconds", err, time.Since(start), reviews.Load())
	}
	var cfg map[string]any
	if err := json.Unmarshal(kubeconfig(t, srv, ""), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["users"].([]any)[0].(map[string]any)["user"].(map[string]any)["exec"].(map[string]any)["command"] = "kubelogin-not-installed"
	missing, _ := json.Marshal(cfg)
	start = time.Now()
	if err := Wait(context.Background(), missing, c); !errors.Is(err, exec.ErrNotFound) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want the missing plugin at once", err, time.Since(start))
	}
}

// A kubeconfig may name its client certificate and key by file, as the
// lab's do: the review is made with that certificate.
func TestClientCertificateFromFiles(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "deployer"}, NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600) != nil ||
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600) != nil {
		t.Fatal("writing the client certificate")
	}
	var presented atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			presented.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": map[string]any{"allowed": len(r.TLS.PeerCertificates) > 0}})
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	b, err := json.Marshal(map[string]any{
		"current-context": "lab",
		"clusters":        []any{map[string]any{"name": "lab", "cluster": map[string]any{"server": srv.URL, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca)}}},
		"contexts":        []any{map[string]any{"name": "lab", "context": map[string]any{"cluster": "lab", "user": "admin"}}},
		"users":           []any{map[string]any{"name": "admin", "user": map[string]any{"client-certificate": certFile, "client-key": keyFile}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := check
	c.Timeout = time.Second
	if err := Wait(context.Background(), b, c); err != nil {
		t.Fatal(err)
	}
	if presented.Load() != "deployer" {
		t.Errorf("the review presented %v, want the file's certificate", presented.Load())
	}
}
