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
	work := func(tx *bolt.Tx) ([]ZoneCommit, error) {
		var commits []ZoneCommit
		var zones []*Zone
		if err := (&View{tx: tx}).Zones(func(z *Zone) bool { zones = append(zones, z); return true }); err != nil {
			return nil, err
		}
		for _, z := range zones {
			if o.Zones && z.Deleted && z.DeletedAt != nil && o.ZoneDelAge > 0 && now.Sub(*z.DeletedAt) > o.ZoneDelAge {
				res.Destroyed = append(res.Destroyed, z.Name)
				if !o.DryRun {
					zkey, err := ZoneKey(z.Name)
					if err != nil {
						return nil, err
					}
					if err := destroyZone(tx, z, zkey); err != nil {
						return nil, err
					}
					commits = append(commits, ZoneCommit{Zone: z.Name, ID: z.ID, Destroyed: true, Serial: z.Serial})
				}
				continue
			}
			pare := o.Zones && z.Deleted && z.DeletedAt != nil && o.ZoneDelPareAge > 0 && now.Sub(*z.DeletedAt) > o.ZoneDelPareAge
			if !pare && !o.ZIs {
				continue
			}
			zis, err := (&View{tx: tx}).ZIs(z)
			if err != nil {
				return nil, err
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
					if err := deleteZI(tx, z.ID, zi.ID); err != nil {
						return nil, err
					}
				}
			}
		}
		if o.Events {
			n, err := vacuumEvents(tx, now.Add(-o.EventMaxAge), o.DryRun)
			if err != nil {
				return nil, err
			}
			res.Events = n
		}
		if !o.DryRun {
			msg := fmt.Sprintf("vacuum: %d zone instance(s), %d of deleted zones, %d zone(s) destroyed, %d event(s)", res.ZIs, res.PareZIs, len(res.Destroyed), res.Events)
			if err := addEvent(tx, LogEvent{Time: now, Kind: EventVacuum, Message: msg, Details: res.Destroyed}); err != nil {
				return nil, err
			}
		}
		return commits, nil
	}
	var err error
	if o.DryRun {
		err = db.bolt.View(func(tx *bolt.Tx) error { _, err := work(tx); return err })
	} else {
		_, err = db.update(func(tx *bolt.Tx, _ time.Time) ([]ZoneCommit, error) { return work(tx) })
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// deleteZI removes one zone instance and its diff.
func deleteZI(tx *bolt.Tx, zone, zi uint64) error {
	if err := tx.Bucket(bucketZI).Delete(ziKey(zone, zi)); err != nil {
		return err
	}
	return deletePrefix(tx.Bucket(bucketZIDiff), ziKey(zone, zi))
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
