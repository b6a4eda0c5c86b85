package zonedb

import (
	"bytes"
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// The codes of the problems Check reports. They are stable: scripts and
// API clients match on them, so a code is never renamed or reused.
const (
	CodeCNAMEAndOtherData   = "cname-and-other-data"  // error, RFC 1034 section 3.6.2
	CodeMultipleCNAME       = "multiple-cname"        // error, RFC 2181 section 10.1
	CodeCNAMEAtApex         = "cname-at-apex"         // error, RFC 1034 section 3.6.2
	CodeMultipleDNAME       = "multiple-dname"        // error, RFC 6672 section 2.4
	CodeTargetIsAddress     = "target-is-address"     // error, RFC 1035 section 3.3 (targets are names)
	CodeNoSOA               = "no-soa"                // error, RFC 1035 section 5.2
	CodeMultipleSOA         = "multiple-soa"          // error, RFC 1035 section 5.2
	CodeSOANotApex          = "soa-not-apex"          // error
	CodeNoApexNS            = "no-apex-ns"            // error, RFC 1035 section 5.2
	CodeOutsideZone         = "outside-zone"          // error
	CodeTTLTooLarge         = "ttl-too-large"         // error, RFC 2181 section 8
	CodeDataBelowDNAME      = "data-below-dname"      // error, RFC 6672 section 2.3
	CodeDataBelowDelegation = "data-below-delegation" // warning, RFC 1034 section 4.2.1 (also data at the cut)
	CodeMissingGlue         = "missing-glue"          // warning
	CodeTTLMismatch         = "ttl-mismatch"          // warning, RFC 2181 section 5.2
	CodeDuplicateRR         = "duplicate-rr"          // warning, RFC 2181 section 5
	CodeMissingFinalDot     = "missing-final-dot"     // warning, RFC 1035 section 5.1 (relative names)
)

// CheckOptions tune Check.
type CheckOptions struct {
	// Partial: recs are only the RRsets at some names of the zone plus the
	// apex SOA and NS (the names a small edit touched). The checks that need
	// every name of the zone (missing-glue, data-below-delegation) are
	// skipped; the apex SOA and NS are still required, and data below a
	// DNAME is reported when both names are among recs. The missing-dot
	// check takes a target that is not among recs as missing: recs must
	// hold the names suspectTarget picks and their ancestors (checkTouched
	// adds them).
	Partial bool
}

// maxTTL is the largest TTL RFC 2181 section 8 allows.
const maxTTL = 1<<31 - 1

// Per-name facts gathered by Check, counting only records that are
// published (not flagged DISABLE).
const (
	nfLive       uint8 = 1 << iota // any published record
	nfAddr                         // A or AAAA
	nfNS                           // NS (below the apex: a zone cut)
	nfCNAME                        // CNAME
	nfDNAME                        // DNAME
	nfOther                        // data a CNAME cannot share its name with
	nfGlueWarned                   // missing-glue already reported for this name
)

// checkName is one owner name of the zone being checked.
type checkName struct {
	name  string // canonical: lowercase, absolute
	start int32  // first of its records in checker.order
	n     int32  // number of its records
	flags uint8
}

// checker holds the state of one Check call.
type checker struct {
	origin string
	recs   []Record
	types  []uint16 // RR type of each record
	names  []checkName
	ids    map[string]int32 // canonical owner -> index in names
	order  []int32          // record indexes grouped by name, then by type
	ps     Problems

	// Packing buffers for the duplicate check.
	buf, prev []byte

	// dots are the targets that look written without their final dot,
	// checked once every name is known; tbuf is hostTargets' buffer.
	dots []dotTarget
	tbuf []string
	// dotWarned are the targets missingDots warned about.
	dotWarned map[string]bool

	// What the scan found for the checks of the whole zone: the published
	// NS records (for the glue check) and SOA records at the apex, a
	// disabled SOA, any delegation below the apex, any DNAME.
	nsRecs, soas     []int32
	disabledSOA      bool
	anyCut, anyDNAME bool
	lastOwner        string
	lastID           int32
}

// dotTarget is a record (its index) with a suspect target.
type dotTarget struct {
	rec    int32
	target string
}

// Check runs the semantic checks on a zone's records and returns every
// problem found, errors (which block a commit) and warnings, sorted by
// position (line, column) and then owner name. origin is the zone's name
// in any case; recs may be in any order. Records flagged DISABLE are not
// published, so they neither conflict with other data nor count as the
// zone's SOA, NS or glue; their own content is still checked.
//
// The cost is linear in len(recs): one pass to group the records by name
// (a map keyed by the lowercased name), one over the names.
func Check(origin string, recs []Record, opts CheckOptions) Problems {
	c := &checker{
		origin: canonName(origin),
		recs:   recs,
		types:  make([]uint16, len(recs)),
		ids:    make(map[string]int32, len(recs)/2+1),
	}
	nid := make([]int32, len(recs))
	for i := range recs {
		nid[i] = c.scan(i)
	}
	c.group(nid, opts)
	apexFlags := c.apex()
	// Names below a DNAME (error) or a zone cut (warning).
	if c.anyDNAME || c.anyCut && !opts.Partial {
		for j := range c.names {
			c.below(&c.names[j], apexFlags, opts.Partial)
		}
	}
	// A target missing its final dot is not a nameserver missing its glue:
	// the glue check leaves those to this one.
	c.missingDots()
	// In-zone nameservers need addresses here.
	if !opts.Partial {
		c.glue(c.nsRecs)
	}
	slices.SortStableFunc(c.ps, func(a, b Problem) int {
		if d := cmp.Compare(a.Pos.Line, b.Pos.Line); d != 0 {
			return d
		}
		if d := cmp.Compare(a.Pos.Col, b.Pos.Col); d != 0 {
			return d
		}
		if a.Name == b.Name {
			return 0
		}
		return CompareNames(a.Name, b.Name)
	})
	return c.ps
}

// scan checks record i on its own and files it under its owner's name;
// it returns that name's index (-1: no name, the record is refused).
func (c *checker) scan(i int) int32 {
	r := &c.recs[i]
	if r.RR == nil {
		return -1
	}
	h := r.RR.Header()
	c.types[i] = h.Rrtype
	owner := canonName(h.Name)
	if !inZone(owner, c.origin) {
		c.add(SevError, CodeOutsideZone, r, owner, h.Rrtype,
			"the record is outside the zone %s; remove it, or write its name relative to the zone (without a final dot)", c.origin)
		return -1
	}
	// Records of one name usually come together: skip the map then.
	if owner != c.lastOwner || len(c.names) == 0 {
		id, ok := c.ids[owner]
		if !ok {
			id = int32(len(c.names))
			c.ids[owner] = id
			c.names = append(c.names, checkName{name: owner})
		}
		c.lastOwner, c.lastID = owner, id
	}
	id := c.lastID
	c.names[id].n++
	live := r.Flags&FlagDisable == 0
	if h.Ttl > maxTTL {
		c.add(SevError, CodeTTLTooLarge, r, owner, h.Rrtype,
			"TTL %d is above 2147483647, the largest RFC 2181 section 8 allows; use a smaller TTL (a day is 86400)", h.Ttl)
	}
	f := c.byType(i, r, owner, live)
	if live {
		c.names[id].flags |= f | nfLive
	}
	c.tbuf = hostTargets(r.RR, c.tbuf[:0])
	for _, t := range c.tbuf {
		if t, ok := suspectTarget(c.origin, t); ok {
			c.dots = append(c.dots, dotTarget{int32(i), t})
		}
	}
	return id
}

// byType runs the checks of record i's type and returns the name flags it
// gives its owner.
func (c *checker) byType(i int, r *Record, owner string, live bool) uint8 {
	h := r.RR.Header()
	f := uint8(nfOther)
	switch rr := r.RR.(type) {
	case *dns.A, *dns.AAAA:
		f |= nfAddr
	case *dns.SOA:
		switch {
		case owner != c.origin:
			c.add(SevError, CodeSOANotApex, r, owner, h.Rrtype,
				"an SOA record belongs only at the zone apex %s; remove this one (a child zone is a zone of its own, delegated with NS records)", c.origin)
		case live:
			c.soas = append(c.soas, int32(i))
		default:
			c.disabledSOA = true
		}
	case *dns.NS:
		f |= nfNS
		if live {
			c.anyCut = c.anyCut || owner != c.origin
		}
		if !c.target(r, owner, rr.Ns) && live {
			c.nsRecs = append(c.nsRecs, int32(i))
		}
	case *dns.MX:
		c.target(r, owner, rr.Mx)
	case *dns.SRV:
		c.target(r, owner, rr.Target)
	case *dns.PTR:
		c.target(r, owner, rr.Ptr)
	case *dns.CNAME:
		f = nfCNAME
		c.target(r, owner, rr.Target)
	case *dns.DNAME:
		f |= nfDNAME
		c.anyDNAME = c.anyDNAME || live
		c.target(r, owner, rr.Target)
	case *dns.RRSIG, *dns.NSEC, *dns.NSEC3:
		// DNSSEC data may sit beside a CNAME (RFC 4035 section 2.5).
		f = 0
	}
	return f
}

// group sorts the record indexes by name (a counting sort, stable), then
// within each name by type, so an RRset is a run, and runs the checks of
// each RRset and name.
func (c *checker) group(nid []int32, opts CheckOptions) {
	var off int32
	for j := range c.names {
		c.names[j].start = off
		off += c.names[j].n
		c.names[j].n = 0
	}
	c.order = make([]int32, off)
	for i, id := range nid {
		if id >= 0 {
			nm := &c.names[id]
			c.order[nm.start+nm.n] = int32(i)
			nm.n++
		}
	}
	for j := range c.names {
		nm := &c.names[j]
		idx := c.records(nm)
		if len(idx) > 1 {
			slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(c.types[a], c.types[b]) })
		}
		for s := 0; s < len(idx); {
			e := s + 1
			for e < len(idx) && c.types[idx[e]] == c.types[idx[s]] {
				e++
			}
			if e-s > 1 {
				c.rrset(nm.name, idx[s:e])
			}
			s = e
		}
		if nm.flags&(nfCNAME|nfDNAME) != 0 {
			c.aliases(nm, idx)
		}
		if !opts.Partial && nm.flags&nfNS != 0 && nm.name != c.origin {
			c.atCut(nm)
		}
	}
}

