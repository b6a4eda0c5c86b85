package dnssec

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// The NSEC3 chain (RFC 5155): which names have a record and with which
// types, the chain built whole or mended at the names a commit touched,
// and its records signed.

func (j *job) hash(name string) ([]byte, error) {
	h, ok := zonedb.NSEC3HashName(name, j.saltBytes, j.params.Iterations)
	if !ok {
		return nil, fmt.Errorf("cannot hash %s", name)
	}
	return h[:], nil
}

// want says whether name has an NSEC3 record and with which types.
func (j *job) want(name string, types []uint16, hasChildren bool) (bool, []uint16, error) {
	c, err := j.cutOf(name)
	if err != nil {
		return false, nil, err
	}
	if c == cutBelow {
		return false, nil, nil
	}
	if len(types) == 0 {
		return hasChildren, nil, nil // an empty non-terminal: empty bitmap
	}
	if c == cutAt {
		hasDS := slices.Contains(types, dns.TypeDS)
		if !hasDS && j.params.OptOut {
			return false, nil, nil // opt-out: insecure delegations are skipped
		}
		bm := []uint16{dns.TypeNS}
		if hasDS {
			bm = append(bm, dns.TypeDS, dns.TypeRRSIG)
		}
		return true, bm, nil
	}
	bm := slices.Clone(types)
	if !slices.Contains(bm, dns.TypeRRSIG) {
		bm = append(bm, dns.TypeRRSIG)
	}
	slices.Sort(bm)
	return true, bm, nil
}

func (j *job) nsec3(hash, next []byte, types []uint16) *dns.NSEC3 {
	flags := uint8(0)
	if j.params.OptOut {
		flags = 1
	}
	salt := j.params.Salt
	return &dns.NSEC3{
		Hdr:  dns.RR_Header{Name: zonedb.NSEC3Owner(hash, j.zone), Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: j.soaMin},
		Hash: dns.SHA1, Flags: flags, Iterations: j.params.Iterations, SaltLength: uint8(len(salt) / 2), Salt: salt,
		HashLength: uint8(len(next)), NextDomain: b32encode(next), TypeBitMap: types,
	}
}

// rebuildChain replaces the whole NSEC3 chain from the zone's names.
func (j *job) rebuildChain(names []nameInfo) error {
	var old [][]byte
	j.sc.NSEC3Hashes(func(h []byte) bool { old = append(old, slices.Clone(h)); return true })
	for _, h := range old {
		if err := j.sc.PutNSEC3(h, dns.TypeNSEC3, nil); err != nil {
			return err
		}
		if err := j.sc.PutNSEC3(h, dns.TypeRRSIG, nil); err != nil {
			return err
		}
	}
	if !j.params.NSEC3 {
		return nil
	}
	type entry struct {
		hash  []byte
		types []uint16
	}
	var chain []entry
	present := map[string]bool{}
	for _, ni := range names {
		present[ni.name] = true
	}
	// Empty non-terminals: ancestors of names that hold no data.
	ents := map[string]bool{}
	for _, ni := range names {
		for x := parentName(ni.name); x != j.zone && dns.IsSubDomain(j.zone, x) && !present[x]; x = parentName(x) {
			ents[x] = true
		}
	}
	add := func(name string, types []uint16, children bool) error {
		ok, bm, err := j.want(name, types, children)
		if err != nil || !ok {
			return err
		}
		h, err := j.hash(name)
		if err != nil {
			return err
		}
		chain = append(chain, entry{hash: h, types: bm})
		return nil
	}
	for _, ni := range names {
		if err := add(ni.name, ni.types, false); err != nil {
			return err
		}
	}
	for e := range ents {
		if err := add(e, nil, true); err != nil {
			return err
		}
	}
	slices.SortFunc(chain, func(a, b entry) int { return bytes.Compare(a.hash, b.hash) })
	// Signed in batches, then written NSEC3 and RRSIG together in hash
	// order: the store appends instead of inserting in the middle of a
	// growing page (quadratic in bbolt for a whole chain in one
	// transaction).
	for start := 0; start < len(chain); start += 4096 {
		end := min(start+4096, len(chain))
		tasks := make([]sigTask, 0, end-start)
		for i := start; i < end; i++ {
			e := chain[i]
			rr := j.nsec3(e.hash, chain[(i+1)%len(chain)].hash, e.types)
			tasks = append(tasks, sigTask{name: rr.Hdr.Name, t: dns.TypeNSEC3, rrs: []dns.RR{rr}})
		}
		if err := j.signTasks(tasks); err != nil {
			return err
		}
		for i, t := range tasks {
			h := chain[start+i].hash
			if err := j.sc.PutNSEC3(h, dns.TypeNSEC3, t.rrs); err != nil {
				return err
			}
			if err := j.sc.PutNSEC3(h, dns.TypeRRSIG, t.sigs); err != nil {
				return err
			}
		}
	}
	return nil
}

