package xfr

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestIXFRAndVacuum: a serial whose history was vacuumed gets the whole
// zone; an IXFR already streaming when vacuum runs finishes with what it
// started from.
func TestIXFRAndVacuum(t *testing.T) {
	db, s := setup(t)
	s0 := serialOf(t, db)
	s1 := commitOps(t, db, add(t, "a.example.org. 3600 IN A 192.0.2.1"))
	commitOps(t, db, add(t, "b.example.org. 3600 IN A 192.0.2.2"))
	commitOps(t, db, add(t, "c.example.org. 3600 IN A 192.0.2.3"))
	s.MaxMessage = 100 // a few records per message
	total := 0
	db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("example.org")
		zis, _ := v.ZIs(z)
		total = len(zis)
		return nil
	})

	before := strs(run(t, s, ixfr("example.org.", s1), secondary, true, nil).records())
	// Vacuum while the IXFR from s1 streams: after its first message.
	r := new(result)
	sent := 0
	var vres *zonedb.VacuumResult
	s.Observe = func(tr Transfer) { r.t = tr }
	s.Serve(ixfr("example.org.", s1), secondary, true, nil, func(b []byte) error {
		if sent++; sent == 1 {
			done := make(chan error, 1)
			go func() {
				var err error
				vres, err = db.Vacuum(zonedb.VacuumOptions{ZIs: true, ZIMaxNum: 1})
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("vacuum blocked by a streaming IXFR")
			}
		}
		return appendMsg(t, r, b)
	})
	if got := strs(r.records()); strings.Join(got, "\n") != strings.Join(before, "\n") || sent < 2 {
		t.Errorf("IXFR during vacuum (%d messages):\n%s\nwant\n%s", sent, strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	left := 0
	db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("example.org")
		zis, _ := v.ZIs(z)
		left = len(zis)
		return nil
	})
	if vres == nil || vres.ZIs < total-1 || left != 1 { // all but the current (the SG's catalog zone has its own)
		t.Fatalf("vacuum removed %+v of %d instances, %d left", vres, total, left)
	}
	// Now s0 and s1 are gone from the journal: the whole zone.
	for _, serial := range []uint32{s0, s1} {
		r := run(t, s, ixfr("example.org.", serial), secondary, true, nil)
		if r.t.Type != "IXFR-AXFR" {
			t.Errorf("IXFR from vacuumed serial %d: %s", serial, r.t.Type)
		}
	}
}

func appendMsg(t *testing.T, r *result, b []byte) error {
	t.Helper()
	u := new(dns.Msg)
	if err := u.Unpack(b); err != nil {
		t.Fatal(err)
	}
	r.msgs = append(r.msgs, u)
	return nil
}
