package zonedb

import (
	"errors"
	"math"
	"testing"
)

// TestHistory: the one walk of a zone's history goes forward and back
// between any two instances, stops when asked, and cannot cross an
// instance that started the zone anew.
func TestHistory(t *testing.T) {
	db := openTest(t)
	zc := createZone(t, db, "example.org.", baseZone)
	first := zc.ZI
	var ids []uint64
	for _, l := range []string{"a.example.org. 300 IN A 192.0.2.1", "b.example.org. 300 IN A 192.0.2.2", "c.example.org. 300 IN A 192.0.2.3"} {
		res, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org.", Ops: []RecordOp{{Kind: OpAdd, Record: recs(t, l)[0]}}}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res[0].ZI)
	}
	walk := func(after, upto uint64, back bool, stopAt uint64) ([]uint64, error) {
		var got []uint64
		err := db.View(func(v *View) error {
			z, err := v.Zone("example.org.")
			if err != nil {
				return err
			}
			return v.History(z, after, upto, back, func(zi ZI, d *Diff) (bool, error) {
				got = append(got, zi.ID)
				if len(d.Added) == 0 {
					t.Errorf("instance %d: no records added", zi.ID)
				}
				return zi.ID != stopAt, nil
			})
		})
		return got, err
	}
	for _, c := range []struct {
		name        string
		after, upto uint64
		back        bool
		stop        uint64
		want        []uint64
		gone        bool
	}{
		{"forward", first, math.MaxUint64, false, 0, ids, false},
		{"back", first, math.MaxUint64, true, 0, []uint64{ids[2], ids[1], ids[0]}, false},
		{"a window", ids[0], ids[1], false, 0, ids[1:2], false},
		{"stopped", first, math.MaxUint64, false, ids[1], ids[:2], false},
		{"across the creation", 0, math.MaxUint64, false, 0, nil, true},
	} {
		got, err := walk(c.after, c.upto, c.back, c.stop)
		if c.gone != errors.Is(err, ErrHistoryGone) || !c.gone && err != nil || len(got) != len(c.want) {
			t.Errorf("%s: %v %v, want %v (gone %v)", c.name, got, err, c.want, c.gone)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
	}
}
