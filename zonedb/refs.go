package zonedb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Reference is a customer or organisation id that zones and records belong
// to. Matching is case-insensitive; the name keeps its case for display.
type Reference struct {
	ID    uint64    `json:"id"`
	Name  string    `json:"name"`
	CTime time.Time `json:"ctime"`
}

func getRef(tx *bolt.Tx, id uint64) (*Reference, error) {
	val := tx.Bucket(bucketRefs).Get(be64(id))
	if val == nil {
		return nil, fmt.Errorf("%w: id %d", ErrRefNotFound, id)
	}
	r := new(Reference)
	if err := json.Unmarshal(val, r); err != nil {
		return nil, err
	}
	return r, nil
}

func refNameKey(name string) []byte { return []byte(strings.ToLower(name)) }

func lookupRef(tx *bolt.Tx, name string) (*Reference, error) {
	val := tx.Bucket(bucketRefNames).Get(refNameKey(name))
	if val == nil {
		return nil, fmt.Errorf("%w: %s", ErrRefNotFound, name)
	}
	return getRef(tx, u64(val))
}

// Ref returns the reference called name (case-insensitive).
func (v *View) Ref(name string) (*Reference, error) { return lookupRef(v.tx, name) }

// Refs returns every reference in name order, with the number of zones
// using each.
func (v *View) Refs() ([]Reference, map[uint64]int, error) {
	var out []Reference
	c := v.tx.Bucket(bucketRefNames).Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		r, err := getRef(v.tx, u64(val))
		if err != nil {
			return nil, nil, err
		}
		out = append(out, *r)
	}
	counts := map[uint64]int{}
	c = v.tx.Bucket(bucketRefZones).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) == 16 {
			counts[u64(k[:8])]++
		}
	}
	return out, counts, nil
}

// RefZoneIDs returns the ids of the zones using reference id.
func (v *View) RefZoneIDs(id uint64) []uint64 {
	prefix := be64(id)
	var out []uint64
	c := v.tx.Bucket(bucketRefZones).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, u64(k[8:]))
	}
	return out
}

// ensureRef returns the id of reference name, creating it when absent.
func (t *Txn) ensureRef(name string) (uint64, error) {
	if r, err := lookupRef(t.tx, name); err == nil {
		return r.ID, nil
	}
	id, err := createRef(t.tx, name, t.now)
	if err == nil {
		t.log.add(LogOp{Op: logRef, Ref: id, RefName: name})
	}
	return id, err
}

// putRef writes reference id as another store created it (Replay).
func (t *Txn) putRef(id uint64, name string) error {
	b := t.tx.Bucket(bucketRefs)
	val, _ := json.Marshal(Reference{ID: id, Name: name, CTime: t.now.UTC()})
	if err := b.Put(be64(id), val); err != nil {
		return err
	}
	if err := raiseSequence(b, id); err != nil {
		return err
	}
	return t.tx.Bucket(bucketRefNames).Put(refNameKey(name), be64(id))
}

func createRef(tx *bolt.Tx, name string, now time.Time) (uint64, error) {
	if !ValidReference(name) {
		return 0, fmt.Errorf("%w: %q is not a valid reference (letters, digits and -_.@, starting with a letter or digit)", ErrBadInput, name)
	}
	if tx.Bucket(bucketRefNames).Get(refNameKey(name)) != nil {
		return 0, fmt.Errorf("%w: %s", ErrRefExists, name)
	}
	b := tx.Bucket(bucketRefs)
	id, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	val, _ := json.Marshal(Reference{ID: id, Name: name, CTime: now.UTC()})
	if err := b.Put(be64(id), val); err != nil {
		return 0, err
	}
	return id, tx.Bucket(bucketRefNames).Put(refNameKey(name), be64(id))
}

// CreateRef adds a reference.
func (db *DB) CreateRef(name string) (*Reference, error) {
	var r *Reference
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		id, err := createRef(tx, name, db.now())
		if err != nil {
			return err
		}
		r, err = getRef(tx, id)
		return err
	})
	return r, err
}

// RenameRef renames a reference; zones keep pointing at it.
func (db *DB) RenameRef(old, name string) error {
	if !ValidReference(name) {
		return fmt.Errorf("%w: %q is not a valid reference", ErrBadInput, name)
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := lookupRef(tx, old)
		if err != nil {
			return err
		}
		names := tx.Bucket(bucketRefNames)
		if !strings.EqualFold(old, name) && names.Get(refNameKey(name)) != nil {
			return fmt.Errorf("%w: %s", ErrRefExists, name)
		}
		if err := names.Delete(refNameKey(old)); err != nil {
			return err
		}
		if err := names.Put(refNameKey(name), be64(r.ID)); err != nil {
			return err
		}
		r.Name = name
		val, _ := json.Marshal(r)
		return tx.Bucket(bucketRefs).Put(be64(r.ID), val)
	})
}

// DeleteRef deletes a reference no zone uses.
func (db *DB) DeleteRef(name string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		r, err := lookupRef(tx, name)
		if err != nil {
			return err
		}
		if n := len((&View{tx: tx}).RefZoneIDs(r.ID)); n > 0 {
			return fmt.Errorf("%w: %s is used by %d zone(s); move them with dms zone set-ref first", ErrRefInUse, r.Name, n)
		}
		if err := tx.Bucket(bucketRefNames).Delete(refNameKey(r.Name)); err != nil {
			return err
		}
		return tx.Bucket(bucketRefs).Delete(be64(r.ID))
	})
}

// SetConfig stores configuration values (validation is the caller's).
// An empty value removes the key, so its default applies.
func (db *DB) SetConfig(kv map[string]string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		for k, v := range kv {
			var err error
			if v == "" {
				err = b.Delete([]byte(k))
			} else {
				err = b.Put([]byte(k), []byte(v))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
