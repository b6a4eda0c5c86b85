package zonedb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The logical record of a commit: what the door (door.go) wrote, as DNS
// and zone data rather than bucket contents (owner names, types, TTLs and
// wire RDATA; zone metadata, instances, keys and comments as their JSON
// values; the instance's difference as the IXFR sees it), so that another
// store applies it with Replay and ends up with the same zone data byte
// for byte, and a later change of the store's layout does not change the
// record. A replicated commit log appends these.

// CommitLog is one commit's logical record.
type CommitLog struct {
	// Generation is the store's generation the commit made.
	Generation uint64    `json:"generation"`
	By         string    `json:"by"`
	Time       time.Time `json:"time"`
	Ops        []*LogOp  `json:"ops"`
}

// Logged operations.
const (
	logRRset        = "rrset"
	logZone         = "zone"
	logInstance     = "instance"
	logDiff         = "diff"
	logDropInstance = "drop-instance"
	logKeys         = "keys"
	logComment      = "comment"
	logObject       = "object"
	logRefLink      = "ref-link"
	logRefUnlink    = "ref-unlink"
	logDestroy      = "destroy"
	logEvent        = "event"
)

// LogOp is one write of a commit.
type LogOp struct {
	Op   string `json:"op"`
	Zone uint64 `json:"zone"`
	// ZoneName, Owner and Type name an RRset or a comment; Hashed says
	// Owner is an NSEC3 owner's hash (base32hex), which lives apart from
	// the names.
	ZoneName string `json:"zone_name,omitempty"`
	Owner    string `json:"owner,omitempty"`
	Hashed   bool   `json:"hashed,omitempty"`
	Type     uint16 `json:"type,omitempty"`
	// RRset is the RRset's new content (nil: deleted).
	RRset *LogRRset `json:"rrset,omitempty"`
	// Meta is the zone's metadata, ZI an instance, Comment a comment (nil:
	// deleted), all as stored JSON.
	Meta    json.RawMessage `json:"meta,omitempty"`
	ZI      json.RawMessage `json:"zi,omitempty"`
	Comment json.RawMessage `json:"comment,omitempty"`
	// ZIID is the instance of a diff or a dropped instance; Diff its
	// records, removed then added, each side SOA first.
	ZIID uint64      `json:"zi_id,omitempty"`
	Diff []LogDiffRR `json:"diff,omitempty"`
	Keys []DNSSECKey `json:"keys,omitempty"`
	// Ref is the reference a zone joins or leaves.
	Ref uint64 `json:"ref,omitempty"`
	// Kind, Key and Value: one of the store's other objects (a server
	// group, a server, a TSIG key, a config key, a sectag, an API login, a
	// reference and its name), as stored; no Value deletes it.
	Kind  string `json:"kind,omitempty"`
	Key   []byte `json:"key,omitempty"`
	Value []byte `json:"value,omitempty"`
	// Event is an event the commit logged.
	Event *LogEvent `json:"event,omitempty"`
}

// LogRRset is an RRset's content.
type LogRRset struct {
	TTL uint32  `json:"ttl"`
	RRs []LogRR `json:"rrs"`
}

// LogRR is one RR of an RRset: its dms flags, reference and wire RDATA.
type LogRR struct {
	Flags Flags  `json:"flags,omitempty"`
	Ref   string `json:"ref,omitempty"`
	RDATA []byte `json:"rdata"`
}

// LogDiffRR is one RR of an instance's difference.
type LogDiffRR struct {
	Added bool   `json:"added,omitempty"`
	Owner string `json:"owner"`
	Type  uint16 `json:"type"`
	TTL   uint32 `json:"ttl"`
	LogRR
}

// KeepLog makes every commit keep its logical record and hands it to fn
// once the commit is durable (ordered by Generation: fn may be called from
// several committing goroutines). Without it no record is kept, which
// costs nothing.
func (db *DB) KeepLog(fn func(*CommitLog)) {
	db.onLog = fn
	db.keepLog = fn != nil
}

// add notes op; a nil log notes nothing.
func (l *CommitLog) add(op LogOp) {
	if l != nil {
		l.Ops = append(l.Ops, &op)
	}
}

