package zonedb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// rrsetChange is one RRset whose stored value changes.
type rrsetChange struct {
	key    []byte
	name   string
	rrtype uint16
	old    []byte // nil: did not exist
	new    []byte // nil: deleted
}

// pickSerial applies the serial mode: soaSerial is the serial of the SOA
// being committed, userSerial one typed into new zone text.
func pickSerial(z *Zone, zc *ZoneChange, soaSerial, userSerial uint32, haveUser bool, now time.Time) (uint32, error) {
	old := z.Serial
	switch zc.Serial {
	case SerialKeep:
		return soaSerial, nil
	case SerialSet:
		if z.ZI == 0 {
			return zc.SerialValue, nil
		}
		if err := SerialSetAllowed(old, zc.SerialValue); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrSerial, err)
		}
		return zc.SerialValue, nil
	case SerialWrap:
		return WrapSerial(old), nil
	}
	if z.ZI == 0 {
		// A new zone: the policy starts from the date.
		serial := NextSerial(0, now)
		if haveUser && SerialLess(serial, userSerial) {
			serial = userSerial
		}
		return serial, nil
	}
	serial := NextSerial(old, now)
	if haveUser && SerialLess(serial, userSerial) && SerialSetAllowed(old, userSerial) == nil {
		serial = userSerial
	}
	return serial, nil
}

// commitNewZone writes the first content of a zone: checks, serial, the
// records streamed into the store, and a base instance without a diff.
func (t *Txn) commitNewZone(z *Zone, zc *ZoneChange, res *ZoneCommit) error {
	probs := Check(z.Name, zc.Records, CheckOptions{})
	if probs.HasErrors() {
		return &CheckError{Zone: z.Name, Problems: probs}
	}
	res.Warnings = probs.Warnings()
	i := slices.IndexFunc(zc.Records, func(r Record) bool { return r.RR.Header().Rrtype == dns.TypeSOA })
	if i < 0 {
		return noSOA(z)
	}
	soa := dns.Copy(zc.Records[i].RR).(*dns.SOA)
	serial, err := pickSerial(z, zc, soa.Serial, soa.Serial, true, t.now)
	if err != nil {
		return err
	}
	soa.Serial = serial
	if zc.reverser != nil {
		// Every address record of a new zone is new; FORCEREV acts once,
		// so the stored records do not keep it.
		res.added = addrRecords(nil, zc.Records)
		if slices.ContainsFunc(zc.Records, func(r Record) bool { return r.Flags&FlagForceRev != 0 }) {
			zc.Records = slices.Clone(zc.Records)
			for j := range zc.Records {
				zc.Records[j].Flags &^= FlagForceRev
			}
		}
	}
	// Swap in the SOA with its serial for the write, and back.
	orig := zc.Records[i].RR
	zc.Records[i].RR = soa
	n, err := t.loadNewZone(z, zc.Records)
	zc.Records[i].RR = orig
	if err != nil {
		return err
	}
	if z.DNSSEC {
		extra, err := t.signChanges(z, zc, nil, true)
		if err != nil {
			return err
		}
		for _, e := range extra {
			if e.new != nil {
				c, _ := countRRs(e.new)
				n += c
			}
		}
	}
	id, err := t.nextZI()
	if err != nil {
		return err
	}
	return t.putZI(z, ZI{ID: id, Zone: z.ID, Serial: serial, ChangeBy: t.by, CTime: t.now, PTime: t.now,
		Base: true, Added: n, Comment: zc.Comment}, res)
}

func noSOA(z *Zone) error {
	return &CheckError{Zone: z.Name, Problems: Problems{{Severity: SevError, Code: "no-soa", Name: z.Name, Type: "SOA",
		Message: "the zone has no SOA record at its apex"}}}
}

