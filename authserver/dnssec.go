package authserver

import (
	"encoding/hex"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// DNSSEC in answers (RFC 4035 section 3.1, RFC 5155 section 7.2): with DO
// set, every RRset in answer and authority goes with its RRSIGs, and
// negative answers, wildcard answers and insecure referrals with the NSEC3
// records that prove them. Everything comes from the store: the signer made
// it at commit; nothing is signed here.

// sigCache keeps, for one generation of the store, what negative and
// signed answers of each zone repeat: the SOA with its RRSIGs, the NSEC3
// parameters, and the NSEC3 proofs already looked up, decoded once. A
// worker's view carries it (zonedb.View.Scratch); a new generation starts
// an empty one.
type sigCache struct {
	gen   uint64
	zones map[uint64]*zoneSig
	size  int
}

// maxSigCache bounds the proofs a cache keeps (then it starts over).
const maxSigCache = 1 << 17

type zoneSig struct {
	origin string
	p      nsec3Params
	signed bool // NSEC3
	nsec   bool // signed with an NSEC chain instead
	// negSOA is the SOA for negative answers (TTL min(TTL, MINIMUM)),
	// then its RRSIGs with the same TTL; empty when the zone has no SOA.
	negSOA []dns.RR
	// proofs: NSEC3 and RRSIG records by "m"+name (the name's own) or
	// "c"+name (the one covering it).
	proofs map[proofKey][]dns.RR
	// covers: proofs of names that do not exist, by the covering
	// record's hash (SHA-1, 20 bytes).
	covers map[[20]byte][]dns.RR
	// fast: the pieces of signed NXDOMAIN answers (denial.go).
	fast *fastDenial
	// apexDNAME: a DNAME at the apex redirects every name below it.
	apexDNAME bool
	// wsoa: the negative SOA in wire form (wireanswer.go).
	wsoa *wireSOA
}

// room says whether one more entry may be kept; when the cache is full it
// empties every zone's proofs first (the zones' SOAs and parameters stay).
func (c *sigCache) room() bool {
	if c.size >= maxSigCache {
		for _, zs := range c.zones {
			clear(zs.proofs)
			clear(zs.covers)
			if zs.fast != nil {
				clear(zs.fast.wild)
			}
		}
		c.size = 0
	}
	c.size++
	return true
}

func newSigCache(gen uint64) *sigCache { return &sigCache{gen: gen, zones: map[uint64]*zoneSig{}} }

// zoneSig returns the zone's cached parts, loading them on first use.
func (e *Engine) zoneSig(v *zonedb.View, z zonedb.ZoneHandle) *zoneSig {
	c, _ := v.Scratch.(*sigCache)
	if c != nil {
		if zs, ok := c.zones[z.ID]; ok {
			return zs
		}
	}
	// What is cached is spelled in lower case, whatever the query that
	// filled it wrote: an answer must not depend on an earlier client's
	// letter case (its size would, through compression, and so its
	// truncation). An answer respells it as its own query wrote the zone's
	// name (respell).
	zs := &zoneSig{origin: strings.ToLower(z.Origin), proofs: map[proofKey][]dns.RR{}, covers: map[[20]byte][]dns.RR{}}
	node := v.ApexNode(z) // not v.Node: a caller may be reading one
	if val := node.Get(dns.TypeSOA); val != nil {
		if rrs := e.rrs(zs.origin, dns.TypeSOA, val); len(rrs) > 0 {
			soa := rrs[0].(*dns.SOA)
			soa.Hdr.Ttl = min(soa.Hdr.Ttl, soa.Minttl)
			zs.negSOA = []dns.RR{soa}
			// The RRSIG keeps the SOA's original TTL in its field; its own
			// TTL follows the SOA's in the answer (RFC 4035 section 2.2).
			for _, rr := range e.sigsKeep(node, zs.origin, dns.TypeSOA, c != nil) {
				rr.Header().Ttl = soa.Hdr.Ttl
				zs.negSOA = append(zs.negSOA, rr)
			}
		}
	}
	zs.nsec = node.Get(dns.TypeNSEC) != nil && node.Get(dns.TypeNSEC3PARAM) == nil
	zs.apexDNAME = node.Get(dns.TypeDNAME) != nil
	if val := node.Get(dns.TypeNSEC3PARAM); val != nil {
		if rrs := e.rrs(zs.origin, dns.TypeNSEC3PARAM, val); len(rrs) > 0 {
			p := rrs[0].(*dns.NSEC3PARAM)
			if salt, err := hex.DecodeString(p.Salt); err == nil {
				zs.p, zs.signed = nsec3Params{iter: p.Iterations, salt: salt}, true
			}
		}
	}
	if c != nil && c.room() {
		c.zones[z.ID] = zs
	}
	return zs
}

// zoneSigByID is zoneSig for a zone found by id; origin gives its name
// when it is not cached yet. It returns the zone's handle with it.
func (e *Engine) zoneSigByID(v *zonedb.View, id uint64, origin func() string) (*zoneSig, zonedb.ZoneHandle) {
	if c, _ := v.Scratch.(*sigCache); c != nil {
		if zs, ok := c.zones[id]; ok {
			return zs, zonedb.ZoneHandle{ID: id, Origin: zs.origin}
		}
	}
	z := zonedb.ZoneHandle{ID: id, Origin: origin()}
	if z.Origin == "" {
		return nil, z
	}
	return e.zoneSig(v, z), z
}

// respell returns rrs with owner names ending in the zone name from (a
// cache's spelling) written to end in to (the query's spelling of the same
// name) instead: the same slice when the two are the same bytes (nearly
// always), else copies.
func respell(rrs []dns.RR, from, to string) []dns.RR {
	if from == to {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		name := rr.Header().Name
		if len(name) < len(from) || name[len(name)-len(from):] != from {
			out[i] = rr
			continue
		}
		var c dns.RR
		if p, ok := rr.(*dns.PrivateRR); ok {
			// The store's raw records (zonedb.RawRRs): their RDATA is
			// never written to, so it is shared (dns.Copy cannot copy a
			// private type no one registered).
			cp := *p
			c = &cp
		} else {
			c = dns.Copy(rr)
		}
		c.Header().Name = name[:len(name)-len(from)] + to
		out[i] = c
	}
	return out
}

// proofKey names a cached proof: 'm' the NSEC3 matching name, 'w' the one
// covering wildcard name, 'h' a covering record by hash.
type proofKey struct {
	kind byte
	name string
}

// nsec3Params are a signed zone's hashing parameters (from NSEC3PARAM).
type nsec3Params struct {
	iter uint16
	salt []byte
}

// zoneNSEC3 returns the zone's NSEC3 parameters, or false when it has no
// NSEC3 chain (unsigned).
func (e *Engine) zoneNSEC3(v *zonedb.View, z zonedb.ZoneHandle) (nsec3Params, bool) {
	zs := e.zoneSig(v, z)
	return zs.p, zs.signed
}

// hash is the NSEC3 hash of name (RFC 5155 section 5).
func (p nsec3Params) hash(name string) []byte {
	sum, ok := zonedb.NSEC3HashName(name, p.salt, p.iter)
	if !ok {
		return nil
	}
	return sum[:]
}

// hashWire is the NSEC3 hash of a lower-case wire name.
func (p nsec3Params) hashWire(name []byte) [20]byte { return zonedb.NSEC3Hash(name, p.salt, p.iter) }

// sigs returns the RRSIGs at a node that cover type t, with owner set
// (a wildcard answer's RRSIG carries the query name, its Labels field
// tells the validator it was synthesized).
func (e *Engine) sigs(node *zonedb.Node, owner string, t uint16) []dns.RR {
	return e.sigsKeep(node, owner, t, false)
}

// sigsKeep is sigs; keep copies the RDATA out of the store (for a cache).
func (e *Engine) sigsKeep(node *zonedb.Node, owner string, t uint16, keep bool) []dns.RR {
	val := node.Get(dns.TypeRRSIG)
	if val == nil {
		return nil
	}
	out, err := zonedb.RawRRs(nil, owner, dns.TypeRRSIG, val, func(rd []byte) bool {
		return len(rd) >= 2 && uint16(rd[0])<<8|uint16(rd[1]) == t
	}, keep)
	if err != nil {
		e.log.Error("corrupt rrset in store", "name", owner, "type", "RRSIG", "err", err)
		return nil
	}
	return out
}

// raw decodes a stored RRset for an answer without decoding its fields;
// keep says the records outlive the view (a cache), so their RDATA is
// copied out of the store.
func (e *Engine) raw(owner string, t uint16, val []byte, keep bool) []dns.RR {
	out, err := zonedb.RawRRs(nil, owner, t, val, nil, keep)
	if err != nil {
		e.log.Error("corrupt rrset in store", "name", owner, "type", dns.TypeToString[t], "err", err)
		return nil
	}
	return out
}

// nsec3Proof adds to authority the NSEC3 record (with its RRSIGs) that
// matches name (match) or covers it, once.
func (e *Engine) nsec3Proof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, p nsec3Params, name string, match bool) bool {
	zs := e.zoneSig(v, z)
	var h []byte
	var key proofKey
	if match {
		// Matches are asked of names that exist (closest enclosers, the
		// query name): few, so cached by name.
		key = proofKey{'m', name}
	} else if strings.HasPrefix(name, "*.") {
		// The wildcard at a closest encloser: the same few names for
		// every NXDOMAIN, cached by name (no hash, no seek).
		key = proofKey{'w', name}
		if rrs, ok := zs.proofs[key]; ok {
			return e.appendProof(resp, z, zs, rrs)
		}
		if h = p.hash(name); h == nil {
			return false
		}
		if h = v.NSEC3Cover(z, h); h == nil {
			return false
		}
	} else {
		// Covers are asked of names that do not exist (random under a
		// flood): found by a seek, cached by the covering record's hash.
		if h = p.hash(name); h == nil {
			return false
		}
		if h = v.NSEC3Cover(z, h); h == nil {
			return false
		}
		if len(h) == 20 {
			hk := [20]byte(h)
			rrs, ok := zs.covers[hk]
			if !ok {
				rrs = e.proofRecords(v, z, zs, h)
				if c, _ := v.Scratch.(*sigCache); c != nil && c.room() {
					zs.covers[hk] = rrs
				}
			}
			return e.appendProof(resp, z, zs, rrs)
		}
		key = proofKey{'h', string(h)}
	}
	rrs, ok := zs.proofs[key]
	if !ok {
		if match {
			h = p.hash(name)
		}
		rrs = e.proofRecords(v, z, zs, h)
		if c, _ := v.Scratch.(*sigCache); c != nil && c.room() {
			zs.proofs[key] = rrs
		}
	}
	return e.appendProof(resp, z, zs, rrs)
}