func (j *job) signNSEC3(tasks []sigTask) error {
	for len(tasks) > 0 {
		n := min(len(tasks), 4096)
		batch := tasks[:n]
		tasks = tasks[n:]
		if err := j.signTasks(batch); err != nil {
			return err
		}
		for _, t := range batch {
			h, err := b32decode(strings.ToUpper(t.name[:strings.IndexByte(t.name, '.')]))
			if err != nil {
				return err
			}
			if err := j.sc.PutNSEC3(h, dns.TypeRRSIG, t.sigs); err != nil {
				return err
			}
		}
	}
	return nil
}

// mendChain brings the NSEC3 records of names up to date, with their
// neighbours' next-hash fields, after a small change.
func (j *job) mendChain(names []string) error {
	changes, err := j.chainChanges(names)
	if err != nil {
		return err
	}
	// Removals and additions first, so neighbours are known.
	dirty := map[string][]byte{} // hash (string) -> hash
	for _, c := range changes {
		if err := j.putChainChange(c, dirty); err != nil {
			return err
		}
	}
	return j.relink(dirty)
}

// chainChange is what one changed name needs of the NSEC3 chain: its
// hash, its type bitmap, and whether it keeps an NSEC3 record at all.
type chainChange struct {
	hash  []byte
	types []uint16
	keep  bool
}

// chainChanges works out the NSEC3 record each changed name needs.
func (j *job) chainChanges(names []string) ([]chainChange, error) {
	var changes []chainChange
	for _, n := range names {
		types, err := j.sc.Types(n)
		if err != nil {
			return nil, err
		}
		types = slices.DeleteFunc(types, func(t uint16) bool { return t == dns.TypeRRSIG || t == dns.TypeNSEC3PARAM && n != j.zone })
		children, err := j.sc.HasDescendants(n)
		if err != nil {
			return nil, err
		}
		if n == j.zone {
			children = true
		}
		ok, bm, err := j.want(n, types, children)
		if err != nil {
			return nil, err
		}
		h, err := j.hash(n)
		if err != nil {
			return nil, err
		}
		changes = append(changes, chainChange{hash: h, types: bm, keep: ok})
	}
	return changes, nil
}

// putChainChange removes, adds or updates one name's NSEC3 record and
// marks the records whose next-hash field must be set again (dirty).
func (j *job) putChainChange(c chainChange, dirty map[string][]byte) error {
	cur, err := j.sc.NSEC3(c.hash)
	if err != nil {
		return err
	}
	switch {
	case !c.keep && cur != nil:
		prev, _ := j.sc.NSEC3Neighbours(c.hash)
		if err := j.sc.PutNSEC3(c.hash, dns.TypeNSEC3, nil); err != nil {
			return err
		}
		if err := j.sc.PutNSEC3(c.hash, dns.TypeRRSIG, nil); err != nil {
			return err
		}
		delete(dirty, string(c.hash))
		if prev != nil {
			dirty[string(prev)] = prev
		}
	case c.keep:
		existed := cur != nil
		if !existed || !slices.Equal(cur[0].(*dns.NSEC3).TypeBitMap, c.types) {
			rr := j.nsec3(c.hash, c.hash, c.types) // next fixed below
			if existed {
				rr.NextDomain = cur[0].(*dns.NSEC3).NextDomain
			}
			if err := j.sc.PutNSEC3(c.hash, dns.TypeNSEC3, []dns.RR{rr}); err != nil {
				return err
			}
			dirty[string(c.hash)] = c.hash
		}
		if !existed {
			if prev, _ := j.sc.NSEC3Neighbours(c.hash); prev != nil {
				dirty[string(prev)] = prev
			}
		}
	}
	return nil
}

// relink sets the next-hash field of each dirty record to its neighbour's
// and signs them.
func (j *job) relink(dirty map[string][]byte) error {
	var tasks []sigTask
	for _, h := range dirty {
		cur, err := j.sc.NSEC3(h)
		if err != nil {
			return err
		}
		if cur == nil {
			continue
		}
		_, next := j.sc.NSEC3Neighbours(h)
		if next == nil {
			next = h // a chain of one
		}
		rr := cur[0].(*dns.NSEC3)
		rr.NextDomain, rr.HashLength = b32encode(next), uint8(len(next))
		if err := j.sc.PutNSEC3(h, dns.TypeNSEC3, []dns.RR{rr}); err != nil {
			return err
		}
		tasks = append(tasks, sigTask{name: rr.Hdr.Name, t: dns.TypeNSEC3, rrs: []dns.RR{rr}})
	}
	slices.SortFunc(tasks, func(a, b sigTask) int { return strings.Compare(a.name, b.name) })
	return j.signNSEC3(tasks)
}

var b32 = base32.HexEncoding.WithPadding(base32.NoPadding)