// apex checks the zone's SOA and apex NS and returns the apex's flags.
func (c *checker) apex() uint8 {
	switch {
	case len(c.soas) == 0 && c.disabledSOA:
		c.add(SevError, CodeNoSOA, nil, c.origin, dns.TypeSOA,
			"the zone's SOA record is flagged DISABLE, so the zone would have none; remove the DISABLE flag")
	case len(c.soas) == 0:
		c.add(SevError, CodeNoSOA, nil, c.origin, dns.TypeSOA,
			"the zone has no SOA record at its apex %s; add one", c.origin)
	case len(c.soas) > 1:
		c.add(SevError, CodeMultipleSOA, &c.recs[c.soas[1]], c.origin, dns.TypeSOA,
			"the zone has %d SOA records; keep exactly one (RFC 1035 section 5.2)", len(c.soas))
	}
	var apexFlags uint8
	if id, ok := c.ids[c.origin]; ok {
		apexFlags = c.names[id].flags
	}
	if apexFlags&nfNS == 0 {
		c.add(SevError, CodeNoApexNS, nil, c.origin, dns.TypeNS,
			"the zone has no NS records at its apex %s; add an NS record for each of the zone's nameservers", c.origin)
	}
	return apexFlags
}

// add records a problem; r gives its position and may be nil for problems
// of the whole zone.
func (c *checker) add(sev Severity, code string, r *Record, name string, rrtype uint16, format string, args ...any) {
	p := Problem{Severity: sev, Code: code, Name: name, Message: fmt.Sprintf(format, args...)}
	if rrtype != 0 {
		p.Type = dns.Type(rrtype).String()
	}
	if r != nil {
		p.Pos = r.Pos
	}
	c.ps = append(c.ps, p)
}

