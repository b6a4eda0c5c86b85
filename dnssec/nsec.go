package dnssec

import (
	"slices"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// The NSEC chain (RFC 4035 section 2.3), for zones signed without NSEC3:
// an NSEC record at every authoritative name (delegation points included,
// empty non-terminals and names below a cut not), pointing at the next such
// name in canonical order and listing the types there.

// nsecBitmap says whether name gets an NSEC record, and its types.
func (j *job) nsecBitmap(name string, types []uint16) ([]uint16, bool, error) {
	c, err := j.cutOf(name)
	if err != nil || c == cutBelow {
		return nil, false, err
	}
	var bm []uint16
	for _, t := range types {
		if t != dns.TypeNSEC && t != dns.TypeRRSIG && (c != cutAt || t == dns.TypeNS || t == dns.TypeDS) {
			bm = append(bm, t)
		}
	}
	if len(bm) == 0 {
		return nil, false, nil // an empty non-terminal
	}
	bm = append(bm, dns.TypeNSEC, dns.TypeRRSIG)
	slices.Sort(bm)
	return slices.Compact(bm), true, nil
}

func (j *job) nsecRR(name, next string, bm []uint16) *dns.NSEC {
	return &dns.NSEC{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: j.soaMin},
		NextDomain: next, TypeBitMap: bm}
}

// rebuildNSEC writes the whole NSEC chain from the zone's names (in
// canonical order) and signs it.
func (j *job) rebuildNSEC(names []nameInfo) error {
	type member struct {
		name string
		bm   []uint16
	}
	var chain []member
	var gone []string
	for _, ni := range names {
		bm, ok, err := j.nsecBitmap(ni.name, ni.types)
		if err != nil {
			return err
		}
		if ok {
			chain = append(chain, member{ni.name, bm})
		} else {
			gone = append(gone, ni.name) // below a cut now: no NSEC
		}
	}
	deleted := map[string][]uint16{}
	for _, n := range gone {
		if cur, err := j.sc.RRset(n, dns.TypeNSEC); err != nil || cur == nil {
			continue
		}
		if err := j.sc.Put(n, dns.TypeNSEC, nil); err != nil {
			return err
		}
		deleted[n] = []uint16{dns.TypeNSEC}
	}
	var tasks []sigTask
	for i, m := range chain {
		rr := j.nsecRR(m.name, chain[(i+1)%len(chain)].name, m.bm)
		if err := j.sc.Put(m.name, dns.TypeNSEC, []dns.RR{rr}); err != nil {
			return err
		}
		tasks = append(tasks, sigTask{name: m.name, t: dns.TypeNSEC, rrs: []dns.RR{rr}})
		if len(tasks) == 4096 || i == len(chain)-1 {
			if err := j.signTasks(tasks); err != nil {
				return err
			}
			if err := j.writeSigs(tasks, deleted); err != nil {
				return err
			}
			tasks, deleted = tasks[:0], nil
		}
	}
	if len(deleted) > 0 {
		return j.writeSigs(nil, deleted)
	}
	return nil
}

// mendNSEC brings the NSEC records of the touched names, and their
// predecessors' next-name fields, up to date after a small change.
func (j *job) mendNSEC(touched []string) error {
	slices.SortFunc(touched, zonedb.CompareNames)
	dirty := map[string]bool{}
	deleted := map[string][]uint16{}
	for _, n := range touched {
		if err := j.mendNSECName(n, dirty, deleted); err != nil {
			return err
		}
	}
	var tasks []sigTask
	for n := range dirty {
		rrs, err := j.sc.RRset(n, dns.TypeNSEC)
		if err != nil {
			return err
		}
		if len(rrs) > 0 {
			tasks = append(tasks, sigTask{name: n, t: dns.TypeNSEC, rrs: rrs})
		}
	}
	if err := j.signTasks(tasks); err != nil {
		return err
	}
	return j.writeSigs(tasks, deleted)
}

// mendNSECName gives name n the NSEC record it needs now (none, a new one
// linked in after its predecessor, or a new bitmap) and marks the records
// to sign again (dirty) and the NSEC RRsets gone (deleted).
func (j *job) mendNSECName(n string, dirty map[string]bool, deleted map[string][]uint16) error {
	types, err := j.sc.Types(n)
	if err != nil {
		return err
	}
	bm, want, err := j.nsecBitmap(n, types)
	if err != nil {
		return err
	}
	cur, err := j.sc.RRset(n, dns.TypeNSEC)
	if err != nil {
		return err
	}
	switch {
	case want && cur == nil:
		// A new member: it takes its predecessor's next name.
		next, err := j.relinkPrev(n, n, dirty)
		if err != nil {
			return err
		}
		if next == "" {
			next = j.zone
		}
		if err := j.sc.Put(n, dns.TypeNSEC, []dns.RR{j.nsecRR(n, next, bm)}); err != nil {
			return err
		}
		dirty[n] = true
	case want:
		c := cur[0].(*dns.NSEC)
		if !slices.Equal(c.TypeBitMap, bm) {
			c.TypeBitMap = bm
			if err := j.sc.Put(n, dns.TypeNSEC, cur); err != nil {
				return err
			}
			dirty[n] = true
		}
	case cur != nil:
		// Gone: its predecessor now points past it.
		next := cur[0].(*dns.NSEC).NextDomain
		if err := j.sc.Put(n, dns.TypeNSEC, nil); err != nil {
			return err
		}
		deleted[n] = []uint16{dns.TypeNSEC}
		delete(dirty, n)
		if _, err := j.relinkPrev(n, next, dirty); err != nil {
			return err
		}
	}
	return nil
}

// relinkPrev points the NSEC record before n to next and returns the next
// name it had ("" when n has no predecessor with one NSEC record).
func (j *job) relinkPrev(n, next string, dirty map[string]bool) (string, error) {
	prev, ok := j.sc.PrevNSEC(n)
	if !ok {
		return "", nil
	}
	p, err := j.sc.RRset(prev, dns.TypeNSEC)
	if err != nil || len(p) != 1 {
		return "", err
	}
	pr := p[0].(*dns.NSEC)
	had := pr.NextDomain
	pr.NextDomain = next
	if err := j.sc.Put(prev, dns.TypeNSEC, p); err != nil {
		return "", err
	}
	dirty[prev] = true
	return had, nil
}
