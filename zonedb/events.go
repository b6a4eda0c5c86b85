package zonedb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The event log: what happened to zones and servers (commits with their
// auto-PTR results, NOTIFY failures, edit-lock timeouts, DNSSEC key
// changes), kept in the store, bounded by count here and by age through
// vacuum (config event_max_age).

// Event kinds.
const (
	EventCommit   = "commit"
	EventAutoPTR  = "auto-ptr"
	EventNotify   = "notify"
	EventEditLock = "edit-lock"
	EventDNSSEC   = "dnssec"
	EventVacuum   = "vacuum"
	EventUpdate   = "update"
	EventSG       = "sg"
	EventServer   = "server"
	EventTSIG     = "tsig"
	EventConfig   = "config"
	EventRef      = "ref"
	EventSectag   = "sectag"
	EventView     = "view"
	EventCheck    = "check"
	EventAPIUser  = "api-user"
)

// LogEvent is one entry of the event log.
type LogEvent struct {
	ID   uint64    `json:"id"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Zone string    `json:"zone,omitempty"`
	// View is the zone's view when not the default one.
	View   string `json:"view,omitempty"`
	Server string `json:"server,omitempty"`
	SG     string `json:"sg,omitempty"`
	By     string `json:"by,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	// Message says what happened in a line; Details are the rest (one line
	// each), e.g. every auto-PTR result of a commit.
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

// maxEvents bounds the log whatever its age: past it the oldest go (a
// variable for tests).
var maxEvents uint64 = 200000

func addEvent(tx *bolt.Tx, e LogEvent) error {
	b := tx.Bucket(bucketEvents)
	id, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.ID = id
	val, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := b.Put(be64(id), val); err != nil {
		return err
	}
	if id > maxEvents {
		// Keys are the ids: the oldest kept is at most a few back.
		c := b.Cursor()
		for k, _ := c.First(); k != nil && u64(k) <= id-maxEvents; k, _ = c.First() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}

// AddEvent records an event (its ID and, when zero, its time are set
// here).
func (db *DB) AddEvent(e LogEvent) error {
	if e.Time.IsZero() {
		e.Time = db.now().UTC()
	}
	return db.bolt.Update(func(tx *bolt.Tx) error { return addEvent(tx, e) })
}

// EventFilter selects events: newest first, at most Limit (0: all).
type EventFilter struct {
	Zone   string
	Failed bool
	Kind   string
	Limit  int
}

// Events returns the events that pass f, newest first.
func (v *View) Events(f EventFilter) ([]LogEvent, error) {
	zone := ""
	if f.Zone != "" {
		zone = strings.ToLower(strings.TrimSuffix(f.Zone, ".")) + "."
	}
	var out []LogEvent
	b := v.tx.Bucket(bucketEvents)
	if b == nil {
		return nil, nil // a store from before the event log, opened read-only
	}
	c := b.Cursor()
	for k, val := c.Last(); k != nil; k, val = c.Prev() {
		var e LogEvent
		if err := json.Unmarshal(val, &e); err != nil {
			return nil, fmt.Errorf("event %d: corrupt: %w", u64(k), err)
		}
		if zone != "" && e.Zone != zone || f.Failed && !e.Failed || f.Kind != "" && e.Kind != f.Kind {
			continue
		}
		out = append(out, e)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// Event returns one event.
func (v *View) Event(id uint64) (*LogEvent, error) {
	var e *LogEvent
	var ok bool
	var err error
	if b := v.tx.Bucket(bucketEvents); b != nil {
		e, ok, err = getJSON[LogEvent](b, be64(id), "event")
	}
	if err == nil && !ok {
		err = fmt.Errorf("%w: %d", ErrEventNotFound, id)
	}
	return e, err
}

// writeEvents logs a commit, in one place: the events its Txn noted (a
// server group's change, a vacuum run), then one event per zone that got
// a new instance, was created or destroyed, or whose settings, comments
// or auto-PTR changed, with a DNSSEC event before it when its keys
// changed. Every event names who committed.
func (t *Txn) writeEvents() error {
	for _, e := range t.events {
		e.Time, e.By = t.now, t.by
		if err := t.addEvent(e); err != nil {
			return err
		}
	}
	for _, r := range t.results {
		if r.keys != "" {
			if err := t.addEvent(LogEvent{Time: t.now, Kind: EventDNSSEC, Zone: r.Zone, View: r.View, By: t.by, Message: r.keys}); err != nil {
				return err
			}
		}
		if e, ok := commitEvent(r); ok {
			e.Time, e.By = t.now, t.by
			if err := t.addEvent(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// addEvent writes e, and notes it in the commit's record.
func (t *Txn) addEvent(e LogEvent) error {
	if t.log != nil {
		ev := e
		t.log.add(LogOp{Op: logEvent, Event: &ev})
	}
	return addEvent(t.tx, e)
}

// commitEvent is the event of one zone's commit, if it did anything.
func commitEvent(r ZoneCommit) (LogEvent, bool) {
	if r.ZI == 0 && !r.Created && !r.Destroyed && !r.CommentsChanged && len(r.Reverse) == 0 && len(r.meta) == 0 {
		return LogEvent{}, false
	}
	e := LogEvent{Kind: EventCommit, Zone: r.Zone, View: r.View}
	switch {
	case r.Destroyed:
		e.Message = "destroyed"
	case r.Created:
		e.Message = fmt.Sprintf("created: zi %d, serial %d, %d records", r.ZI, r.Serial, r.Added)
	case r.ZI != 0:
		e.Message = fmt.Sprintf("zi %d, serial %d -> %d (+%d -%d records)", r.ZI, r.OldSerial, r.Serial, r.Added, r.Removed)
	case len(r.meta) > 0:
		e.Message = "settings changed, no new instance: " + strings.Join(r.meta, "; ")
	case r.CommentsChanged:
		e.Message = "zone text comments changed, no new instance (comments are not DNS data)"
	default:
		e.Message = "saved, no new instance"
	}
	if r.ZI != 0 && len(r.meta) > 0 && !r.Created {
		e.Details = append(e.Details, "settings: "+strings.Join(r.meta, "; "))
	}
	for _, rr := range r.Reverse {
		if rr.Action == "refused" {
			e.Failed = true
		}
		line := rr.Action + ": " + rr.Reason
		if rr.Address != "" {
			line = fmt.Sprintf("auto-PTR %s %s %s -> %s", rr.Action, rr.Address, rr.PTR, rr.Name)
			if rr.Reason != "" {
				line += ": " + rr.Reason
			}
		}
		e.Details = append(e.Details, line)
	}
	return e, true
}

// metaIgnored are the zone fields a commit sets by itself (times, the
// instance and serial, signing state) or that are secret (the edit lock's
// token): not reported as settings changes.
var metaIgnored = map[string]bool{"mtime": true, "ctime": true, "zi": true, "serial": true, "sig_expiry": true, "stale_sigs": true,
	"rebuild_chain": true, "lock_token": true, "locked_at": true, "deleted_at": true, "ref_id": true, "id": true}

// metaChanges lists the settings a commit changed in a zone, "field old ->
// new" each (the reference by name).
func metaChanges(tx *bolt.Tx, before, after *Zone) []string {
	if before == nil || sameSettings(before, after) {
		return nil
	}
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	out := jsonChanges(b, a, metaIgnored)
	if before.RefID != after.RefID {
		name := func(id uint64) string {
			if r, err := getRef(tx, id); err == nil && id != 0 {
				return r.Name
			}
			return "none"
		}
		out = append(out, fmt.Sprintf("reference %s -> %s", name(before.RefID), name(after.RefID)))
	}
	return out
}

// sameSettings reports whether two states of a zone differ only in what
// metaIgnored leaves out: most commits change records, not settings, and
// are told apart here without encoding anything.
func sameSettings(a, b *Zone) bool {
	settings := func(z Zone) Zone {
		z.MTime, z.CTime, z.ZI, z.Serial, z.SigExpiry, z.StaleSigs = time.Time{}, time.Time{}, 0, 0, time.Time{}, 0
		z.RebuildChain, z.LockToken, z.LockedAt, z.DeletedAt, z.ID = false, "", nil, nil, 0
		return z
	}
	return reflect.DeepEqual(settings(*a), settings(*b))
}

// jsonChanges compares two JSON objects field by field: "field old -> new"
// for each that differs (sorted; absent is "none"), ignoring skip.
func jsonChanges(old, cur []byte, skip map[string]bool) []string {
	var o, n map[string]json.RawMessage
	if json.Unmarshal(old, &o) != nil || json.Unmarshal(cur, &n) != nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	show := func(v json.RawMessage) string {
		if v == nil {
			return "none"
		}
		var str string
		if json.Unmarshal(v, &str) == nil {
			return str
		}
		var list []string
		if json.Unmarshal(v, &list) == nil {
			return "[" + strings.Join(list, " ") + "]"
		}
		return string(v)
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if skip[k] || bytes.Equal(o[k], n[k]) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s -> %s", k, show(o[k]), show(n[k])))
	}
	return out
}

// VacuumEvents deletes events older than before; with dryRun it only
// counts them.
func (db *DB) VacuumEvents(before time.Time, dryRun bool) (int, error) {
	n := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = vacuumEvents(tx, before, dryRun)
		return err
	})
	return n, err
}

// keyChanges describes how a zone's DNSSEC keys changed ("" when not).
func keyChanges(old, cur []DNSSECKey) string {
	state := func(ks []DNSSECKey) map[uint64]DNSSECKey {
		m := map[uint64]DNSSECKey{}
		for _, k := range ks {
			m[k.ID] = k
		}
		return m
	}
	before, after := state(old), state(cur)
	var parts []string
	for _, k := range cur {
		switch o, ok := before[k.ID]; {
		case !ok:
			parts = append(parts, fmt.Sprintf("key %d (%s, algorithm %d) added as %s", k.Tag, k.Role, k.Algorithm, k.State))
		case o.State != k.State:
			parts = append(parts, fmt.Sprintf("key %d (%s) %s -> %s", k.Tag, k.Role, o.State, k.State))
		}
	}
	for _, k := range old {
		if _, ok := after[k.ID]; !ok {
			parts = append(parts, fmt.Sprintf("key %d (%s) removed", k.Tag, k.Role))
		}
	}
	return strings.Join(parts, "; ")
}
