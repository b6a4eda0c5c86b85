package zonedb

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// What a commit's new content changes: the RRsets of a whole new text
// merged with the stored ones in one scan, the RRsets record operations
// leave, and a new zone's records streamed in.

// keyedRecord is a record's index with its RRset key.
type keyedRecord struct {
	key []byte
	i   int
}

// sortRecords computes each record's RRset key and sorts by it, so that
// RRsets are runs of equal keys in canonical order.
func sortRecords(z *Zone, recs []Record) ([]keyedRecord, error) {
	ks := make([]keyedRecord, 0, len(recs))
	buf := make([]byte, 0, 32*len(recs))
	for i, r := range recs {
		h := r.RR.Header()
		if h.Class != dns.ClassINET {
			return nil, fmt.Errorf("%w: %s %s: class %s is not served (only IN)", ErrBadInput, h.Name, dns.TypeToString[h.Rrtype], dns.ClassToString[h.Class])
		}
		if !dns.IsSubDomain(z.Name, h.Name) {
			return nil, fmt.Errorf("%w: %s is outside zone %s", ErrBadInput, h.Name, z.Name)
		}
		start := len(buf)
		var err error
		buf, err = AppendRRsetKey(buf, z.ID, h.Name, z.Name, h.Rrtype)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		ks = append(ks, keyedRecord{buf[start:len(buf):len(buf)], i})
	}
	slices.SortStableFunc(ks, func(a, b keyedRecord) int { return bytes.Compare(a.key, b.key) })
	return ks, nil
}

