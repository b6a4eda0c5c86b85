package authserver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Allow-query. A server group with allow-query prefixes is private
// (zonedb.SG.AllowQuery): its secondaries answer its zones to those
// clients only (admin/secconf.go prints that into their configurations),
// and so does dms. Anyone else is REFUSED, "for policy reasons" (RFC 1035
// section 4.1.1), with no data, referral or denial proof, exactly as for a
// name in no zone served here.
//
// A zone is private when every server group it is in is: a zone whose
// primary or alternate SG is public is published to everyone by that SG's
// secondaries, so refusing it here would hide nothing (the old system's
// alternate SG republishes public zones into a private SG). A zone in two
// private SGs is answered to the clients of either. Zones in no SG are
// public; catalog zones are read by their SG's servers only (server.go
// catalogAnswer). Whoever may transfer a private zone (a server of its
// SGs with its TSIG key, an xfr_allow host) may also query it: the
// secondaries poll its SOA here (server.go memberAnswer).
//
// Cost: each worker keeps, per store generation, the private SGs (when
// there are none, a query pays two tests) and, for each zone asked
// about, its list (0 for a public zone). A cached answer carries the list
// it depended on, and is handed only to clients that list allows.

// queryACL is one worker's allow-query table for one store generation.
type queryACL struct {
	gen  uint64
	open bool              // no private SG: every zone is public
	sgs  map[string]uint32 // private SG (lower case) -> its list
	// lists are the prefix lists; lists[0] is unused (0 means public).
	lists [][]netip.Prefix
	pairs map[[2]uint32]uint32 // zones in two private SGs: their union
	zones map[uint64]uint32    // zone id -> list, filled as zones are asked for
	peers map[netip.Addr]bool  // servers' addresses (read on a refusal)
	err   error                // the SGs could not be read: private zones are closed
	fail  uint32               // the list of no prefix, for zones that cannot be judged
}

// maxACLZones bounds the zones a table remembers (then it starts over).
const maxACLZones = 1 << 17

// newQueryACL reads the private SGs of the generation v sees.
func newQueryACL(v *zonedb.View, gen uint64) *queryACL {
	a := &queryACL{gen: gen, lists: make([][]netip.Prefix, 1)}
	sgs, err := v.PrivateSGs()
	if err != nil {
		// Which zones are private cannot be known: refuse every zone that
		// has an SG rather than hand out a private one (zonedb reports the
		// corrupt record to the admin commands).
		a.err = err
		a.fail = a.add(nil)
		return a
	}
	if len(sgs) == 0 {
		a.open = true
		return a
	}
	a.sgs = make(map[string]uint32, len(sgs))
	a.zones = map[uint64]uint32{}
	for name, pfx := range sgs {
		a.sgs[name] = a.add(pfx)
	}
	return a
}

func (a *queryACL) add(pfx []netip.Prefix) uint32 {
	a.lists = append(a.lists, pfx)
	return uint32(len(a.lists) - 1)
}

// public says whether every zone is answered to everyone.
func (a *queryACL) public() bool { return a == nil || a.open }

// zoneList is the list of zone id (0: public).
func (a *queryACL) zoneList(v *zonedb.View, id uint64) uint32 {
	if l, ok := a.zones[id]; ok {
		return l
	}
	l := a.lookup(v, id)
	if a.zones == nil || len(a.zones) >= maxACLZones {
		a.zones = map[uint64]uint32{}
	}
	a.zones[id] = l
	return l
}

// lookup works out zone id's list from its SGs.
func (a *queryACL) lookup(v *zonedb.View, id uint64) uint32 {
	sg, alt, catalog, err := v.ZoneSGs(id)
	switch {
	case err != nil:
		return a.closed()
	case catalog || sg == "" && alt == "":
		return 0
	case a.err != nil:
		return a.fail
	}
	var ls [2]uint32
	n := 0
	for _, s := range [2]string{sg, alt} {
		if s == "" {
			continue
		}
		l, ok := a.sgs[strings.ToLower(s)]
		if !ok {
			return 0 // a public SG publishes the zone to everyone
		}
		ls[n] = l
		n++
	}
	if n == 1 || ls[0] == ls[1] {
		return ls[0]
	}
	return a.union(ls[0], ls[1])
}

// closed is the list of no prefix.
func (a *queryACL) closed() uint32 {
	if a.fail == 0 {
		a.fail = a.add(nil)
	}
	return a.fail
}

// union is the list of the clients of lists x or y.
func (a *queryACL) union(x, y uint32) uint32 {
	k := [2]uint32{min(x, y), max(x, y)}
	if l, ok := a.pairs[k]; ok {
		return l
	}
	if a.pairs == nil {
		a.pairs = map[[2]uint32]uint32{}
	}
	u := append(append([]netip.Prefix(nil), a.lists[x]...), a.lists[y]...)
	a.pairs[k] = a.add(u)
	return a.pairs[k]
}

// allows says whether list l admits client (unmapped, as the listeners
// give it). A nil table admits only to public answers.
func (a *queryACL) allows(l uint32, client netip.Addr) bool {
	if l == 0 {
		return true
	}
	if a == nil || int(l) >= len(a.lists) {
		return false
	}
	for _, p := range a.lists[l] {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// peer says whether client is the address of a server of some SG: only
// those, and xfr_allow hosts, are worth the full transfer check.
func (a *queryACL) peer(v *zonedb.View, client netip.Addr) bool {
	if a.peers == nil {
		peers, err := v.ServerAddrs()
		if err != nil {
			return false
		}
		a.peers = peers
	}
	return a.peers[client]
}

// access is one query's dealings with the table: who asks, and what the
// answer came to depend on.
type access struct {
	acl    *queryACL
	client netip.Addr
	// list is the list the answer depends on (0: none); nocache marks an
	// answer the cache cannot keep under one list (two lists, a CNAME
	// chain cut short for this client, an answer for a zone's server).
	list    uint32
	nocache bool
	// refused is the query name's zone when its list refused the client;
	// exempt a zone answered to its server beyond its list.
	refused uint64
	exempt  uint64
}

// allows says whether the client may have answers from zone id (first:
// the query name's zone, not a CNAME target's) and notes what the answer
// then depends on. Small enough to inline: a store without private SGs
// pays two tests.
func (a *access) allows(v *zonedb.View, id uint64, first bool) bool {
	return a == nil || a.acl.public() || a.check(v, id, first)
}

// check is allows for a store with private SGs.
func (a *access) check(v *zonedb.View, id uint64, first bool) bool {
	if a.exempt != 0 && id == a.exempt {
		return true
	}
	l := a.acl.zoneList(v, id)
	if l == 0 {
		return true
	}
	if !a.acl.allows(l, a.client) {
		a.nocache = true // another client may be answered more
		if first {
			a.refused = id
		}
		return false
	}
	if a.list != 0 && a.list != l {
		a.nocache = true
	}
	a.list = l
	return true
}

// denied says whether resp is a refusal by allow-query.
func (a *access) denied(resp *dns.Msg) bool {
	return a.refused != 0 && resp != nil && resp.Rcode == dns.RcodeRefused
}
