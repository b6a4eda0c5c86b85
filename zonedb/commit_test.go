package zonedb

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// openTest opens a fresh store and checks its invariants when the test
// ends: bbolt's own consistency check, every zone's current instance exists
// with the SOA's serial, and the index and metadata agree.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "dms.db"), Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db.SetClock(func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) })
	t.Cleanup(func() {
		checkInvariants(t, db)
		db.Close()
	})
	return db
}

func checkInvariants(t testing.TB, db *DB) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		v := &View{tx: tx}
		return v.Zones(func(z *Zone) bool {
			if z.ZI == 0 {
				t.Errorf("zone %s has no instance", z.Name)
				return true
			}
			zi, err := v.ZI(z, z.ZI)
			if err != nil {
				t.Errorf("zone %s: current instance: %v", z.Name, err)
				return true
			}
			soa, err := v.RRset(z, z.Name, dns.TypeSOA)
			if err != nil || len(soa) != 1 {
				t.Errorf("zone %s: SOA: %v %d", z.Name, err, len(soa))
				return true
			}
			if s := soa[0].RR.(*dns.SOA).Serial; s != zi.Serial || s != z.Serial {
				t.Errorf("zone %s: SOA serial %d, zi serial %d, zone serial %d", z.Name, s, zi.Serial, z.Serial)
			}
			return true
		})
	})
	if err != nil {
		t.Error(err)
	}
}

func recs(t testing.TB, lines ...string) []Record {
	t.Helper()
	var out []Record
	for i, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, Record{RR: rr, Pos: Pos{File: "t", Line: i + 1}})
	}
	return out
}

var baseZone = []string{
	"example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 600 600 604800 600",
	"example.org. 3600 IN NS ns1.example.net.",
	"example.org. 3600 IN NS ns2.example.net.",
	"www.example.org. 300 IN A 192.0.2.1",
	"www.example.org. 300 IN AAAA 2001:db8::1",
	"mail.example.org. 300 IN A 192.0.2.25",
}

