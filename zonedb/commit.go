package zonedb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// OpKind is the kind of a RecordOp.
type OpKind int

const (
	// OpAdd adds one RR to its RRset (a second copy of an RR is a no-op).
	OpAdd OpKind = iota
	// OpDelete removes one RR (matched by owner, type and RDATA).
	OpDelete
	// OpDeleteRRset removes the RRset Name/Type.
	OpDeleteRRset
	// OpReplaceRRset makes the RRset of Records' owner and type exactly
	// Records (all of one owner and type).
	OpReplaceRRset
)

// RecordOp is one small edit of a zone's records.
type RecordOp struct {
	Kind    OpKind
	Record  Record   // OpAdd, OpDelete
	Records []Record // OpReplaceRRset
	Name    string   // OpDeleteRRset
	Type    uint16   // OpDeleteRRset
	// KeepTTL (OpAdd): the record was written without a TTL, so it takes
	// the TTL of its RRset, or the SOA's when the RRset is new.
	KeepTTL bool
}

// SerialMode says how a commit sets the SOA serial.
type SerialMode int

const (
	// SerialAuto applies the YYYYMMDDNN policy (NextSerial). With Replace, a
	// serial in the new SOA that is higher still (RFC 1982) is kept.
	SerialAuto SerialMode = iota
	// SerialKeep keeps the serial of the SOA in Records (loading a new
	// zone, so secondaries that hold it already see no change).
	SerialKeep
	// SerialSet sets SerialValue, which must be higher (RFC 1982).
	SerialSet
	// SerialWrap makes one deliberate wrap step (WrapSerial).
	SerialWrap
)

// ZoneChange is what one commit does to one zone.
type ZoneChange struct {
	// Zone is the zone's name.
	Zone string
	// Create makes a new zone with this metadata (ID, Name, times, ZI and
	// Serial are set by Commit). Records must then hold its content.
	Create *Zone
	// Ref, with Create or SetRef, is the reference name; it is created when
	// it does not exist. Empty with SetRef clears the zone's reference.
	Ref    string
	SetRef bool
	// Update changes the zone's metadata inside the transaction.
	Update func(z *Zone) error
	// Destroy removes the zone with its records and history for good.
	Destroy bool
	// ExpectZI, when not 0, refuses the change unless the zone's current
	// instance is still ExpectZI (optimistic locking of edits).
	ExpectZI uint64
	// Replace makes Records the zone's whole content; otherwise Ops are
	// applied in order.
	Replace bool
	Records []Record
	Ops     []RecordOp
	// Serial and SerialValue set the new SOA serial (see SerialMode).
	Serial      SerialMode
	SerialValue uint32
	// NewZI forces a new zone instance (and serial) even when no record
	// changed (dms zone serial --bump).
	NewZI bool
	// Comment is kept with the zone instance (e.g. "rollback to 12").
	Comment string
	// SetComments (with Replace) makes Comments the zone's zone text
	// comments: the text is the whole zone, so a comment taken out of it
	// goes. Without it the stored comments stay, less those of RRsets the
	// commit removes (a rollback, a record delete).
	SetComments bool
	Comments    []Comment

	// SetKeys, when set, replaces the zone's DNSSEC keys (ids are given to
	// new ones); SignAll re-signs every RRset and rebuilds the NSEC3 chain
	// (dnssec enable, a key or parameter change).
	SetKeys *[]DNSSECKey
	SignAll bool
	// Resign renews the signatures that are due (the background
	// re-signer): a normal commit with a new serial.
	Resign bool

	// catalog marks dms's own changes of a catalog zone: nobody else may
	// change one.
	catalog bool
	// signer is the store's Signer (set by Commit).
	signer Signer
	// reverser is the store's Reverser (set by Commit for the change set's
	// own zones, not for the reverse changes it makes).
	reverser Reverser
}

// ChangeSet is one atomic commit: every zone change lands, or none does.
type ChangeSet struct {
	// ChangeBy is user@host/sectag of whoever commits.
	ChangeBy string
	Zones    []ZoneChange
}

