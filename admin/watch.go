package admin

import (
	"sync"

	"dmsdns.org/dms/zonedb"
)

// WatchConfig runs fn with a view of the store now and again after every
// commit (a dms config set, a new secondary, a commit applied from the
// cluster's log), in the committing goroutine: the one way a running
// server follows its configuration (the answers' rate limiter, the API's
// request limits). fn must be quick; it compares what it reads with what
// it has and acts only on a change.
func WatchConfig(db *zonedb.DB, fn func(v *zonedb.View)) {
	var mu sync.Mutex // one run at a time, in commit order
	run := func() {
		mu.Lock()
		defer mu.Unlock()
		_ = db.View(func(v *zonedb.View) error { fn(v); return nil })
	}
	run()
	db.Subscribe(func(zonedb.Event) { run() })
}
