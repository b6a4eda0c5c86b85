package zonedb

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A signed zone's commit: the signer called on what changed, and the
// signer's records taken away when DNSSEC goes.

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
