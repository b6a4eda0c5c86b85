package authserver

import (
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// maxChain bounds CNAME/DNAME chains followed in one answer.
const maxChain = 12

// lookup fills resp for qname/qtype from the store: RFC 1034 section 4.3.2
// with RFC 4592 wildcards and RFC 6672 DNAME, following CNAME chains
// through every zone served here that acc allows. It returns false when
// qname is in no served zone, or in one acc refuses (the caller answers
// REFUSED).
func (e *Engine) lookup(v *zonedb.View, resp *dns.Msg, qname string, qtype uint16, do bool, acc *access) bool {
	seen := make([]string, 0, 2)
	for hop := 0; hop < maxChain; hop++ {
		z, ok := v.FindZone(qname)
		if !ok {
			return hop > 0 // a chain that leaves our zones ends here
		}
		if qtype == dns.TypeDS && qname != "." && dns.CountLabel(qname) == dns.CountLabel(z.Origin) {
			// A DS belongs to the parent side of the cut (RFC 4035
			// section 3.1.4.1): answer from the parent zone when it is
			// served here too.
			if i, end := dns.NextLabel(qname, 0); !end {
				if pz, ok := v.FindZone(qname[i:]); ok {
					z = pz
				}
			}
		}
		if !acc.allows(v, z.ID, hop == 0) {
			return hop > 0 // allow-query: as if the zone were not served here
		}
		lq := strings.ToLower(qname)
		for _, s := range seen {
			if s == lq {
				return true // a loop: what we have is the answer
			}
		}
		seen = append(seen, lq)
		next, follow := e.lookupZone(v, z, resp, qname, qtype, do, hop == 0)
		if !follow {
			return true
		}
		qname = next
	}
	return true
}

// lookupZone answers qname in zone z. When the answer is a CNAME (or a
// DNAME's synthesized CNAME) to follow, it returns the target and true.
func (e *Engine) lookupZone(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, qname string, qtype uint16, do, first bool) (string, bool) {
	var ib [128]int
	idx := splitLabels(ib[:0], qname)
	nq := len(idx)
	nz := dns.CountLabel(z.Origin)
	depth := nq - nz
	name := func(d int) string { // the ancestor of qname d labels below the origin
		if d == 0 {
			return z.Origin
		}
		return qname[idx[nq-nz-d]:]
	}
	// Walk down from the apex: a zone cut or a DNAME above qname decides
	// the answer; a missing name ends the walk at the closest encloser.
	var node *zonedb.Node
	if depth > 0 {
		// A DNAME at the apex redirects every name below it (RFC 6672).
		if apex := v.Node(z, z.Origin); apex.State == zonedb.NodeData {
			if dn := apex.Get(dns.TypeDNAME); dn != nil {
				return e.dname(v, z, resp, qname, z.Origin, dn, e.sigsIf(do, apex, z.Origin, dns.TypeDNAME), qtype, do)
			}
		}
	}
	for d := 1; d <= depth; d++ {
		nm := name(d)
		node = v.Node(z, nm)
		switch node.State {
		case zonedb.NodeMissing:
			return e.wildcard(v, z, resp, qname, name(d-1), qtype, do, first)
		case zonedb.NodeENT:
			continue
		}
		if ns := node.Get(dns.TypeNS); ns != nil && (d < depth || qtype != dns.TypeDS) {
			e.referral(v, z, resp, nm, node, do, first)
			return "", false
		}
		if d < depth {
			if dn := node.Get(dns.TypeDNAME); dn != nil {
				return e.dname(v, z, resp, qname, nm, dn, e.sigsIf(do, node, nm, dns.TypeDNAME), qtype, do)
			}
		}
	}
	if depth == 0 {
		node = v.Node(z, qname)
	}
	if node.State == zonedb.NodeENT {
		// An empty non-terminal: NODATA (RFC 4592 section 2.2.2).
		e.nodata(v, z, resp, first, do)
		e.nodataProof(v, z, resp, do, qname)
		return "", false
	}
	return e.answerNode(v, z, resp, node, qname, qname, qtype, do, first)
}

// answerNode answers from the RRsets at a node whose records are given
// owner (qname, or the query name for a wildcard).
func (e *Engine) answerNode(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, node *zonedb.Node, nodeName, owner string, qtype uint16, do, first bool) (string, bool) {
	if first {
		resp.Authoritative = true
	}
	// A wildcard's NODATA is proved by the caller (it knows the closest
	// encloser); an existing name's here.
	proof := owner
	if nodeName != owner {
		proof = ""
	}
	if qtype == dns.TypeANY {
		// RFC 8482: one RRset is enough.
		for i, t := range node.Types {
			if t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3 {
				continue
			}
			if rrs := e.rrs(owner, t, node.Vals[i]); len(rrs) > 0 {
				resp.Answer = append(resp.Answer, rrs...)
				resp.Answer = append(resp.Answer, e.sigsIf(do, node, owner, t)...)
				return "", false
			}
		}
		e.nodata(v, z, resp, first, do)
		e.nodataProof(v, z, resp, do, proof)
		return "", false
	}
	if val := node.Get(qtype); val != nil {
		if rrs := e.rrs(owner, qtype, val); len(rrs) > 0 {
			resp.Answer = append(resp.Answer, rrs...)
			resp.Answer = append(resp.Answer, e.sigsIf(do, node, owner, qtype)...)
			e.additional(v, z, resp, rrs)
			return "", false
		}
	}
	if qtype != dns.TypeCNAME {
		if val := node.Get(dns.TypeCNAME); val != nil {
			if rrs := e.rrs(owner, dns.TypeCNAME, val); len(rrs) > 0 {
				resp.Answer = append(resp.Answer, rrs[0])
				resp.Answer = append(resp.Answer, e.sigsIf(do, node, owner, dns.TypeCNAME)...)
				return rrs[0].(*dns.CNAME).Target, true
			}
		}
	}
	e.nodata(v, z, resp, first, do)
	e.nodataProof(v, z, resp, do, proof)
	return "", false
}

// sigsIf is sigs when do is set.
func (e *Engine) sigsIf(do bool, node *zonedb.Node, owner string, t uint16) []dns.RR {
	if !do {
		return nil
	}
	return e.sigs(node, owner, t)
}

// nodataProof proves with NSEC3 that name has no RRset of the type asked
// (the name's own NSEC3, or under opt-out the closest provable encloser's).
func (e *Engine) nodataProof(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, do bool, name string) {
	if !do || name == "" {
		return
	}
	if p, ok := e.zoneNSEC3(v, z); ok {
		e.insecureDelegationProof(v, z, resp, p, name)
	} else if e.zoneSig(v, z).nsec {
		// The name's NSEC, or for an empty non-terminal the one covering it.
		if !e.nsecMatch(v, z, resp, name) {
			e.nsecCover(v, z, resp, name)
		}
	}
}

// wildcard handles a name that does not exist below closest encloser ce:
// the wildcard at *.ce answers if there is one (RFC 4592 section 3.3.1),
// else NXDOMAIN.
func (e *Engine) wildcard(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, qname, ce string, qtype uint16, do, first bool) (string, bool) {
	wname := "*." + ce
	if ce == "." {
		wname = "*."
	}
	node := v.Node(z, wname)
	switch node.State {
	case zonedb.NodeMissing:
		// After a CNAME chain the rcode is the last name's (RFC 6604).
		resp.Rcode = dns.RcodeNameError
		e.soaAuthority(v, z, resp, do)
		if first {
			resp.Authoritative = true
		}
		if p, ok := e.zoneNSEC3(v, z); ok && do {
			// RFC 5155 section 7.2.2: the closest encloser proof and no
			// wildcard at it.
			e.closestEncloserProof(v, z, resp, p, qname, ce)
			e.nsec3Proof(v, z, resp, p, wname, false)
		} else if do && e.zoneSig(v, z).nsec {
			// RFC 4035 section 3.1.3.2: qname and the wildcard covered.
			e.nsecCover(v, z, resp, qname)
			e.nsecCover(v, z, resp, wname)
		}
		return "", false
	case zonedb.NodeENT:
		e.nodata(v, z, resp, first, do)
		if p, ok := e.zoneNSEC3(v, z); ok && do {
			e.closestEncloserProof(v, z, resp, p, qname, ce)
			e.nsec3Proof(v, z, resp, p, wname, true)
		} else if do && e.zoneSig(v, z).nsec {
			e.nsecCover(v, z, resp, qname)
			e.nsecCover(v, z, resp, wname)
		}
		return "", false
	}
	before := len(resp.Answer)
	target, follow := e.answerNode(v, z, resp, node, wname, qname, qtype, do, first)
	if p, ok := e.zoneNSEC3(v, z); ok && do {
		if len(resp.Answer) > before {
			// RFC 5155 section 7.2.6: the query name itself does not exist.
			e.nsec3Proof(v, z, resp, p, nextCloser(qname, ce), false)
		} else {
			// Section 7.2.5: wildcard NODATA.
			e.closestEncloserProof(v, z, resp, p, qname, ce)
			e.nsec3Proof(v, z, resp, p, wname, true)
		}
	} else if do && e.zoneSig(v, z).nsec {
		// RFC 4035 sections 3.1.3.3 and 3.1.3.4.
		e.nsecCover(v, z, resp, qname)
		if len(resp.Answer) == before {
			e.nsecMatch(v, z, resp, wname)
		}
	}
	return target, follow
}

// nodata answers NOERROR with no data: the SOA in authority.
func (e *Engine) nodata(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, first, do bool) {
	if first {
		resp.Authoritative = true
	}
	e.soaAuthority(v, z, resp, do)
}

// soaAuthority adds the zone's SOA for a negative answer, with TTL
// min(SOA TTL, SOA MINIMUM) (RFC 2308 section 3).
func (e *Engine) soaAuthority(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, do bool) {
	zs := e.zoneSig(v, z)
	if len(zs.negSOA) == 0 {
		return
	}
	if do && cap(resp.Ns) == 0 {
		// SOA, RRSIG and up to three denial records with their RRSIGs.
		resp.Ns = make([]dns.RR, 0, 8)
	}
	n := 1 // the SOA; with DO its RRSIGs too
	if do {
		n = len(zs.negSOA)
	}
	resp.Ns = append(resp.Ns, respell(zs.negSOA[:n], zs.origin, z.Origin)...)
}

// referral answers for data at or below a zone cut: the NS in authority,
// their in-zone addresses as glue, no AA (RFC 1034 section 4.3.2 step 3b).
func (e *Engine) referral(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, cut string, node *zonedb.Node, do, first bool) {
	if first {
		// After a CNAME, AA stays: it is about the query name's answer.
		resp.Authoritative = false
	}
	ns := e.rrs(cut, dns.TypeNS, node.Get(dns.TypeNS))
	var ds []dns.RR
	zs := e.zoneSig(v, z)
	// A DS in an unsigned zone proves nothing (no RRSIG can come with
	// it): the referral leaves it out, as Knot and NSD do; a DS query
	// still gets it as data (RFC 4035 section 3.1.4.1 is about signed
	// zones).
	if do && (zs.signed || zs.nsec) {
		if val := node.Get(dns.TypeDS); val != nil {
			ds = e.rrs(cut, dns.TypeDS, val)
			ds = append(ds, e.sigs(node, cut, dns.TypeDS)...)
		}
	}
	resp.Ns = append(resp.Ns, ns...)
	resp.Ns = append(resp.Ns, ds...)
	if do && len(ds) == 0 {
		// An insecure delegation: prove there is no DS.
		if zs.signed {
			e.insecureDelegationProof(v, z, resp, zs.p, cut)
		} else if zs.nsec {
			e.nsecMatch(v, z, resp, cut)
		}
	}
	for _, rr := range ns {
		e.addAddresses(v, z, resp, rr.(*dns.NS).Ns)
	}
}

// dname synthesizes the CNAME for qname below the DNAME at owner (RFC 6672
// section 2.2) and returns the target to follow.
func (e *Engine) dname(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, qname, owner string, val []byte, sigs []dns.RR, qtype uint16, do bool) (string, bool) {
	rrs := e.rrs(owner, dns.TypeDNAME, val)
	if len(rrs) == 0 {
		return "", false
	}
	resp.Authoritative = true
	d := rrs[0].(*dns.DNAME)
	resp.Answer = append(resp.Answer, d)
	resp.Answer = append(resp.Answer, sigs...)
	prefix := qname[:len(qname)-len(owner)]
	target := prefix + d.Target
	if d.Target == "." {
		target = prefix
	}
	if !fitsWire(target) {
		resp.Rcode = dns.RcodeYXDomain // RFC 6672 section 2.2
		return "", false
	}
	resp.Answer = append(resp.Answer, &dns.CNAME{
		Hdr:    dns.RR_Header{Name: qname, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: d.Hdr.Ttl},
		Target: target,
	})
	if qtype == dns.TypeCNAME || qtype == dns.TypeDNAME {
		return "", false
	}
	return target, true
}

// fitsWire says whether name is a domain name that fits the wire: at most
// 255 octets packed (RFC 1035 section 3.1). The text form is no measure:
// it lacks the first length octet and spells some octets as \DDD.
func fitsWire(name string) bool {
	var buf [512]byte // PackDomainName packs past 255 octets: check after
	n, err := dns.PackDomainName(name, buf[:], 0, nil, false)
	return err == nil && n <= 255
}

// additional adds in-zone addresses of MX, SRV and NS targets.
func (e *Engine) additional(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, rrs []dns.RR) {
	for _, rr := range rrs {
		var target string
		switch r := rr.(type) {
		case *dns.MX:
			target = r.Mx
		case *dns.SRV:
			target = r.Target
		case *dns.NS:
			target = r.Ns
		default:
			continue
		}
		e.addAddresses(v, z, resp, target)
	}
}

// addAddresses adds the A and AAAA records of target when it is in zone z.
func (e *Engine) addAddresses(v *zonedb.View, z zonedb.ZoneHandle, resp *dns.Msg, target string) {
	if target == "." || !dns.IsSubDomain(z.Origin, target) {
		return
	}
	for _, rr := range resp.Extra {
		if strings.EqualFold(rr.Header().Name, target) {
			return
		}
	}
	node := v.Node(z, target)
	if node.State != zonedb.NodeData {
		return
	}
	a, aaaa := node.Get(dns.TypeA), node.Get(dns.TypeAAAA)
	if a != nil {
		resp.Extra = append(resp.Extra, e.rrs(target, dns.TypeA, a)...)
	}
	if aaaa != nil {
		resp.Extra = append(resp.Extra, e.rrs(target, dns.TypeAAAA, aaaa)...)
	}
}

// rrs decodes an RRset with the given owner, leaving out DISABLE records.
func (e *Engine) rrs(owner string, t uint16, val []byte) []dns.RR {
	rrs, err := zonedb.RRs(nil, owner, t, val)
	if err != nil {
		e.log.Error("corrupt rrset in store", "name", owner, "type", dns.TypeToString[t], "err", err)
		return nil
	}
	return rrs
}

// splitLabels appends the offsets where name's labels start to dst (as
// dns.Split, without allocating for names of up to len(dst) labels).
func splitLabels(dst []int, name string) []int {
	if name == "." || name == "" {
		return dst
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		dst = append(dst, off)
	}
	return dst
}