// appendProof adds an NSEC3 record and its RRSIGs (cached, zs's spelling)
// to authority, once, spelled as the query wrote the zone's name.
func (e *Engine) appendProof(resp *dns.Msg, z zonedb.ZoneHandle, zs *zoneSig, rrs []dns.RR) bool {
	if len(rrs) == 0 {
		return false
	}
	rrs = respell(rrs, zs.origin, z.Origin)
	owner := rrs[0].Header().Name
	for _, rr := range resp.Ns {
		if rr.Header().Rrtype == dns.TypeNSEC3 && strings.EqualFold(rr.Header().Name, owner) {
			return true
		}
	}
	resp.Ns = append(resp.Ns, rrs...)
	return true
}

// proofRecords decodes the NSEC3 record with hash h and its RRSIGs, their
// owner spelled as zs caches it.
func (e *Engine) proofRecords(v *zonedb.View, z zonedb.ZoneHandle, zs *zoneSig, h []byte) []dns.RR {
	if h == nil {
		return nil
	}
	rec, sig := v.NSEC3Match(z, h)
	if rec == nil {
		return nil
	}
	owner := zonedb.NSEC3Owner(h, zs.origin)
	keep := v.Scratch != nil
	out := e.raw(owner, dns.TypeNSEC3, rec, keep)
	if sig != nil {
		out = append(out, e.raw(owner, dns.TypeRRSIG, sig, keep)...)
	}
	return out
}