// commitRecords makes a change's new content of an existing zone (or a
// new zone's first): the RRsets that differ, the SOA with its new serial,
// the signatures, and a new instance with its diff. A change that alters
// nothing makes no instance and no serial.
func (t *Txn) commitRecords(z *Zone, zc *ZoneChange, unsign bool, res *ZoneCommit) error {
	if zc.Replace && z.ZI == 0 {
		return t.commitNewZone(z, zc, res)
	}
	changes, user, err := t.recordChanges(z, zc, res)
	if err != nil {
		return err
	}
	if unsign {
		// The signer's records go with DNSSEC (keys are already gone).
		gone, err := signerRRsets(t.rrb, z)
		if err != nil {
			return err
		}
		changes = append(changes, gone...)
	}
	signing := z.DNSSEC && (len(changes) > 0 || zc.NewZI || zc.SignAll || zc.Resign || zc.SetKeys != nil || zc.Serial != SerialAuto)
	if len(changes) == 0 && !zc.NewZI && zc.Serial == SerialAuto && !signing {
		return nil // nothing changed: no new instance, no new serial
	}
	changes, serial, err := t.newSerial(z, zc, changes, user)
	if err != nil {
		return err
	}
	// IXFR order: the SOA first on each side.
	slices.SortFunc(changes, func(a, b rrsetChange) int {
		as, bs := a.rrtype == dns.TypeSOA, b.rrtype == dns.TypeSOA
		switch {
		case as && !bs:
			return -1
		case bs && !as:
			return 1
		}
		return bytes.Compare(a.key, b.key)
	})
	if zc.reverser != nil {
		// Before the write: FORCEREV comes off the records it is on.
		if res.added, res.removed, err = reverseInput(z, zc, changes); err != nil {
			return err
		}
	}
	for _, ch := range changes {
		if err := t.putRRset(z, ch.key, ch.new); err != nil {
			return err
		}
	}
	if err := t.keepComments(z, changes); err != nil {
		return err
	}
	if z.DNSSEC {
		extra, err := t.signChanges(z, zc, changes, false)
		if err != nil {
			return err
		}
		changes = append(changes, extra...)
	}
	// Signing (or unsigning) the whole zone changes about every RRset: as
	// an IXFR it would be larger than the zone, so the instance is a base
	// (no diff kept; secondaries behind it get the whole zone), which also
	// keeps the journal from holding a second copy of the signed zone.
	base := zc.SignAll || unsign
	return t.newInstance(z, zc, changes, serial, base, res)
}

// userSerial is the serial typed into a new zone text, if any.
type userSerial struct {
	serial uint32
	ok     bool
}

// recordChanges works out the RRsets a change of content makes differ,
// checked: a whole new text, or record operations.
func (t *Txn) recordChanges(z *Zone, zc *ZoneChange, res *ZoneCommit) ([]rrsetChange, userSerial, error) {
	var user userSerial
	if !zc.Replace {
		changes, err := opChanges(t.rrb, z, zc.Ops)
		if err != nil {
			return nil, user, err
		}
		probs, err := checkTouched(t.rrb, z, changes)
		if err != nil {
			return nil, user, err
		}
		if probs.HasErrors() {
			return nil, user, &CheckError{Zone: z.Name, Problems: probs}
		}
		res.Warnings = probs.Warnings()
		return changes, user, nil
	}
	probs := Check(z.Name, zc.Records, CheckOptions{})
	if probs.HasErrors() {
		return nil, user, &CheckError{Zone: z.Name, Problems: probs}
	}
	res.Warnings = probs.Warnings()
	records := zc.Records
	if i := slices.IndexFunc(records, func(r Record) bool { return r.RR.Header().Rrtype == dns.TypeSOA }); i >= 0 {
		soa := records[i].RR.(*dns.SOA)
		user = userSerial{soa.Serial, true}
		if z.ZI != 0 {
			// Compare the SOA without its serial, so an edit that
			// changes nothing makes no new instance; the serial is set
			// later. The caller's records stay untouched.
			cp := dns.Copy(soa).(*dns.SOA)
			cp.Serial = z.Serial
			records = slices.Clone(records)
			records[i].RR = cp
		}
	}
	changes, err := replaceChanges(t.rrb, z, records)
	return changes, user, err
}

// newSerial gives the SOA the commit's serial: it finds (or loads) the
// SOA's RRset among the changes and adds or updates its change.
func (t *Txn) newSerial(z *Zone, zc *ZoneChange, changes []rrsetChange, user userSerial) ([]rrsetChange, uint32, error) {
	soaKey := soaKeyOf(z)
	soaIdx := slices.IndexFunc(changes, func(ch rrsetChange) bool { return bytes.Equal(ch.key, soaKey) })
	var soaVal []byte
	if soaIdx >= 0 {
		soaVal = changes[soaIdx].new
	} else {
		soaVal = t.rrb.Get(soaKey)
	}
	if soaVal == nil {
		return nil, 0, noSOA(z)
	}
	soaRecs, err := decodeRRset(nil, z.Name, dns.TypeSOA, soaVal)
	if err != nil {
		return nil, 0, err
	}
	soa := soaRecs[0].RR.(*dns.SOA)
	serial, err := pickSerial(z, zc, soa.Serial, user.serial, user.ok, t.now)
	if err != nil {
		return nil, 0, err
	}
	soa.Serial = serial
	newSOA, err := encodeRRset(soaRecs)
	if err != nil {
		return nil, 0, err
	}
	if soaIdx >= 0 {
		changes[soaIdx].new = newSOA
	} else {
		changes = append(changes, rrsetChange{key: soaKey, name: z.Name, rrtype: dns.TypeSOA, old: soaVal, new: newSOA})
	}
	return changes, serial, nil
}

