package zonedb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The door: every write of the zone buckets (rr, zone instances and their
// diffs, zones and their names, DNSSEC keys, comments, the reference
// links) is one of these Txn methods, and each notes what it wrote in the
// commit's logical record when the store keeps one (log.go). Nothing else
// in the package writes those buckets (TestOneDoor reads the source to
// hold it); readers go through View.

// zoneBuckets are the buckets of zone data.
var zoneBuckets = [][]byte{bucketRR, bucketZI, bucketZIDiff, bucketZones, bucketZoneNames, bucketDNSSECKeys, bucketComments, bucketRefZones}

// The store's other objects, by the names the log gives them, and their
// buckets. Each value is the object as stored (JSON; a config value as
// text; a reference name's entry the reference's id).
const (
	objSG      = "sg"
	objView    = "view"
	objServer  = "server"
	objTSIG    = "tsig"
	objConfig  = "config"
	objSectag  = "sectag"
	objAPIUser = "api-user"
	objRef     = "ref"
	objRefName = "ref-name"
)

var objectBuckets = map[string][]byte{objSG: bucketSGs, objServer: bucketServers, objTSIG: bucketTSIG, objConfig: bucketConfig,
	objSectag: bucketSectags, objView: bucketViews, objAPIUser: bucketAPIUsers, objRef: bucketRefs, objRefName: bucketRefNames}

// doorBuckets are every bucket only the door writes: all but the meta
// bucket's bookkeeping and the event log.
var doorBuckets = append(slices.Clone(zoneBuckets), bucketSGs, bucketServers, bucketTSIG, bucketConfig, bucketSectags, bucketAPIUsers, bucketRefs, bucketRefNames, bucketViews)

// putObject makes val the object kind/key (nil deletes it).
func (t *Txn) putObject(kind string, key, val []byte) error {
	b := t.tx.Bucket(objectBuckets[kind])
	if b == nil {
		return fmt.Errorf("%w: no object kind %q", ErrBadInput, kind)
	}
	if t.log != nil {
		t.log.add(LogOp{Op: logObject, Kind: kind, Key: slices.Clone(key), Value: slices.Clone(val)})
	}
	if val == nil {
		return b.Delete(key)
	}
	return b.Put(key, val)
}

// putObjectJSON stores v as the object kind/key.
func (t *Txn) putObjectJSON(kind string, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.putObject(kind, key, val)
}

// nextRefID gives a new reference its id.
func (t *Txn) nextRefID() (uint64, error) { return t.tx.Bucket(bucketRefs).NextSequence() }

// nextZoneID gives a new zone its id.
func (t *Txn) nextZoneID() (uint64, error) { return t.tx.Bucket(bucketZones).NextSequence() }

// nextViewID gives a new view its id.
func (t *Txn) nextViewID() (uint64, error) { return t.tx.Bucket(bucketViews).NextSequence() }

// nextZI gives a new zone instance its id.
func (t *Txn) nextZI() (uint64, error) { return t.tx.Bucket(bucketZI).NextSequence() }

// putRRset makes val the stored RRset under key (nil deletes it). owner
// and rrtype name it in the log; hashed says owner is an NSEC3 hash.
func (t *Txn) putRRset(z *Zone, key []byte, val []byte) error {
	if t.log != nil {
		if err := t.log.rrset(z, key, val); err != nil {
			return err
		}
	}
	if t.db.track != nil {
		t.db.track.touch(key)
	}
	if val == nil {
		return t.rrb.Delete(key)
	}
	return t.rrb.Put(key, val)
}

// packRRsets sets the rr bucket to fill its pages (keys written in
// order: a new zone, a zone signed whole) until the transaction ends.
func (t *Txn) packRRsets() { t.rrb.FillPercent = 0.9 }

// putZone writes a zone's metadata and its name's entry.
func (t *Txn) putZone(z *Zone, zkey []byte) error {
	if z.Deleted && z.DeletedAt == nil {
		tm := z.MTime
		z.DeletedAt = &tm
	}
	if !z.Deleted {
		z.DeletedAt = nil
	}
	// A zone of the default view is stored as before views.
	view := z.View
	if z.ViewID == 0 {
		z.View = ""
	}
	val, err := json.Marshal(z)
	z.View = view
	if err != nil {
		return err
	}
	t.log.add(LogOp{Op: logZone, Zone: z.ID, Meta: json.RawMessage(val)})
	if err := t.tx.Bucket(bucketZones).Put(be64(z.ID), val); err != nil {
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
	return t.tx.Bucket(bucketZoneNames).Put(zkey, append(be64(z.ID), state))
}

// putZI records a new zone instance and makes it the zone's current one.
func (t *Txn) putZI(z *Zone, zi ZI, res *ZoneCommit) error {
	val, _ := json.Marshal(zi)
	t.log.add(LogOp{Op: logInstance, Zone: z.ID, ZI: json.RawMessage(val)})
	if err := t.tx.Bucket(bucketZI).Put(ziKey(z.ID, zi.ID), val); err != nil {
		return err
	}
	z.ZI, z.Serial = zi.ID, zi.Serial
	res.ZI, res.Added, res.Removed = zi.ID, zi.Added, zi.Removed
	return nil
}

// diffWriter returns the writer of instance zi's diff.
func (t *Txn) diffWriter(zone, zi uint64) *diffWriter {
	dw := &diffWriter{put: func(seq uint32, val []byte) error {
		k := binary.BigEndian.AppendUint32(ziKey(zone, zi), seq)
		return t.tx.Bucket(bucketZIDiff).Put(k, val)
	}}
	if t.log != nil {
		dw.log = t.log.diff(zone, zi)
	}
	return dw
}

// dropZI removes one zone instance and its diff (vacuum).
func (t *Txn) dropZI(zone, zi uint64) error {
	t.log.add(LogOp{Op: logDropInstance, Zone: zone, ZIID: zi})
	if err := t.tx.Bucket(bucketZI).Delete(ziKey(zone, zi)); err != nil {
		return err
	}
	return deletePrefix(t.tx.Bucket(bucketZIDiff), ziKey(zone, zi))
}

// setZoneKeys makes keys the zone's key set (ids are given to new ones).
func (t *Txn) setZoneKeys(zone uint64, keys []DNSSECKey) ([]DNSSECKey, error) {
	b := t.tx.Bucket(bucketDNSSECKeys)
	if err := deletePrefix(b, dkeyPrefix(zone)); err != nil {
		return nil, err
	}
	out := slices.Clone(keys)
	for i := range out {
		if out[i].ID == 0 {
			id, err := b.NextSequence()
			if err != nil {
				return nil, err
			}
			out[i].ID = id
		}
		if err := putJSON(b, append(dkeyPrefix(zone), be64(out[i].ID)...), &out[i]); err != nil {
			return nil, err
		}
	}
	if t.log != nil {
		t.log.add(LogOp{Op: logKeys, Zone: zone, Keys: slices.Clone(out)})
	}
	return out, nil
}

// putComment makes val the comment stored under key (nil deletes it).
func (t *Txn) putComment(z *Zone, key, val []byte) error {
	if t.log != nil {
		if err := t.log.comment(z, key, val); err != nil {
			return err
		}
	}
	b := t.tx.Bucket(bucketComments)
	if val == nil {
		return b.Delete(key)
	}
	return b.Put(key, val)
}

// linkRef records (or, with link false, removes) zone's membership of
// reference ref.
func (t *Txn) linkRef(ref, zone uint64, link bool) error {
	op := logRefLink
	if !link {
		op = logRefUnlink
	}
	t.log.add(LogOp{Op: op, Zone: zone, Ref: ref})
	k := binary.BigEndian.AppendUint64(be64(ref), zone)
	if !link {
		return t.tx.Bucket(bucketRefZones).Delete(k)
	}
	return t.tx.Bucket(bucketRefZones).Put(k, nil)
}

// destroyZone removes a zone with its records, history, keys and
// comments.
func (t *Txn) destroyZone(z *Zone, zkey []byte) error {
	t.log.add(LogOp{Op: logDestroy, Zone: z.ID})
	if t.db.track != nil {
		t.db.track.touchAll()
	}
	p := be64(z.ID)
	for _, b := range [][]byte{bucketRR, bucketZI, bucketZIDiff, bucketDNSSECKeys, bucketComments} {
		if err := deletePrefix(t.tx.Bucket(b), p); err != nil {
			return err
		}
	}
	if z.RefID != 0 {
		if err := t.tx.Bucket(bucketRefZones).Delete(binary.BigEndian.AppendUint64(be64(z.RefID), z.ID)); err != nil {
			return err
		}
	}
	if err := t.tx.Bucket(bucketZones).Delete(p); err != nil {
		return err
	}
	return t.tx.Bucket(bucketZoneNames).Delete(zkey)
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// seen notes that a replayed id of bucket (a zone, an instance, a key)
// was given by the store that made it, as NextSequence would have here.
func (t *Txn) seen(bucket []byte, id uint64) error { return raiseSequence(t.tx.Bucket(bucket), id) }

// raiseSequence makes b's sequence at least id, as NextSequence left it
// on the store that gave id.
func raiseSequence(b *bolt.Bucket, id uint64) error {
	if b.Sequence() < id {
		return b.SetSequence(id)
	}
	return nil
}
