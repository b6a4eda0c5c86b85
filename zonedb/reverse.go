package zonedb

import (
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// The auto-PTR hook: Commit hands each forward zone's address-record
// changes to the store's Reverser inside the write transaction, and
// commits the reverse-zone changes it returns in the same transaction,
// each reverse zone with a new instance of its own. zonedb knows nothing
// of the rules (privileges, flags, config): admin does.

// AddrRecord is a published address record (A or AAAA) of a commit.
type AddrRecord struct {
	Name  string // owner, absolute, lower case
	Addr  netip.Addr
	TTL   uint32
	Flags Flags
}

// ReverseContext is what a Reverser sees of one forward zone's commit.
type ReverseContext struct {
	// View reads the transaction, with the forward change written.
	View *View
	// Sectag is the committer's (from ChangeBy).
	Sectag string
	// Now is the commit's time (the store's clock).
	Now time.Time
	// Zone is the forward zone (Ref filled in).
	Zone *Zone
	// Added are address records new in this commit, or carrying FORCEREV
	// or TRACKREV in a changed RRset, or TRACKREV in a saved zone text;
	// Removed those that are gone. DISABLE records count as absent.
	Added, Removed []AddrRecord
}

// ReverseResult is what auto-PTR did, or refused to do, for one address:
// reported to whoever committed.
type ReverseResult struct {
	Address string `json:"address"`
	Name    string `json:"name"`           // the forward owner
	PTR     string `json:"ptr"`            // the reverse owner
	Zone    string `json:"zone,omitempty"` // the reverse zone, when one was found
	Action  string `json:"action"`         // created, replaced, deleted, kept, skipped, refused
	Reason  string `json:"reason,omitempty"`
}

// Reverser works out the reverse changes of a forward commit.
type Reverser interface {
	Reverse(rc *ReverseContext) ([]ZoneChange, []ReverseResult, error)
}

// SetReverser installs the auto-PTR hook (nil: none).
func (db *DB) SetReverser(r Reverser) { db.reverser = r }

// SectagOf is the sectag part of a ChangeBy (user@host/sectag); Admin
// when it has none.
func SectagOf(changeBy string) string {
	if i := strings.LastIndexByte(changeBy, '/'); i >= 0 && i+1 < len(changeBy) {
		return changeBy[i+1:]
	}
	return SectagAdmin
}

// AddrOf is the address of an A or AAAA record.
func AddrOf(rr dns.RR) (netip.Addr, bool) {
	switch rr := rr.(type) {
	case *dns.A:
		a, ok := netip.AddrFromSlice(rr.A.To4())
		return a, ok
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(rr.AAAA.To16())
		return a.Unmap(), ok && !a.Is4In6()
	}
	return netip.Addr{}, false
}

func addrRecords(dst []AddrRecord, recs []Record) []AddrRecord {
	for _, r := range recs {
		if r.Flags&FlagDisable != 0 {
			continue
		}
		if a, ok := AddrOf(r.RR); ok {
			h := r.RR.Header()
			dst = append(dst, AddrRecord{Name: dns.CanonicalName(h.Name), Addr: a, TTL: h.Ttl, Flags: r.Flags})
		}
	}
	return dst
}

func isAddrType(t uint16) bool { return t == dns.TypeA || t == dns.TypeAAAA }

// reverseInput works out a commit's address-record changes from its RRset
// changes (before they are written) and takes FORCEREV off the records
// that carry it: it acts once. For a saved zone text, TRACKREV records in unchanged
// RRsets count too.
func reverseInput(z *Zone, zc *ZoneChange, changes []rrsetChange) (added, removed []AddrRecord, err error) {
	type key struct {
		name string
		addr netip.Addr
	}
	inChanges := map[string]bool{}
	for i := range changes {
		ch := &changes[i]
		if !isAddrType(ch.rrtype) {
			continue
		}
		inChanges[ch.name+"/"+dns.TypeToString[ch.rrtype]] = true
		var olds, news []Record
		if ch.old != nil {
			if olds, err = decodeRRset(nil, ch.name, ch.rrtype, ch.old); err != nil {
				return nil, nil, err
			}
		}
		if ch.new != nil {
			if news, err = decodeRRset(nil, ch.name, ch.rrtype, ch.new); err != nil {
				return nil, nil, err
			}
		}
		o, n := addrRecords(nil, olds), addrRecords(nil, news)
		had := map[key]bool{}
		for _, r := range o {
			had[key{r.Name, r.Addr}] = true
		}
		has := map[key]bool{}
		for _, r := range n {
			has[key{r.Name, r.Addr}] = true
			if !had[key{r.Name, r.Addr}] || r.Flags&(FlagForceRev|FlagTrackRev) != 0 {
				added = append(added, r)
			}
		}
		for _, r := range o {
			if !has[key{r.Name, r.Addr}] {
				removed = append(removed, r)
			}
		}
		// FORCEREV acts once: the stored records lose it.
		strip := false
		for i := range news {
			if news[i].Flags&FlagForceRev != 0 {
				news[i].Flags &^= FlagForceRev
				strip = true
			}
		}
		if strip {
			val, err := encodeRRset(news)
			if err != nil {
				return nil, nil, err
			}
			ch.new = val
		}
	}
	if zc.Replace {
		for _, r := range addrRecords(nil, zc.Records) {
			t := dns.TypeToString[dns.TypeA]
			if r.Addr.Is6() {
				t = dns.TypeToString[dns.TypeAAAA]
			}
			if r.Flags&FlagTrackRev != 0 && !inChanges[r.Name+"/"+t] {
				added = append(added, r)
			}
		}
	}
	return added, removed, nil
}

// runReverser calls the store's Reverser for a forward zone's commit and
// keeps what it returns on the zone's result.
func (t *Txn) runReverser(r Reverser, z *Zone, res *ZoneCommit) error {
	if r == nil || len(res.added)+len(res.removed) == 0 || z.CatalogOf != "" {
		return nil
	}
	zz := *z
	if zz.RefID != 0 {
		if ref, err := getRef(t.tx, zz.RefID); err == nil {
			zz.Ref = ref.Name
		}
	}
	// The reverse zones are those of the zone's view.
	rv := &View{tx: t.tx}
	rv.UseView(z.ViewID)
	changes, report, err := r.Reverse(&ReverseContext{View: rv, Sectag: SectagOf(t.by), Now: t.now, Zone: &zz, Added: res.added, Removed: res.removed})
	if err != nil {
		return err
	}
	for i := range changes {
		if changes[i].View == "" {
			changes[i].View = viewLabel(z.View)
		}
	}
	res.Reverse = append(res.Reverse, report...)
	res.rev = append(res.rev, changes...)
	return nil
}