// ZoneCommit reports what a commit did to one zone.
type ZoneCommit struct {
	Zone      string   `json:"zone"`
	ID        uint64   `json:"id"`
	ZI        uint64   `json:"zi,omitempty"` // the new instance, 0 when none
	Serial    uint32   `json:"serial"`
	OldSerial uint32   `json:"old_serial,omitempty"`
	Added     int      `json:"added"`
	Removed   int      `json:"removed"`
	Created   bool     `json:"created,omitempty"`
	Destroyed bool     `json:"destroyed,omitempty"`
	Warnings  Problems `json:"warnings,omitempty"`
	// CommentsChanged: the zone's zone text comments changed (with or
	// without a new instance; see commitZone).
	CommentsChanged bool `json:"comments_changed,omitempty"`
	// Reverse is what auto-PTR did or refused for the zone's address
	// records (the reverse zones' own results follow in the list).
	Reverse []ReverseResult `json:"reverse,omitempty"`

	// cat are the catalog membership changes the commit caused.
	cat []catalogChange
	// added and removed are the commit's address records, for auto-PTR;
	// rev the reverse-zone changes it returned.
	added, removed []AddrRecord
	rev            []ZoneChange
}

// CheckError is returned when semantic checks block a commit.
type CheckError struct {
	Zone     string
	Problems Problems // all of them, errors and warnings
}

func (e *CheckError) Error() string {
	errs := e.Problems.Errors()
	return fmt.Sprintf("zone %s: %d error(s), nothing committed:\n%s", e.Zone, len(errs), e.Problems.Error())
}

// StaleError is returned when ExpectZI no longer holds.
type StaleError struct {
	Zone     string
	Expected uint64
	Current  *ZI
}

func (e *StaleError) Error() string {
	if e.Current == nil {
		return fmt.Sprintf("zone %s changed since it was read (instance %d is gone)", e.Zone, e.Expected)
	}
	return fmt.Sprintf("zone %s changed since it was read: instance %d was read, instance %d (serial %d) was committed by %s at %s",
		e.Zone, e.Expected, e.Current.ID, e.Current.Serial, e.Current.ChangeBy, e.Current.CTime.Format(time.RFC3339))
}

func (e *StaleError) Unwrap() error { return ErrStale }

// Commit applies a change set in one write transaction and, once it is
// durable, publishes a commit event. On any error nothing is written.
func (db *DB) Commit(cs *ChangeSet) ([]ZoneCommit, error) {
	return db.update(func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error) {
		var results []ZoneCommit
		var cat []catalogChange
		for i := range cs.Zones {
			cs.Zones[i].signer = db.signer
			cs.Zones[i].reverser = db.reverser
			res, err := commitZone(tx, cs.ChangeBy, &cs.Zones[i], now)
			if err != nil {
				return nil, err
			}
			results = append(results, res)
			cat = append(cat, res.cat...)
			// Auto-PTR: the reverse zones change in the same transaction,
			// each with an instance of its own.
			for j := range res.rev {
				rc := &res.rev[j]
				rc.signer = db.signer
				rr, err := commitZone(tx, cs.ChangeBy, rc, now)
				if err != nil {
					return nil, fmt.Errorf("auto-PTR in %s: %w", rc.Zone, err)
				}
				results = append(results, rr)
			}
		}
		if len(cat) > 0 {
			more, err := applyCatalogChanges(tx, cs.ChangeBy, cat, now)
			if err != nil {
				return nil, err
			}
			results = append(results, more...)
		}
		if err := commitEvents(tx, cs.ChangeBy, results, now); err != nil {
			return nil, err
		}
		return results, nil
	})
}

// update runs fn in a write transaction, bumps the generation and
// publishes the zones fn committed.
func (db *DB) update(fn func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error)) ([]ZoneCommit, error) {
	var results []ZoneCommit
	var gen uint64
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		if results, err = fn(tx, db.now().UTC().Truncate(time.Second)); err != nil {
			return err
		}
		m := tx.Bucket(bucketMeta)
		gen = u64(m.Get(keyGeneration)) + 1
		return m.Put(keyGeneration, be64(gen))
	})
	if err != nil {
		return nil, err
	}
	db.publish(Event{Generation: gen, Zones: results})
	return results, nil
}

