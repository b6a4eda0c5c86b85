package zonedb_test

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// TestViewMatch: BIND's match-clients rules: in order, the first that
// fits decides, a negated one excludes; views in order, the first that
// matches wins; the default view last unless placed.
func TestViewMatch(t *testing.T) {
	db := openTemp(t)
	_, err := db.Change("test", func(t *zonedb.Txn) error {
		for _, v := range []struct {
			name  string
			match []string
			order int
		}{
			{"internal", []string{"!10.9.0.0/16", "10.0.0.0/8", "key:int-xfr", "::ffff:172.16.0.1"}, 10},
			{"keyed", []string{"!key:int-xfr", "key:other"}, 20},
			{"nobody", []string{"none"}, 5},
			{"lab", []string{"10.9.9.9", "2001:db8::/32"}, 30},
		} {
			if _, err := t.CreateView(v.name, v.match, v.order); err != nil {
				return err
			}
		}
		_, err := t.SetView(zonedb.DefaultView, []string{"!192.0.2.1", "any"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var vt *zonedb.ViewTable
	_ = db.View(func(v *zonedb.View) error { vt, err = v.ViewTable(); return err })
	if err != nil || vt.Trivial() {
		t.Fatalf("table: %v, trivial %v", err, vt.Trivial())
	}
	for _, c := range []struct {
		addr, key, want string
	}{
		{"10.1.2.3", "", "internal"},
		{"10.9.1.1", "", zonedb.DefaultView}, // excluded from internal, not lab's
		{"10.9.9.9", "", "lab"},              // excluded from internal, matched by lab
		{"172.16.0.1", "", "internal"},       // a mapped address in a rule
		{"::ffff:10.1.2.3", "", "internal"},  // a mapped client
		{"203.0.113.1", "int-xfr.", "internal"},
		{"203.0.113.1", "INT-XFR.", "internal"}, // key names compare without case
		{"203.0.113.1", "other.", "keyed"},
		{"10.9.1.1", "int-xfr.", zonedb.DefaultView}, // !10.9.0.0/16 comes before key:int-xfr and decides
		{"2001:db8::5", "", "lab"},
		{"192.0.2.1", "", ""}, // excluded from the default view, no other: refused
		{"192.0.2.2", "", zonedb.DefaultView},
	} {
		_, name, ok := vt.Match(netip.MustParseAddr(c.addr), c.key)
		if c.want == "" {
			if ok {
				t.Errorf("%s key %q: matched %s, want none", c.addr, c.key, name)
			}
			continue
		}
		if !ok || name != c.want {
			t.Errorf("%s key %q: %q (ok %v), want %s", c.addr, c.key, name, ok, c.want)
		}
	}
	// Bad rules are refused with what was wrong, and nothing is kept.
	for _, bad := range []string{"10.0.0.300", "key:", "!", "10.0.0.0/33", "key:a..b"} {
		_, err := db.Change("test", func(t *zonedb.Txn) error { _, err := t.CreateView("bad", []string{bad}, 0); return err })
		if !errors.Is(err, zonedb.ErrBadInput) || !strings.Contains(err.Error(), "match rule") {
			t.Errorf("rule %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"", "1st", "a b", "way-too-long-a-name-for-a-view-to-have"} {
		_, err := db.Change("test", func(t *zonedb.Txn) error { _, err := t.CreateView(bad, nil, 0); return err })
		if !errors.Is(err, zonedb.ErrBadInput) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	_ = db.View(func(v *zonedb.View) error {
		views, _ := v.Views()
		if len(views) != 5 {
			t.Errorf("%d views after refused creates, want 5", len(views))
		}
		return nil
	})
}

// TestSameZoneInViews: one name in two views is two zones: own content,
// instances and serials; found per view by name and by query; changed,
// listed and destroyed apart; a view with zones or SGs is not deleted;
// an SG carries only its view's zones.
func TestSameZoneInViews(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Change("test", func(t *zonedb.Txn) error { _, err := t.CreateView("internal", []string{"10.0.0.0/8"}, 0); return err }); err != nil {
		t.Fatal(err)
	}
	zone := func(view, addr string) {
		t.Helper()
		recs, err := zonefile.ParseString("$TTL 300\n@ SOA ns h 7 3600 600 86400 300\n@ NS ns\nns A 192.0.2.1\nwww A "+addr+"\n", zonefile.ParseOptions{Origin: "example.com."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(&zonedb.ChangeSet{View: view, Zones: []zonedb.ZoneChange{{Zone: "example.com.", Create: &zonedb.Zone{}, Replace: true, Records: recs, Serial: zonedb.SerialKeep}}}); err != nil {
			t.Fatal(err)
		}
	}
	zone("", "192.0.2.80")
	zone("internal", "10.0.0.80")
	// Again in the same view: exists.
	recs, _ := zonefile.ParseString("$TTL 300\n@ SOA ns h 7 3600 600 86400 300\n@ NS ns\n", zonefile.ParseOptions{Origin: "example.com."})
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Create: &zonedb.Zone{}, Replace: true, Records: recs}}}); !errors.Is(err, zonedb.ErrZoneExists) {
		t.Errorf("a second example.com in internal: %v", err)
	}
	// A change in one view leaves the other alone.
	add, _ := zonefile.ParseString("mail 300 A 10.0.0.25\n", zonefile.ParseOptions{Origin: "example.com."})
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Ops: []zonedb.RecordOp{{Kind: zonedb.OpAdd, Record: add[0]}}}}}); err != nil {
		t.Fatal(err)
	}
	www := func(v *zonedb.View, z *zonedb.Zone, name string) string {
		rr, _ := v.RRset(z, name, dns.TypeA)
		if len(rr) == 0 {
			return ""
		}
		return rr[0].RR.(*dns.A).A.String()
	}
	_ = db.View(func(v *zonedb.View) error {
		def, err := v.Zone("example.com")
		if err != nil {
			t.Fatal(err)
		}
		in, err := v.ZoneIn("internal", "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if def.ID == in.ID || def.View != zonedb.DefaultView || in.View != "internal" || def.ZI == in.ZI {
			t.Errorf("default %+v, internal %+v", def, in)
		}
		if www(v, def, "www.example.com.") != "192.0.2.80" || www(v, in, "www.example.com.") != "10.0.0.80" {
			t.Errorf("contents mixed")
		}
		if www(v, def, "mail.example.com.") != "" || www(v, in, "mail.example.com.") != "10.0.0.25" {
			t.Errorf("the internal change reached the default view")
		}
		// The query path's lookup, per view.
		h, ok := v.FindZone("www.example.com.")
		v.UseViewNamed("internal")
		h2, ok2 := v.FindZone("www.example.com.")
		id3, served, ok3 := v.ZoneID("example.com.")
		if !ok || !ok2 || !ok3 || !served || h.ID != def.ID || h2.ID != in.ID || id3 != in.ID {
			t.Errorf("FindZone: default %v %v, internal %v %v %v", h, ok, h2, ok2, id3)
		}
		if z, err := v.Zone("example.com"); err != nil || z.ID != in.ID {
			t.Errorf("Zone in the view's view: %v %v", z, err)
		}
		n := 0
		_ = v.ZonesIn("internal", func(*zonedb.Zone) bool { n++; return true })
		m := 0
		_ = v.ZonesIn("", func(*zonedb.Zone) bool { m++; return true })
		if n != 1 || m != 1 {
			t.Errorf("ZonesIn: internal %d, default %d", n, m)
		}
		return nil
	})
	// An SG of the internal view carries only internal zones.
	if _, err := db.CreateSG(zonedb.SG{Name: "int-sg", View: "internal"}, "test"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.com.", Update: func(z *zonedb.Zone) error { z.SG = "int-sg"; return nil }}}})
	if !errors.Is(err, zonedb.ErrBadInput) || !strings.Contains(err.Error(), "view") {
		t.Errorf("a default-view zone into an internal SG: %v", err)
	}
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Update: func(z *zonedb.Zone) error { z.SG = "int-sg"; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(v *zonedb.View) error {
		v.UseViewNamed("internal")
		cat, err := v.Zone("int-sg.catalog.invalid.")
		if err != nil || cat.View != "internal" {
			t.Errorf("the SG's catalog zone in its view: %v %v", cat, err)
		}
		return nil
	})
	// The view is in use; destroying its zones (and SG) frees it.
	if _, err := db.Change("test", func(t *zonedb.Txn) error { return t.DeleteView("internal") }); !errors.Is(err, zonedb.ErrViewInUse) {
		t.Errorf("delete a view with zones: %v", err)
	}
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Destroy: true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Change("test", func(t *zonedb.Txn) error { return t.DeleteView("internal") }); !errors.Is(err, zonedb.ErrViewInUse) || !strings.Contains(err.Error(), "int-sg") {
		t.Errorf("delete a view with an SG: %v", err)
	}
	if _, err := db.Change("test", func(t *zonedb.Txn) error { return t.DeleteSG("int-sg") }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Change("test", func(t *zonedb.Txn) error { return t.DeleteView("internal") }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Change("test", func(t *zonedb.Txn) error { return t.DeleteView(zonedb.DefaultView) }); !errors.Is(err, zonedb.ErrViewInUse) {
		t.Errorf("delete the default view: %v", err)
	}
	_ = db.View(func(v *zonedb.View) error {
		if z, err := v.Zone("example.com"); err != nil || www(v, z, "www.example.com.") != "192.0.2.80" {
			t.Errorf("the default view's zone after the internal one went: %v %v", z, err)
		}
		return nil
	})
	if rep, err := db.Verify(); err != nil || !rep.OK() {
		t.Errorf("verify: %v %v", err, rep.Problems)
	}
}

// TestMigrateToViews: a store written by dms before views (schema 2,
// testdata/stores/schema2.db: zones, a signed one, a reverse zone with an
// auto-PTR, an SG with its catalog and a server) opens as schema 3 with
// every zone in the default view, reads and answers as before, and takes
// the same name in a new view.
func TestMigrateToViews(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dms.db")
	src, err := os.Open("../testdata/stores/schema2.db")
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o600)
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	src.Close()
	dst.Close()
	before, err := zonedb.VerifyFile(p, 0)
	if err != nil || !before.OK() || before.Schema != 2 {
		t.Fatalf("the schema-2 store: %v %+v", err, before)
	}
	db, err := zonedb.Open(p, zonedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.Verify()
	if err != nil || !rep.OK() || rep.Schema != 3 || rep.Zones != before.Zones || rep.RRsets != before.RRsets || rep.Records != before.Records {
		t.Fatalf("after the migration: %v %+v, before %+v", err, rep, before)
	}
	_ = db.View(func(v *zonedb.View) error {
		views, _ := v.Views()
		if len(views) != 1 || views[0].Name != zonedb.DefaultView {
			t.Errorf("views: %+v", views)
		}
		n := 0
		_ = v.ZonesIn("", func(z *zonedb.Zone) bool {
			n++
			if z.View != zonedb.DefaultView || z.ViewID != 0 {
				t.Errorf("zone %s in view %q/%d", z.Name, z.View, z.ViewID)
			}
			return true
		})
		if n != before.Zones {
			t.Errorf("%d zones in the default view, want %d", n, before.Zones)
		}
		h, ok := v.FindZone("host5.example.com.")
		z, err := v.Zone("example.com")
		if !ok || err != nil || h.ID != z.ID {
			t.Errorf("FindZone %v %v, Zone %v %v", h, ok, z, err)
		}
		rz, err := v.Zone("2.0.192.in-addr.arpa")
		if err != nil {
			t.Fatal(err)
		}
		if ptr, _ := v.RRset(rz, "5.2.0.192.in-addr.arpa.", dns.TypePTR); len(ptr) != 1 {
			t.Errorf("the auto-PTR record: %v", ptr)
		}
		return nil
	})
	// The same name in a new view, and the old zone untouched.
	if _, err := db.Change("test", func(t *zonedb.Txn) error { _, err := t.CreateView("internal", nil, 0); return err }); err != nil {
		t.Fatal(err)
	}
	recs, _ := zonefile.ParseString("$TTL 300\n@ SOA ns h 7 3600 600 86400 300\n@ NS ns\n", zonefile.ParseOptions{Origin: "example.com."})
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Create: &zonedb.Zone{}, Replace: true, Records: recs}}}); err != nil {
		t.Fatal(err)
	}
	rep, err = db.Verify()
	if err != nil || !rep.OK() || rep.Zones != before.Zones+1 {
		t.Errorf("after a zone in the new view: %v %+v", err, rep)
	}
}

