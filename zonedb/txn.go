package zonedb

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Txn is the commit transaction: the one door through which zone data
// (records, instances and their diffs, metadata, DNSSEC keys, comments)
// is written. It is opened on a bbolt write transaction by DB.Change and
// offers the changes as methods; each checks what it may be combined with
// and runs the checks that decide whether it is allowed inside the same
// transaction, so a check and the write it allows see the same data
// (bbolt has one writer at a time). When fn returns, the catalog zones
// follow their members, and every change is logged in the event log in
// one place (writeEvents) with who made it. Knot's zone_update_t is the
// model of the idea.
//
// The zone buckets are written only by the Txn's methods in door.go
// (TestOneDoor holds it), so the Txn can keep the logical record of a
// commit (Log) that another store replays byte for byte.
type Txn struct {
	tx  *bolt.Tx
	db  *DB
	by  string
	now time.Time
	rrb *bolt.Bucket

	results []ZoneCommit
	cat     []catalogChange
	events  []LogEvent
	// log is the commit's logical record (nil unless the store keeps one:
	// DB.KeepLog).
	log *CommitLog
	// view is the view of zones a change names without one (UseView),
	// viewID its id.
	view   string
	viewID uint16
}

// UseView makes view the view of the zones this transaction's changes
// name without one (ZoneChange.View empty; "" is the default view), and
// of the zones its View finds by name.
func (t *Txn) UseView(view string) error {
	vd, err := getView(t.tx, view)
	if err != nil {
		return err
	}
	t.view, t.viewID = vd.Name, vd.ID
	return nil
}

// Change runs fn in one write transaction as changeBy (user@host/sectag):
// everything fn does lands, with its events, or nothing does (fn's error
// is returned). Once it is durable, the zones it committed are published.
//
// With a replicator (SetReplicator) the commit is also the next entry of
// the shared log, appended before the transaction commits; if another
// node took that entry, the store catches up and fn runs again on the new
// state (fn must not keep anything from a run that failed).
func (db *DB) Change(changeBy string, fn func(t *Txn) error) ([]ZoneCommit, error) {
	run := func() ([]ZoneCommit, error) {
		var log *CommitLog
		res, gen, err := db.updateGen(func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error) {
			t := &Txn{tx: tx, db: db, by: changeBy, now: now, rrb: tx.Bucket(bucketRR)}
			if db.keepLog || db.repl != nil {
				t.log = &CommitLog{By: changeBy, Time: now}
			}
			if err := fn(t); err != nil {
				return nil, err
			}
			if err := t.finish(); err != nil {
				return nil, err
			}
			if db.repl != nil && len(t.log.Ops) > 0 {
				if err := db.appendToLog(tx, t.log); err != nil {
					return nil, err
				}
			} else if db.repl == nil && u64(tx.Bucket(bucketMeta).Get(keyApplied)) > 0 {
				return nil, fmt.Errorf("%w (start its dms serve --etcd ..., and commit through it)", ErrClusterStore)
			}
			log = t.log
			return t.results, nil
		})
		if err == nil && log != nil && len(log.Ops) > 0 && db.onLog != nil {
			log.Generation = gen
			db.onLog(log)
		}
		return res, err
	}
	if db.repl != nil {
		return db.changeReplicated(run)
	}
	return run()
}

// View reads the transaction, this commit's writes included.
func (t *Txn) View() *View {
	v := &View{tx: t.tx}
	v.UseView(t.viewID)
	return v
}

// Now is the commit's time (the store's clock, whole seconds).
func (t *Txn) Now() time.Time { return t.now }

// ChangeBy is who commits.
func (t *Txn) ChangeBy() string { return t.by }

// Apply commits one zone change, checked for combinations that mean
// nothing, and the reverse-zone changes auto-PTR makes of it, each
// reverse zone with an instance of its own.
func (t *Txn) Apply(zc ZoneChange) (ZoneCommit, error) {
	if err := zc.validate(); err != nil {
		return ZoneCommit{}, err
	}
	zc.signer, zc.reverser = t.db.signer, t.db.reverser
	res, err := t.commitZone(&zc)
	if err != nil {
		return res, err
	}
	t.results = append(t.results, res)
	t.cat = append(t.cat, res.cat...)
	for j := range res.rev {
		rc := &res.rev[j]
		if err := rc.validate(); err != nil {
			return res, fmt.Errorf("auto-PTR in %s: %w", rc.Zone, err)
		}
		rc.signer = t.db.signer
		rr, err := t.commitZone(rc)
		if err != nil {
			return res, fmt.Errorf("auto-PTR in %s: %w", rc.Zone, err)
		}
		t.results = append(t.results, rr)
	}
	return res, nil
}

// CreateZone makes a new zone with meta's settings (ID, name, times,
// instance and serial are the store's), reference ref (created when it
// does not exist; "" for none) and content recs, whose SOA serial is kept
// with SerialKeep or follows the policy with SerialAuto.
func (t *Txn) CreateZone(name string, meta Zone, ref string, recs []Record, serial SerialMode, comment string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Create: &meta, Ref: ref, Replace: true, Records: recs, Serial: serial, Comment: comment})
}

// ReplaceContent makes recs the zone's whole content (a new zone text).
func (t *Txn) ReplaceContent(name string, recs []Record, comment string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Replace: true, Records: recs, Comment: comment})
}

