package authserver

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"

	"github.com/miekg/dns"

	"dms/zonedb"
)

// DNSSEC in answers (RFC 4035 section 3.1, RFC 5155 section 7.2): with DO
// set, every RRset in answer and authority goes with its RRSIGs, and
// negative answers, wildcard answers and insecure referrals with the NSEC3
// records that prove them. Everything comes from the store: the signer made
// it at commit; nothing is signed here.

// nsec3Params are a signed zone's hashing parameters (from NSEC3PARAM).
type nsec3Params struct {
	iter uint16
	salt []byte
}

// zoneNSEC3 returns the zone's NSEC3 parameters, or false when it has no
// NSEC3 chain (unsigned).
func (e *Engine) zoneNSEC3(v *zonedb.View, z zonedb.ZoneHandle) (nsec3Params, bool) {
	node := v.Node(z, z.Origin)
	val := node.Get(dns.TypeNSEC3PARAM)
	if val == nil {
		return nsec3Params{}, false
	}
	rrs := e.rrs(z.Origin, dns.TypeNSEC3PARAM, val)
	if len(rrs) == 0 {
		return nsec3Params{}, false
	}
	p := rrs[0].(*dns.NSEC3PARAM)
	salt, err := hex.DecodeString(p.Salt)
	if err != nil {
		return nsec3Params{}, false
	}
	return nsec3Params{iter: p.Iterations, salt: salt}, true
}

// hash is the NSEC3 hash of name (RFC 5155 section 5).
func (p nsec3Params) hash(name string) []byte {
	var buf [256]byte
	n, err := dns.PackDomainName(strings.ToLower(dns.Fqdn(name)), buf[:], 0, nil, false)
	if err != nil {
		return nil
	}
	h := sha1.New()
	h.Write(buf[:n])
	h.Write(p.salt)
	sum := h.Sum(nil)
	for range p.iter {
		h.Reset()
		h.Write(sum)
		h.Write(p.salt)
		sum = h.Sum(sum[:0])
	}
	return sum
}

// sigs returns the RRSIGs at a node that cover type t, with owner set
// (a wildcard answer's RRSIG carries the query name, its Labels field
// tells the validator it was synthesized).
func (e *Engine) sigs(node *zonedb.Node, owner string, t uint16) []dns.RR {
	val := node.Get(dns.TypeRRSIG)
	if val == nil {
		return nil
	}
	out, err := zonedb.RawRRs(nil, owner, dns.TypeRRSIG, val, func(rd []byte) bool {
		return len(rd) >= 2 && uint16(rd[0])<<8|uint16(rd[1]) == t
	})
	if err != nil {
		e.log.Error("corrupt rrset in store", "name", owner, "type", "RRSIG", "err", err)
		return nil
	}
	return out
}

// raw decodes a stored RRset for an answer without decoding its fields.
func (e *Engine) raw(owner string, t uint16, val []byte) []dns.RR {
	out, err := zonedb.RawRRs(nil, owner, t, val, nil)
	if err != nil {
		e.log.Error("corrupt rrset in store", "name", owner, "type", dns.TypeToString[t], "err", err)
		return nil
	}
	return out
}

// nsec3Proof adds to authority the NSEC3 record (with its RRSIGs) that
// matches name (match) or covers it, once.
func (e *Engine) nsec3Proof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, p nsec3Params, name string, match bool) bool {
	h := p.hash(name)
	if h == nil {
		return false
	}
	if !match {
		if h = v.NSEC3Cover(z, h); h == nil {
			return false
		}
	}
	rec, sig := v.NSEC3Match(z, h)
	if rec == nil {
		return false
	}
	owner := zonedb.NSEC3Owner(h, z.Origin)
	for _, rr := range resp.Ns {
		if rr.Header().Rrtype == dns.TypeNSEC3 && strings.EqualFold(rr.Header().Name, owner) {
			return true
		}
	}
	resp.Ns = append(resp.Ns, e.raw(owner, dns.TypeNSEC3, rec)...)
	if sig != nil {
		resp.Ns = append(resp.Ns, e.raw(owner, dns.TypeRRSIG, sig)...)
	}
	return true
}

// closestEncloserProof proves that qname does not exist below ce (RFC 5155
// section 7.2.1): ce's NSEC3 matches, the next closer name's is covered.
func (e *Engine) closestEncloserProof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, p nsec3Params, qname, ce string) {
	e.nsec3Proof(v, z, resp, p, ce, true)
	e.nsec3Proof(v, z, resp, p, nextCloser(qname, ce), false)
}

// nextCloser is the name one label longer than ce on the way to qname.
func nextCloser(qname, ce string) string {
	idx := dns.Split(qname)
	n := dns.CountLabel(ce)
	if len(idx)-n-1 < 0 {
		return qname
	}
	return qname[idx[len(idx)-n-1]:]
}

func wildcardOf(ce string) string {
	if ce == "." {
		return "*."
	}
	return "*." + ce
}

// insecureDelegationProof proves a delegation has no DS (RFC 5155 section
// 7.2.7): its NSEC3 without DS in the bitmap or, under opt-out, the closest
// provable encloser's with the next closer name covered by an opt-out
// NSEC3.
func (e *Engine) insecureDelegationProof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, p nsec3Params, cut string) {
	if e.nsec3Proof(v, z, resp, p, cut, true) {
		return
	}
	// Opt-out: walk up to the closest provable encloser.
	for ce := parentOf(cut); ; ce = parentOf(ce) {
		if e.nsec3Proof(v, z, resp, p, ce, true) {
			e.nsec3Proof(v, z, resp, p, nextCloser(cut, ce), false)
			return
		}
		if strings.EqualFold(ce, z.Origin) || ce == "." {
			return
		}
	}
}

func parentOf(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}