func openTemp(t *testing.T) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestVacuumInViews: vacuum destroys a deleted zone of a view, not the
// zone of the same name in another view.
func TestVacuumInViews(t *testing.T) {
	db := openTemp(t)
	if _, err := db.Change("test", func(t *zonedb.Txn) error { _, err := t.CreateView("internal", nil, 0); return err }); err != nil {
		t.Fatal(err)
	}
	recs, _ := zonefile.ParseString("$TTL 300\n@ SOA ns h 7 3600 600 86400 300\n@ NS ns\n", zonefile.ParseOptions{Origin: "example.com."})
	for _, view := range []string{"", "internal"} {
		if _, err := db.Commit(&zonedb.ChangeSet{View: view, Zones: []zonedb.ZoneChange{{Zone: "example.com.", Create: &zonedb.Zone{}, Replace: true, Records: recs}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.com.", Update: func(z *zonedb.Zone) error { z.Deleted = true; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	db.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
	res, err := db.Vacuum(zonedb.VacuumOptions{Zones: true, ZoneDelAge: time.Hour, ChangeBy: "test"})
	if err != nil || len(res.Destroyed) != 1 || res.Destroyed[0] != "example.com. (view internal)" {
		t.Fatalf("vacuum: %v %+v", err, res)
	}
	_ = db.View(func(v *zonedb.View) error {
		if z, err := v.Zone("example.com"); err != nil || z.Deleted {
			t.Errorf("the default view's example.com after vacuum: %v %v", z, err)
		}
		if _, err := v.ZoneIn("internal", "example.com"); !errors.Is(err, zonedb.ErrZoneNotFound) {
			t.Errorf("the internal one after vacuum: %v", err)
		}
		return nil
	})
}
