package zonedb

import (
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestVacuum(t *testing.T) {
	db := openTest(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { return now })
	soa := func(zone string) Record {
		rr, _ := dns.NewRR(zone + " 3600 IN SOA ns1.example.net. h.example.net. 1 600 600 604800 600")
		return Record{RR: rr}
	}
	ns := func(zone string) Record {
		rr, _ := dns.NewRR(zone + " 3600 IN NS ns1.example.net.")
		return Record{RR: rr}
	}
	for _, z := range []string{"keep.example.", "old.example.", "gone.example."} {
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: z, Create: &Zone{}, Replace: true, Records: []Record{soa(z), ns(z)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// keep.example: 10 instances a day apart.
	for i := range 9 {
		now = now.Add(24 * time.Hour)
		rr, _ := dns.NewRR("keep.example. 3600 IN TXT \"" + string(rune('a'+i)) + "\"")
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "keep.example.", Ops: []RecordOp{{Kind: OpAdd, Record: Record{RR: rr}}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// old.example deleted 5 days ago with 2 instances; gone.example 40.
	rr, _ := dns.NewRR("old.example. 3600 IN TXT x")
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "old.example.", Ops: []RecordOp{{Kind: OpAdd, Record: Record{RR: rr}}}}}}); err != nil {
		t.Fatal(err)
	}
	del := func(z string) {
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: z, Update: func(z *Zone) error { z.Deleted = true; return nil }}}}); err != nil {
			t.Fatal(err)
		}
	}
	del("gone.example.")
	now = now.Add(35 * 24 * time.Hour)
	del("old.example.")
	now = now.Add(5 * 24 * time.Hour)
	if err := db.AddEvent(LogEvent{Kind: EventNotify, Message: "recent"}); err != nil {
		t.Fatal(err)
	}

	o := VacuumOptions{ZIs: true, Zones: true, Events: true, ZIMaxAge: 42 * 24 * time.Hour, ZIMaxNum: 3,
		ZoneDelAge: 30 * 24 * time.Hour, ZoneDelPareAge: 2 * 24 * time.Hour, EventMaxAge: 20 * 24 * time.Hour, DryRun: true}
	zis := func(name string) []uint32 {
		var out []uint32
		_ = db.View(func(v *View) error {
			z, err := v.Zone(name)
			if err != nil {
				return nil
			}
			list, _ := v.ZIs(z)
			for _, zi := range list {
				out = append(out, zi.Serial%100)
			}
			return nil
		})
		return out
	}
	keepBefore := zis("keep.example.")
	// Each rule alone decides (dry runs): the age keeps keep.example's
	// instances younger than 45 days (4 older go), the count its newest 5
	// of instances all older than a day (5 go); zone_del_age 0 never
	// destroys.
	for _, c := range []struct {
		age  time.Duration
		num  int
		want int
	}{{45 * 24 * time.Hour, 3, 4}, {24 * time.Hour, 5, 5}} {
		r, err := db.Vacuum(VacuumOptions{ZIs: true, ZIMaxAge: c.age, ZIMaxNum: c.num, DryRun: true})
		if err != nil || r.ZIs != c.want {
			t.Errorf("zi_max_age %v, zi_max_num %d: %+v, %v; want %d", c.age, c.num, r, err, c.want)
		}
	}
	if r, err := db.Vacuum(VacuumOptions{Zones: true, DryRun: true}); err != nil || len(r.Destroyed) != 0 {
		t.Errorf("zone_del_age 0 destroyed %v (%v)", r, err)
	}
	dry, err := db.Vacuum(o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(zis("keep.example."), keepBefore) || zis("gone.example.") == nil {
		t.Error("a dry run changed the store")
	}
	o.DryRun = false
	res, err := db.Vacuum(o)
	if err != nil {
		t.Fatal(err)
	}
	if dry.ZIs != res.ZIs || dry.PareZIs != res.PareZIs || !slices.Equal(dry.Destroyed, res.Destroyed) || dry.Events != res.Events {
		t.Errorf("dry run %+v, vacuum %+v", dry, res)
	}
	// keep.example: instances 49 to 40 days old; the 7 older than 42 days
	// go (the newest 3 would stay in any case).
	if got := zis("keep.example."); len(got) != 3 || len(keepBefore) != 10 {
		t.Errorf("keep.example instances %v (before %v)", got, keepBefore)
	}
	// old.example: deleted 5 days ago, pared to its current instance.
	if got := zis("old.example."); len(got) != 1 {
		t.Errorf("old.example instances %v", got)
	}
	// gone.example: deleted 40 days ago, destroyed.
	if !slices.Equal(res.Destroyed, []string{"gone.example."}) || zis("gone.example.") != nil {
		t.Errorf("destroyed %v", res.Destroyed)
	}
	// Events: the 13 commits and gone.example's deletion, older than 20
	// days; old.example's deletion and the recent one stay.
	if res.ZIs != 7 || res.PareZIs != 1 || res.Events != 14 {
		t.Errorf("result %+v", res)
	}
	// The vacuum is in the event log, with what it destroyed.
	_ = db.View(func(v *View) error {
		ev, _ := v.Events(EventFilter{Kind: EventVacuum})
		if len(ev) != 1 || !slices.Equal(ev[0].Details, []string{"gone.example."}) {
			t.Errorf("vacuum events %+v", ev)
		}
		return nil
	})
}