// rrset notes the write of the RRset under key.
func (l *CommitLog) rrset(z *Zone, key, val []byte) error {
	op := LogOp{Op: logRRset, Zone: z.ID, ZoneName: z.Name}
	if err := op.setOwner(z, key); err != nil {
		return err
	}
	if val != nil {
		it := newRRIter(val)
		op.RRset = &LogRRset{TTL: it.ttl}
		for it.next() {
			op.RRset.RRs = append(op.RRset.RRs, LogRR{Flags: it.flags, Ref: string(it.ref), RDATA: append([]byte(nil), it.rdata...)})
		}
		if it.err != nil {
			return fmt.Errorf("zone %s: %w", z.Name, it.err)
		}
	}
	l.add(op)
	return nil
}

// comment notes the write of the comment under key.
func (l *CommitLog) comment(z *Zone, key, val []byte) error {
	op := LogOp{Op: logComment, Zone: z.ID, ZoneName: z.Name, Comment: json.RawMessage(append([]byte(nil), val...))}
	if val == nil {
		op.Comment = nil
	}
	if err := op.setOwner(z, key); err != nil {
		return err
	}
	l.add(op)
	return nil
}

// diff returns the function that notes each RR of instance zi's
// difference (the op is added with the first).
func (l *CommitLog) diff(zone, zi uint64) func(LogDiffRR) {
	var op *LogOp
	return func(d LogDiffRR) {
		if op == nil {
			op = &LogOp{Op: logDiff, Zone: zone, ZIID: zi}
			l.Ops = append(l.Ops, op)
		}
		op.Diff = append(op.Diff, d)
	}
}

func (op *LogOp) setOwner(z *Zone, key []byte) error {
	_, nk, t, ok := SplitRRsetKey(key)
	if !ok {
		return fmt.Errorf("zone %s: corrupt rr key %x", z.Name, key)
	}
	op.Type = t
	if isNSEC3Key(nk) {
		op.Owner, op.Hashed = nsec3Label(nk), true
		return nil
	}
	name, err := DecodeNameKey(nk, z.Name)
	op.Owner = name
	return err
}

// key is the RRset (or comment) key op names.
func (op *LogOp) key() ([]byte, error) {
	if op.Hashed {
		hash, err := b32hex.DecodeString(strings.ToUpper(op.Owner))
		if err != nil {
			return nil, fmt.Errorf("%w: NSEC3 owner %q: %v", ErrBadInput, op.Owner, err)
		}
		return AppendNSEC3RRsetKey(nil, op.Zone, hash, op.Type), nil
	}
	return AppendRRsetKey(nil, op.Zone, op.Owner, op.ZoneName, op.Type)
}

// Replay applies a commit's logical record made by another store with the
// same history: every bucket but the meta bookkeeping and the event log
// ends up as that store's, byte for byte; the commit's events are added to
// this store's log. Subscribers are told of the zones it changed as of a
// commit.
func (db *DB) Replay(l *CommitLog) error {
	_, err := db.update(func(tx *bolt.Tx, now time.Time) ([]ZoneCommit, error) {
		return replayTx(db, tx, l)
	})
	return err
}

// replayTx applies l in tx and returns what it did to each zone.
func replayTx(db *DB, tx *bolt.Tx, l *CommitLog) ([]ZoneCommit, error) {
	t := &Txn{tx: tx, db: db, by: l.By, now: l.Time, rrb: tx.Bucket(bucketRR)}
	touched := map[uint64]bool{}
	for _, op := range l.Ops {
		if err := t.replay(op); err != nil {
			return nil, fmt.Errorf("replay of generation %d, %s of zone %d: %w", l.Generation, op.Op, op.Zone, err)
		}
		if op.Zone != 0 {
			touched[op.Zone] = true
		}
	}
	var res []ZoneCommit
	v := t.View()
	for id := range touched {
		if z, err := v.ZoneByID(id); err == nil {
			res = append(res, ZoneCommit{Zone: z.Name, ID: z.ID, ZI: z.ZI, Serial: z.Serial})
		} else {
			res = append(res, ZoneCommit{ID: id, Destroyed: true})
		}
	}
	return res, nil
}

