package authserver

import (
	"encoding/binary"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Answers straight from the store's wire form. A plain query (cache.go)
// that the answer cache does not hold is answered here when its answer is
// of a common kind: a positive answer (with the additional addresses of
// MX, SRV and NS targets), a CNAME chain through the zones served here, a
// referral with glue (and its DS or the NSEC3 proving there is none), NODATA
// and NXDOMAIN, a wildcard's answer, each signed (the RRSIGs and NSEC3
// proofs the general path would add) or not. The records are copied from
// the store into the output buffer as they are stored (uncompressed wire
// RDATA), compressing names as they go (wire.go): nothing is decoded into
// miekg/dns values and nothing is allocated.
//
// DS queries are answered from the parent side of the cut (a child zone's
// apex included, when the parent is served here), ANY with one RRset (RFC
// 8482), and the opt-out proofs and a signed wildcard's NODATA are written
// too. Anything else goes to the general path (lookup.go): a DNAME on the
// way, an NSEC-signed zone with DO, a signed negative answer at the end of
// a CNAME chain, an answer larger than the client takes, a store value
// that does not read. The general path answers those exactly as it always
// has; for the queries this path takes, both give the same
// answer (TestWireMatchesGeneralPath over the RFC tables, signed and
// unsigned, and FuzzWireMatchesGeneral).

// wireAuth is one authority-section entry, written after the answer
// section is complete (a CNAME chain adds answers after a hop that has
// authority to give).
type wireAuth struct {
	kind  uint8    // authSOA, authRRset, authNSEC3
	owner int      // message offset of the owner (NSEC3: of the zone's apex)
	zs    *zoneSig // authSOA: the zone's negative SOA
	z     wireZone // authRRset: the zone whose addresses are glue
	t     uint16
	val   []byte
	sig   []byte // the owner's RRSIG RRset, for the RRSIGs covering t
	hash  [20]byte
}

const (
	authSOA = iota
	authRRset
	authNSEC3
)

// wireZone is a zone an answer reads: its id, its label count and where
// its name is in the message.
type wireZone struct {
	id   uint64
	nz   int
	apex int
}

// wireTarget is a name whose addresses in zone z go to the additional
// section (an MX, SRV or NS target).
type wireTarget struct {
	off int // where the name is in the message
	z   wireZone
}

// wireAns is the state of one answer.
type wireAns struct {
	e     *Engine
	v     *zonedb.View
	m     wmsg
	qtype uint16
	do    bool
	aa    bool
	rcode int
	auth  [8]wireAuth
	nAuth int
	tg    [16]wireTarget
	nTg   int
	// glued: the targets whose addresses are in the additional section.
	glued  [16]int
	nGlued int
	// failed: the general path must answer.
	failed bool
	// nxSigned: the query name does not exist in a signed zone and DO
	// is set; denial.go answers.
	nxSigned bool
}

// wireAnswer answers the plain query in (lower-case wire query name name)
// into out, and returns the answer and its rcode; nil when the general
// path must answer.
func (e *Engine) wireAnswer(v *zonedb.View, acc *access, in []byte, q plainQuery, name, out []byte) ([]byte, int) {
	if q.size > 4096 {
		// A TCP answer may grow past what compression pointers reach
		// (16 KB); TCP takes the general path anyway.
		return nil, 0
	}
	a := wireAns{e: e, v: v, qtype: q.qtype, do: q.do}
	a.m.b = append(out[:0], in[0], in[1], 0x80|in[2]&0x01, in[3]&0x10, 0, 1, 0, 0, 0, 0, 0, 0)
	a.m.b = append(a.m.b, in[12:q.qEnd]...)
	a.m.note(12)

	// The chain: each hop's name in lower case (for the store's keys);
	// where each is in the message, for loop detection.
	var seen [maxChain]uint16
	var nb [256]byte
	cur, curOff := name, 12
	for hop := 0; hop < maxChain; hop++ {
		id, nz, ok := v.FindZoneWire(cur)
		if !ok {
			if hop == 0 {
				return nil, 0 // REFUSED is the general path's
			}
			break // a chain that leaves our zones ends here
		}
		if a.qtype == dns.TypeDS && cur[0] != 0 && labelCount(cur) == nz {
			// A DS belongs to the parent side of the cut (RFC 4035
			// section 3.1.4.1): answer from the parent zone when it is
			// served here too.
			if pid, pnz, ok := v.FindZoneWire(cur[1+int(cur[0]):]); ok {
				id, nz = pid, pnz
			}
		}
		if !acc.allows(v, id, hop == 0) {
			if hop == 0 {
				return nil, 0
			}
			break
		}
		loop := false
		for _, off := range seen[:hop] {
			loop = loop || a.m.equalFoldAt(int(off), cur)
		}
		if loop {
			break
		}
		seen[hop] = uint16(curOff)
		next, follow := a.zone(id, nz, cur, curOff, hop == 0)
		if a.failed {
			return nil, 0
		}
		if a.nxSigned {
			// The signed NXDOMAIN of the query name, from the NSEC3
			// chain (denial.go).
			if b := e.denial(v, acc, in, q, name, out); b != nil {
				return b, dns.RcodeNameError
			}
			return nil, 0
		}
		if !follow {
			break
		}
		cur = a.m.expand(nb[:0], next, true)
		curOff = next
	}
	for i := 0; i < a.nAuth && !a.failed; i++ {
		a.writeAuth(&a.auth[i])
	}
	for i := 0; i < a.nTg && !a.failed; i++ {
		a.glue(&a.tg[i])
	}
	if a.failed {
		return nil, 0
	}
	b := a.m.b
	if a.aa {
		b[2] |= 0x04
	}
	b[3] |= byte(a.rcode)
	binary.BigEndian.PutUint16(b[6:], uint16(a.m.an))
	binary.BigEndian.PutUint16(b[8:], uint16(a.m.ns))
	binary.BigEndian.PutUint16(b[10:], uint16(a.m.ar))
	if q.hasOPT {
		// OPT: our UDP size, DO echoed, no options.
		flags := byte(0)
		if q.do {
			flags = 0x80
		}
		b = append(b, 0, 0, 41, OurUDPSize>>8, OurUDPSize&0xff, 0, 0, flags, 0, 0, 0)
		binary.BigEndian.PutUint16(b[10:], uint16(a.m.ar+1))
	}
	if len(b) > q.size {
		return nil, 0 // truncation is the general path's
	}
	return b, a.rcode
}

// zone answers cur (lower case) in zone id of nz labels; curOff is where
// cur is in the message. It returns where a CNAME's target is in the
// message, to follow.
func (a *wireAns) zone(id uint64, nz int, cur []byte, curOff int, first bool) (int, bool) {
	// Where each label starts in cur (a name is at most 255 octets) and
	// in the message (small arrays: the stack is zeroed on every call).
	var ob [130]uint8
	offs := ob[:0]
	for off := 0; cur[off] != 0; off += int(cur[off]) + 1 {
		offs = append(offs, uint8(off))
	}
	nl := len(offs)
	offs = append(offs, uint8(len(cur)-1)) // the root label
	var mb [130]uint16
	moffs := a.m.labelOffsets(mb[:0], curOff) // the same labels in the message
	if len(moffs) != len(offs) {
		a.failed = true
		return 0, false
	}
	apexIdx := nl - nz
	zs, _ := a.e.zoneSigByID(a.v, id, func() string {
		o, _, err := dns.UnpackDomainName(cur, int(offs[apexIdx]))
		if err != nil {
			return ""
		}
		return o
	})
	if zs == nil || len(zs.negSOA) == 0 || zs.apexDNAME || a.do && zs.nsec {
		a.failed = true
		return 0, false
	}
	apexOff := int(moffs[apexIdx])
	v := a.v
	var node *zonedb.Node
	for d := 1; d <= apexIdx; d++ {
		i := apexIdx - d // the label where this ancestor starts
		node = v.NodeWire(id, cur[offs[i]:], nz)
		switch node.State {
		case zonedb.NodeMissing:
			return a.wildcard(id, nz, zs, cur, offs, apexIdx, i+1, moffs, first)
		case zonedb.NodeENT:
			continue
		}
		if ns := node.Get(dns.TypeNS); ns != nil && (i > 0 || a.qtype != dns.TypeDS) {
			// A cut above the name, or at it unless the DS is asked (the
			// parent's side answers that).
			a.referral(id, nz, zs, node, cur[offs[i]:], int(moffs[i]), apexOff, first)
			return 0, false
		}
		if i > 0 && node.Get(dns.TypeDNAME) != nil {
			a.failed = true
			return 0, false
		}
	}
	if apexIdx == 0 {
		node = v.NodeWire(id, cur, nz)
	}
	if first {
		a.aa = true
	}
	if node.State == zonedb.NodeENT {
		a.negative(zs, apexOff)
		a.nodataProof(id, nz, zs, cur, apexOff)
		return 0, false
	}
	return a.answerNode(id, nz, zs, node, curOff, apexOff, cur, false)
}

// answerNode answers from the RRsets at a node, owned by the name at
// owner (the query name, or the name a wildcard stands for).
func (a *wireAns) answerNode(id uint64, nz int, zs *zoneSig, node *zonedb.Node, owner, apexOff int, name []byte, wild bool) (int, bool) {
	val, cname, sig := node.Get(a.qtype), node.Get(dns.TypeCNAME), node.Get(dns.TypeRRSIG)
	if a.qtype == dns.TypeANY {
		// RFC 8482: one RRset is enough, the node's first (and no
		// additional addresses), as the general path answers.
		for i, t := range node.Types {
			if t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3 {
				continue
			}
			if a.rrset(owner, t, node.Vals[i], sig, &a.m.an, nil) > 0 || a.failed {
				return 0, false
			}
		}
		cname = nil
	} else if val != nil {
		if n := a.rrset(owner, a.qtype, val, sig, &a.m.an, &wireZone{id, nz, apexOff}); n > 0 || a.failed {
			return 0, false
		}
	}
	if cname != nil && a.qtype != dns.TypeCNAME {
		// The first published CNAME record, and its RRSIGs.
		it := zonedb.RDATAs(cname)
		if it.Next() {
			target, ok := a.m.rr(owner, dns.TypeCNAME, it.TTL(dns.TypeCNAME), it.RDATA())
			if !ok {
				a.failed = true
				return 0, false
			}
			a.m.an++
			if a.do {
				a.sigs(owner, dns.TypeCNAME, sig, &a.m.an)
			}
			return target, true
		}
		if it.Err() != nil {
			a.failed = true
			return 0, false
		}
	}
	a.negative(zs, apexOff)
	if !wild {
		// A wildcard's NODATA is proved by the caller, which knows the
		// closest encloser.
		a.nodataProof(id, nz, zs, name, apexOff)
	}
	return 0, false
}

// rrset writes the published records of an RRset (with its RRSIGs when DO
// is set), counting them in cnt (a section's count), and when glue is
// given notes the records' targets for the additional section, with their
// addresses in that zone; it returns how many records it wrote.
func (a *wireAns) rrset(owner int, t uint16, val, sig []byte, cnt *int, glue *wireZone) int {
	n := 0
	it := zonedb.RDATAs(val)
	for it.Next() {
		target, ok := a.m.rr(owner, t, it.TTL(t), it.RDATA())
		if !ok {
			a.failed = true
			return 0
		}
		n++
		if glue != nil && target >= 0 && (t == dns.TypeMX || t == dns.TypeSRV || t == dns.TypeNS) {
			a.target(target, *glue)
		}
	}
	if it.Err() != nil {
		a.failed = true
		return 0
	}
	*cnt += n
	if n > 0 && a.do {
		a.sigs(owner, t, sig, cnt)
	}
	return n
}

// sigs writes the RRSIGs in sig (a node's RRSIG RRset) that cover t.
func (a *wireAns) sigs(owner int, t uint16, sig []byte, cnt *int) {
	if sig == nil {
		return
	}
	it := zonedb.RDATAs(sig)
	for it.Next() {
		rd := it.RDATA()
		if len(rd) < 2 || binary.BigEndian.Uint16(rd) != t {
			continue
		}
		a.m.rr(owner, dns.TypeRRSIG, it.TTL(dns.TypeRRSIG), rd)
		*cnt++
	}
	if it.Err() != nil {
		a.failed = true
	}
}

// target notes a name for the additional section.
func (a *wireAns) target(off int, z wireZone) {
	if a.nTg == len(a.tg) {
		a.failed = true
		return
	}
	a.tg[a.nTg] = wireTarget{off: off, z: z}
	a.nTg++
}

// addAuth queues an authority entry.
func (a *wireAns) addAuth(x wireAuth) {
	if a.nAuth == len(a.auth) {
		a.failed = true
		return
	}
	if x.kind == authNSEC3 {
		for i := range a.nAuth {
			if a.auth[i].kind == authNSEC3 && a.auth[i].hash == x.hash {
				return // each proof once
			}
		}
	}
	a.auth[a.nAuth] = x
	a.nAuth++
}

// negative queues the zone's SOA for a negative answer.
func (a *wireAns) negative(zs *zoneSig, apexOff int) {
	a.addAuth(wireAuth{kind: authSOA, owner: apexOff, zs: zs})
}

// nodataProof queues the NSEC3 record matching name (which exists), for a
// signed NODATA; under opt-out the general path finds the proof.
func (a *wireAns) nodataProof(id uint64, nz int, zs *zoneSig, name []byte, apexOff int) {
	if !a.do || !zs.signed {
		return
	}
	a.typeProof(id, nz, zs, name, apexOff)
}

// typeProof queues the NSEC3 proof that name has no RRset of a type (the
// DS of a delegation, the type asked of a name that exists): its own
// NSEC3, or, when it has none (an unsigned delegation in an opt-out
// zone), the closest provable encloser's NSEC3 and the opt-out NSEC3
// covering the next closer name (RFC 5155 section 7.2.7;
// insecureDelegationProof).
func (a *wireAns) typeProof(id uint64, nz int, zs *zoneSig, name []byte, apexOff int) {
	if a.proof(id, zs, name, apexOff, true) {
		return
	}
	next := name
	for range labelCount(name) - nz {
		ce := next[1+int(next[0]):]
		if a.proof(id, zs, ce, apexOff, true) {
			a.nsec3(id, zs, next, apexOff, false)
			return
		}
		next = ce
	}
	a.failed = true // not even the apex has its NSEC3: the general path says what it can
}

// proof queues the NSEC3 record that matches name (match) or covers it,
// and says whether there is one such.
func (a *wireAns) proof(id uint64, zs *zoneSig, name []byte, apexOff int, match bool) bool {
	h := zs.p.hashWire(name)
	r, ok := findNSEC3(a.v, zonedb.ZoneHandle{ID: id}, h)
	if !ok || (r.hash == h) != match {
		return false
	}
	a.addAuth(wireAuth{kind: authNSEC3, owner: apexOff, val: r.nsec3, sig: r.rrsig, hash: r.hash})
	return true
}

// nsec3 is proof where the record must be there (else the general path
// answers).
func (a *wireAns) nsec3(id uint64, zs *zoneSig, name []byte, apexOff int, match bool) {
	if !a.proof(id, zs, name, apexOff, match) {
		a.failed = true
	}
}

// referral answers for data at or below the zone cut cut (at cutOff in
// the message): its NS in authority, with the DS and its RRSIGs or the
// NSEC3 proving there is none when signed, and the NS targets' addresses.
func (a *wireAns) referral(id uint64, nz int, zs *zoneSig, node *zonedb.Node, cut []byte, cutOff, apexOff int, first bool) {
	if first {
		a.aa = false
	}
	ns, ds, sig := node.Get(dns.TypeNS), node.Get(dns.TypeDS), node.Get(dns.TypeRRSIG)
	a.addAuth(wireAuth{kind: authRRset, owner: cutOff, z: wireZone{id, nz, apexOff}, t: dns.TypeNS, val: ns})
	if !a.do || !zs.signed {
		return
	}
	if ds != nil && countPublished(ds) > 0 {
		a.addAuth(wireAuth{kind: authRRset, owner: cutOff, z: wireZone{id, nz, apexOff}, t: dns.TypeDS, val: ds, sig: sig})
		return
	}
	a.typeProof(id, nz, zs, cut, apexOff)
}

func countPublished(val []byte) int {
	n := 0
	for it := zonedb.RDATAs(val); it.Next(); {
		n++
	}
	return n
}

// wildcard answers a name that does not exist below the closest encloser
// (labels ceIdx.. of cur): from the wildcard there, or NXDOMAIN.
func (a *wireAns) wildcard(id uint64, nz int, zs *zoneSig, cur []byte, offs []uint8, apexIdx, ceIdx int, moffs []uint16, first bool) (int, bool) {
	var wb [258]byte
	w := append(append(wb[:0], 1, '*'), cur[offs[ceIdx]:]...)
	if len(w) > 255 {
		a.failed = true
		return 0, false
	}
	node := a.v.NodeWire(id, w, nz)
	apexOff := int(moffs[apexIdx])
	if first {
		a.aa = true
	}
	switch node.State {
	case zonedb.NodeMissing:
		if a.do && zs.signed {
			if !first {
				a.failed = true
				return 0, false
			}
			a.nxSigned = true
			return 0, false
		}
		a.rcode = dns.RcodeNameError
		a.negative(zs, apexOff)
		return 0, false
	case zonedb.NodeENT:
		a.negative(zs, apexOff)
		if a.do && zs.signed {
			a.wildcardNoData(id, zs, cur, offs, ceIdx, w, apexOff)
		}
		return 0, false
	}
	before := a.m.an
	target, follow := a.answerNode(id, nz, zs, node, int(moffs[0]), apexOff, w, true)
	if a.do && zs.signed && !a.failed {
		if a.m.an > before {
			// RFC 5155 section 7.2.6: the query name itself does not
			// exist: the next closer name is covered.
			a.nsec3(id, zs, cur[offs[ceIdx-1]:], apexOff, false)
		} else {
			a.wildcardNoData(id, zs, cur, offs, ceIdx, w, apexOff)
		}
	}
	return target, follow
}

// wildcardNoData queues the proof of a wildcard's NODATA (RFC 5155 section
// 7.2.5): the closest encloser's NSEC3, the next closer name's cover, and
// the wildcard's own NSEC3 (whose bitmap lacks the type).
func (a *wireAns) wildcardNoData(id uint64, zs *zoneSig, cur []byte, offs []uint8, ceIdx int, w []byte, apexOff int) {
	a.nsec3(id, zs, cur[offs[ceIdx]:], apexOff, true)
	a.nsec3(id, zs, cur[offs[ceIdx-1]:], apexOff, false)
	a.nsec3(id, zs, w, apexOff, true)
}

// writeAuth writes one authority entry.
func (a *wireAns) writeAuth(x *wireAuth) {
	switch x.kind {
	case authSOA:
		zs := x.zs
		ws := zs.wireSOA()
		if ws == nil {
			a.failed = true
			return
		}
		if _, ok := a.m.rr(x.owner, dns.TypeSOA, ws.ttl, ws.rd); !ok {
			a.failed = true
			return
		}
		a.m.ns++
		if a.do {
			for _, rd := range ws.sigs {
				a.m.rr(x.owner, dns.TypeRRSIG, ws.ttl, rd)
				a.m.ns++
			}
		}
	case authRRset:
		// A referral's NS (whose targets' addresses in the referring zone
		// are its glue) or DS.
		a.rrset(x.owner, x.t, x.val, x.sig, &a.m.ns, &x.z)
	case authNSEC3:
		// The owner: the hash label, then the apex by pointer; the other
		// records point at it.
		ownerOff := len(a.m.b)
		var label [33]byte
		label[0] = 32
		b32hexLower.Encode(label[1:], x.hash[:])
		n := 0
		for it := zonedb.RDATAs(x.val); it.Next(); n++ {
			if n == 0 {
				a.m.b = append(a.m.b, label[:]...)
				a.m.owner(x.owner)
			} else {
				a.m.owner(ownerOff)
			}
			rd := it.RDATA()
			a.m.b = append(a.m.b, 0, byte(dns.TypeNSEC3), 0, 1)
			a.m.b = binary.BigEndian.AppendUint32(a.m.b, it.TTL(dns.TypeNSEC3))
			a.m.b = binary.BigEndian.AppendUint16(a.m.b, uint16(len(rd)))
			a.m.b = append(a.m.b, rd...)
		}
		if n == 0 {
			a.failed = true
			return
		}
		a.m.ns += n
		it := zonedb.RDATAs(x.sig)
		for it.Next() {
			a.m.rr(ownerOff, dns.TypeRRSIG, it.TTL(dns.TypeRRSIG), it.RDATA())
			a.m.ns++
		}
	}
}

// glue writes the in-zone addresses of a target to the additional
// section, once per name, A then AAAA (addAddresses).
func (a *wireAns) glue(t *wireTarget) {
	var tb, zb [256]byte
	target := a.m.expand(tb[:0], t.off, true)
	apex := a.m.expand(zb[:0], t.z.apex, true)
	if len(target) == 1 || len(target) < len(apex) || string(target[len(target)-len(apex):]) != string(apex) {
		return // the root, or outside the zone
	}
	if len(target) > len(apex) {
		// At a label boundary: the labels before the apex's must end
		// exactly where it starts.
		off := 0
		for off < len(target)-len(apex) {
			off += int(target[off]) + 1
		}
		if off != len(target)-len(apex) {
			return
		}
	}
	for _, g := range a.glued[:a.nGlued] {
		if a.m.equalFoldAt(g, target) {
			return
		}
	}
	node := a.v.NodeWire(t.z.id, target, t.z.nz)
	if node.State != zonedb.NodeData {
		return
	}
	aVal, aaaaVal := node.Get(dns.TypeA), node.Get(dns.TypeAAAA)
	written := false
	for _, x := range [2]struct {
		t   uint16
		val []byte
	}{{dns.TypeA, aVal}, {dns.TypeAAAA, aaaaVal}} {
		if x.val == nil {
			continue
		}
		for it := zonedb.RDATAs(x.val); it.Next(); {
			a.m.rr(t.off, x.t, it.TTL(x.t), it.RDATA())
			a.m.ar++
			written = true
		}
	}
	if written {
		a.glued[a.nGlued] = t.off
		a.nGlued++
	}
}

// wireSOA is a zone's SOA for negative answers in wire form: its RDATA,
// the TTL min(SOA TTL, MINIMUM) (RFC 2308 section 3), and its RRSIGs'
// RDATA (they take the same TTL).
type wireSOA struct {
	rd   []byte
	ttl  uint32
	sigs [][]byte
}

// wireSOA returns the zone's wireSOA, made on first use; nil when the zone
// has no SOA or it does not pack.
func (zs *zoneSig) wireSOA() *wireSOA {
	if zs.wsoa != nil || len(zs.negSOA) == 0 {
		return zs.wsoa
	}
	rdata := func(rr dns.RR) []byte {
		var buf [4096]byte
		end, err := dns.PackRR(rr, buf[:], 0, nil, false)
		if err != nil {
			return nil
		}
		off := 0
		for off < end && buf[off] != 0 {
			off += int(buf[off]) + 1
		}
		if off+11 > end {
			return nil
		}
		return append([]byte(nil), buf[off+11:end]...)
	}
	ws := &wireSOA{rd: rdata(zs.negSOA[0]), ttl: zs.negSOA[0].Header().Ttl}
	if ws.rd == nil {
		return nil
	}
	for _, rr := range zs.negSOA[1:] {
		rd := rdata(rr)
		if rd == nil {
			return nil
		}
		ws.sigs = append(ws.sigs, rd)
	}
	zs.wsoa = ws
	return ws
}

// wire answers a plain query from the store's wire form (Engine.wireAnswer)
// in v (the worker's, in the client's view: viewHolder.plainView), into
// out; nil when the general path must answer, or on a panic (the general
// path then answers, or turns the same fault into SERVFAIL).
func (s *Server) wire(v *zonedb.View, acc *access, in []byte, q plainQuery, name, out []byte) (b []byte, rcode int) {
	defer func() {
		if r := recover(); r != nil {
			b = nil
		}
	}()
	return s.eng.wireAnswer(v, acc, in, q, name, out)
}

// labelCount is the number of labels of an uncompressed wire name.
func labelCount(name []byte) int {
	n := 0
	for off := 0; off < len(name) && name[off] != 0; off += int(name[off]) + 1 {
		n++
	}
	return n
}
