package zonedb

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Refused requests (unsigned UPDATEs, NOTIFYs, transfers from strangers)
// are what anyone on the internet can send, as fast as they like, from
// spoofed addresses over UDP. Each must cost nothing durable: they are
// counted in memory, by kind, zone, source and reason, and written to the
// event log in aggregate, one event per key and minute with its count, all
// of a minute in one transaction (one fsync a minute at most, whatever
// arrives).

// EventRefused is the kind of an aggregated refusal event.
const EventRefused = "refused"

// maxRefusalKeys bounds the keys counted in one interval; past it the
// rest are counted under the source "others".
const maxRefusalKeys = 1024

type refusalKey struct{ kind, zone, source, reason string }

type refusals struct {
	mu    sync.Mutex
	since time.Time
	n     map[refusalKey]int
}

// NoteRefusal counts one refused request of kind (UPDATE, NOTIFY, AXFR...)
// for zone from source, refused for reason. It reports whether it is the
// first of its key in the current interval (the caller logs only that
// one).
func (db *DB) NoteRefusal(kind, zone, source, reason string) (first bool) {
	r := &db.refused
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[refusalKey]int{}
		r.since = db.now().UTC()
	}
	k := refusalKey{kind, zone, source, reason}
	if _, ok := r.n[k]; !ok && len(r.n) >= maxRefusalKeys {
		k = refusalKey{kind, "", "others", "(more sources than the log counts apart)"}
	}
	r.n[k]++
	return r.n[k] == 1
}

// FlushRefusals writes the refusals counted since the last flush to the
// event log, one event per key, in one transaction.
func (db *DB) FlushRefusals() error {
	r := &db.refused
	r.mu.Lock()
	n, since := r.n, r.since
	r.n = nil
	r.mu.Unlock()
	if len(n) == 0 {
		return nil
	}
	now := db.now().UTC()
	keys := make([]refusalKey, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return n[keys[i]] > n[keys[j]] })
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, k := range keys {
			times := "once"
			if n[k] > 1 {
				times = fmt.Sprintf("%d times", n[k])
			}
			e := LogEvent{Time: now, Kind: EventRefused, Zone: k.zone, By: k.source, Failed: true,
				Message: fmt.Sprintf("%s refused %s from %s between %s and %s: %s", k.kind, times, k.source,
					since.Format("15:04:05"), now.Format("15:04:05"), k.reason)}
			if err := addEvent(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// FlushRefusalsEvery flushes the counted refusals every interval until ctx
// ends, and once more then.
func (db *DB) FlushRefusalsEvery(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return db.FlushRefusals()
		case <-t.C:
			if err := db.FlushRefusals(); err != nil {
				return err
			}
		}
	}
}
