package zonedb

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func catalogMembers(t *testing.T, db *DB, catalog string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.View(func(v *View) error {
		z, err := v.Zone(catalog)
		if err != nil {
			return err
		}
		recs, err := v.Records(z)
		if err != nil {
			return err
		}
		seen := map[uint16]int{}
		for _, r := range recs {
			seen[r.RR.Header().Rrtype]++
			if p, ok := r.RR.(*dns.PTR); ok {
				label, _, _ := strings.Cut(p.Hdr.Name, ".zones.")
				out[label] = p.Ptr
			}
		}
		if seen[dns.TypeSOA] != 1 || seen[dns.TypeNS] != 1 || seen[dns.TypeTXT] != 1 {
			t.Errorf("catalog %s: want one SOA, NS and version TXT, have %v", catalog, seen)
		}
		ver, _ := v.RRset(z, "version."+catalog, dns.TypeTXT)
		if len(ver) != 1 || ver[0].RR.(*dns.TXT).Txt[0] != "2" {
			t.Errorf("catalog %s: version TXT %v", catalog, ver)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func zoneWithSG(name, sg string) ZoneChange {
	return ZoneChange{Zone: name, Create: &Zone{SG: sg, UseApexNS: true}, Replace: true, Records: nil}
}

func TestCatalogFollowsZones(t *testing.T) {
	db := openTest(t)
	res, err := db.CreateSG(SG{Name: "ext", ApexNS: []string{"ns2.example.net", "ns1.example.net."}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Zone != "ext.catalog.invalid." || !res[0].Created {
		t.Fatalf("CreateSG made %+v", res)
	}
	if _, err := db.CreateSG(SG{Name: "EXT"}, "t"); !errors.Is(err, ErrSGExists) {
		t.Fatalf("second SG of the same name: %v", err)
	}
	if _, err := db.CreateSG(SG{Name: "int", CatalogZone: "cat.internal"}, "t"); err != nil {
		t.Fatal(err)
	}
	if m := catalogMembers(t, db, "ext.catalog.invalid."); len(m) != 0 {
		t.Fatalf("new catalog has members %v", m)
	}

	zc := zoneWithSG("example.org", "ext")
	zc.Records = recs(t, baseZone...)
	results, err := db.Commit(&ChangeSet{ChangeBy: "t", Zones: []ZoneChange{zc}})
	if err != nil {
		t.Fatal(err)
	}
	// The zone and its catalog changed in one commit.
	if len(results) != 2 || results[1].Zone != "ext.catalog.invalid." || results[1].Added != 2 { // the PTR and the new SOA
		t.Fatalf("commit results %+v", results)
	}
	id := results[0].ID
	label := CatalogMemberLabel(id)
	if m := catalogMembers(t, db, "ext.catalog.invalid."); m[label] != "example.org." || len(m) != 1 {
		t.Fatalf("catalog after create: %v", m)
	}
	// Apex NS came from the SG, replacing the zone text's.
	db.View(func(v *View) error {
		z, _ := v.Zone("example.org")
		ns, _ := v.RRset(z, "example.org.", dns.TypeNS)
		var names []string
		for _, r := range ns {
			names = append(names, r.RR.(*dns.NS).Ns)
		}
		if !slices.Equal(names, []string{"ns1.example.net.", "ns2.example.net."}) {
			t.Errorf("apex NS %v, want the SG's", names)
		}
		return nil
	})

	// Alternate SG: listed in both catalogs.
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Update: func(z *Zone) error { z.AltSG = "int"; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	if m := catalogMembers(t, db, "cat.internal."); m[label] != "example.org." {
		t.Fatalf("alternate SG catalog: %v", m)
	}
	// Swap: the member id stays; apex NS follow the new primary (which
	// has none, so they stay).
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Update: func(z *Zone) error { z.SG, z.AltSG = z.AltSG, z.SG; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	if m := catalogMembers(t, db, "ext.catalog.invalid."); m[label] != "example.org." {
		t.Fatalf("after swap, ext: %v", m)
	}
	// Deleting removes it from every catalog; undeleting brings it back.
	del := func(d bool) {
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Update: func(z *Zone) error { z.Deleted = d; return nil }}}}); err != nil {
			t.Fatal(err)
		}
	}
	del(true)
	if m := catalogMembers(t, db, "ext.catalog.invalid."); len(m) != 0 {
		t.Fatalf("deleted zone still in catalog: %v", m)
	}
	if m := catalogMembers(t, db, "cat.internal."); len(m) != 0 {
		t.Fatalf("deleted zone still in catalog: %v", m)
	}
	del(false)
	if m := catalogMembers(t, db, "cat.internal."); m[label] != "example.org." {
		t.Fatalf("undeleted zone not back: %v", m)
	}
	// Destroy removes it too.
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Destroy: true}}}); err != nil {
		t.Fatal(err)
	}
	if m := catalogMembers(t, db, "cat.internal."); len(m) != 0 {
		t.Fatalf("destroyed zone in catalog: %v", m)
	}

	// A catalog cannot be edited by hand, and cannot be deleted while the
	// SG exists.
	_, err = db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "cat.internal", Update: func(z *Zone) error { z.Deleted = true; return nil }}}})
	if err == nil || !strings.Contains(err.Error(), "catalog zone of server group int") {
		t.Fatalf("editing a catalog: %v", err)
	}
}

