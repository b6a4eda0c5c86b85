package zonedb

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Vacuum ages the store's history (the reference system's vacuum_*
// commands): old zone instances, deleted zones, the event log. Readers
// are never disturbed: an IXFR or AXFR streaming from an older read
// transaction keeps seeing what it started with (bbolt MVCC); a client
// asking later for a serial whose history went gets a whole zone.

// VacuumOptions say what to age and how far.
type VacuumOptions struct {
	ZIs, Zones, Events bool
	// ZIMaxAge and ZIMaxNum: instances older than ZIMaxAge go, except the
	// newest ZIMaxNum of each zone and its current one.
	ZIMaxAge time.Duration
	ZIMaxNum int
	// ZoneDelAge: deleted zones are destroyed that long after deletion (0:
	// never). ZoneDelPareAge: that long after deletion their history is
	// pared to the current instance (0: never).
	ZoneDelAge, ZoneDelPareAge time.Duration
	// EventMaxAge: older events go.
	EventMaxAge time.Duration
	DryRun      bool
	// ChangeBy is who runs it (the event log names them).
	ChangeBy string
}

// VacuumResult counts what went (or would go, on a dry run).
type VacuumResult struct {
	ZIs       int      `json:"zis"`
	PareZIs   int      `json:"pared_zis"`
	Destroyed []string `json:"destroyed_zones,omitempty"`
	Events    int      `json:"events"`
}

// Vacuum ages the store in one write transaction.
func (db *DB) Vacuum(o VacuumOptions) (*VacuumResult, error) {
	res := new(VacuumResult)
	now := db.now().UTC()
	work := func(t *Txn) error {
		var zones []*Zone
		if err := t.View().Zones(func(z *Zone) bool { zones = append(zones, z); return true }); err != nil {
			return err
		}
		for _, z := range zones {
			if o.Zones && z.Deleted && z.DeletedAt != nil && o.ZoneDelAge > 0 && now.Sub(*z.DeletedAt) > o.ZoneDelAge {
				res.Destroyed = append(res.Destroyed, z.Label())
				if !o.DryRun {
					if _, err := t.Apply(ZoneChange{Zone: z.Name, View: z.View, Destroy: true}); err != nil {
						return err
					}
				}
				continue
			}
			pare := o.Zones && z.Deleted && z.DeletedAt != nil && o.ZoneDelPareAge > 0 && now.Sub(*z.DeletedAt) > o.ZoneDelPareAge
			if !pare && !o.ZIs {
				continue
			}
			zis, err := t.View().ZIs(z)
			if err != nil {
				return err
			}
			for i, zi := range zis {
				if zi.ID == z.ZI {
					continue // the published instance stays
				}
				var gone bool
				switch {
				case pare:
					gone = true
					res.PareZIs++
				case o.ZIs && i < len(zis)-o.ZIMaxNum && now.Sub(zi.CTime) > o.ZIMaxAge:
					gone = true
					res.ZIs++
				}
				if gone && !o.DryRun {
					if err := t.dropZI(z.ID, zi.ID); err != nil {
						return err
					}
				}
			}
		}
		if o.Events {
			n, err := vacuumEvents(t.tx, now.Add(-o.EventMaxAge), o.DryRun)
			if err != nil {
				return err
			}
			res.Events = n
		}
		if !o.DryRun {
			msg := fmt.Sprintf("vacuum: %d zone instance(s), %d of deleted zones, %d zone(s) destroyed, %d event(s)", res.ZIs, res.PareZIs, len(res.Destroyed), res.Events)
			t.Event(LogEvent{Kind: EventVacuum, Message: msg, Details: res.Destroyed})
		}
		return nil
	}
	var err error
	if o.DryRun {
		// A dry run writes nothing: work only reads through the Txn.
		err = db.bolt.View(func(tx *bolt.Tx) error { return work(&Txn{tx: tx, db: db, now: now}) })
	} else {
		_, err = db.Change(o.ChangeBy, work)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// vacuumEvents deletes (or counts) the events older than before.
func vacuumEvents(tx *bolt.Tx, before time.Time, dryRun bool) (int, error) {
	b := tx.Bucket(bucketEvents)
	if b == nil {
		return 0, nil
	}
	n := 0
	c := b.Cursor()
	for k, val := c.First(); k != nil; {
		var e LogEvent
		if json.Unmarshal(val, &e) == nil && !e.Time.Before(before) {
			break // ids grow with time
		}
		n++
		if dryRun {
			k, val = c.Next()
			continue
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		k, val = c.First() // the oldest left (Next after Delete may skip one)
	}
	return n, nil
}
