package dnssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Errors of key handling, by phase. Test for them with errors.Is; the
// returned errors wrap them with what was being done.
var (
	// Reading a key.

	// ErrUnsupportedAlgorithm: the DNSKEY algorithm is not one dms signs
	// with (see SupportedAlgorithms).
	ErrUnsupportedAlgorithm = errors.New("unsupported DNSSEC algorithm")
	// ErrNotDNSKEY: the public key text is not a DNSKEY record.
	ErrNotDNSKEY = errors.New("not a DNSKEY record")
	// ErrWrongOwner: the DNSKEY's owner is not the zone apex.
	ErrWrongOwner = errors.New("DNSKEY owner is not the zone")
	// ErrBadDNSKEY: the DNSKEY is malformed (protocol, flags, public key).
	ErrBadDNSKEY = errors.New("bad DNSKEY")
	// ErrCorruptPrivate: the private key text cannot be decoded.
	ErrCorruptPrivate = errors.New("corrupt private key")
	// ErrKeyMismatch: the private key is not the one of the DNSKEY.
	ErrKeyMismatch = errors.New("private key does not match the public key")

	// Using a key.

	// ErrNotSEP: a DS, CDS or CDNSKEY was asked for a key without the SEP
	// flag (a ZSK); the parent must point at the KSK or CSK.
	ErrNotSEP = errors.New("key is not a KSK or CSK (no SEP flag)")
	// ErrDigest: the DS digest type is not 2 (SHA-256) or 4 (SHA-384).
	ErrDigest = errors.New("unsupported DS digest type")
	// ErrRRset: the records given to Sign are not one RRset of the zone.
	ErrRRset = errors.New("not a signable RRset")
	// ErrWindow: the signature validity window is empty or out of range.
	ErrWindow = errors.New("bad signature validity window")
)

// SupportedAlgorithms names the algorithms a Key may have, for messages.
// 7 (NSEC3RSASHA1) is accepted only so that keys imported from BIND keep
// working (RFC 8624 §3.1: MUST NOT be used for new signing keys).
const SupportedAlgorithms = "8 (RSASHA256), 13 (ECDSAP256SHA256), 15 (ED25519), and 7 (NSEC3RSASHA1) for keys imported from BIND"

// Key is one DNSSEC key of a zone, with its private part.
//
// Make it with GenerateKey, ParseKey or ImportBIND: they check the key and
// prepare what Sign needs once. A Key built as a literal works too, but
// every Sign then recomputes the key tag and signer, and nothing checks
// that the two halves belong together. Neither field may change after
// the first use; a Key is then safe for concurrent use.
type Key struct {
	DNSKEY  *dns.DNSKEY   // owner = zone (absolute, lower case), flags 257 (KSK/CSK) or 256 (ZSK), protocol 3
	Private crypto.Signer // *ecdsa.PrivateKey, ed25519.PrivateKey or *rsa.PrivateKey

	prepared bool
	tag      uint16
	signer   crypto.Signer // Private behind deterministicSigner
}

// Tag returns the key tag of the DNSKEY (RFC 4034 Appendix B).
func (k *Key) Tag() uint16 {
	if k.prepared {
		return k.tag
	}
	return k.DNSKEY.KeyTag()
}

// Algorithm returns the DNSKEY algorithm number.
func (k *Key) Algorithm() uint8 { return k.DNSKEY.Algorithm }

// Zone returns the zone the key belongs to: the DNSKEY owner.
func (k *Key) Zone() string { return k.DNSKEY.Hdr.Name }

// IsSEP reports whether the key has the SEP flag (a KSK or CSK).
func (k *Key) IsSEP() bool { return k.DNSKEY.Flags&dns.SEP != 0 }

// GenerateKey makes a new key for zone: alg 13 (ECDSAP256SHA256, the
// default when alg is 0), 15 (ED25519) or 8 (RSASHA256, 2048 bits). ksk
// sets flags 257 (SEP) else 256.
func GenerateKey(zone string, alg uint8, ksk bool) (*Key, error) {
	if alg == 0 {
		alg = dns.ECDSAP256SHA256
	}
	if _, ok := dns.IsDomainName(zone); !ok || zone == "" {
		return nil, fmt.Errorf("generate key: bad zone name %q", zone)
	}
	dk := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: dns.CanonicalName(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     dns.ZONE,
		Protocol:  3,
		Algorithm: alg,
	}
	if ksk {
		dk.Flags |= dns.SEP
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case dns.ECDSAP256SHA256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case dns.ED25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case dns.RSASHA256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("generate key for %s: %w: algorithm %s; choose 13 (ECDSAP256SHA256), 15 (ED25519) or 8 (RSASHA256)",
			dk.Hdr.Name, ErrUnsupportedAlgorithm, algName(alg))
	}
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", dk.Hdr.Name, err)
	}
	pub, err := encodePublic(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", dk.Hdr.Name, err)
	}
	dk.PublicKey = base64.StdEncoding.EncodeToString(pub)
	return newKey(dk, priv)
}