func createZone(t testing.TB, db *DB, name string, lines []string) ZoneCommit {
	t.Helper()
	res, err := db.Commit(&ChangeSet{ChangeBy: "test@host/Admin", Zones: []ZoneChange{{
		Zone: name, Create: &Zone{}, Replace: true, Records: recs(t, lines...),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func zoneText(t testing.TB, db *DB, name string) []string {
	t.Helper()
	var out []string
	err := db.View(func(v *View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		rs, err := v.Records(z)
		for _, r := range rs {
			out = append(out, r.RR.String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCommitCreateAndRead(t *testing.T) {
	db := openTest(t)
	var events []Event
	db.Subscribe(func(e Event) { events = append(events, e) })
	res := createZone(t, db, "Example.ORG", baseZone)
	if !res.Created || res.Zone != "example.org." || res.Added != len(baseZone) {
		t.Errorf("result %+v", res)
	}
	if res.Serial != 2026112200 {
		t.Errorf("serial %d, want the date policy 2026112200", res.Serial)
	}
	got := zoneText(t, db, "example.org")
	if len(got) != len(baseZone) || !strings.Contains(got[2], "SOA") {
		t.Errorf("records:\n%s", strings.Join(got, "\n"))
	}
	if len(events) != 1 || events[0].Generation != 1 || db.Generation() != 1 {
		t.Errorf("events %+v generation %d", events, db.Generation())
	}
	err := db.View(func(v *View) error {
		id, served, ok := v.ZoneID("EXAMPLE.org.")
		if !ok || !served || id != res.ID {
			t.Errorf("ZoneID = %d %v %v", id, served, ok)
		}
		zis, err := v.ZIs(&Zone{ID: res.ID})
		if len(zis) != 1 || !zis[0].Base || zis[0].ChangeBy != "test@host/Admin" {
			t.Errorf("zis %+v", zis)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A second create of the same name fails and changes nothing.
	_, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org.", Create: &Zone{}, Replace: true, Records: recs(t, baseZone...)}}})
	if !errors.Is(err, ErrZoneExists) {
		t.Errorf("second create: %v", err)
	}
	if db.Generation() != 1 {
		t.Errorf("failed commit moved the generation")
	}
}

func TestCommitReplaceWritesOnlyChanges(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	next := slices.Clone(baseZone)
	next[3] = "www.example.org. 300 IN A 192.0.2.2"          // changed
	next = append(next, "ftp.example.org. 300 IN CNAME www") // added
	res, err := db.Commit(&ChangeSet{ChangeBy: "u@h/Admin", Zones: []ZoneChange{{Zone: "example.org", Replace: true, Records: recs(t, next...)}}})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	// SOA replaced, A replaced, CNAME added.
	if r.Added != 3 || r.Removed != 2 || r.Serial != 2026112201 {
		t.Errorf("result %+v", r)
	}
	err = db.View(func(v *View) error {
		z, _ := v.Zone("example.org")
		d, err := v.ZIDiff(z, r.ZI)
		if err != nil {
			return err
		}
		var rem, add []string
		for _, x := range d.Removed {
			rem = append(rem, x.RR.String())
		}
		for _, x := range d.Added {
			add = append(add, x.RR.String())
		}
		if len(rem) != 2 || !strings.Contains(rem[0], "SOA") || !strings.Contains(rem[0], " 2026112200 600") || !strings.Contains(rem[1], "192.0.2.1") {
			t.Errorf("removed %q", rem)
		}
		if len(add) != 3 || !strings.Contains(add[0], "2026112201") {
			t.Errorf("added %q", add)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same content again: nothing to commit, no new instance.
	res, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Replace: true, Records: recs(t, next...)}}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ZI != 0 {
		t.Errorf("unchanged replace made instance %d", res[0].ZI)
	}
}

func TestCommitOps(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	add := recs(t, "www.example.org. 600 IN A 192.0.2.9")
	res, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: add[0]}}}}})
	if err != nil {
		t.Fatal(err)
	}
	// TTL change of the RRset: both As replaced, plus SOA.
	if res[0].Added != 3 || res[0].Removed != 2 {
		t.Errorf("add: %+v", res[0])
	}
	got := zoneText(t, db, "example.org")
	if !slices.Contains(got, "www.example.org.\t600\tIN\tA\t192.0.2.1") || !slices.Contains(got, "www.example.org.\t600\tIN\tA\t192.0.2.9") {
		t.Errorf("after add:\n%s", strings.Join(got, "\n"))
	}
	// Deleting a record that does not exist fails, and the whole change set
	// with it.
	gen := db.Generation()
	del := recs(t, "www.example.org. 600 IN A 192.0.2.200")
	_, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{
		{Kind: OpDeleteRRset, Name: "mail.example.org.", Type: dns.TypeA},
		{Kind: OpDelete, Record: del[0]},
	}}}})
	if !errors.Is(err, ErrBadInput) {
		t.Errorf("delete missing: %v", err)
	}
	if db.Generation() != gen || !slices.Contains(zoneText(t, db, "example.org"), "mail.example.org.\t300\tIN\tA\t192.0.2.25") {
		t.Errorf("failed commit changed the store")
	}
	// CNAME beside other data is refused by the checks.
	cn := recs(t, "www.example.org. 600 IN CNAME mail")
	_, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: cn[0]}}}}})
	var ce *CheckError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "CNAME") {
		t.Errorf("cname beside data: %v", err)
	}
	// Deleting the RRset works.
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpDeleteRRset, Name: "WWW.example.org.", Type: dns.TypeAAAA}}}}}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(zoneText(t, db, "example.org"), func(s string) bool { return strings.Contains(s, "AAAA") }) {
		t.Errorf("AAAA still there")
	}
	// Records outside the zone are refused.
	out := recs(t, "www.example.net. 600 IN A 192.0.2.1")
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: out[0]}}}}}); !errors.Is(err, ErrBadInput) {
		t.Errorf("outside zone: %v", err)
	}
}

