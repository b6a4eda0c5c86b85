package zonedb

import (
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
	// Zone is the zone's name, View its view's ("": the default view).
	Zone string
	View string
	// Create makes a new zone with this metadata (ID, Name, times, ZI and
	// Serial are set by the commit). Records must then hold its content.
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
	// signer is the store's Signer (set by Txn.Apply).
	signer Signer
	// reverser is the store's Reverser (set by Txn.Apply for the change set's
	// own zones, not for the reverse changes it makes).
	reverser Reverser
}

// ChangeSet is one atomic commit: every zone change lands, or none does.
type ChangeSet struct {
	// ChangeBy is user@host/sectag of whoever commits.
	ChangeBy string
	// View is the view of the zones named without one ("": the default).
	View  string
	Zones []ZoneChange
	// Check, when set, runs first inside the commit's transaction: a
	// check that decides whether the change is allowed sees the data the
	// change is made to (two commits cannot both pass a check only one of
	// them should).
	Check func(v *View) error
}

// ZoneCommit reports what a commit did to one zone.
type ZoneCommit struct {
	Zone      string   `json:"zone"`
	View      string   `json:"view,omitempty"`
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
	// keys says how the zone's DNSSEC keys changed, meta its settings
	// (for the event log).
	keys string
	meta []string
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

// Commit applies a change set in one commit transaction (DB.Change): its
// Check runs first, inside the transaction; every zone change lands, or
// none does. Once it is durable, a commit event is published.
func (db *DB) Commit(cs *ChangeSet) ([]ZoneCommit, error) {
	return db.Change(cs.ChangeBy, func(t *Txn) error {
		if err := t.UseView(cs.View); err != nil {
			return err
		}
		if cs.Check != nil {
			if err := cs.Check(t.View()); err != nil {
				return err
			}
		}
		for i := range cs.Zones {
			if _, err := t.Apply(cs.Zones[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// update runs fn in a write transaction, bumps the generation and
// publishes the zones fn committed.
func (db *DB) update(fn func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error)) ([]ZoneCommit, error) {
	res, _, err := db.updateGen(fn)
	return res, err
}

// updateGen is update that also returns the generation the commit made.
func (db *DB) updateGen(fn func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error)) ([]ZoneCommit, uint64, error) {
	var results []ZoneCommit
	var gen uint64
	var ix *nodeIndex
	var upd *nodeUpdate
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		// Read under the write lock (EnableNodeIndex sets it so).
		ix = db.nodeIndexOf()
		if ix != nil {
			db.track = &nodeTracker{names: map[string]struct{}{}}
			defer func() { db.track = nil }() // still under the write lock
		}
		var err error
		if results, err = fn(tx, db.now().UTC().Truncate(time.Second)); err != nil {
			return err
		}
		if ix != nil {
			// The names this commit changed, as they are now: for the
			// name index once the commit is durable.
			upd = db.track.update(tx)
		}
		m := tx.Bucket(bucketMeta)
		gen = u64(m.Get(keyGeneration)) + 1
		return m.Put(keyGeneration, be64(gen))
	})
	if err != nil {
		return nil, 0, err
	}
	if ix != nil {
		ix.committed(gen, upd)
	}
	db.publish(Event{Generation: gen, Zones: results})
	return results, gen, nil
}

// commitZone makes one zone change: the zone's metadata, keys, records
// (with their instance, serial and signatures) and comments, in that
// order, then the zone itself and its reverse-zone changes.
func (t *Txn) commitZone(zc *ZoneChange) (ZoneCommit, error) {
	z, zkey, res, err := t.openZone(zc)
	if err != nil {
		return res, err
	}
	var before *Zone
	if zc.Create == nil {
		b := *z
		before = &b
	}
	if zc.Destroy {
		res.Destroyed, res.Serial = true, z.Serial
		res.cat = membershipChanges(before, nil)
		return res, t.destroyZone(z, zkey)
	}
	if err := t.checkExpected(z, zc); err != nil {
		return res, err
	}
	oldRefID := z.RefID
	if err := t.setMeta(z, zc); err != nil {
		return res, err
	}
	unsign, err := t.setKeys(z, zc, before, &res)
	if err != nil {
		return res, err
	}
	touchesRecords := zc.Replace || len(zc.Ops) > 0 || zc.NewZI || zc.Serial != SerialAuto || zc.SetKeys != nil && z.DNSSEC || zc.SignAll || zc.Resign && z.DNSSEC || unsign
	if z.Deleted && touchesRecords {
		return res, fmt.Errorf("%w: %s (run dms zone undelete %s first)", ErrZoneDeleted, z.Name, z.Name)
	}
	if touchesRecords {
		if err := t.commitRecords(z, zc, unsign, &res); err != nil {
			return res, err
		}
	}
	if zc.SetComments {
		// Comments are written whether or not the records changed, so an
		// edit of comments alone is saved. It makes no new instance: an
		// instance is a version of the DNS data, with a serial that
		// secondaries follow, and a comment is not DNS data; a new serial
		// would have every secondary transfer a zone that did not change.
		// The event log records the change instead (writeEvents).
		if res.CommentsChanged, err = t.setComments(z, zc.Comments); err != nil {
			return res, err
		}
	}
	if err := t.saveZone(z, zkey, before, oldRefID, &res); err != nil {
		return res, err
	}
	return res, t.runReverser(zc.reverser, z, &res)
}

// openZone finds the zone a change is about, or makes the new one.
func (t *Txn) openZone(zc *ZoneChange) (*Zone, []byte, ZoneCommit, error) {
	name, err := CanonicalZoneName(zc.Zone)
	if err != nil {
		return nil, nil, ZoneCommit{}, err
	}
	view := zc.View
	if view == "" {
		view = t.view
	}
	vd, err := getView(t.tx, view)
	if err != nil {
		return nil, nil, ZoneCommit{}, err
	}
	zkey, _ := zoneKeyIn(vd.ID, name)
	idx := t.tx.Bucket(bucketZoneNames).Get(zkey)
	res := ZoneCommit{Zone: name, View: viewName(vd)}
	zc.View = vd.Name
	var z *Zone
	switch {
	case zc.Create != nil:
		if idx != nil {
			old, _ := getZone(t.tx, u64(idx[:8]), false)
			if old != nil && old.Deleted {
				return nil, nil, res, fmt.Errorf("%w: %s (deleted; undelete it, or destroy it first)", ErrZoneExists, name)
			}
			return nil, nil, res, fmt.Errorf("%w: %s", ErrZoneExists, name)
		}
		z = new(Zone)
		*z = *zc.Create
		z.Name = name
		z.View, z.ViewID = vd.Name, vd.ID
		if z.ID, err = t.nextZoneID(); err != nil {
			return nil, nil, res, err
		}
		z.CTime, z.MTime, z.ZI, z.Serial = t.now, t.now, 0, 0
		if err := checkZoneSGs(t.tx, z); err != nil {
			return nil, nil, res, err
		}
		if err := checkZoneSectags(t.tx, z); err != nil {
			return nil, nil, res, err
		}
		res.Created = true
	case idx == nil:
		return nil, nil, res, fmt.Errorf("%w: %s", ErrZoneNotFound, name)
	default:
		if z, err = getZone(t.tx, u64(idx[:8]), false); err != nil {
			return nil, nil, res, err
		}
	}
	res.ID, res.OldSerial = z.ID, z.Serial
	if z.CatalogOf != "" && !zc.catalog {
		return nil, nil, res, fmt.Errorf("%w: %s is the catalog zone of server group %s; dms keeps it and it cannot be edited (dms sg set %s --catalog-zone renames it)",
			ErrBadInput, name, z.CatalogOf, z.CatalogOf)
	}
	return z, zkey, res, nil
}

// checkExpected refuses an edit of an instance that is no longer the
// zone's current one (optimistic locking).
func (t *Txn) checkExpected(z *Zone, zc *ZoneChange) error {
	if zc.ExpectZI == 0 || z.ZI == zc.ExpectZI {
		return nil
	}
	se := &StaleError{Zone: z.Name, Expected: zc.ExpectZI}
	if cur, err := t.View().ZI(z, z.ZI); err == nil {
		se.Current = cur
	}
	return se
}

// setMeta sets the zone's reference and applies the change's metadata
// update, checked, and the apex NS of its server group.
func (t *Txn) setMeta(z *Zone, zc *ZoneChange) error {
	if zc.Create != nil || zc.SetRef {
		z.RefID = 0
		if zc.Ref != "" {
			var err error
			if z.RefID, err = t.ensureRef(zc.Ref); err != nil {
				return err
			}
		}
	}
	if zc.Update != nil {
		if err := zc.Update(z); err != nil {
			return err
		}
		if err := checkZoneSGs(t.tx, z); err != nil {
			return err
		}
		if err := checkZoneSectags(t.tx, z); err != nil {
			return err
		}
	}
	return apexNSFromSG(t.tx, z, zc)
}

// setKeys writes the change's DNSSEC keys, or takes a zone's keys away
// when its update turned DNSSEC off (unsign).
func (t *Txn) setKeys(z *Zone, zc *ZoneChange, before *Zone, res *ZoneCommit) (unsign bool, err error) {
	if zc.SetKeys != nil {
		old, err := zoneKeys(t.tx, z.ID)
		if err != nil {
			return false, err
		}
		keys, err := t.setZoneKeys(z.ID, *zc.SetKeys)
		if err != nil {
			return false, err
		}
		res.keys = keyChanges(old, keys)
	}
	if before != nil && before.DNSSEC && !z.DNSSEC {
		if _, err := t.setZoneKeys(z.ID, nil); err != nil {
			return false, err
		}
		z.Params = nil
		return true, nil
	}
	return false, nil
}

// saveZone writes the zone's metadata with its reference link, and notes
// what changed in it for the event log and the catalogs.
func (t *Txn) saveZone(z *Zone, zkey []byte, before *Zone, oldRefID uint64, res *ZoneCommit) error {
	z.MTime = t.now
	res.Serial = z.Serial
	if z.RefID != oldRefID || res.Created {
		if oldRefID != 0 && !res.Created {
			if err := t.linkRef(oldRefID, z.ID, false); err != nil {
				return err
			}
		}
		if z.RefID != 0 {
			if err := t.linkRef(z.RefID, z.ID, true); err != nil {
				return err
			}
		}
	}
	if err := t.putZone(z, zkey); err != nil {
		return err
	}
	res.cat = membershipChanges(before, z)
	res.meta = metaChanges(t.tx, before, z)
	return nil
}

// checkZoneSGs checks that a zone's server groups exist.
func checkZoneSGs(tx *bolt.Tx, z *Zone) error {
	if z.AltSG != "" && strings.EqualFold(z.AltSG, z.SG) {
		return fmt.Errorf("%w: %s is already the zone's primary server group", ErrBadInput, z.AltSG)
	}
	for _, s := range []string{z.SG, z.AltSG} {
		if s == "" {
			continue
		}
		sg, err := getSG(tx, s)
		if err != nil {
			return fmt.Errorf("%w (see dms sg ls)", err)
		}
		if !strings.EqualFold(viewLabel(sg.View), viewLabel(z.View)) {
			return fmt.Errorf("%w: server group %s serves view %s, zone %s is in view %s", ErrBadInput, sg.Name, viewLabel(sg.View), z.Name, viewLabel(z.View))
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
