package dnssec

import (
	"crypto"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Sign makes the RRSIG over rrset with key k for the validity window
// [inception, expiration] (RFC 4034 §3). The records must share owner
// (compared case-insensitively), type and class, and the owner must be at
// or below the key's zone; the TTL is that of the first record, and is
// both the RRSIG's TTL and its Original TTL. The Signer's Name is the zone
// and the Labels field leaves out a leading wildcard label (RFC 4034
// §3.1.3).
//
// Sign is deterministic: the same rrset (in any order), key and window
// give byte-identical RRSIGs, so a re-sign that changes nothing changes no
// bytes in the store or in an IXFR.
func Sign(k *Key, rrset []dns.RR, inception, expiration time.Time) (*dns.RRSIG, error) {
	if len(rrset) == 0 {
		return nil, fmt.Errorf("sign: %w: no records", ErrRRset)
	}
	h0 := rrset[0].Header()
	if err := checkRRset(k.Zone(), rrset); err != nil {
		return nil, fmt.Errorf("sign %s/%s: %w", h0.Name, dns.TypeToString[h0.Rrtype], err)
	}
	// RFC 4034 §3.1.5: 32-bit seconds since the epoch, compared in serial
	// number arithmetic (RFC 1982), so a window must be shorter than 2^31 s
	// (68 years) and the times themselves may wrap past 2106.
	inc, exp := inception.Unix(), expiration.Unix()
	if exp <= inc || exp-inc >= 1<<31 || inc < 0 {
		return nil, fmt.Errorf("sign %s/%s: %w: [%s, %s]", h0.Name, dns.TypeToString[h0.Rrtype], ErrWindow,
			inception.UTC().Format(time.RFC3339), expiration.UTC().Format(time.RFC3339))
	}
	tag, signer := k.tag, k.signer
	if !k.prepared {
		tag, signer = k.DNSKEY.KeyTag(), crypto.Signer(deterministicSigner{k.Private})
	}
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: h0.Ttl},
		Algorithm:  k.DNSKEY.Algorithm,
		OrigTtl:    h0.Ttl,
		Expiration: uint32(exp),
		Inception:  uint32(inc),
		KeyTag:     tag,
		SignerName: k.Zone(),
	}
	if err := sig.Sign(signer, rrset); err != nil {
		return nil, fmt.Errorf("sign %s/%s with key %d: %w", h0.Name, dns.TypeToString[h0.Rrtype], tag, err)
	}
	return sig, nil
}

// checkRRset reports why rrset cannot be signed for zone, or nil.
func checkRRset(zone string, rrset []dns.RR) error {
	h0 := rrset[0].Header()
	switch h0.Rrtype {
	case dns.TypeRRSIG:
		// RFC 4035 §2.2: RRSIGs are not signed.
		return fmt.Errorf("%w: RRSIG records are not signed", ErrRRset)
	case dns.TypeOPT, dns.TypeTSIG, dns.TypeSIG, dns.TypeNone:
		return fmt.Errorf("%w: type %s is not zone data", ErrRRset, dns.TypeToString[h0.Rrtype])
	}
	for _, rr := range rrset[1:] {
		h := rr.Header()
		if h.Rrtype != h0.Rrtype || h.Class != h0.Class || !strings.EqualFold(h.Name, h0.Name) {
			return fmt.Errorf("%w: %s %s %s with %s %s %s", ErrRRset,
				h0.Name, dns.ClassToString[h0.Class], dns.TypeToString[h0.Rrtype],
				h.Name, dns.ClassToString[h.Class], dns.TypeToString[h.Rrtype])
		}
	}
	if !dns.IsFqdn(h0.Name) || !dns.IsSubDomain(zone, h0.Name) {
		return fmt.Errorf("%w: owner is not in zone %s", ErrRRset, zone)
	}
	return nil
}
