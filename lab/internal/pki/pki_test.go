package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestServingCertificateVerifiesForItsAddresses(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA(dir, "ca", "test-ca")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Serving(dir, "server", "server", "10.254.0.1", "svc.example")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(pair.CertFile, pair.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	caPEM, _ := os.ReadFile(ca.CertFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	for _, host := range []string{"10.254.0.1", "svc.example"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots}); err == nil {
		t.Error("verifies for an address it was not issued for")
	}
	client, err := ca.Client(dir, "admin", "edw-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tls.LoadX509KeyPair(client.CertFile, client.KeyFile)
	leaf, _ = x509.ParseCertificate(c.Certificate[0])
	if leaf.Subject.CommonName != "edw-admin" || len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != "system:masters" {
		t.Errorf("client subject %v: the apiserver reads user and groups from CN and O", leaf.Subject)
	}
}