func commitZone(tx *bolt.Tx, changeBy string, zc *ZoneChange, now time.Time) (ZoneCommit, error) {
	name, err := CanonicalZoneName(zc.Zone)
	if err != nil {
		return ZoneCommit{}, err
	}
	zkey, _ := ZoneKey(name)
	names := tx.Bucket(bucketZoneNames)
	idx := names.Get(zkey)
	res := ZoneCommit{Zone: name}

	var z *Zone
	switch {
	case zc.Create != nil:
		if idx != nil {
			old, _ := getZone(tx, u64(idx[:8]), false)
			if old != nil && old.Deleted {
				return res, fmt.Errorf("%w: %s (deleted; undelete it, or destroy it first)", ErrZoneExists, name)
			}
			return res, fmt.Errorf("%w: %s", ErrZoneExists, name)
		}
		z = new(Zone)
		*z = *zc.Create
		z.Name = name
		z.ID, err = tx.Bucket(bucketZones).NextSequence()
		if err != nil {
			return res, err
		}
		z.CTime, z.MTime, z.ZI, z.Serial = now, now, 0, 0
		if err := checkZoneSGs(tx, z); err != nil {
			return res, err
		}
		if err := checkZoneSectags(tx, z); err != nil {
			return res, err
		}
		res.Created = true
	case idx == nil:
		return res, fmt.Errorf("%w: %s", ErrZoneNotFound, name)
	default:
		z, err = getZone(tx, u64(idx[:8]), false)
		if err != nil {
			return res, err
		}
	}
	res.ID = z.ID
	res.OldSerial = z.Serial
	if z.CatalogOf != "" && !zc.catalog {
		return res, fmt.Errorf("%w: %s is the catalog zone of server group %s; dms keeps it and it cannot be edited (dms sg set %s --catalog-zone renames it)",
			ErrBadInput, name, z.CatalogOf, z.CatalogOf)
	}
	var before *Zone
	if zc.Create == nil {
		b := *z
		before = &b
	}

	if zc.Destroy {
		res.Destroyed = true
		res.Serial = z.Serial
		res.cat = membershipChanges(before, nil)
		return res, destroyZone(tx, z, zkey)
	}
	if zc.ExpectZI != 0 && z.ZI != zc.ExpectZI {
		se := &StaleError{Zone: name, Expected: zc.ExpectZI}
		if cur, err := (&View{tx: tx}).ZI(z, z.ZI); err == nil {
			se.Current = cur
		}
		return res, se
	}
	oldRefID := z.RefID
	if zc.Create != nil || zc.SetRef {
		z.RefID = 0
		if zc.Ref != "" {
			if z.RefID, err = ensureRef(tx, zc.Ref, now); err != nil {
				return res, err
			}
		}
	}
	if zc.Update != nil {
		if err := zc.Update(z); err != nil {
			return res, err
		}
		if err := checkZoneSGs(tx, z); err != nil {
			return res, err
		}
		if err := checkZoneSectags(tx, z); err != nil {
			return res, err
		}
	}
	if err := apexNSFromSG(tx, z, zc); err != nil {
		return res, err
	}
	if zc.Create != nil && !zc.Replace {
		return res, fmt.Errorf("%w: a new zone needs its records (Replace)", ErrBadInput)
	}
	if zc.SetKeys != nil {
		old, err := zoneKeys(tx, z.ID)
		if err != nil {
			return res, err
		}
		keys, err := setZoneKeys(tx, z.ID, *zc.SetKeys)
		if err != nil {
			return res, err
		}
		if msg := keyChanges(old, keys); msg != "" {
			if err := addEvent(tx, LogEvent{Time: now, Kind: EventDNSSEC, Zone: name, By: changeBy, Message: msg}); err != nil {
				return res, err
			}
		}
	}
	unsign := before != nil && before.DNSSEC && !z.DNSSEC
	if unsign {
		if _, err := setZoneKeys(tx, z.ID, nil); err != nil {
			return res, err
		}
		z.Params = nil
	}
	touchesRecords := zc.Replace || len(zc.Ops) > 0 || zc.NewZI || zc.Serial != SerialAuto || zc.SetKeys != nil && z.DNSSEC || zc.SignAll || zc.Resign && z.DNSSEC || unsign
	if z.Deleted && touchesRecords {
		return res, fmt.Errorf("%w: %s (run dms zone undelete %s first)", ErrZoneDeleted, name, name)
	}

	if zc.SetComments && !zc.Replace {
		return res, fmt.Errorf("%w: comments are set with the whole zone text (Replace)", ErrBadInput)
	}
	if touchesRecords {
		if err := commitRecords(tx, changeBy, z, zc, unsign, now, &res); err != nil {
			return res, err
		}
	}
	if zc.SetComments {
		// Comments are written whether or not the records changed, so an
		// edit of comments alone is saved. It makes no new instance: an
		// instance is a version of the DNS data, with a serial that
		// secondaries follow, and a comment is not DNS data; a new serial
		// would have every secondary transfer a zone that did not change.
		// The event log records the change instead (commitEvents).
		if res.CommentsChanged, err = setComments(tx, z, zc.Comments); err != nil {
			return res, err
		}
	}
	z.MTime = now
	res.Serial = z.Serial

	if z.RefID != oldRefID || res.Created {
		rz := tx.Bucket(bucketRefZones)
		if oldRefID != 0 && !res.Created {
			if err := rz.Delete(binary.BigEndian.AppendUint64(be64(oldRefID), z.ID)); err != nil {
				return res, err
			}
		}
		if z.RefID != 0 {
			if err := rz.Put(binary.BigEndian.AppendUint64(be64(z.RefID), z.ID), nil); err != nil {
				return res, err
			}
		}
	}
	if err := putZone(tx, z, zkey); err != nil {
		return res, err
	}
	res.cat = membershipChanges(before, z)
	if err := runReverser(tx, zc.reverser, changeBy, z, res.added, res.removed, now, &res); err != nil {
		return res, err
	}
	return res, nil
}