// replay applies one op through the door.
func (t *Txn) replay(op *LogOp) error {
	switch op.Op {
	case logRRset, logComment:
		return t.replayRRset(op)
	case logZone:
		var z Zone
		if err := json.Unmarshal(op.Meta, &z); err != nil {
			return err
		}
		zkey, err := z.key()
		if err != nil {
			return err
		}
		if err := t.putZone(&z, zkey); err != nil {
			return err
		}
		return t.seen(bucketZones, z.ID)
	case logInstance:
		var zi ZI
		if err := json.Unmarshal(op.ZI, &zi); err != nil {
			return err
		}
		if err := t.putZI(&Zone{ID: op.Zone}, zi, &ZoneCommit{}); err != nil {
			return err
		}
		return t.seen(bucketZI, zi.ID)
	case logDiff:
		dw := t.diffWriter(op.Zone, op.ZIID)
		for _, d := range op.Diff {
			if err := dw.add(d.Added, d.Owner, d.Type, d.TTL, encRR{flags: d.Flags, ref: d.Ref, rdata: d.RDATA}); err != nil {
				return err
			}
		}
		return dw.flush()
	case logDropInstance:
		return t.dropZI(op.Zone, op.ZIID)
	case logKeys:
		return t.replayKeys(op)
	case logObject:
		if err := t.putObject(op.Kind, op.Key, op.Value); err != nil {
			return err
		}
		if op.Kind == objRef && len(op.Key) == 8 {
			return t.seen(bucketRefs, u64(op.Key))
		}
		if op.Kind == objView && op.Value != nil {
			var vd ViewDef
			if err := json.Unmarshal(op.Value, &vd); err != nil {
				return fmt.Errorf("%w: view %s: %v", ErrBadInput, op.Key, err)
			}
			return t.seen(bucketViews, uint64(vd.ID))
		}
		return nil
	case logRefLink, logRefUnlink:
		return t.linkRef(op.Ref, op.Zone, op.Op == logRefLink)
	case logEvent:
		if op.Event == nil {
			return fmt.Errorf("%w: an event op without its event", ErrBadInput)
		}
		return addEvent(t.tx, *op.Event)
	case logDestroy:
		z, err := getZone(t.tx, op.Zone, false)
		if err != nil {
			return err
		}
		zkey, err := z.key()
		if err != nil {
			return err
		}
		return t.destroyZone(z, zkey)
	}
	return fmt.Errorf("%w: unknown logged operation %q", ErrBadInput, op.Op)
}

// replayRRset writes a logged RRset or comment.
func (t *Txn) replayRRset(op *LogOp) error {
	key, err := op.key()
	if err != nil {
		return err
	}
	z := &Zone{ID: op.Zone, Name: op.ZoneName}
	if op.Op == logComment {
		var val []byte
		if op.Comment != nil {
			val = op.Comment
		}
		return t.putComment(z, key, val)
	}
	var val []byte
	if op.RRset != nil {
		ers := make([]encRR, len(op.RRset.RRs))
		for i, r := range op.RRset.RRs {
			ers[i] = encRR{flags: r.Flags, ref: r.Ref, rdata: r.RDATA}
		}
		val = appendEncoded(nil, op.RRset.TTL, ers)
	}
	return t.putRRset(z, key, val)
}

// replayKeys writes a logged key set with the ids it was given.
func (t *Txn) replayKeys(op *LogOp) error {
	keys, err := t.setZoneKeys(op.Zone, op.Keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.seen(bucketDNSSECKeys, k.ID); err != nil {
			return err
		}
	}
	return nil
}

// logDiffOf is the logged form of one diff RR.
func logDiffOf(added bool, name string, rrtype uint16, ttl uint32, e encRR) LogDiffRR {
	return LogDiffRR{Added: added, Owner: name, Type: rrtype, TTL: ttl,
		LogRR: LogRR{Flags: e.flags, Ref: e.ref, RDATA: append([]byte(nil), e.rdata...)}}
}
