package dnssec

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

var testAlgs = []uint8{dns.ECDSAP256SHA256, dns.ED25519, dns.RSASHA256}

func mustKey(t testing.TB, alg uint8, ksk bool) *Key {
	t.Helper()
	k, err := GenerateKey("Example.ORG", alg, ksk)
	if err != nil {
		t.Fatalf("GenerateKey(%d, %v): %v", alg, ksk, err)
	}
	return k
}

func TestGenerateKey(t *testing.T) {
	for _, alg := range testAlgs {
		for _, ksk := range []bool{false, true} {
			k := mustKey(t, alg, ksk)
			wantFlags := uint16(256)
			if ksk {
				wantFlags = 257
			}
			if k.DNSKEY.Hdr.Name != "example.org." || k.DNSKEY.Flags != wantFlags || k.DNSKEY.Protocol != 3 || k.Algorithm() != alg {
				t.Errorf("GenerateKey(%d, %v) = %s, want owner example.org., flags %d, protocol 3", alg, ksk, k.DNSKEY, wantFlags)
			}
			if k.Tag() != k.DNSKEY.KeyTag() {
				t.Errorf("Tag() = %d, DNSKEY.KeyTag() = %d", k.Tag(), k.DNSKEY.KeyTag())
			}
		}
	}
	k, err := GenerateKey("example.org.", 0, true)
	if err != nil || k.Algorithm() != dns.ECDSAP256SHA256 {
		t.Errorf("GenerateKey with alg 0: %v, %v; want algorithm 13", k, err)
	}
	for _, alg := range []uint8{dns.RSASHA1, dns.RSASHA1NSEC3SHA1, dns.ECDSAP384SHA384, dns.ED448} {
		_, err := GenerateKey("example.org.", alg, false)
		if !errors.Is(err, ErrUnsupportedAlgorithm) || !strings.Contains(err.Error(), "13 (ECDSAP256SHA256)") {
			t.Errorf("GenerateKey(%d) error = %v, want ErrUnsupportedAlgorithm naming the choices", alg, err)
		}
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	for _, alg := range testAlgs {
		t.Run(dns.AlgorithmToString[alg], func(t *testing.T) {
			k := mustKey(t, alg, true)
			text := k.MarshalPrivate()
			if !strings.HasPrefix(text, "Private-key-format: v1.3\n") {
				t.Fatalf("MarshalPrivate = %q, want BIND v1.3 text", text)
			}
			k2, err := ParseKey(k.DNSKEY.String(), text)
			if err != nil {
				t.Fatalf("ParseKey(%s): %v", k.DNSKEY, err)
			}
			if k2.DNSKEY.String() != k.DNSKEY.String() || k2.Tag() != k.Tag() {
				t.Errorf("ParseKey DNSKEY = %s (tag %d), want %s (tag %d)", k2.DNSKEY, k2.Tag(), k.DNSKEY, k.Tag())
			}
			if got := k2.MarshalPrivate(); got != text {
				t.Errorf("MarshalPrivate after ParseKey:\n%s\nwant\n%s", got, text)
			}
			// miekg/dns reads our text too.
			if _, err := k.DNSKEY.NewPrivateKey(text); err != nil {
				t.Errorf("dns.DNSKEY.NewPrivateKey: %v", err)
			}
			// A key made by ParseKey signs what the original verifies.
			rrset := testRRset(t)
			sig, err := Sign(k2, rrset, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(k.DNSKEY, rrset); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	ecA, ecB := mustKey(t, dns.ECDSAP256SHA256, false), mustKey(t, dns.ECDSAP256SHA256, false)
	edA, edB := mustKey(t, dns.ED25519, false), mustKey(t, dns.ED25519, false)
	rsaA, rsaB := mustKey(t, dns.RSASHA256, false), mustKey(t, dns.RSASHA256, false)
	tests := []struct {
		name    string
		dnskey  string
		private string
		want    error
		msg     string
	}{
		{"ECDSA other key", ecA.DNSKEY.String(), ecB.MarshalPrivate(), ErrKeyMismatch, "does not match the public key"},
		{"Ed25519 other key", edA.DNSKEY.String(), edB.MarshalPrivate(), ErrKeyMismatch, "does not match the public key"},
		{"RSA other key", rsaA.DNSKEY.String(), rsaB.MarshalPrivate(), ErrKeyMismatch, "modulus or exponent differ"},
		{"other algorithm", ecA.DNSKEY.String(), edA.MarshalPrivate(), ErrKeyMismatch, "private key is algorithm 15 (ED25519), DNSKEY algorithm 13 (ECDSAP256SHA256)"},
		{"not a DNSKEY", "example.org. 3600 IN TXT \"x\"", ecA.MarshalPrivate(), ErrNotDNSKEY, "got TXT"},
		{"no format line", ecA.DNSKEY.String(), strings.Replace(ecA.MarshalPrivate(), "Private-key-format: v1.3\n", "", 1), ErrCorruptPrivate, "no Private-key-format"},
		{"bad base64", ecA.DNSKEY.String(), strings.Replace(ecA.MarshalPrivate(), "PrivateKey: ", "PrivateKey: !!", 1), ErrCorruptPrivate, "field privatekey"},
		{"no private key", ecA.DNSKEY.String(), "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n", ErrCorruptPrivate, "no privatekey field"},
		{"RSA no prime", rsaA.DNSKEY.String(), dropLine(rsaA.MarshalPrivate(), "Prime2:"), ErrCorruptPrivate, "no prime2 field"},
		{"RSA bad prime", rsaA.DNSKEY.String(), replaceField(rsaA.MarshalPrivate(), "Prime1:", "AQAB"), ErrCorruptPrivate, "corrupt private key"},
		{"algorithm 5", strings.Replace(rsaA.DNSKEY.String(), " 8 ", " 5 ", 1), rsaA.MarshalPrivate(), ErrUnsupportedAlgorithm, "5 (RSASHA1)"},
		{"protocol 2", strings.Replace(ecA.DNSKEY.String(), "256 3 13", "256 2 13", 1), ecA.MarshalPrivate(), ErrBadDNSKEY, "protocol 2"},
		{"not a zone key", strings.Replace(ecA.DNSKEY.String(), "256 3 13", "0 3 13", 1), ecA.MarshalPrivate(), ErrBadDNSKEY, "flags 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.dnskey, tt.private)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ParseKey(%q, %q) = %v, %v; want error %v containing %q", tt.dnskey, tt.private, k, err, tt.want, tt.msg)
			}
		})
	}
}

// replaceField gives the field with prefix the value v.
func replaceField(text, prefix, v string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = prefix + " " + v
		}
	}
	return strings.Join(lines, "\n")
}

