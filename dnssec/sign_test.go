package dnssec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var (
	testInception  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testExpiration = testInception.Add(30 * 24 * time.Hour)
)

func mustRR(t testing.TB, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("dns.NewRR(%q): %v", s, err)
	}
	return rr
}

func testRRset(t testing.TB) []dns.RR {
	return []dns.RR{
		mustRR(t, "www.example.org. 3600 IN A 192.0.2.1"),
		mustRR(t, "www.example.org. 3600 IN A 192.0.2.2"),
	}
}

func packRR(t testing.TB, rr dns.RR) []byte {
	t.Helper()
	buf := make([]byte, dns.Len(rr)+1)
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatalf("pack %s: %v", rr, err)
	}
	return buf[:n]
}

func TestSignDeterministic(t *testing.T) {
	for _, alg := range testAlgs {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			k := mustKey(t, alg, false)
			rrset := testRRset(t)
			s1, err := Sign(k, rrset, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			// Same RRset in another order, and a Key rebuilt from text.
			k2, err := ParseKey(k.DNSKEY.String(), k.MarshalPrivate())
			if err != nil {
				t.Fatal(err)
			}
			s2, err := Sign(k2, []dns.RR{rrset[1], rrset[0]}, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			// A Key literal, not prepared by a constructor.
			s3, err := Sign(&Key{DNSKEY: k.DNSKEY, Private: k.Private}, rrset, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			w1 := packRR(t, s1)
			for i, s := range []*dns.RRSIG{s2, s3} {
				if w := packRR(t, s); !bytes.Equal(w, w1) {
					t.Errorf("signing %d differs:\n%s\n%s", i+2, s1, s)
				}
			}
			for _, s := range []*dns.RRSIG{s1, s2, s3} {
				if err := s.Verify(k.DNSKEY, rrset); err != nil {
					t.Errorf("Verify(%s): %v", s, err)
				}
			}
			// Another window: another signature, still valid.
			s4, err := Sign(k, rrset, testInception.Add(time.Hour), testExpiration.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if s4.Signature == s1.Signature {
				t.Errorf("signatures for two windows are equal: %s", s4.Signature)
			}
			if err := s4.Verify(k.DNSKEY, rrset); err != nil {
				t.Errorf("Verify(%s): %v", s4, err)
			}
		})
	}
}

// TestSignConcurrent: one Key signs from many goroutines (run with -race)
// and every goroutine gets the same bytes.
func TestSignConcurrent(t *testing.T) {
	for _, alg := range testAlgs {
		k := mustKey(t, alg, false)
		rrset := testRRset(t)
		want, err := Sign(k, rrset, testInception, testExpiration)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]*dns.RRSIG, 8)
		errs := make([]error, len(got))
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() { got[i], errs[i] = Sign(k, rrset, testInception, testExpiration) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i].String() != want.String() {
				t.Errorf("algorithm %d, goroutine %d: %v, %v; want %s", alg, i, got[i], errs[i], want)
			}
		}
	}
}