// forRRsets calls fn for each RRset of sorted records, in key order. The
// group slice is reused between calls.
func forRRsets(ks []keyedRecord, recs []Record, fn func(key []byte, group []Record) error) error {
	var group []Record
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && bytes.Equal(ks[j].key, ks[i].key) {
			j++
		}
		group = group[:0]
		for _, k := range ks[i:j] {
			group = append(group, recs[k.i])
		}
		if err := fn(ks[i].key, group); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// replaceChanges merges the zone's stored RRsets with the new content in
// one cursor scan and returns only the RRsets that differ.
func replaceChanges(rrb *bolt.Bucket, z *Zone, recs []Record) ([]rrsetChange, error) {
	if z.DNSSEC {
		// The signer's records are the signer's: text (a rollback, an
		// edit) cannot bring in or take out signatures and chains.
		recs = slices.DeleteFunc(slices.Clone(recs), func(r Record) bool { return SignerType(r.RR.Header().Rrtype) })
	}
	ks, err := sortRecords(z, recs)
	if err != nil {
		return nil, err
	}
	prefix := be64(z.ID)
	c := rrb.Cursor()
	k, v := c.Seek(prefix)
	var changes []rrsetChange
	var scratch []byte
	oldGone := func(k, v []byte) error {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok {
			return fmt.Errorf("zone %s: corrupt rr key %x", z.Name, k)
		}
		if z.DNSSEC && (SignerType(t) || isNSEC3Key(nk)) {
			return nil
		}
		name, err := DecodeNameKey(nk, z.Name)
		if err != nil {
			return err
		}
		changes = append(changes, rrsetChange{key: bytes.Clone(k), name: name, rrtype: t, old: bytes.Clone(v)})
		return nil
	}
	err = forRRsets(ks, recs, func(key []byte, group []Record) error {
		for k != nil && bytes.HasPrefix(k, prefix) && bytes.Compare(k, key) < 0 {
			if err := oldGone(k, v); err != nil {
				return err
			}
			k, v = c.Next()
		}
		val, err := encodeRRsetScratch(group, &scratch)
		if err != nil {
			return err
		}
		h := group[0].RR.Header()
		ch := rrsetChange{key: key, name: dns.CanonicalName(h.Name), rrtype: h.Rrtype, new: val}
		if k != nil && bytes.Equal(k, key) {
			if bytes.Equal(v, val) {
				k, v = c.Next()
				return nil
			}
			ch.old = bytes.Clone(v)
			k, v = c.Next()
		}
		changes = append(changes, ch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := oldGone(k, v); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// loadNewZone writes the first content of a zone straight from the sorted
// records, without collecting changes: a bulk load of millions of records
// holds only the records and their keys. It returns the number of RRs.
func (t *Txn) loadNewZone(z *Zone, recs []Record) (int, error) {
	ks, err := sortRecords(z, recs)
	if err != nil {
		return 0, err
	}
	// Keys of a new zone come after every other zone's (ids grow) and in
	// order: fill pages instead of splitting them in half.
	t.packRRsets()
	var scratch []byte
	n := 0
	err = forRRsets(ks, recs, func(key []byte, group []Record) error {
		val, err := encodeRRsetScratch(group, &scratch)
		if err != nil {
			return err
		}
		c, _ := countRRs(val)
		n += c
		return t.putRRset(z, key, val)
	})
	return n, err
}

// opChanges applies record ops in order and returns the RRsets that end up
// different from what is stored.
func opChanges(rrb *bolt.Bucket, z *Zone, ops []RecordOp) ([]rrsetChange, error) {
	o := &opSet{rrb: rrb, z: z, pending: map[string]*opRRset{}}
	for _, op := range ops {
		if z.DNSSEC && opSignerType(op) {
			continue // the signer's (refused to admins before this)
		}
		if err := o.apply(op); err != nil {
			return nil, err
		}
	}
	return o.changes()
}

// opSet is the RRsets record ops have touched so far, as they leave them.
type opSet struct {
	rrb     *bolt.Bucket
	z       *Zone
	pending map[string]*opRRset
	order   []string
}

// opRRset is one RRset record ops touch: its change and its records now.
type opRRset struct {
	ch   rrsetChange
	recs []Record
}

// load returns the RRset name/t as the ops so far leave it.
func (o *opSet) load(name string, t uint16) (*opRRset, error) {
	if !dns.IsSubDomain(o.z.Name, dns.CanonicalName(name)) {
		return nil, fmt.Errorf("%w: %s is outside zone %s", ErrBadInput, name, o.z.Name)
	}
	key, err := AppendRRsetKey(nil, o.z.ID, name, o.z.Name, t)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if s, ok := o.pending[string(key)]; ok {
		return s, nil
	}
	cn := dns.CanonicalName(name)
	s := &opRRset{ch: rrsetChange{key: key, name: cn, rrtype: t}}
	if v := o.rrb.Get(key); v != nil {
		s.ch.old = bytes.Clone(v)
		if s.recs, err = decodeRRset(nil, cn, t, v); err != nil {
			return nil, err
		}
	}
	o.pending[string(key)] = s
	o.order = append(o.order, string(key))
	return s, nil
}

// apply applies one op.
func (o *opSet) apply(op RecordOp) error {
	switch op.Kind {
	case OpAdd, OpDelete:
		return o.addOrDelete(op)
	case OpDeleteRRset:
		s, err := o.load(op.Name, op.Type)
		if err != nil {
			return err
		}
		if len(s.recs) == 0 {
			return fmt.Errorf("%w: %s %s: no such RRset", ErrBadInput, op.Name, dns.TypeToString[op.Type])
		}
		s.recs = nil
		return nil
	case OpReplaceRRset:
		if len(op.Records) == 0 {
			return fmt.Errorf("%w: replace with no records", ErrBadInput)
		}
		h := op.Records[0].RR.Header()
		s, err := o.load(h.Name, h.Rrtype)
		if err != nil {
			return err
		}
		for _, r := range op.Records {
			rh := r.RR.Header()
			if !strings.EqualFold(rh.Name, h.Name) || rh.Rrtype != h.Rrtype {
				return fmt.Errorf("%w: replace mixes RRsets %s/%s and %s/%s", ErrBadInput,
					h.Name, dns.TypeToString[h.Rrtype], rh.Name, dns.TypeToString[rh.Rrtype])
			}
		}
		s.recs = slices.Clone(op.Records)
		return nil
	}
	return fmt.Errorf("%w: unknown record op %d", ErrBadInput, op.Kind)
}

// addOrDelete applies an OpAdd or OpDelete of one RR.
func (o *opSet) addOrDelete(op RecordOp) error {
	h := op.Record.RR.Header()
	if h.Class != dns.ClassINET {
		return fmt.Errorf("%w: %s: class %s is not served (only IN)", ErrBadInput, h.Name, dns.ClassToString[h.Class])
	}
	s, err := o.load(h.Name, h.Rrtype)
	if err != nil {
		return err
	}
	if op.Kind == OpAdd && op.KeepTTL {
		ttl := uint32(0)
		if len(s.recs) > 0 {
			ttl = s.recs[0].RR.Header().Ttl
		} else if soa, err := decodeRRset(nil, o.z.Name, dns.TypeSOA, o.rrb.Get(soaKeyOf(o.z))); err == nil && len(soa) > 0 {
			ttl = soa[0].RR.Header().Ttl
		}
		if ttl != 0 {
			rr := dns.Copy(op.Record.RR)
			rr.Header().Ttl = ttl
			op.Record.RR = rr
			h = rr.Header()
		}
	}
	i := slices.IndexFunc(s.recs, func(r Record) bool { return SameRdata(r.RR, op.Record.RR) })
	if op.Kind == OpDelete {
		if i < 0 {
			return fmt.Errorf("%w: %s %s %s: no such record", ErrBadInput, h.Name, dns.TypeToString[h.Rrtype],
				RdataText(op.Record.RR))
		}
		s.recs = slices.Delete(s.recs, i, i+1)
		return nil
	}
	if i >= 0 {
		// Same RDATA: the new TTL and flags win.
		s.recs[i] = op.Record
	} else {
		s.recs = append(s.recs, op.Record)
	}
	// One TTL per RRset (RFC 2181 section 5.2): the new one.
	for j := range s.recs {
		s.recs[j].RR.Header().Ttl = h.Ttl
	}
	return nil
}

// changes are the RRsets whose value differs from the stored one.
func (o *opSet) changes() ([]rrsetChange, error) {
	var changes []rrsetChange
	for _, k := range o.order {
		s := o.pending[k]
		if len(s.recs) > 0 {
			v, err := encodeRRset(s.recs)
			if err != nil {
				return nil, err
			}
			s.ch.new = v
		}
		if bytes.Equal(s.ch.old, s.ch.new) {
			continue
		}
		changes = append(changes, s.ch)
	}
	return changes, nil
}