// checkZoneSGs checks that a zone's server groups exist.
func checkZoneSGs(tx *bolt.Tx, z *Zone) error {
	if z.AltSG != "" && strings.EqualFold(z.AltSG, z.SG) {
		return fmt.Errorf("%w: %s is already the zone's primary server group", ErrBadInput, z.AltSG)
	}
	for _, s := range []string{z.SG, z.AltSG} {
		if s != "" && tx.Bucket(bucketSGs).Get(sgKey(s)) == nil {
			return fmt.Errorf("%w: %s (see dms sg ls)", ErrSGNotFound, s)
		}
	}
	return nil
}

// opSignerType reports whether op is about a type the signer owns.
func opSignerType(op RecordOp) bool {
	switch op.Kind {
	case OpAdd, OpDelete:
		return SignerType(op.Record.RR.Header().Rrtype)
	case OpDeleteRRset:
		return SignerType(op.Type)
	case OpReplaceRRset:
		return len(op.Records) > 0 && SignerType(op.Records[0].RR.Header().Rrtype)
	}
	return false
}

// opTouches reports whether op changes the RRset name/rrtype.
func opTouches(op RecordOp, name string, rrtype uint16) bool {
	switch op.Kind {
	case OpAdd, OpDelete:
		h := op.Record.RR.Header()
		return h.Rrtype == rrtype && dns.CanonicalName(h.Name) == name
	case OpDeleteRRset:
		return op.Type == rrtype && dns.CanonicalName(op.Name) == name
	case OpReplaceRRset:
		return len(op.Records) > 0 && op.Records[0].RR.Header().Rrtype == rrtype && dns.CanonicalName(op.Records[0].RR.Header().Name) == name
	}
	return false
}