// records returns the indexes of nm's records (grouped by type once the
// first pass over the names sorted them).
func (c *checker) records(nm *checkName) []int32 { return c.order[nm.start : nm.start+nm.n] }

// rrset checks one RRset of more than one RR: one TTL (RFC 2181 section
// 5.2) and no RR twice. The store keeps the lowest TTL and each RDATA once
// (encodeRRset), and the messages say so. Disabled records count: they are
// stored in the same RRset.
func (c *checker) rrset(owner string, idx []int32) {
	first := &c.recs[idx[0]]
	rrtype := c.types[idx[0]]
	low, differ := first.RR.Header().Ttl, false
	for _, i := range idx[1:] {
		if t := c.recs[i].RR.Header().Ttl; t != low {
			differ = true
			low = min(low, t)
		}
	}
	if differ {
		c.add(SevWarning, CodeTTLMismatch, first, owner, rrtype,
			"the records of this RRset have different TTLs, but an RRset has one (RFC 2181 section 5.2); all will get the lowest, %d; give them all the same TTL", low)
	}

	// Duplicates: equal uncompressed wire RDATA is the rule the store
	// applies (encodeRRset keeps one), so there names in RDATA compare
	// case-sensitively. Records that differ only in the case of a name
	// are stored and served twice, though resolvers and DNSSEC (RFC 4034
	// section 6.2) see one record; they get their own message. Small
	// RRsets compare pairs with dns.IsDuplicate (which ignores the case of
	// names) and pack only the pairs it finds; large ones pack every
	// record into a map (exact duplicates only).
	if len(idx) <= 16 {
		for k, i := range idx {
			for _, j := range idx[:k] {
				if !dns.IsDuplicate(c.recs[i].RR, c.recs[j].RR) {
					continue
				}
				if c.sameRdata(c.recs[i].RR, c.recs[j].RR) {
					c.add(SevWarning, CodeDuplicateRR, &c.recs[i], owner, rrtype, dupMsg)
				} else {
					c.add(SevWarning, CodeDuplicateRR, &c.recs[i], owner, rrtype,
						"the record appears more than once, differing only in the case of a name; both copies are stored and served, so remove one")
				}
				break
			}
		}
		return
	}
	seen := make(map[string]struct{}, len(idx))
	for _, i := range idx {
		rd, err := rdataInto(&c.buf, c.recs[i].RR)
		if err != nil {
			continue
		}
		if _, dup := seen[string(rd)]; dup {
			c.add(SevWarning, CodeDuplicateRR, &c.recs[i], owner, rrtype, dupMsg)
			continue
		}
		seen[string(rd)] = struct{}{}
	}
}