// MarshalPrivate returns the private key in BIND's "Private-key-format:
// v1.3" text, as dns.DNSKEY.PrivateKeyString writes it. ParseKey reads it
// back.
func (k *Key) MarshalPrivate() string {
	return k.DNSKEY.PrivateKeyString(k.Private)
}

// ParseKey makes a Key from a DNSKEY record in zone-file text (absolute
// owner) and its private key in BIND's private key text (v1.2 or v1.3).
// It fails when the private key is not the one of the DNSKEY.
func ParseKey(dnskeyText, private string) (*Key, error) {
	rr, err := dns.NewRR(dnskeyText)
	if err != nil {
		return nil, fmt.Errorf("parse DNSKEY: %w", err)
	}
	dk, ok := rr.(*dns.DNSKEY)
	if !ok {
		if rr == nil {
			return nil, fmt.Errorf("parse DNSKEY: %w: empty text", ErrNotDNSKEY)
		}
		return nil, fmt.Errorf("parse DNSKEY: %w: got %s", ErrNotDNSKEY, dns.TypeToString[rr.Header().Rrtype])
	}
	return parsePrivate(dk, []byte(private))
}

// parsePrivate decodes the BIND private key text for dk and returns the
// checked Key.
func parsePrivate(dk *dns.DNSKEY, text []byte) (*Key, error) {
	dk.Hdr.Name = dns.CanonicalName(dk.Hdr.Name)
	where := fmt.Sprintf("key %s/%d/%d", dk.Hdr.Name, dk.Algorithm, dk.KeyTag())
	if !supported(dk.Algorithm) {
		return nil, fmt.Errorf("%s: %w: algorithm %s; supported: %s", where, ErrUnsupportedAlgorithm, algName(dk.Algorithm), SupportedAlgorithms)
	}
	f, err := privateFields(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	algText, _, _ := strings.Cut(f["algorithm"], " ")
	palg, err := strconv.ParseUint(algText, 10, 8)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: bad or missing Algorithm line %q", where, ErrCorruptPrivate, f["algorithm"])
	}
	if uint8(palg) != dk.Algorithm {
		return nil, fmt.Errorf("%s: %w: private key is algorithm %s, DNSKEY algorithm %s", where, ErrKeyMismatch, algName(uint8(palg)), algName(dk.Algorithm))
	}
	var priv crypto.Signer
	switch dk.Algorithm {
	case dns.ECDSAP256SHA256:
		priv, err = privateECDSA(f)
	case dns.ED25519:
		priv, err = privateEd25519(f)
	default: // RSA: 7, 8
		priv, err = privateRSA(dk, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return newKey(dk, priv)
}

// privateB64 is the base64 field name of a private key file.
func privateB64(f map[string]string, name string) ([]byte, error) {
	v, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("%w: no %s field", ErrCorruptPrivate, name)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: field %s: %v", ErrCorruptPrivate, name, err)
	}
	return b, nil
}

func privateECDSA(f map[string]string) (crypto.Signer, error) {
	d, err := privateB64(f, "privatekey")
	if err != nil {
		return nil, err
	}
	// Some writers (BIND among them) drop the scalar's leading zero
	// bytes: pad it back to the field size (1 key in 256 has one).
	if len(d) < 32 {
		d = append(make([]byte, 32-len(d)), d...)
	}
	p, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptPrivate, err)
	}
	return p, nil
}