func TestCommitAtomicAcrossZones(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	netZone := strings.ReplaceAll(strings.Join(baseZone, "\n"), "example.org.", "example.net.")
	_, err := db.Commit(&ChangeSet{Zones: []ZoneChange{
		{Zone: "example.net.", Create: &Zone{}, Replace: true, Records: recs(t, strings.Split(netZone, "\n")...)},
		{Zone: "example.org.", Ops: []RecordOp{{Kind: OpDeleteRRset, Name: "nothere.example.org.", Type: dns.TypeA}}},
	}})
	if err == nil {
		t.Fatal("want an error")
	}
	err = db.View(func(v *View) error {
		if _, err := v.Zone("example.net"); !errors.Is(err, ErrZoneNotFound) {
			t.Errorf("example.net. exists after a failed change set: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCommitStale(t *testing.T) {
	db := openTest(t)
	c := createZone(t, db, "example.org.", baseZone)
	add := recs(t, "x.example.org. 600 IN A 192.0.2.9")
	if _, err := db.Commit(&ChangeSet{ChangeBy: "alice@h/Admin", Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: add[0]}}}}}); err != nil {
		t.Fatal(err)
	}
	_, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", ExpectZI: c.ZI, Replace: true, Records: recs(t, baseZone...)}}})
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "alice@h/Admin") {
		t.Errorf("stale: %v", err)
	}
}

func TestSerialModes(t *testing.T) {
	db := openTest(t)
	res, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Create: &Zone{}, Replace: true,
		Records: recs(t, baseZone...), Serial: SerialKeep}}})
	if err != nil || res[0].Serial != 1 {
		t.Fatalf("keep: %v %+v", err, res)
	}
	res, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", NewZI: true}}})
	if err != nil || res[0].Serial != 2026112200 {
		t.Fatalf("bump: %v %+v", err, res)
	}
	_, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Serial: SerialSet, SerialValue: 5}}})
	if !errors.Is(err, ErrSerial) {
		t.Errorf("set backwards: %v", err)
	}
	res, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Serial: SerialWrap}}})
	if err != nil || res[0].Serial != 2026112200+(1<<31-1) {
		t.Errorf("wrap: %v %+v", err, res)
	}
}

func TestDeleteDestroy(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Update: func(z *Zone) error { z.Deleted = true; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(v *View) error {
		if _, served, ok := v.ZoneID("example.org."); !ok || served {
			t.Errorf("deleted zone served=%v ok=%v", served, ok)
		}
		return nil
	})
	add := recs(t, "x.example.org. 600 IN A 192.0.2.9")
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: add[0]}}}}}); !errors.Is(err, ErrZoneDeleted) {
		t.Errorf("edit of deleted zone: %v", err)
	}
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Destroy: true}}}); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRR, bucketZI, bucketZIDiff, bucketZones, bucketZoneNames} {
			if n := tx.Bucket(b).Stats().KeyN; n != 0 {
				t.Errorf("bucket %s has %d keys after destroy", b, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeleteRecordWithHexRdata: a record whose text has hex or base64
// (DS, TLSA, SSHFP) is found for deletion whatever the case of its digits
// (dns.IsDuplicate compares those fields as text).
func TestDeleteRecordWithHexRdata(t *testing.T) {
	db := openTest(t)
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Create: &Zone{}, Replace: true, Records: recs(t, baseZone...)}}}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"sub.example.org. 3600 IN DS 1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		"_443._tcp.www.example.org. 3600 IN TLSA 3 1 1 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
		"www.example.org. 3600 IN SSHFP 4 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
	} {
		for _, kind := range []OpKind{OpAdd, OpDelete} {
			if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: kind, Record: recs(t, line)[0]}}}}}); err != nil {
				t.Fatalf("%v %s: %v", kind, line, err)
			}
		}
	}
}