func dropLine(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDSCDSCDNSKEY(t *testing.T) {
	ksk := mustKey(t, dns.ECDSAP256SHA256, true)
	for _, digest := range []uint8{dns.SHA256, dns.SHA384} {
		ds, err := DS(ksk, digest, 86400)
		if err != nil {
			t.Fatalf("DS(%d): %v", digest, err)
		}
		want := ksk.DNSKEY.ToDS(digest)
		want.Hdr.Ttl = 86400
		if ds.String() != want.String() || ds.KeyTag != ksk.Tag() || ds.Hdr.Name != "example.org." {
			t.Errorf("DS = %s, want %s", ds, want)
		}
		cds, err := CDS(ksk, digest, 0)
		if err != nil || cds.Hdr.Rrtype != dns.TypeCDS || cds.Digest != ds.Digest || cds.Hdr.Ttl != 0 {
			t.Errorf("CDS = %v, %v; want the DS as CDS with TTL 0", cds, err)
		}
	}
	c := CDNSKEY(ksk, 300)
	if c.Hdr.Rrtype != dns.TypeCDNSKEY || c.Hdr.Ttl != 300 || c.PublicKey != ksk.DNSKEY.PublicKey || c.Flags != 257 {
		t.Errorf("CDNSKEY = %s", c)
	}
	if ksk.DNSKEY.Hdr.Ttl == 300 || ksk.DNSKEY.Hdr.Rrtype != dns.TypeDNSKEY {
		t.Errorf("CDNSKEY changed the key's DNSKEY: %s", ksk.DNSKEY)
	}
	if _, err := DS(ksk, dns.SHA1, 0); !errors.Is(err, ErrDigest) {
		t.Errorf("DS with SHA-1: %v, want ErrDigest", err)
	}
	if _, err := DS(mustKey(t, dns.ED25519, false), dns.SHA256, 0); !errors.Is(err, ErrNotSEP) {
		t.Errorf("DS of a ZSK: %v, want ErrNotSEP", err)
	}
}

// TestParseKeyShortScalar: a P-256 private key written without its
// scalar's leading zero bytes (BIND does so for about 1 key in 256) reads
// back.
func TestParseKeyShortScalar(t *testing.T) {
	// A scalar with a leading zero byte: 0x00 0x01 0x02 ... 0x1f.
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(i)
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := encodePublic(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	dk := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: dns.ZONE, Protocol: 3, Algorithm: dns.ECDSAP256SHA256, PublicKey: base64.StdEncoding.EncodeToString(pub)}
	text := fmt.Sprintf("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: %s\n", base64.StdEncoding.EncodeToString(d[1:]))
	k, err := ParseKey(dk.String(), text)
	if err != nil {
		t.Fatalf("a 31-byte scalar: %v", err)
	}
	if k.Tag() != dk.KeyTag() {
		t.Errorf("tag %d, want %d", k.Tag(), dk.KeyTag())
	}
}