const dupMsg = "the same record appears more than once; it is stored once, so remove the copy"

// sameRdata reports whether a and b have the same uncompressed wire RDATA.
// Records that do not pack count as the same (the store refuses them
// anyway).
func (c *checker) sameRdata(a, b dns.RR) bool {
	ra, errA := rdataInto(&c.buf, a)
	rb, errB := rdataInto(&c.prev, b)
	return errA != nil || errB != nil || bytes.Equal(ra, rb)
}

// rdataInto packs rr's uncompressed wire RDATA into *buf (grown when too
// small) and returns it; it is valid until *buf is used again.
func rdataInto(buf *[]byte, rr dns.RR) ([]byte, error) {
	if need := dns.Len(rr) + 256; cap(*buf) < need {
		*buf = make([]byte, need)
	}
	b := (*buf)[:cap(*buf)]
	end, err := dns.PackRR(rr, b, 0, nil, false)
	if err != nil {
		return nil, err
	}
	return b[headerLen(b):end], nil
}

// aliases checks a name with a CNAME or DNAME (published records only).
// idx is sorted by type.
func (c *checker) aliases(nm *checkName, idx []int32) {
	var cnames, dnames []int32
	var other []string
	for _, i := range idx {
		if c.recs[i].Flags&FlagDisable != 0 {
			continue
		}
		switch t := c.types[i]; t {
		case dns.TypeCNAME:
			cnames = append(cnames, i)
		case dns.TypeDNAME:
			dnames = append(dnames, i)
			fallthrough
		default:
			if s := dns.Type(t).String(); t != dns.TypeRRSIG && t != dns.TypeNSEC && t != dns.TypeNSEC3 &&
				(len(other) == 0 || other[len(other)-1] != s) {
				other = append(other, s)
			}
		}
	}
	if len(cnames) > 0 {
		first := &c.recs[cnames[0]]
		switch {
		case nm.name == c.origin:
			// Also data beside a CNAME, but this says why.
			c.add(SevError, CodeCNAMEAtApex, first, nm.name, dns.TypeCNAME,
				"a CNAME cannot be at the zone apex, which must hold the SOA and NS records (RFC 1034 section 3.6.2); to alias the bare domain, give it A/AAAA records")
		case len(other) > 0:
			c.add(SevError, CodeCNAMEAndOtherData, first, nm.name, dns.TypeCNAME,
				"a CNAME cannot share its name with other data (here %s; RFC 1034 section 3.6.2); remove the CNAME or the other records",
				strings.Join(other, ", "))
		}
		if len(cnames) > 1 {
			c.add(SevError, CodeMultipleCNAME, &c.recs[cnames[1]], nm.name, dns.TypeCNAME,
				"a name can have only one CNAME record, here there are %d (RFC 2181 section 10.1); keep one", len(cnames))
		}
	}
	if len(dnames) > 1 {
		c.add(SevError, CodeMultipleDNAME, &c.recs[dnames[1]], nm.name, dns.TypeDNAME,
			"a name can have only one DNAME record, here there are %d (RFC 6672 section 2.4); keep one", len(dnames))
	}
}

