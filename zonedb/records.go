package zonedb

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/miekg/dns"
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

func soaKeyOf(z *Zone) []byte {
	k, _ := AppendRRsetKey(nil, z.ID, z.Name, z.Name, dns.TypeSOA)
	return k
}
