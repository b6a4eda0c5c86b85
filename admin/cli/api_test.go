package cli_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reHTTPAddr = regexp.MustCompile(`msg=serving .* http=(\S+)`)

// TestAPIOverTLS: dms serve with the HTTP API over TLS (a certificate made
// here), driven with curl: a login created with dms api user add creates
// and edits its zone; a wrong password is refused; TLS below 1.2 is not
// spoken.
func TestAPIOverTLS(t *testing.T) {
	curl := tool(t, "curl", "curl")
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	cert, key := writeTestCert(t, dir)
	for _, args := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."}, {"sectag", "create", "RESELLER-A"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	if r := run(t, db, "panel-password-1\n", "api", "user", "add", "panel", "--sectag", "RESELLER-A"); r.code != 0 || !strings.Contains(r.out, "role customer") {
		t.Fatalf("api user add: %s %s", r.out, r.err)
	}
	if r := run(t, db, "short\n", "api", "user", "add", "p2", "--sectag", "RESELLER-A"); r.code == 0 || !strings.Contains(r.err, "at least 10 characters") {
		t.Errorf("short password: %s", r.err)
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	var base string
	for deadline := time.Now().Add(5 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := reHTTPAddr.FindStringSubmatch(srv.log.String()); m != nil {
			base = "https://" + m[1] + "/api/v1"
		}
	}
	if base == "" {
		t.Fatalf("no http address in the log:\n%s", srv.log.String())
	}
	c := func(args ...string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, curl, append([]string{"-sS", "--cacert", cert, "-w", "\n%{http_code}"}, args...)...).CombinedOutput()
		if err != nil {
			return string(out), "curl failed: " + err.Error()
		}
		s := strings.TrimRight(string(out), "\n")
		i := strings.LastIndexByte(s, '\n')
		return s[:i], s[i+1:]
	}
	body, code := c("-u", "panel:panel-password-1", "-H", "Content-Type: application/json", "-d", `{"name": "Panel.Example.", "flags": {"inc_updates": true}}`, base+"/zones")
	if code != "201" || !strings.Contains(body, `"zone": "panel.example."`) {
		t.Fatalf("create over TLS: %s %s", code, body)
	}
	body, code = c("-u", "panel:panel-password-1", "-D", "-", base+"/zones/panel.example/text")
	etag := regexp.MustCompile(`(?i)etag: (\S+)`).FindStringSubmatch(body)
	if code != "200" || etag == nil {
		t.Fatalf("text: %s %s", code, body)
	}
	text := body[strings.Index(body, "\r\n\r\n")+4:] + "www 300 IN A 192.0.2.80\n"
	f := filepath.Join(dir, "zone.txt")
	os.WriteFile(f, []byte(text), 0o644)
	if body, code = c("-u", "panel:panel-password-1", "-X", "PUT", "-H", "If-Match: "+etag[1], "--data-binary", "@"+f, base+"/zones/panel.example/text"); code != "200" {
		t.Errorf("replace: %s %s", code, body)
	}
	if _, code = c("-u", "panel:panel-password-1", "-X", "PUT", "-H", "If-Match: "+etag[1], "--data-binary", "@"+f, base+"/zones/panel.example/text"); code != "409" {
		t.Errorf("stale replace: %s", code)
	}
	if got := run(t, db, "", "zone", "show", "panel.example").out; !strings.Contains(got, "192.0.2.80") || !strings.Contains(got, "panel@127.0.0.1/RESELLER-A") {
		t.Errorf("after the API's replace:\n%s", got)
	}
	if _, code = c("-u", "panel:panel-password-1", base+"/status"); code != "403" {
		t.Errorf("admin route as a customer: %s", code)
	}
	// Last: the login's next try waits out a back-off.
	if _, code = c("-u", "panel:wrong-password", base+"/zones"); code != "401" {
		t.Errorf("wrong password: %s", code)
	}
	// curl's exit 35: the TLS handshake failed.
	if _, code = c("--tls-max", "1.1", "-u", "panel:panel-password-1", base+"/zones"); code != "curl failed: exit status 35" {
		t.Errorf("TLS 1.1 answered: %s", code)
	}
	// Plain HTTP elsewhere than on loopback is refused at start.
	if r := run(t, filepath.Join(dir, "other.db"), "", "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", "0.0.0.0:0"); r.code == 0 || !strings.Contains(r.err, "plain HTTP only on a loopback address") {
		t.Errorf("plain HTTP on 0.0.0.0: %d %s", r.code, r.err)
	}
}

// writeTestCert makes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dms test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return cert, key
}