// below reports published data at nm that lies below a DNAME (RFC 6672
// section 2.3: such names are never looked up) or, unless partial, below a
// zone cut, where only glue belongs (RFC 1034 section 4.2.1). The nearest
// such ancestor decides; the apex counts only for a DNAME.
func (c *checker) below(nm *checkName, apexFlags uint8, partial bool) {
	if nm.flags&nfLive == 0 || nm.name == c.origin {
		return
	}
	name := nm.name
	off, end := dns.NextLabel(name, 0)
	for ; !end && len(name)-off > len(c.origin); off, end = dns.NextLabel(name, off) {
		id, ok := c.ids[name[off:]]
		if !ok {
			continue
		}
		f := c.names[id].flags
		if f&nfDNAME != 0 {
			c.belowDNAME(nm, name[off:])
			return
		}
		if f&nfNS != 0 {
			if !partial {
				c.belowCut(nm, name[off:])
			}
			return
		}
	}
	if apexFlags&nfDNAME != 0 {
		c.belowDNAME(nm, c.origin)
	}
}

func (c *checker) belowDNAME(nm *checkName, dname string) {
	idx := c.records(nm)
	for _, i := range idx {
		if c.recs[i].Flags&FlagDisable == 0 {
			c.add(SevError, CodeDataBelowDNAME, &c.recs[i], nm.name, 0,
				"%s is below the DNAME at %s, so queries for it are redirected and this data is never answered (RFC 6672 section 2.3); remove it or the DNAME", nm.name, dname)
			return
		}
	}
}

// belowCut warns once per RRset that is not glue (A/AAAA).
func (c *checker) belowCut(nm *checkName, cut string) {
	reported := -1 // the type last reported; records are sorted by type
	for _, i := range c.records(nm) {
		t := c.types[i]
		if t == dns.TypeA || t == dns.TypeAAAA || c.recs[i].Flags&FlagDisable != 0 || int(t) == reported {
			continue
		}
		reported = int(t)
		c.add(SevWarning, CodeDataBelowDelegation, &c.recs[i], nm.name, t,
			"%s is below the delegation at %s, so the child zone answers for it and this record is never served; only glue (A/AAAA of the child's nameservers) belongs here; move it into the child zone", nm.name, cut)
	}
}

