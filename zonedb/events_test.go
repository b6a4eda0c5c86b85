package zonedb

import (
	"path/filepath"
	"testing"
	"time"
)

func TestEventLog(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "dms.db"), Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return now })
	defer func(n uint64) { maxEvents = n }(maxEvents)
	maxEvents = 5
	for i := range 8 {
		now = now.Add(24 * time.Hour)
		zone := "a.example."
		if i%2 == 1 {
			zone = "b.example."
		}
		if err := db.AddEvent(LogEvent{Kind: EventNotify, Zone: zone, Failed: i == 6, Message: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	var all, b, failed []LogEvent
	err = db.View(func(v *View) error {
		all, _ = v.Events(EventFilter{})
		b, _ = v.Events(EventFilter{Zone: "B.example", Limit: 1})
		failed, _ = v.Events(EventFilter{Failed: true})
		_, err := v.Event(1)
		if err == nil {
			t.Error("event 1 is past the bound and still there")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[0].ID != 8 || all[4].ID != 4 {
		t.Errorf("bounded log: %d events, newest %d, oldest %d", len(all), all[0].ID, all[len(all)-1].ID)
	}
	if len(b) != 1 || b[0].ID != 8 || len(failed) != 1 || failed[0].ID != 7 {
		t.Errorf("filters: %+v %+v", b, failed)
	}
	// Vacuum by age: events 4..6 are older than a day and a half.
	n, err := db.VacuumEvents(now.Add(-36*time.Hour), true)
	if err != nil || n != 3 {
		t.Errorf("dry run: %d, %v", n, err)
	}
	if n, err = db.VacuumEvents(now.Add(-36*time.Hour), false); err != nil || n != 3 {
		t.Errorf("vacuum: %d, %v", n, err)
	}
	_ = db.View(func(v *View) error {
		all, _ = v.Events(EventFilter{})
		return nil
	})
	if len(all) != 2 || all[1].ID != 7 {
		t.Errorf("after vacuum: %+v", all)
	}
}