// closestEncloserProof proves that qname does not exist below ce (RFC 5155
// section 7.2.1): ce's NSEC3 matches, the next closer name's is covered.
func (e *Engine) closestEncloserProof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, p nsec3Params, qname, ce string) {
	e.nsec3Proof(v, z, resp, p, ce, true)
	e.nsec3Proof(v, z, resp, p, nextCloser(qname, ce), false)
}

// nextCloser is the name one label longer than ce on the way to qname.
func nextCloser(qname, ce string) string {
	var ib [128]int
	idx := splitLabels(ib[:0], qname)
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

// ---- NSEC (RFC 4035 section 3.1.3) ----

// nsecMatch adds the NSEC record at name (with its RRSIGs).
func (e *Engine) nsecMatch(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, name string) bool {
	node := v.Node(z, name)
	val := node.Get(dns.TypeNSEC)
	if val == nil {
		return false
	}
	return e.addNSEC(resp, name, val, e.sigs(node, name, dns.TypeNSEC))
}

// nsecCover adds the NSEC record that covers name (owner before it in
// canonical order).
func (e *Engine) nsecCover(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, name string) bool {
	nk, val, sig := v.NSECCover(z, name)
	if val == nil {
		return false
	}
	owner := zonedb.OwnerName(nk, z.Origin)
	var sigs []dns.RR
	if sig != nil {
		sigs, _ = zonedb.RawRRs(nil, owner, dns.TypeRRSIG, sig, func(rd []byte) bool {
			return len(rd) >= 2 && uint16(rd[0])<<8|uint16(rd[1]) == dns.TypeNSEC
		}, false)
	}
	return e.addNSEC(resp, owner, val, sigs)
}

func (e *Engine) addNSEC(resp *dns.Msg, owner string, val []byte, sigs []dns.RR) bool {
	for _, rr := range resp.Ns {
		if rr.Header().Rrtype == dns.TypeNSEC && strings.EqualFold(rr.Header().Name, owner) {
			return true
		}
	}
	resp.Ns = append(resp.Ns, e.raw(owner, dns.TypeNSEC, val, false)...)
	resp.Ns = append(resp.Ns, sigs...)
	return true
}
