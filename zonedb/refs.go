package zonedb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
	id, err := t.createRef(name)
	if err == nil {
		t.Event(LogEvent{Kind: EventRef, Message: "reference " + name + " created (for a zone)"})
	}
	return id, err
}

func (t *Txn) createRef(name string) (uint64, error) {
	if !ValidReference(name) {
		return 0, fmt.Errorf("%w: %q is not a valid reference (letters, digits and -_.@, starting with a letter or digit)", ErrBadInput, name)
	}
	if t.tx.Bucket(bucketRefNames).Get(refNameKey(name)) != nil {
		return 0, fmt.Errorf("%w: %s", ErrRefExists, name)
	}
	id, err := t.nextRefID()
	if err != nil {
		return 0, err
	}
	if err := t.putObjectJSON(objRef, be64(id), Reference{ID: id, Name: name, CTime: t.now.UTC()}); err != nil {
		return 0, err
	}
	return id, t.putObject(objRefName, refNameKey(name), be64(id))
}

// CreateRef adds a reference.
func (t *Txn) CreateRef(name string) (*Reference, error) {
	id, err := t.createRef(name)
	if err != nil {
		return nil, err
	}
	t.Event(LogEvent{Kind: EventRef, Message: "reference " + name + " created"})
	return getRef(t.tx, id)
}

// CreateRef is Txn.CreateRef in a commit of its own.
func (db *DB) CreateRef(name string) (*Reference, error) {
	var r *Reference
	_, err := db.Change("", func(t *Txn) error {
		var err error
		r, err = t.CreateRef(name)
		return err
	})
	return r, err
}

// RenameRef is Txn.RenameRef in a commit of its own.
func (db *DB) RenameRef(old, name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.RenameRef(old, name) })
	return err
}

// RenameRef renames a reference; zones keep pointing at it.
func (t *Txn) RenameRef(old, name string) error {
	if !ValidReference(name) {
		return fmt.Errorf("%w: %q is not a valid reference", ErrBadInput, name)
	}
	tx := t.tx
	r, err := lookupRef(tx, old)
	if err != nil {
		return err
	}
	names := tx.Bucket(bucketRefNames)
	if !strings.EqualFold(old, name) && names.Get(refNameKey(name)) != nil {
		return fmt.Errorf("%w: %s", ErrRefExists, name)
	}
	if err := t.putObject(objRefName, refNameKey(old), nil); err != nil {
		return err
	}
	if err := t.putObject(objRefName, refNameKey(name), be64(r.ID)); err != nil {
		return err
	}
	t.Event(LogEvent{Kind: EventRef, Message: fmt.Sprintf("reference %s renamed %s", r.Name, name)})
	r.Name = name
	return t.putObjectJSON(objRef, be64(r.ID), r)
}

// DeleteRef is Txn.DeleteRef in a commit of its own.
func (db *DB) DeleteRef(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteRef(name) })
	return err
}

// DeleteRef deletes a reference no zone uses.
func (t *Txn) DeleteRef(name string) error {
	tx := t.tx
	r, err := lookupRef(tx, name)
	if err != nil {
		return err
	}
	if n := len((&View{tx: tx}).RefZoneIDs(r.ID)); n > 0 {
		return fmt.Errorf("%w: %s is used by %d zone(s); move them with dms zone set-ref first", ErrRefInUse, r.Name, n)
	}
	if err := t.putObject(objRefName, refNameKey(r.Name), nil); err != nil {
		return err
	}
	t.Event(LogEvent{Kind: EventRef, Message: "reference " + r.Name + " deleted"})
	return t.putObject(objRef, be64(r.ID), nil)
}

// SetConfig stores configuration values (validation is the caller's).
// An empty value removes the key, so its default applies.
func (t *Txn) SetConfig(kv map[string]string) error {
	b := t.tx.Bucket(bucketConfig)
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		v := kv[k]
		if string(b.Get([]byte(k))) == v {
			continue
		}
		var err error
		if v == "" {
			err = t.putObject(objConfig, []byte(k), nil)
			t.Event(LogEvent{Kind: EventConfig, Message: "config " + k + " back to its default"})
		} else {
			err = t.putObject(objConfig, []byte(k), []byte(v))
			t.Event(LogEvent{Kind: EventConfig, Message: fmt.Sprintf("config %s = %s", k, v)})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// SetConfig is Txn.SetConfig in a commit of its own.
func (db *DB) SetConfig(kv map[string]string) error {
	_, err := db.Change("", func(t *Txn) error { return t.SetConfig(kv) })
	return err
}
