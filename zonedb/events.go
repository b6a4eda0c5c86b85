package zonedb

import (
	"encoding/json"
	"fmt"
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
)

// LogEvent is one entry of the event log.
type LogEvent struct {
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Zone   string    `json:"zone,omitempty"`
	Server string    `json:"server,omitempty"`
	By     string    `json:"by,omitempty"`
	Failed bool      `json:"failed,omitempty"`
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

// commitEvents logs a change set's zone commits: one event per zone that
// got a new instance, was created or destroyed, or whose auto-PTR did or
// refused something.
func commitEvents(tx *bolt.Tx, changeBy string, results []ZoneCommit, now time.Time) error {
	for _, r := range results {
		if r.ZI == 0 && !r.Created && !r.Destroyed && !r.CommentsChanged && len(r.Reverse) == 0 {
			continue
		}
		e := LogEvent{Time: now, Kind: EventCommit, Zone: r.Zone, By: changeBy}
		switch {
		case r.Destroyed:
			e.Message = "destroyed"
		case r.Created:
			e.Message = fmt.Sprintf("created: zi %d, serial %d, %d records", r.ZI, r.Serial, r.Added)
		case r.ZI != 0:
			e.Message = fmt.Sprintf("zi %d, serial %d -> %d (+%d -%d records)", r.ZI, r.OldSerial, r.Serial, r.Added, r.Removed)
		case r.CommentsChanged:
			e.Message = "zone text comments changed, no new instance (comments are not DNS data)"
		default:
			e.Message = "saved, no new instance"
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
		if err := addEvent(tx, e); err != nil {
			return err
		}
	}
	return nil
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