// apexNSFromSG makes the zone's apex NS records those of its primary SG
// when the zone has use_apex_ns on and the SG names apex NS: a new zone's
// records are rewritten, an existing zone gets a replacing op when its
// apex NS differ.
func apexNSFromSG(tx *bolt.Tx, z *Zone, zc *ZoneChange) error {
	if !z.UseApexNS || z.CatalogOf != "" || z.SG == "" || z.Deleted {
		return nil
	}
	sg, err := getSG(tx, z.SG)
	if err != nil || len(sg.ApexNS) == 0 {
		return err
	}
	if zc.Replace {
		var ttl uint32
		kept := zc.Records[:0:0]
		for _, r := range zc.Records {
			h := r.RR.Header()
			switch {
			case h.Rrtype == dns.TypeNS && dns.CanonicalName(h.Name) == z.Name:
				if ttl == 0 {
					ttl = h.Ttl
				}
				continue
			case h.Rrtype == dns.TypeSOA && dns.CanonicalName(h.Name) == z.Name && ttl == 0:
				ttl = h.Ttl
			}
			kept = append(kept, r)
		}
		zc.Records = append(kept, apexNSRecords(z.Name, sg, ttl)...)
		return nil
	}
	if z.ZI == 0 {
		return nil
	}
	rrb := tx.Bucket(bucketRR)
	key, err := AppendRRsetKey(nil, z.ID, z.Name, z.Name, dns.TypeNS)
	if err != nil {
		return err
	}
	var ttl uint32
	var have []string
	if v := rrb.Get(key); v != nil {
		recs, err := decodeRRset(nil, z.Name, dns.TypeNS, v)
		if err != nil {
			return err
		}
		for _, r := range recs {
			ttl = r.RR.Header().Ttl
			have = append(have, dns.CanonicalName(r.RR.(*dns.NS).Ns))
		}
	}
	if ttl == 0 {
		if soa, err := decodeRRset(nil, z.Name, dns.TypeSOA, rrb.Get(soaKeyOf(z))); err == nil && len(soa) > 0 {
			ttl = soa[0].RR.Header().Ttl
		}
	}
	slices.Sort(have)
	// The change's own ops may touch the apex NS: the SG's set then goes
	// last, so it wins (an edit cannot take the zone off its SG's NS).
	touched := slices.ContainsFunc(zc.Ops, func(op RecordOp) bool { return opTouches(op, z.Name, dns.TypeNS) })
	if slices.Equal(have, sg.ApexNS) && !touched {
		return nil
	}
	zc.Ops = append(slices.Clip(zc.Ops), RecordOp{Kind: OpReplaceRRset, Records: apexNSRecords(z.Name, sg, ttl)})
	return nil
}