// atCut warns about data at a zone cut that the child zone, not this one,
// answers for (RFC 1034 section 4.2.1): at a cut this zone holds only NS,
// DS (RFC 4035 section 2.4), the DNSSEC records and glue addresses. A CNAME
// there is already an error (cname-and-other-data).
func (c *checker) atCut(nm *checkName) {
	reported := -1 // the type last reported; records are sorted by type
	for _, i := range c.records(nm) {
		switch t := c.types[i]; {
		case t == dns.TypeNS || t == dns.TypeDS || t == dns.TypeA || t == dns.TypeAAAA || t == dns.TypeCNAME ||
			t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3 || c.recs[i].Flags&FlagDisable != 0 || int(t) == reported:
		default:
			reported = int(t)
			c.add(SevWarning, CodeDataBelowDelegation, &c.recs[i], nm.name, t,
				"%s is a delegation (it has NS records), so the child zone answers for this name and this record is never served; move it into the child zone", nm.name)
		}
	}
}

// glue warns about NS targets inside the zone without a published address
// (targets that are addresses already have an error):
// for a delegation that is missing glue, and at the apex a nameserver that
// cannot be found. One warning per target.
func (c *checker) glue(nsRecs []int32) {
	var missing map[string]bool // targets with no records at all
	for _, i := range nsRecs {
		r := &c.recs[i]
		target := canonName(r.RR.(*dns.NS).Ns)
		if !inZone(target, c.origin) || c.dotWarned[target] {
			continue
		}
		owner := canonName(r.RR.Header().Name)
		msg := "the nameserver %s is inside the zone but has no A or AAAA record; add its address (glue)"
		if id, ok := c.ids[target]; ok {
			tn := &c.names[id]
			if tn.flags&(nfAddr|nfGlueWarned) != 0 {
				continue
			}
			tn.flags |= nfGlueWarned
			if tn.flags&nfCNAME != 0 {
				msg = "the nameserver %s is a CNAME, but an NS target must be a host name with its own A or AAAA record (RFC 2181 section 10.3); point the NS at that host"
			}
		} else {
			if missing[target] {
				continue
			}
			if missing == nil {
				missing = map[string]bool{}
			}
			missing[target] = true
		}
		c.add(SevWarning, CodeMissingGlue, r, owner, dns.TypeNS, msg, target)
	}
}

// target flags a target name (NS, MX, SRV, PTR, CNAME, DNAME) that is
// really an IP address: written as one with a final dot (MX 10 192.0.2.1.),
// or without it, so the zone's name was appended (MX 10 192.0.2.1 in
// example.org. reads as 192.0.2.1.example.org.). Targets are domain names
// (RFC 1035 section 3.3); an address there is looked up as a name and
// never found. It reports whether it found a problem.
func (c *checker) target(r *Record, owner, target string) bool {
	if target == "" || target == "." || !maybeAddr(target) {
		return false
	}
	rrtype := r.RR.Header().Rrtype
	typ := dns.Type(rrtype).String()
	t := canonName(target)
	addr, appended := addressName(t, c.origin)
	if !addr.IsValid() {
		return false
	}
	var fix string
	switch rrtype {
	case dns.TypeCNAME:
		fix = fmt.Sprintf("to give %s this address, replace the CNAME with an %s record", owner, addrType(addr))
	case dns.TypeDNAME:
		fix = "a DNAME target is the domain the names below are redirected to"
	case dns.TypePTR:
		fix = "a PTR target is the host name the address belongs to"
	default:
		fix = fmt.Sprintf("use the name of a host that has this address in its %s record", addrType(addr))
	}
	if appended {
		c.add(SevError, CodeTargetIsAddress, r, owner, rrtype,
			"the %s target %s looks like the address %s with the zone name appended (was the final dot missing?), and an address is not a valid %s target; %s",
			typ, t, addr, typ, fix)
		return true
	}
	c.add(SevError, CodeTargetIsAddress, r, owner, rrtype,
		"the %s target %s is an IP address, but it must be a domain name; %s", typ, t, fix)
	return true
}

