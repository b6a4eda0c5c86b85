package dnssec

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// bindKey is one key pair written by dnssec-keygen.
type bindKey struct {
	base           string // path without .key/.private
	alg            uint8
	tag            uint16
	key, private   []byte
	keyFile, pFile string
}

// keygen runs dnssec-keygen (Debian package bind9-utils) in a fresh
// directory with args and the zone name, and reads the pair it made.
func keygen(t *testing.T, zone string, args ...string) bindKey {
	t.Helper()
	bin := lookTool(t, "dnssec-keygen", "bind9-utils")
	dir := t.TempDir()
	cmd := exec.Command(bin, append(append([]string{"-K", dir, "-q"}, args...), zone)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s: %v\n%s", cmd, err, stderr)
	}
	name := strings.TrimSpace(string(out)) // Kexample.org.+013+12345
	parts := strings.Split(name, "+")
	if len(parts) != 3 {
		t.Fatalf("%s printed %q, want K<zone>+<alg>+<tag>", cmd, out)
	}
	alg, err1 := strconv.ParseUint(parts[1], 10, 8)
	tag, err2 := strconv.ParseUint(parts[2], 10, 16)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s printed %q: bad algorithm or tag", cmd, out)
	}
	bk := bindKey{base: filepath.Join(dir, name), alg: uint8(alg), tag: uint16(tag)}
	bk.keyFile, bk.pFile = bk.base+".key", bk.base+".private"
	if bk.key, err = os.ReadFile(bk.keyFile); err != nil {
		t.Fatal(err)
	}
	if bk.private, err = os.ReadFile(bk.pFile); err != nil {
		t.Fatal(err)
	}
	return bk
}

func TestImportBIND(t *testing.T) {
	tests := []struct {
		name string
		args []string
		alg  uint8
		ksk  bool
	}{
		{"NSEC3RSASHA1", []string{"-a", "NSEC3RSASHA1", "-b", "2048", "-n", "ZONE"}, 7, false},
		{"RSASHA256", []string{"-a", "RSASHA256", "-b", "2048"}, 8, false},
		{"ECDSAP256SHA256", []string{"-a", "ECDSAP256SHA256"}, 13, false},
		{"ED25519", []string{"-a", "ED25519"}, 15, false},
		{"RSASHA256 KSK", []string{"-a", "RSASHA256", "-b", "2048", "-f", "KSK"}, 8, true},
		{"ECDSAP256SHA256 KSK", []string{"-a", "ECDSAP256SHA256", "-f", "KSK"}, 13, true},
		{"ED25519 KSK", []string{"-a", "ED25519", "-f", "KSK"}, 15, true},
		{"NSEC3RSASHA1 KSK", []string{"-a", "NSEC3RSASHA1", "-b", "2048", "-f", "KSK"}, 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bk := keygen(t, "example.org", tt.args...)
			if !strings.HasPrefix(string(bk.key), ";") {
				t.Errorf("%s has no comment lines; the test wants them:\n%s", bk.keyFile, bk.key)
			}
			k, err := ImportBIND("Example.org", bk.key, bk.private)
			if err != nil {
				t.Fatalf("ImportBIND(%s): %v", bk.base, err)
			}
			if k.Tag() != bk.tag || k.Algorithm() != tt.alg || bk.alg != tt.alg || k.IsSEP() != tt.ksk || k.Zone() != "example.org." {
				t.Errorf("ImportBIND(%s) = %s (tag %d, SEP %v); want tag %d, algorithm %d, SEP %v", bk.base, k.DNSKEY, k.Tag(), k.IsSEP(), bk.tag, tt.alg, tt.ksk)
			}
			rrset := testRRset(t)
			sig, err := Sign(k, rrset, testInception, testExpiration)
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(k.DNSKEY, rrset); err != nil {
				t.Errorf("Verify(%s): %v", sig, err)
			}
			// Stored as text, read back: the same key.
			k2, err := ParseKey(k.DNSKEY.String(), k.MarshalPrivate())
			if err != nil || k2.Tag() != k.Tag() {
				t.Fatalf("ParseKey of the imported key: %v", err)
			}
			sig2, err := Sign(k2, rrset, testInception, testExpiration)
			if err != nil || sig2.String() != sig.String() {
				t.Errorf("re-parsed key signs %v, %v; want %s", sig2, err, sig)
			}
			if tt.ksk {
				checkDSAgainstBIND(t, k, bk)
			}
		})
	}
}