// ApplyOps applies record operations in order.
func (t *Txn) ApplyOps(name string, ops []RecordOp, comment string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Ops: ops, Comment: comment})
}

// SetKeys makes keys the zone's DNSSEC keys; signAll re-signs every RRset
// and rebuilds the chain (an algorithm roll, a parameter change).
func (t *Txn) SetKeys(name string, keys []DNSSECKey, signAll bool, comment string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, SetKeys: &keys, SignAll: signAll, Comment: comment})
}

// Resign renews the zone's signatures that are due.
func (t *Txn) Resign(name, comment string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Resign: true, Comment: comment})
}

// SetMeta changes the zone's metadata through fn (server groups, state,
// flags, the edit lock); a zone whose server group names apex NS takes
// them.
func (t *Txn) SetMeta(name string, fn func(z *Zone) error) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Update: fn})
}

// Destroy removes the zone with its records and history for good.
func (t *Txn) Destroy(name string) (ZoneCommit, error) {
	return t.Apply(ZoneChange{Zone: name, Destroy: true})
}

// Event adds an event of a change that is not a zone's (a server group,
// a vacuum run) to the commit; its time and author are the commit's.
func (t *Txn) Event(e LogEvent) { t.events = append(t.events, e) }

// finish brings the catalog zones up to date with the membership changes
// of the commit and writes its events.
func (t *Txn) finish() error {
	if len(t.cat) > 0 {
		cat := t.cat
		t.cat = nil
		if err := t.applyCatalogChanges(cat); err != nil {
			return err
		}
	}
	return t.writeEvents()
}

// validate refuses combinations of a ZoneChange's fields that mean
// nothing. The legal ones:
//
//	Destroy                 alone
//	Create                  with Replace (the records); Ref, SetKeys (and
//	                        SignAll), Serial, SetComments, Update, Comment
//	Replace                 Records; SetComments; not with Ops
//	Ops                     not with Replace
//	SetKeys, SignAll        with any but Resign
//	Resign                  not with Replace, Ops, SetKeys or SignAll
//	SetRef                  Ref (empty clears)
//	Update, ExpectZI, NewZI, Serial, Comment: with any of the above
func (zc *ZoneChange) validate() error {
	bad := func(what string) error {
		return fmt.Errorf("%w: zone change of %s: %s", ErrBadInput, zc.Zone, what)
	}
	content := zc.Replace || len(zc.Ops) > 0
	switch {
	case zc.Destroy && (zc.Create != nil || content || zc.Update != nil || zc.SetKeys != nil || zc.Resign || zc.SetRef || zc.NewZI ||
		zc.Serial != SerialAuto || zc.SetComments || zc.ExpectZI != 0):
		return bad("destroy goes alone")
	case zc.Create != nil && !zc.Replace:
		return bad("a new zone needs its records (Replace)")
	case zc.Create != nil && (zc.SetRef || zc.ExpectZI != 0 || zc.Resign):
		return bad("a new zone has no instance to expect, re-sign or re-reference")
	case zc.Replace && len(zc.Ops) > 0:
		return bad("a whole new content and record operations do not combine")
	case len(zc.Records) > 0 && !zc.Replace:
		return bad("records are given with Replace (operations with Ops)")
	case zc.SetComments && !zc.Replace:
		return bad("comments are set with the whole zone text (Replace)")
	case len(zc.Comments) > 0 && !zc.SetComments:
		return bad("comments are given with SetComments")
	case zc.Resign && (content || zc.SetKeys != nil || zc.SignAll):
		return bad("a renewal of signatures goes without content or key changes")
	case zc.Ref != "" && zc.Create == nil && !zc.SetRef:
		return bad("a reference is given with Create or SetRef")
	case zc.SerialValue != 0 && zc.Serial != SerialSet:
		return bad("a serial value goes with SerialSet")
	}
	return nil
}

// DropHistory removes the zone's instance zi and every older one (never
// the current instance): zone_tool's delete_zi. A zone's history is kept
// as the changes between instances, so an instance in the middle cannot go
// alone: the older ones would be read through it.
func (t *Txn) DropHistory(name string, zi uint64) (int, error) {
	cn, err := CanonicalZoneName(name)
	if err != nil {
		return 0, err
	}
	v := t.View()
	z, err := v.Zone(cn)
	if err != nil {
		return 0, err
	}
	if zi == z.ZI {
		return 0, fmt.Errorf("%w: instance %d is the zone's current one", ErrBadInput, zi)
	}
	zis, err := v.ZIs(z)
	if err != nil {
		return 0, err
	}
	found, n := false, 0
	for _, x := range zis {
		found = found || x.ID == zi
	}
	if !found {
		return 0, fmt.Errorf("%w: %s has no zone instance %d", ErrZINotFound, z.Name, zi)
	}
	for _, x := range zis {
		if x.ID <= zi && x.ID != z.ZI {
			if err := t.dropZI(z.ID, x.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	t.Event(LogEvent{Kind: EventVacuum, Zone: z.Name, View: viewName(&ViewDef{Name: z.View, ID: z.ViewID}), Message: fmt.Sprintf("history dropped: instance %d and %d older", zi, n-1)})
	return n, nil
}