func TestSGApexNSChangeRewritesZones(t *testing.T) {
	db := openTest(t)
	if _, err := db.CreateSG(SG{Name: "ext", ApexNS: []string{"ns1.example.net"}}, "t"); err != nil {
		t.Fatal(err)
	}
	zc := zoneWithSG("example.org", "ext")
	zc.Records = recs(t, baseZone...)
	other := zoneWithSG("example.com", "ext")
	other.Create.UseApexNS = false
	other.Records = recs(t, strings.ReplaceAll(strings.Join(baseZone, "\n"), "example.org", "example.com"))
	other.Records = nil
	for _, l := range baseZone {
		other.Records = append(other.Records, recs(t, strings.ReplaceAll(l, "example.org.", "example.com."))...)
	}
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{zc, other}}); err != nil {
		t.Fatal(err)
	}
	res, err := db.UpdateSG("ext", "t", func(sg *SG) error { sg.ApexNS = []string{"a.ns.example.net", "b.ns.example.net"}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Zone != "example.org." || res[0].ZI == 0 {
		t.Fatalf("UpdateSG results %+v; want one new instance of example.org (example.com has use_apex_ns off)", res)
	}
	db.View(func(v *View) error {
		for zone, want := range map[string][]string{
			"example.org.": {"a.ns.example.net.", "b.ns.example.net."},
			"example.com.": {"ns1.example.net.", "ns2.example.net."},
		} {
			z, _ := v.Zone(zone)
			ns, _ := v.RRset(z, zone, dns.TypeNS)
			var names []string
			for _, r := range ns {
				names = append(names, r.RR.(*dns.NS).Ns)
			}
			if !slices.Equal(names, want) {
				t.Errorf("%s apex NS %v, want %v", zone, names, want)
			}
		}
		return nil
	})
	// The same set again changes nothing.
	res, err = db.UpdateSG("ext", "t", func(sg *SG) error { sg.ApexNS = []string{"b.ns.example.net", "a.ns.example.net"}; return nil })
	if err != nil || len(res) != 0 {
		t.Fatalf("unchanged apex NS: %+v %v", res, err)
	}
	// Renaming the catalog keeps its members.
	if _, err := db.UpdateSG("ext", "t", func(sg *SG) error { sg.CatalogZone = "catalog.example"; return nil }); err != nil {
		t.Fatal(err)
	}
	if m := catalogMembers(t, db, "catalog.example."); len(m) != 2 {
		t.Fatalf("renamed catalog: %v", m)
	}
	db.View(func(v *View) error {
		if _, err := v.Zone("ext.catalog.invalid."); !errors.Is(err, ErrZoneNotFound) {
			t.Errorf("old catalog still there: %v", err)
		}
		return nil
	})
	if err := db.DeleteSG("ext"); !errors.Is(err, ErrSGInUse) {
		t.Fatalf("deleting an SG with zones: %v", err)
	}
}

func TestServersAndKeys(t *testing.T) {
	db := openTest(t)
	if _, err := db.CreateSG(SG{Name: "ext"}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutTSIGKey(TSIGKey{Name: "xfr-key", Algorithm: "hmac-sha256", Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []TSIGKey{
		{Name: "k2", Algorithm: "hmac-md4", Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		{Name: "k2", Algorithm: "hmac-sha256", Secret: "not base64!"},
		{Name: "k2", Algorithm: "hmac-sha256", Secret: "c2hvcnQ="},
		{Name: "xfr-key.", Algorithm: "hmac-sha256", Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
	} {
		if _, err := db.PutTSIGKey(bad); err == nil {
			t.Errorf("key %+v accepted", bad)
		}
	}
	s, err := db.CreateServer(Server{Name: "ns2", Address: "2001:db8::2", SG: "EXT", Type: "bind9", TSIGKey: "XFR-KEY"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != "[2001:db8::2]:53" || s.SG != "ext" || s.TSIGKey != "xfr-key." {
		t.Fatalf("server stored as %+v", s)
	}
	for _, bad := range []Server{
		{Name: "ns3", Address: "192.0.2.300", SG: "ext", Type: "bind9"},
		{Name: "ns3", Address: "192.0.2.3", SG: "nope", Type: "bind9"},
		{Name: "ns3", Address: "192.0.2.3", SG: "ext", Type: "powerdns"},
		{Name: "ns3", Address: "192.0.2.3", SG: "ext", Type: "knot", TSIGKey: "missing"},
		{Name: "ns3", Address: "[2001:db8::2]:53", SG: "ext", Type: "knot"},
		{Name: "NS2", Address: "192.0.2.3", SG: "ext", Type: "knot"},
		{Name: "bad name", Address: "192.0.2.3", SG: "ext", Type: "knot"},
	} {
		if _, err := db.CreateServer(bad); err == nil {
			t.Errorf("server %+v accepted", bad)
		}
	}
	if _, err := db.CreateServer(Server{Name: "ns3", Address: "192.0.2.3:5353", SG: "ext", Type: "knot"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateServer("ns3", func(s *Server) error { s.Name = "ns4"; s.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteTSIGKey("xfr-key"); !errors.Is(err, ErrKeyInUse) {
		t.Fatalf("deleting a key in use: %v", err)
	}
	if err := db.DeleteSG("ext"); !errors.Is(err, ErrSGInUse) {
		t.Fatalf("deleting an SG with servers: %v", err)
	}
	db.View(func(v *View) error {
		all, err := v.Servers()
		if err != nil || len(all) != 2 || all[0].Name != "ns2" || all[1].Name != "ns4" || !all[1].Disabled || all[1].Address != "192.0.2.3:5353" {
			t.Errorf("servers %+v %v", all, err)
		}
		return nil
	})
	for _, n := range []string{"ns2", "ns4"} {
		if err := db.DeleteServer(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteTSIGKey("xfr-key"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSG("ext"); err != nil {
		t.Fatal(err)
	}
	db.View(func(v *View) error {
		if v.NumZones() != 0 {
			t.Errorf("catalog zone left behind")
		}
		return nil
	})
}

// TestApexNSOpsCannotLeaveTheSG: with use_apex_ns, record edits of the
// apex NS give way to the SG's set; the caller's change is not modified.
func TestApexNSOpsCannotLeaveTheSG(t *testing.T) {
	db := openTest(t)
	if _, err := db.CreateSG(SG{Name: "ext", ApexNS: []string{"ns1.example.net"}}, "t"); err != nil {
		t.Fatal(err)
	}
	zc := zoneWithSG("example.org", "ext")
	zc.Records = recs(t, baseZone...)
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{zc}}); err != nil {
		t.Fatal(err)
	}
	ops := make([]RecordOp, 1, 4)
	ops[0] = RecordOp{Kind: OpAdd, Record: recs(t, "example.org. 3600 IN NS rogue.example.com.")[0]}
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: ops}}}); err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[:2][1].Kind != OpAdd || ops[:2][1].Record.RR != nil {
		t.Errorf("the caller's ops were changed: %+v", ops[:2])
	}
	db.View(func(v *View) error {
		z, _ := v.Zone("example.org")
		ns, _ := v.RRset(z, "example.org.", dns.TypeNS)
		if len(ns) != 1 || ns[0].RR.(*dns.NS).Ns != "ns1.example.net." {
			t.Errorf("apex NS after an edit: %v", ns)
		}
		return nil
	})
}

// TestPrivateSGs: what the query path reads for allow-query: the private
// SGs' prefixes (addresses as full-length prefixes, IPv4-mapped ones in
// IPv4 form, host bits masked), public SGs left out, and a zone's SGs.
func TestPrivateSGs(t *testing.T) {
	db := openTest(t)
	for _, sg := range []SG{{Name: "Inside", AllowQuery: []string{"192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120", "203.0.113.9/24"}}, {Name: "public"}} {
		if _, err := db.CreateSG(sg, "t"); err != nil {
			t.Fatal(err)
		}
	}
	zc := ZoneChange{Zone: "example.org.", Create: &Zone{SG: "Inside", AltSG: "public"}, Replace: true, Records: recs(t, baseZone...)}
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{zc}}); err != nil {
		t.Fatal(err)
	}
	err := db.View(func(v *View) error {
		got, err := v.PrivateSGs()
		if err != nil {
			return err
		}
		want := []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32"),
			netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")}
		if len(got) != 1 || !slices.Equal(got["inside"], want) {
			t.Errorf("PrivateSGs() = %v, want inside: %v", got, want)
		}
		id, _, _ := v.ZoneID("example.org.")
		if sg, alt, catalog, err := v.ZoneSGs(id); !strings.EqualFold(sg, "inside") || alt != "public" || catalog || err != nil {
			t.Errorf("ZoneSGs(example.org.) = %q, %q, %v, %v", sg, alt, catalog, err)
		}
		id, _, _ = v.ZoneID("inside.catalog.invalid.")
		if _, _, catalog, err := v.ZoneSGs(id); !catalog || err != nil {
			t.Errorf("ZoneSGs(inside.catalog.invalid.): catalog %v, %v", catalog, err)
		}
		if _, _, _, err := v.ZoneSGs(9999); !errors.Is(err, ErrZoneNotFound) {
			t.Errorf("ZoneSGs(no such id): %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