// checkDSAgainstBIND compares DS with dnssec-dsfromkey for both digests.
func checkDSAgainstBIND(t *testing.T, k *Key, bk bindKey) {
	t.Helper()
	bin := lookTool(t, "dnssec-dsfromkey", "bind9-utils")
	for _, c := range []struct {
		flag   string
		digest uint8
	}{{"-2", dns.SHA256}, {"-aSHA-384", dns.SHA384}} {
		out, err := exec.Command(bin, c.flag, bk.keyFile).Output()
		if err != nil {
			t.Fatalf("dnssec-dsfromkey %s %s: %v", c.flag, bk.keyFile, err)
		}
		rr, err := dns.NewRR(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("parse dnssec-dsfromkey output %q: %v", out, err)
		}
		want := rr.(*dns.DS)
		got, err := DS(k, c.digest, want.Hdr.Ttl)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got.Digest, want.Digest) || got.KeyTag != want.KeyTag || got.Algorithm != want.Algorithm ||
			got.DigestType != want.DigestType || got.Hdr.Name != want.Hdr.Name {
			t.Errorf("DS digest %d = %s\ndnssec-dsfromkey %s: %s", c.digest, got, c.flag, want)
		}
	}
}

func TestImportBINDErrors(t *testing.T) {
	ec1 := keygen(t, "example.org", "-a", "ECDSAP256SHA256")
	ec2 := keygen(t, "example.org", "-a", "ECDSAP256SHA256")
	rsa1 := keygen(t, "example.org", "-a", "RSASHA256", "-b", "2048")
	rsa2 := keygen(t, "example.org", "-a", "RSASHA256", "-b", "2048")
	ed := keygen(t, "example.org", "-a", "ED25519")
	rsasha1 := keygen(t, "example.org", "-a", "RSASHA1", "-b", "2048")
	ed448 := keygen(t, "example.org", "-a", "ED448")
	net := keygen(t, "example.net", "-a", "ECDSAP256SHA256")

	corrupt := strings.Replace(string(ec1.private), "PrivateKey: ", "PrivateKey: #", 1)
	tests := []struct {
		name         string
		zone         string
		key, private []byte
		want         error
		msg          string
	}{
		{"ECDSA pair mismatch", "example.org", ec1.key, ec2.private, ErrKeyMismatch, "private key does not match the public key"},
		{"RSA pair mismatch", "example.org", rsa1.key, rsa2.private, ErrKeyMismatch, "private key does not match the public key"},
		{"algorithm mismatch", "example.org", ec1.key, ed.private, ErrKeyMismatch, "private key is algorithm 15 (ED25519), DNSKEY algorithm 13 (ECDSAP256SHA256)"},
		{"corrupt private", "example.org", ec1.key, []byte(corrupt), ErrCorruptPrivate, ".private file"},
		{"truncated private", "example.org", rsa1.key, rsa1.private[:len(rsa1.private)/2], ErrCorruptPrivate, ".private file"},
		{"private not BIND", "example.org", ec1.key, []byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n"), ErrCorruptPrivate, "line 1"},
		{"algorithm 5", "example.org", rsasha1.key, rsasha1.private, ErrUnsupportedAlgorithm, "5 (RSASHA1); supported: 8 (RSASHA256), 13 (ECDSAP256SHA256), 15 (ED25519)"},
		{"algorithm 16", "example.org", ed448.key, ed448.private, ErrUnsupportedAlgorithm, "16 (ED448); supported:"},
		{"wrong owner", "example.org", net.key, net.private, ErrWrongOwner, "the .key file is for example.net."},
		{"not a DNSKEY", "example.org", []byte("; a comment\nexample.org. 3600 IN TXT \"hello\"\n"), ec1.private, ErrNotDNSKEY, "the record is TXT"},
		{"public key not base64", "example.org", []byte("example.org. IN DNSKEY 256 3 13 !!notbase64\n"), ec1.private, ErrBadDNSKEY, ".key file: bad DNSKEY: public key"},
		{"empty key file", "example.org", []byte("\n"), ec1.private, ErrNotDNSKEY, "empty"},
		{"only comments", "example.org", []byte("; nothing\n; here\n"), ec1.private, ErrNotDNSKEY, "no record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ImportBIND(tt.zone, tt.key, tt.private)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ImportBIND = %v, %v; want %v containing %q\nkey file:\n%s", k, err, tt.want, tt.msg, tt.key)
			}
		})
	}

	// A .key file the zone parser cannot read keeps its ParseError, with
	// the line, in the chain.
	_, err := ImportBIND("example.org", []byte("; made by hand\nexample.org. IN DNSKEY flags 3 13 AAAA\n"), ec1.private)
	var pe *dns.ParseError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "cannot read the .key file") || !strings.Contains(err.Error(), "line: 2") {
		t.Errorf("ImportBIND of an unreadable .key: %v; want a *dns.ParseError", err)
	}
	if _, err := ImportBIND("", ec1.key, ec1.private); err == nil {
		t.Error("ImportBIND with an empty zone name: no error")
	}
}