// newInstance records the instance a commit made, with its diff (none for
// a base instance): removed RRs first, then added ones, each side SOA
// first.
func (t *Txn) newInstance(z *Zone, zc *ZoneChange, changes []rrsetChange, serial uint32, base bool, res *ZoneCommit) error {
	ziID, err := t.nextZI()
	if err != nil {
		return err
	}
	dw := t.diffWriter(z.ID, ziID)
	if base {
		dw.put, dw.log = func(uint32, []byte) error { return nil }, nil
	}
	added, removed := 0, 0
	adds := make([]encSet, len(changes))
	for i, ch := range changes {
		rem, add, err := diffRRset(ch.old, ch.new)
		if err != nil {
			return err
		}
		for _, e := range rem.ers {
			if err := dw.add(false, ch.name, ch.rrtype, rem.ttl, e); err != nil {
				return err
			}
		}
		removed += len(rem.ers)
		added += len(add.ers)
		adds[i] = add
	}
	for i, ch := range changes {
		for _, e := range adds[i].ers {
			if err := dw.add(true, ch.name, ch.rrtype, adds[i].ttl, e); err != nil {
				return err
			}
		}
	}
	if err := dw.flush(); err != nil {
		return err
	}
	return t.putZI(z, ZI{ID: ziID, Zone: z.ID, Serial: serial, ChangeBy: t.by, CTime: t.now, PTime: t.now,
		Base: base, Added: added, Removed: removed, Comment: zc.Comment}, res)
}

type encSet struct {
	ttl uint32
	ers []encRR
}

// diffRRset returns the RRs only in old (removed) and only in new (added).
// A TTL change replaces every RR.
func diffRRset(oldVal, newVal []byte) (rem, add encSet, err error) {
	var o, n encSet
	if oldVal != nil {
		if o.ttl, o.ers, err = decodeEnc(oldVal); err != nil {
			return
		}
	}
	if newVal != nil {
		if n.ttl, n.ers, err = decodeEnc(newVal); err != nil {
			return
		}
	}
	rem.ttl, add.ttl = o.ttl, n.ttl
	if oldVal == nil || newVal == nil || o.ttl != n.ttl {
		return o, n, nil
	}
	same := func(a, b encRR) bool { return a.flags == b.flags && a.ref == b.ref && bytes.Equal(a.rdata, b.rdata) }
	for _, a := range o.ers {
		if !slices.ContainsFunc(n.ers, func(b encRR) bool { return same(a, b) }) {
			rem.ers = append(rem.ers, a)
		}
	}
	for _, b := range n.ers {
		if !slices.ContainsFunc(o.ers, func(a encRR) bool { return same(a, b) }) {
			add.ers = append(add.ers, b)
		}
	}
	return rem, add, nil
}

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

func soaKeyOf(z *Zone) []byte {
	k, _ := AppendRRsetKey(nil, z.ID, z.Name, z.Name, dns.TypeSOA)
	return k
}

// checkTouched runs the semantic checks on the names an op commit touched,
// with everything stored at those names, plus the apex SOA and NS. Targets
// that look written without their final dot are read too, with their
// ancestors, so the check knows whether they exist; problems of those
// names themselves are not this commit's and are left out.
func checkTouched(rrb *bolt.Bucket, z *Zone, changes []rrsetChange) (Problems, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	newVals := map[string][]byte{}
	nameKeys := map[string]string{} // name key prefix (with id) -> owner name
	for _, ch := range changes {
		newVals[string(ch.key)] = ch.new
		nameKeys[string(ch.key[:len(ch.key)-2])] = ch.name
	}
	apex := append(be64(z.ID), 0)
	nameKeys[string(apex)] = z.Name
	var recs []Record
	var err error
	for nk, owner := range nameKeys {
		if recs, err = loadName(rrb, z, nk, owner, newVals, recs); err != nil {
			return nil, err
		}
	}
	// The suspect targets and the names above them, up to the apex: their
	// records say whether a target exists or is delegated.
	context := map[string]bool{}
	var targets []string
	for _, r := range recs {
		targets = hostTargets(r.RR, targets[:0])
		for _, t := range targets {
			t, ok := suspectTarget(z.Name, t)
			for ; ok && t != z.Name; t = t[nextLabel(t):] {
				nk, err := AppendRRsetKey(nil, z.ID, t, z.Name, 0)
				if err != nil {
					break
				}
				nk = nk[:len(nk)-2]
				if _, seen := nameKeys[string(nk)]; seen {
					continue
				}
				nameKeys[string(nk)], context[t] = t, true
				if recs, err = loadName(rrb, z, string(nk), t, newVals, recs); err != nil {
					return nil, err
				}
			}
		}
	}
	probs := Check(z.Name, recs, CheckOptions{Partial: true})
	changed := make(map[string]bool, len(changes))
	for _, ch := range changes {
		changed[ch.name+"/"+dns.Type(ch.rrtype).String()] = true
	}
	// A missing dot is this commit's only in an RRset it changed: the
	// other names are read whole, and a stored record would be reported
	// again at every commit.
	probs = slices.DeleteFunc(probs, func(p Problem) bool {
		return context[p.Name] || p.Code == CodeMissingFinalDot && !changed[p.Name+"/"+p.Type]
	})
	return probs, nil
}