func putZone(tx *bolt.Tx, z *Zone, zkey []byte) error {
	if z.Deleted && z.DeletedAt == nil {
		t := z.MTime
		z.DeletedAt = &t
	}
	if !z.Deleted {
		z.DeletedAt = nil
	}
	val, err := json.Marshal(z)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketZones).Put(be64(z.ID), val); err != nil {
		return err
	}
	state := byte(0)
	if z.Deleted {
		state |= zoneStateDeleted
	}
	if z.Disabled {
		state |= zoneStateDisabled
	}
	if z.CatalogOf != "" {
		state |= zoneStateCatalog
	}
	return tx.Bucket(bucketZoneNames).Put(zkey, append(be64(z.ID), state))
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func destroyZone(tx *bolt.Tx, z *Zone, zkey []byte) error {
	p := be64(z.ID)
	for _, b := range [][]byte{bucketRR, bucketZI, bucketZIDiff, bucketDNSSECKeys, bucketComments} {
		if err := deletePrefix(tx.Bucket(b), p); err != nil {
			return err
		}
	}
	if z.RefID != 0 {
		if err := tx.Bucket(bucketRefZones).Delete(binary.BigEndian.AppendUint64(be64(z.RefID), z.ID)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketZones).Delete(p); err != nil {
		return err
	}
	return tx.Bucket(bucketZoneNames).Delete(zkey)
}

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

// putZI records a new zone instance and makes it the zone's current one.
func putZI(tx *bolt.Tx, z *Zone, zi ZI, res *ZoneCommit) error {
	val, _ := json.Marshal(zi)
	if err := tx.Bucket(bucketZI).Put(ziKey(z.ID, zi.ID), val); err != nil {
		return err
	}
	z.ZI, z.Serial = zi.ID, zi.Serial
	res.ZI, res.Added, res.Removed = zi.ID, zi.Added, zi.Removed
	return nil
}

// commitNewZone writes the first content of a zone: checks, serial, the
// records streamed into the store, and a base instance without a diff.
func commitNewZone(tx *bolt.Tx, changeBy string, z *Zone, zc *ZoneChange, now time.Time, res *ZoneCommit) error {
	probs := Check(z.Name, zc.Records, CheckOptions{})
	if probs.HasErrors() {
		return &CheckError{Zone: z.Name, Problems: probs}
	}
	res.Warnings = probs.Warnings()
	i := slices.IndexFunc(zc.Records, func(r Record) bool { return r.RR.Header().Rrtype == dns.TypeSOA })
	if i < 0 {
		return &CheckError{Zone: z.Name, Problems: Problems{{Severity: SevError, Code: "no-soa", Name: z.Name, Type: "SOA",
			Message: "the zone has no SOA record at its apex"}}}
	}
	soa := dns.Copy(zc.Records[i].RR).(*dns.SOA)
	serial, err := pickSerial(z, zc, soa.Serial, soa.Serial, true, now)
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
	n, err := loadNewZone(tx.Bucket(bucketRR), z, zc.Records)
	zc.Records[i].RR = orig
	if err != nil {
		return err
	}
	if z.DNSSEC {
		extra, err := signChanges(tx, tx.Bucket(bucketRR), z, zc, nil, true, now)
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
	id, err := tx.Bucket(bucketZI).NextSequence()
	if err != nil {
		return err
	}
	return putZI(tx, z, ZI{ID: id, Zone: z.ID, Serial: serial, ChangeBy: changeBy, CTime: now, PTime: now,
		Base: true, Added: n, Comment: zc.Comment}, res)
}

func commitRecords(tx *bolt.Tx, changeBy string, z *Zone, zc *ZoneChange, unsign bool, now time.Time, res *ZoneCommit) error {
	rrb := tx.Bucket(bucketRR)
	var changes []rrsetChange
	var err error
	var userSerial uint32
	var haveUserSerial bool

	switch {
	case zc.Replace && z.ZI == 0:
		return commitNewZone(tx, changeBy, z, zc, now, res)
	case zc.Replace:
		probs := Check(z.Name, zc.Records, CheckOptions{})
		if probs.HasErrors() {
			return &CheckError{Zone: z.Name, Problems: probs}
		}
		res.Warnings = probs.Warnings()
		records := zc.Records
		if i := slices.IndexFunc(records, func(r Record) bool { return r.RR.Header().Rrtype == dns.TypeSOA }); i >= 0 {
			soa := records[i].RR.(*dns.SOA)
			userSerial, haveUserSerial = soa.Serial, true
			if z.ZI != 0 {
				// Compare the SOA without its serial, so an edit that
				// changes nothing makes no new instance; the serial is set
				// below. The caller's records stay untouched.
				cp := dns.Copy(soa).(*dns.SOA)
				cp.Serial = z.Serial
				records = slices.Clone(records)
				records[i].RR = cp
			}
		}
		changes, err = replaceChanges(rrb, z, records)
	default:
		changes, err = opChanges(rrb, z, zc.Ops)
		if err == nil {
			var probs Problems
			probs, err = checkTouched(rrb, z, changes)
			if err == nil && probs.HasErrors() {
				return &CheckError{Zone: z.Name, Problems: probs}
			}
			res.Warnings = probs.Warnings()
		}
	}
	if err != nil {
		return err
	}
	if unsign {
		// The signer's records go with DNSSEC (keys are already gone).
		gone, err := signerRRsets(rrb, z)
		if err != nil {
			return err
		}
		changes = append(changes, gone...)
	}
	signing := z.DNSSEC && (len(changes) > 0 || zc.NewZI || zc.SignAll || zc.Resign || zc.SetKeys != nil || zc.Serial != SerialAuto)
	if len(changes) == 0 && !zc.NewZI && zc.Serial == SerialAuto && !signing {
		return nil // nothing changed: no new instance, no new serial
	}

	// The SOA gets the new serial: find or load its RRset.
	soaKey := soaKeyOf(z)
	soaIdx := -1
	for i := range changes {
		if bytes.Equal(changes[i].key, soaKey) {
			soaIdx = i
		}
	}
	var soaVal []byte
	if soaIdx >= 0 {
		soaVal = changes[soaIdx].new
	} else {
		soaVal = rrb.Get(soaKey)
	}
	if soaVal == nil {
		return &CheckError{Zone: z.Name, Problems: Problems{{Severity: SevError, Code: "no-soa", Name: z.Name, Type: "SOA",
			Message: "the zone has no SOA record at its apex"}}}
	}
	soaRecs, err := decodeRRset(nil, z.Name, dns.TypeSOA, soaVal)
	if err != nil {
		return err
	}
	soa := soaRecs[0].RR.(*dns.SOA)
	serial, err := pickSerial(z, zc, soa.Serial, userSerial, haveUserSerial, now)
	if err != nil {
		return err
	}
	soa.Serial = serial
	newSOA, err := encodeRRset(soaRecs)
	if err != nil {
		return err
	}
	if soaIdx >= 0 {
		changes[soaIdx].new = newSOA
	} else {
		changes = append(changes, rrsetChange{key: soaKey, name: z.Name, rrtype: dns.TypeSOA, old: soaVal, new: newSOA})
	}

	// Write the RRsets and the zone instance with its diff.
	zib := tx.Bucket(bucketZI)
	ziID, err := zib.NextSequence()
	if err != nil {
		return err
	}
	dw := &diffWriter{put: func(seq uint32, val []byte) error {
		k := binary.BigEndian.AppendUint32(ziKey(z.ID, ziID), seq)
		return tx.Bucket(bucketZIDiff).Put(k, val)
	}}
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
	added, removed := 0, 0
	if zc.reverser != nil {
		// Before the write: FORCEREV comes off the records it is on.
		if res.added, res.removed, err = reverseInput(z, zc, changes); err != nil {
			return err
		}
	}
	for _, ch := range changes {
		var err error
		if ch.new == nil {
			err = rrb.Delete(ch.key)
		} else {
			err = rrb.Put(ch.key, ch.new)
		}
		if err != nil {
			return err
		}
	}
	if err := keepComments(tx, z, changes); err != nil {
		return err
	}
	if z.DNSSEC {
		extra, err := signChanges(tx, rrb, z, zc, changes, false, now)
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
	if base {
		dw.put = func(uint32, []byte) error { return nil }
	}
	// Removed RRs first, then added ones, each side SOA first.
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
	return putZI(tx, z, ZI{ID: ziID, Zone: z.ID, Serial: serial, ChangeBy: changeBy, CTime: now, PTime: now,
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
func loadNewZone(rrb *bolt.Bucket, z *Zone, recs []Record) (int, error) {
	ks, err := sortRecords(z, recs)
	if err != nil {
		return 0, err
	}
	// Keys of a new zone come after every other zone's (ids grow) and in
	// order: fill pages instead of splitting them in half.
	rrb.FillPercent = 0.9
	var scratch []byte
	n := 0
	err = forRRsets(ks, recs, func(key []byte, group []Record) error {
		val, err := encodeRRsetScratch(group, &scratch)
		if err != nil {
			return err
		}
		c, _ := countRRs(val)
		n += c
		return rrb.Put(key, val)
	})
	return n, err
}

// opChanges applies record ops in order and returns the RRsets that end up
// different from what is stored.
func opChanges(rrb *bolt.Bucket, z *Zone, ops []RecordOp) ([]rrsetChange, error) {
	type state struct {
		ch   rrsetChange
		recs []Record
	}
	pending := map[string]*state{}
	var order []string
	load := func(name string, t uint16) (*state, error) {
		if !dns.IsSubDomain(z.Name, dns.CanonicalName(name)) {
			return nil, fmt.Errorf("%w: %s is outside zone %s", ErrBadInput, name, z.Name)
		}
		key, err := AppendRRsetKey(nil, z.ID, name, z.Name, t)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
		if s, ok := pending[string(key)]; ok {
			return s, nil
		}
		cn := dns.CanonicalName(name)
		s := &state{ch: rrsetChange{key: key, name: cn, rrtype: t}}
		if v := rrb.Get(key); v != nil {
			s.ch.old = bytes.Clone(v)
			if s.recs, err = decodeRRset(nil, cn, t, v); err != nil {
				return nil, err
			}
		}
		pending[string(key)] = s
		order = append(order, string(key))
		return s, nil
	}
	for _, op := range ops {
		if z.DNSSEC && opSignerType(op) {
			continue // the signer's (refused to admins before this)
		}
		switch op.Kind {
		case OpAdd, OpDelete:
			h := op.Record.RR.Header()
			if h.Class != dns.ClassINET {
				return nil, fmt.Errorf("%w: %s: class %s is not served (only IN)", ErrBadInput, h.Name, dns.ClassToString[h.Class])
			}
			s, err := load(h.Name, h.Rrtype)
			if err != nil {
				return nil, err
			}
			if op.Kind == OpAdd && op.KeepTTL {
				ttl := uint32(0)
				if len(s.recs) > 0 {
					ttl = s.recs[0].RR.Header().Ttl
				} else if soa, err := decodeRRset(nil, z.Name, dns.TypeSOA, rrb.Get(soaKeyOf(z))); err == nil && len(soa) > 0 {
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
			if op.Kind == OpAdd {
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
			} else {
				if i < 0 {
					return nil, fmt.Errorf("%w: %s %s %s: no such record", ErrBadInput, h.Name, dns.TypeToString[h.Rrtype],
						RdataText(op.Record.RR))
				}
				s.recs = slices.Delete(s.recs, i, i+1)
			}
		case OpDeleteRRset:
			s, err := load(op.Name, op.Type)
			if err != nil {
				return nil, err
			}
			if len(s.recs) == 0 {
				return nil, fmt.Errorf("%w: %s %s: no such RRset", ErrBadInput, op.Name, dns.TypeToString[op.Type])
			}
			s.recs = nil
		case OpReplaceRRset:
			if len(op.Records) == 0 {
				return nil, fmt.Errorf("%w: replace with no records", ErrBadInput)
			}
			h := op.Records[0].RR.Header()
			s, err := load(h.Name, h.Rrtype)
			if err != nil {
				return nil, err
			}
			for _, r := range op.Records {
				rh := r.RR.Header()
				if !strings.EqualFold(rh.Name, h.Name) || rh.Rrtype != h.Rrtype {
					return nil, fmt.Errorf("%w: replace mixes RRsets %s/%s and %s/%s", ErrBadInput,
						h.Name, dns.TypeToString[h.Rrtype], rh.Name, dns.TypeToString[rh.Rrtype])
				}
			}
			s.recs = slices.Clone(op.Records)
		default:
			return nil, fmt.Errorf("%w: unknown record op %d", ErrBadInput, op.Kind)
		}
	}
	var changes []rrsetChange
	for _, k := range order {
		s := pending[k]
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
func signChanges(tx *bolt.Tx, rrb *bolt.Bucket, z *Zone, zc *ZoneChange, changes []rrsetChange, full bool, now time.Time) ([]rrsetChange, error) {
	if zc.signer == nil {
		return nil, fmt.Errorf("zone %s is signed but this store has no signer (a dms built without DNSSEC?)", z.Name)
	}
	keys, err := zoneKeys(tx, z.ID)
	if err != nil {
		return nil, err
	}
	// A zone marked RebuildChain (migrate.go) is signed whole by its next
	// commit, which the re-signer makes at once.
	sc := &SignContext{Zone: z, Keys: keys, Full: full || zc.SignAll || z.RebuildChain, Resign: zc.Resign, Now: now, rrb: rrb, extraIx: map[string]int{}}
	if sc.Full {
		// Signing a whole zone adds RRSIG and NSEC3 records in key order:
		// pack pages full. The setting must hold until the transaction
		// commits (bbolt splits pages then); it lasts only as long as this
		// transaction's bucket handle.
		rrb.FillPercent = 0.9
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