// maybeAddr is a cheap filter before parsing: an address starts with a
// digit (IPv4, most IPv6) or has a colon.
func maybeAddr(s string) bool {
	return s[0] >= '0' && s[0] <= '9' || strings.IndexByte(s, ':') >= 0
}

// addressName reports whether the canonical name t is an IP address
// written as a name: the address with a final dot, or the address followed
// by origin. In an ip6.arpa zone, four single-digit labels before the
// origin are nibbles of a reverse name, not an IPv4 address.
func addressName(t, origin string) (addr netip.Addr, appended bool) {
	if a, err := netip.ParseAddr(t[:len(t)-1]); err == nil {
		return a, false
	}
	if origin == "." || len(t) <= len(origin)+1 || !strings.HasSuffix(t, origin) || t[len(t)-len(origin)-1] != '.' {
		return netip.Addr{}, false
	}
	head := t[:len(t)-len(origin)-1]
	a, err := netip.ParseAddr(head)
	if err != nil {
		return netip.Addr{}, false
	}
	if a.Is4() && len(head) == 7 && (origin == "ip6.arpa." || strings.HasSuffix(origin, ".ip6.arpa.")) {
		return netip.Addr{}, false
	}
	return a, true
}

func addrType(a netip.Addr) string {
	if a.Is4() {
		return "A"
	}
	return "AAAA"
}

// canonName returns name lowercased and absolute, in miekg/dns's
// presentation form, so that two spellings of one name compare equal. It
// allocates only when the name needs changing.
func canonName(name string) string {
	if name == "" {
		return "."
	}
	ok := name[len(name)-1] == '.'
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '\\':
			return canonEscaped(name)
		case c >= 'A' && c <= 'Z':
			ok = false
		}
	}
	if ok {
		return name
	}
	return strings.ToLower(dns.Fqdn(name))
}

// canonEscaped normalizes a name with escapes (\065 is A, \. a dot inside a
// label) by packing and unpacking it.
func canonEscaped(name string) string {
	name = dns.Fqdn(name)
	var wire [256]byte
	n, err := dns.PackDomainName(name, wire[:], 0, nil, false)
	if err == nil {
		if s, _, err := dns.UnpackDomainName(wire[:n], 0); err == nil {
			name = s
		}
	}
	return strings.ToLower(name)
}

// inZone reports whether the canonical name is origin or below it. The dot
// before origin must be a label boundary, not an escaped \. inside a label.
func inZone(name, origin string) bool {
	switch {
	case origin == ".":
		return true
	case len(name) == len(origin):
		return name == origin
	case len(name) < len(origin) || !strings.HasSuffix(name, origin):
		return false
	}
	i := len(name) - len(origin) - 1
	if name[i] != '.' {
		return false
	}
	bs := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		bs++
	}
	return bs%2 == 0
}

// hostTargets appends to dst the RDATA names of rr that name a host or a
// domain to look up next: the targets a name written without its final dot
// breaks. Mailboxes (SOA RNAME, RP, MINFO, MG, MR) and the DNSSEC types'
// names are not targets.
func hostTargets(rr dns.RR, dst []string) []string {
	switch rr := rr.(type) {
	case *dns.NS:
		return append(dst, rr.Ns)
	case *dns.MX:
		return append(dst, rr.Mx)
	case *dns.CNAME:
		return append(dst, rr.Target)
	case *dns.DNAME:
		return append(dst, rr.Target)
	case *dns.PTR:
		return append(dst, rr.Ptr)
	case *dns.SRV:
		return append(dst, rr.Target)
	case *dns.SOA:
		return append(dst, rr.Ns)
	case *dns.AFSDB:
		return append(dst, rr.Hostname)
	case *dns.RT:
		return append(dst, rr.Host)
	case *dns.KX:
		return append(dst, rr.Exchanger)
	case *dns.NAPTR:
		return append(dst, rr.Replacement)
	case *dns.SVCB:
		return append(dst, rr.Target)
	case *dns.HTTPS:
		return append(dst, rr.Target)
	case *dns.MB:
		return append(dst, rr.Mb)
	case *dns.MD:
		return append(dst, rr.Md)
	case *dns.MF:
		return append(dst, rr.Mf)
	case *dns.NSAPPTR:
		return append(dst, rr.Ptr)
	case *dns.LP:
		return append(dst, rr.Fqdn)
	case *dns.RP:
		return append(dst, rr.Txt)
	case *dns.HIP:
		return append(dst, rr.RendezvousServers...)
	}
	return dst
}