func privateEd25519(f map[string]string) (crypto.Signer, error) {
	seed, err := privateB64(f, "privatekey")
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 private key is %d bytes, want %d", ErrCorruptPrivate, len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func privateRSA(dk *dns.DNSKEY, f map[string]string) (crypto.Signer, error) {
	var v [5][]byte
	for i, name := range []string{"modulus", "publicexponent", "privateexponent", "prime1", "prime2"} {
		var err error
		if v[i], err = privateB64(f, name); err != nil {
			return nil, err
		}
	}
	e := new(big.Int).SetBytes(v[1])
	if !e.IsInt64() || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("%w: public exponent too large", ErrCorruptPrivate)
	}
	p := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).SetBytes(v[0]), E: int(e.Int64())},
		D:         new(big.Int).SetBytes(v[2]),
		Primes:    []*big.Int{new(big.Int).SetBytes(v[3]), new(big.Int).SetBytes(v[4])},
	}
	// Compare the public half first, so that a private key of another
	// DNSKEY reads as a mismatch and not as corruption.
	pub, err := decodePublic(dk)
	if err != nil {
		return nil, err
	}
	if rp := pub.(*rsa.PublicKey); rp.N.Cmp(p.N) != 0 || rp.E != p.E {
		return nil, fmt.Errorf("%w: modulus or exponent differ", ErrKeyMismatch)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptPrivate, err)
	}
	return p, nil
}

// privateFields splits BIND private key text into its "Name: value"
// fields, names in lower case. Empty lines and ';' comments are skipped.
func privateFields(text []byte) (map[string]string, error) {
	f := make(map[string]string, 12)
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: no ':' in %q", ErrCorruptPrivate, i+1, line)
		}
		f[strings.ToLower(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	switch v := f["private-key-format"]; v {
	case "v1.2", "v1.3":
	case "":
		return nil, fmt.Errorf("%w: no Private-key-format line", ErrCorruptPrivate)
	default:
		return nil, fmt.Errorf("%w: Private-key-format %s, want v1.2 or v1.3", ErrCorruptPrivate, v)
	}
	return f, nil
}

// newKey checks that dk is a zone key of a supported algorithm whose
// public key is that of priv, and prepares the Key for signing.
func newKey(dk *dns.DNSKEY, priv crypto.Signer) (*Key, error) {
	dk.Hdr.Name = dns.CanonicalName(dk.Hdr.Name)
	dk.Hdr.Rrtype = dns.TypeDNSKEY
	if dk.Hdr.Class == 0 {
		dk.Hdr.Class = dns.ClassINET
	}
	tag := dk.KeyTag()
	where := fmt.Sprintf("key %s/%d/%d", dk.Hdr.Name, dk.Algorithm, tag)
	if !supported(dk.Algorithm) {
		return nil, fmt.Errorf("%s: %w: algorithm %s; supported: %s", where, ErrUnsupportedAlgorithm, algName(dk.Algorithm), SupportedAlgorithms)
	}
	if dk.Protocol != 3 {
		return nil, fmt.Errorf("%s: %w: protocol %d, want 3 (RFC 4034 §2.1.2)", where, ErrBadDNSKEY, dk.Protocol)
	}
	if dk.Flags&dns.ZONE == 0 || dk.Flags&^(dns.ZONE|dns.SEP|dns.REVOKE) != 0 {
		return nil, fmt.Errorf("%s: %w: flags %d, want 256 (ZSK) or 257 (KSK/CSK)", where, ErrBadDNSKEY, dk.Flags)
	}
	pub, err := decodePublic(dk)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	want, ok := priv.Public().(equaler)
	if !ok || !want.Equal(pub) {
		return nil, fmt.Errorf("%s: %w (%T for a DNSKEY of algorithm %s)", where, ErrKeyMismatch, priv, algName(dk.Algorithm))
	}
	if rk, ok := priv.(*rsa.PrivateKey); ok {
		if rk.N.BitLen() < 1024 {
			return nil, fmt.Errorf("%s: %w: RSA modulus of %d bits, want at least 1024", where, ErrBadDNSKEY, rk.N.BitLen())
		}
		rk.Precompute()
	}
	return &Key{DNSKEY: dk, Private: priv, prepared: true, tag: tag, signer: deterministicSigner{priv}}, nil
}

func supported(alg uint8) bool {
	switch alg {
	case dns.RSASHA1NSEC3SHA1, dns.RSASHA256, dns.ECDSAP256SHA256, dns.ED25519:
		return true
	}
	return false
}

// algName is "13 (ECDSAP256SHA256)", for messages.
func algName(alg uint8) string {
	if s, ok := dns.AlgorithmToString[alg]; ok {
		return fmt.Sprintf("%d (%s)", alg, s)
	}
	return strconv.Itoa(int(alg))
}

// decodePublic returns the public key of dk as a Go key: *ecdsa.PublicKey,
// ed25519.PublicKey or *rsa.PublicKey.
func decodePublic(dk *dns.DNSKEY) (crypto.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(dk.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrBadDNSKEY, err)
	}
	switch dk.Algorithm {
	case dns.ECDSAP256SHA256:
		// RFC 6605 §4: Q = x | y, 32 bytes each, no SEC 1 prefix.
		if len(b) != 64 {
			return nil, fmt.Errorf("%w: ECDSA P-256 public key is %d bytes, want 64", ErrBadDNSKEY, len(b))
		}
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, b...))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDNSKEY, err)
		}
		return p, nil
	case dns.ED25519:
		if len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 public key is %d bytes, want %d", ErrBadDNSKEY, len(b), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(b), nil
	case dns.RSASHA1NSEC3SHA1, dns.RSASHA256:
		// RFC 3110 §2: exponent length (1 byte, or 0 and 2 bytes),
		// exponent, modulus.
		if len(b) < 3 {
			return nil, fmt.Errorf("%w: RSA public key too short", ErrBadDNSKEY)
		}
		el, off := int(b[0]), 1
		if el == 0 {
			el, off = int(b[1])<<8|int(b[2]), 3
		}
		if el == 0 || el > 4 || len(b) <= off+el {
			return nil, fmt.Errorf("%w: RSA public key: bad exponent length %d", ErrBadDNSKEY, el)
		}
		var e int
		for _, c := range b[off : off+el] {
			e = e<<8 | int(c)
		}
		if e > 1<<31-1 {
			return nil, fmt.Errorf("%w: RSA public exponent too large", ErrBadDNSKEY)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(b[off+el:]), E: e}, nil
	}
	return nil, fmt.Errorf("%w: algorithm %s", ErrUnsupportedAlgorithm, algName(dk.Algorithm))
}