func TestSignFields(t *testing.T) {
	k := mustKey(t, dns.ECDSAP256SHA256, false)
	tests := []struct {
		name   string
		rrset  []dns.RR
		labels uint8
	}{
		{"apex", []dns.RR{mustRR(t, "example.org. 300 IN MX 10 Mail.Example.org.")}, 2},
		{"RFC 4034 3.1.3 wildcard", []dns.RR{mustRR(t, "*.a.example.org. 600 IN TXT \"w\"")}, 3},
		{"mixed case owner", []dns.RR{mustRR(t, "WWW.example.org. 60 IN AAAA 2001:db8::1"), mustRR(t, "www.EXAMPLE.org. 60 IN AAAA 2001:db8::2")}, 3},
		{"RFC 2181 5.2 TTLs differ: first wins", []dns.RR{mustRR(t, "b.example.org. 100 IN A 192.0.2.1"), mustRR(t, "b.example.org. 200 IN A 192.0.2.2")}, 3},
		{"TTL 0", []dns.RR{mustRR(t, "c.example.org. 0 IN A 192.0.2.1")}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.rrset[0].Header()
			s, err := Sign(k, tt.rrset, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			if s.Hdr.Name != h.Name || s.Hdr.Ttl != h.Ttl || s.OrigTtl != h.Ttl || s.TypeCovered != h.Rrtype ||
				s.Labels != tt.labels || s.SignerName != "example.org." || s.KeyTag != k.Tag() || s.Algorithm != 13 ||
				s.Inception != uint32(testInception.Unix()) || s.Expiration != uint32(testExpiration.Unix()) {
				t.Errorf("Sign(%v) = %s; want owner %s, TTL %d, labels %d, signer example.org.", tt.rrset, s, h.Name, h.Ttl, tt.labels)
			}
			// dns.IsRRset in Verify wants TTLs and owners equal as a
			// resolver would see them (RFC 2181 5.2, RFC 4035 5.3.3 uses
			// the Original TTL; the canonical form lowercases owners).
			for _, rr := range tt.rrset {
				rr.Header().Ttl, rr.Header().Name = h.Ttl, h.Name
			}
			if err := s.Verify(k.DNSKEY, tt.rrset); err != nil {
				t.Errorf("Verify(%s): %v", s, err)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	k := mustKey(t, dns.ED25519, false)
	tests := []struct {
		name       string
		rrset      []dns.RR
		inc, exp   time.Time
		want       error
		msgContain string
	}{
		{"empty", nil, testInception, testExpiration, ErrRRset, "no records"},
		{"two types", []dns.RR{mustRR(t, "a.example.org. 60 IN A 192.0.2.1"), mustRR(t, "a.example.org. 60 IN TXT x")}, testInception, testExpiration, ErrRRset, "with a.example.org. IN TXT"},
		{"two owners", []dns.RR{mustRR(t, "a.example.org. 60 IN A 192.0.2.1"), mustRR(t, "b.example.org. 60 IN A 192.0.2.2")}, testInception, testExpiration, ErrRRset, "with b.example.org."},
		{"out of zone", []dns.RR{mustRR(t, "a.example.net. 60 IN A 192.0.2.1")}, testInception, testExpiration, ErrRRset, "not in zone example.org."},
		{"RRSIG", []dns.RR{mustRR(t, "a.example.org. 60 IN RRSIG A 13 3 60 20260201000000 20260101000000 1 example.org. AAAA")}, testInception, testExpiration, ErrRRset, "RRSIG records are not signed"},
		{"expiration before inception", testRRset(t), testExpiration, testInception, ErrWindow, "2026-01-31T00:00:00Z"},
		{"empty window", testRRset(t), testInception, testInception, ErrWindow, ""},
		{"window over 68 years", testRRset(t), testInception, testInception.AddDate(69, 0, 0), ErrWindow, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Sign(k, tt.rrset, tt.inc, tt.exp)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msgContain) {
				t.Errorf("Sign(%v, %s, %s) = %v, %v; want %v containing %q", tt.rrset, tt.inc, tt.exp, s, err, tt.want, tt.msgContain)
			}
		})
	}
}

// TestSignExternalValidator signs a small zone (SOA, NS, A at the apex and
// www, NSEC chain, DNSKEY RRset signed by the KSK, the rest by the ZSK) and
// has BIND's dnssec-verify check every signature and the chain.
func TestSignExternalValidator(t *testing.T) {
	verify := lookTool(t, "dnssec-verify", "bind9-utils")
	for _, alg := range testAlgs {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			ksk, zsk := mustKey(t, alg, true), mustKey(t, alg, false)
			zone := signedTestZone(t, ksk, zsk)
			file := filepath.Join(t.TempDir(), "example.org.zone")
			if err := os.WriteFile(file, []byte(zone), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(verify, "-o", "example.org.", "-z", file).CombinedOutput()
			if err != nil {
				t.Fatalf("dnssec-verify: %v\n%s\nzone:\n%s", err, out, zone)
			}
			if !strings.Contains(string(out), "Zone fully signed") {
				t.Errorf("dnssec-verify output:\n%s\nzone:\n%s", out, zone)
			}
			// The check is not vacuous: data changed after signing fails.
			bad := strings.Replace(zone, "192.0.2.80", "192.0.2.99", 1)
			if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(verify, "-o", "example.org.", "-z", file).CombinedOutput(); err == nil {
				t.Errorf("dnssec-verify accepted a zone changed after signing:\n%s", out)
			}
		})
	}
}

func signedTestZone(t *testing.T, ksk, zsk *Key) string {
	t.Helper()
	sets := [][]dns.RR{
		{mustRR(t, "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300")},
		{mustRR(t, "example.org. 3600 IN NS ns1.example.org."), mustRR(t, "example.org. 3600 IN NS ns2.example.net.")},
		{mustRR(t, "example.org. 3600 IN A 192.0.2.1")},
		{mustRR(t, "example.org. 300 IN NSEC ns1.example.org. A NS SOA RRSIG NSEC DNSKEY")},
		{mustRR(t, "ns1.example.org. 3600 IN A 192.0.2.53")},
		{mustRR(t, "ns1.example.org. 300 IN NSEC www.example.org. A RRSIG NSEC")},
		{mustRR(t, "www.example.org. 3600 IN A 192.0.2.80"), mustRR(t, "www.example.org. 3600 IN A 192.0.2.81")},
		{mustRR(t, "www.example.org. 300 IN NSEC example.org. A RRSIG NSEC")},
	}
	// Now-relative window: dnssec-verify checks it against the clock.
	inc, exp := time.Now().Add(-time.Hour).Truncate(time.Hour), time.Now().Add(7*24*time.Hour).Truncate(time.Hour)
	var b strings.Builder
	for _, set := range sets {
		s, err := Sign(zsk, set, inc, exp)
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range append(set, s) {
			fmt.Fprintln(&b, rr)
		}
	}
	keys := []dns.RR{ksk.DNSKEY, zsk.DNSKEY}
	s, err := Sign(ksk, keys, inc, exp)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range append(keys, s) {
		fmt.Fprintln(&b, rr)
	}
	return b.String()
}

// lookTool finds an external program the tests need. Missing, the test
// fails naming the Debian package: a skipped cross-check is a silent gap.
func lookTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): install the Debian package %s", name, err, pkg)
	}
	return p
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range testAlgs {
		b.Run(dns.AlgorithmToString[alg], func(b *testing.B) {
			k := mustKey(b, alg, false)
			rrset := testRRset(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(k, rrset, testInception, testExpiration); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