// suspectTarget reports whether a target looks like a name written
// without its final dot, so that the zone's name was appended (RFC 1035
// section 5.1): "MX 10 mailhost.example.com" in example.com. is
// mailhost.example.com.example.com. It returns the target in canonical
// form. The target must be below the apex, and the part of it above the
// zone's name (the name as written) must have two labels or more and end
// like an absolute name: with the zone's own name or its last labels
// (www.example.com in sub.example.com.), or with a top-level domain
// (host.example.net in a reverse zone). Whether the name exists is the
// caller's question: one that does was meant.
func suspectTarget(origin, target string) (string, bool) {
	if origin == "." || target == "" {
		return "", false
	}
	t := canonName(target)
	if len(t) <= len(origin)+1 || !inZone(t, origin) {
		return "", false
	}
	written := t[:len(t)-len(origin)] // with its final dot
	if dns.CountLabel(written) < 2 {
		return "", false
	}
	for off, end := 0, false; !end; off, end = dns.NextLabel(origin, off) {
		if inZone(written, origin[off:]) {
			return t, true
		}
	}
	i, _ := dns.PrevLabel(written, 1)
	return t, isTLD(written[i : len(written)-1])
}

// commonTLDs are top-level domains a host name is likely to end with,
// besides the two-letter country codes. A hint for the missing-dot check,
// not the root zone's list: a name ending otherwise is simply not flagged.
var commonTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "edu": true, "gov": true, "mil": true, "int": true,
	"arpa": true, "info": true, "biz": true, "name": true, "pro": true, "mobi": true, "asia": true,
	"aero": true, "coop": true, "museum": true, "app": true, "dev": true, "cloud": true,
	"online": true, "site": true, "xyz": true, "shop": true, "tech": true, "top": true,
}

func isTLD(l string) bool {
	if len(l) == 2 {
		return l[0] >= 'a' && l[0] <= 'z' && l[1] >= 'a' && l[1] <= 'z'
	}
	return commonTLDs[l]
}

// missingDots warns about suspect targets (suspectTarget) that do not
// exist in the zone: no records at the name, and no delegation or DNAME
// above it that would answer for it elsewhere. A name that has records,
// even disabled ones, was meant, so it gets no warning.
func (c *checker) missingDots() {
	for _, d := range c.dots {
		if _, ok := c.ids[d.target]; ok || c.answeredElsewhere(d.target) {
			continue
		}
		if c.dotWarned == nil {
			c.dotWarned = map[string]bool{}
		}
		c.dotWarned[d.target] = true
		r := &c.recs[d.rec]
		h := r.RR.Header()
		written := d.target[:len(d.target)-len(c.origin)-1]
		c.add(SevWarning, CodeMissingFinalDot, r, canonName(h.Name), h.Rrtype,
			"the %s target %s does not exist in the zone; it looks like %s written without its final dot, so the zone name was appended; did you mean %s. (with a trailing dot)?",
			dns.Type(h.Rrtype).String(), d.target, written, written)
	}
}

// answeredElsewhere reports whether a name below the apex lies at or below
// a zone cut or below a DNAME of the zone: the child zone, or the DNAME's
// target, answers for it.
func (c *checker) answeredElsewhere(name string) bool {
	for off, end := 0, false; !end && len(name)-off > len(c.origin); off, end = dns.NextLabel(name, off) {
		id, ok := c.ids[name[off:]]
		if !ok {
			continue
		}
		f := c.names[id].flags
		if f&nfNS != 0 || f&nfDNAME != 0 && off > 0 {
			return true
		}
	}
	return false
}