// encodePublic is the DNSKEY public key field (binary) of pub.
func encodePublic(pub crypto.PublicKey) ([]byte, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := p.Bytes()
		if err != nil {
			return nil, err
		}
		return b[1:], nil // drop the SEC 1 uncompressed-point prefix
	case ed25519.PublicKey:
		return bytes.Clone(p), nil
	case *rsa.PublicKey:
		e := big.NewInt(int64(p.E)).Bytes()
		var b []byte
		if len(e) < 256 {
			b = append(b, byte(len(e)))
		} else {
			b = append(b, 0, byte(len(e)>>8), byte(len(e)))
		}
		b = append(b, e...)
		return append(b, p.N.Bytes()...), nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", pub)
}

// deterministicSigner makes the signatures of its key reproducible: it
// ignores the random source miekg/dns passes (crypto/rand.Reader) and
// signs with a nil one. For ECDSA, Go then signs per RFC 6979 (see
// crypto/ecdsa PrivateKey.Sign); Ed25519 (RFC 8032) and RSA PKCS #1 v1.5
// are deterministic anyway.
type deterministicSigner struct{ crypto.Signer }

func (s deterministicSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.Signer.Sign(nil, digest, opts)
}

// DS returns the DS record for the parent of the KSK or CSK k (RFC 4034
// §5), digest 2 (SHA-256) or 4 (SHA-384); RFC 8624 §3.3 forbids 1 (SHA-1).
func DS(k *Key, digest uint8, ttl uint32) (*dns.DS, error) {
	if !k.IsSEP() {
		return nil, fmt.Errorf("DS for key %s/%d: %w", k.Zone(), k.Tag(), ErrNotSEP)
	}
	if digest != dns.SHA256 && digest != dns.SHA384 {
		return nil, fmt.Errorf("DS for key %s/%d: %w %d, want 2 (SHA-256) or 4 (SHA-384)", k.Zone(), k.Tag(), ErrDigest, digest)
	}
	ds := k.DNSKEY.ToDS(digest)
	if ds == nil {
		return nil, fmt.Errorf("DS for key %s/%d: %w: cannot digest the DNSKEY", k.Zone(), k.Tag(), ErrBadDNSKEY)
	}
	ds.Hdr.Ttl = ttl
	return ds, nil
}

// CDS returns the CDS record (RFC 7344 §3.1) of the KSK or CSK k.
func CDS(k *Key, digest uint8, ttl uint32) (*dns.CDS, error) {
	ds, err := DS(k, digest, ttl)
	if err != nil {
		return nil, err
	}
	return ds.ToCDS(), nil
}

// CDNSKEY returns the CDNSKEY record (RFC 7344 §3.2) of k.
func CDNSKEY(k *Key, ttl uint32) *dns.CDNSKEY {
	c := k.DNSKEY.ToCDNSKEY()
	c.Hdr.Ttl = ttl
	return c
}