// nextLabel is the offset of the label after the first one of name.
func nextLabel(name string) int {
	off, _ := dns.NextLabel(name, 0)
	return off
}

// loadName appends to recs the RRsets stored at one name (nk: the name key
// prefix with the zone id and the 0x00 that ends the name), with the
// commit's new values in place of the stored ones.
func loadName(rrb *bolt.Bucket, z *Zone, nk, owner string, newVals map[string][]byte, recs []Record) ([]Record, error) {
	prefix := []byte(nk)
	c := rrb.Cursor()
	seen := map[string]bool{}
	var err error
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+2; k, v = c.Next() {
		seen[string(k)] = true
		if nv, ok := newVals[string(k)]; ok {
			v = nv
		}
		if v == nil || z.DNSSEC && SignerType(binary.BigEndian.Uint16(k[len(k)-2:])) {
			continue
		}
		if recs, err = decodeRRset(recs, owner, binary.BigEndian.Uint16(k[len(k)-2:]), v); err != nil {
			return nil, err
		}
	}
	for k, v := range newVals {
		if !seen[k] && v != nil && strings.HasPrefix(k, nk) && len(k) == len(nk)+2 {
			if recs, err = decodeRRset(recs, owner, binary.BigEndian.Uint16([]byte(k[len(k)-2:])), v); err != nil {
				return nil, err
			}
		}
	}
	return recs, nil
}

// signChanges runs the signer for a signed zone after its changed RRsets
// are written, and returns the RRsets the signer wrote.
func (t *Txn) signChanges(z *Zone, zc *ZoneChange, changes []rrsetChange, full bool) ([]rrsetChange, error) {
	if zc.signer == nil {
		return nil, fmt.Errorf("zone %s is signed but this store has no signer (a dms built without DNSSEC?)", z.Name)
	}
	keys, err := zoneKeys(t.tx, z.ID)
	if err != nil {
		return nil, err
	}
	// A zone marked RebuildChain (migrate.go) is signed whole by its next
	// commit, which the re-signer makes at once.
	sc := &SignContext{Zone: z, Keys: keys, Full: full || zc.SignAll || z.RebuildChain, Resign: zc.Resign, Now: t.now, t: t, rrb: t.rrb, extraIx: map[string]int{}}
	if sc.Full {
		// Signing a whole zone adds RRSIG and NSEC3 records in key order:
		// pack pages full. The setting must hold until the transaction
		// commits (bbolt splits pages then); it lasts only as long as this
		// transaction's bucket handle.
		t.packRRsets()
	}
	for _, ch := range changes {
		if !SignerType(ch.rrtype) {
			sc.Changed = append(sc.Changed, ChangedRRset{Name: ch.name, Type: ch.rrtype, Deleted: ch.new == nil})
		}
	}
	if err := zc.signer.Sign(sc); err != nil {
		return nil, fmt.Errorf("signing zone %s: %w", z.Name, err)
	}
	if sc.Full {
		z.RebuildChain = false // the chain is new
	}
	return sc.extra, nil
}

// signerRRsets lists the deletion of every RRset the signer owns in z (the
// NSEC3 chain included), for turning DNSSEC off.
func signerRRsets(rrb *bolt.Bucket, z *Zone) ([]rrsetChange, error) {
	var out []rrsetChange
	prefix := be64(z.ID)
	c := rrb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok {
			return nil, fmt.Errorf("zone %s: corrupt rr key %x", z.Name, k)
		}
		if !SignerType(t) && !isNSEC3Key(nk) {
			continue
		}
		name, err := DecodeNameKey(nk, z.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, rrsetChange{key: bytes.Clone(k), name: name, rrtype: t, old: bytes.Clone(v)})
	}
	return out, nil
}
