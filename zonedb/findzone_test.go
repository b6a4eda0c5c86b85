package zonedb

import (
	"math/rand/v2"
	"testing"

	"github.com/miekg/dns"
)

// TestFindZoneWireMemo: FindZoneWire remembers the last zone it found
// that has no zone below it; whatever the order of the names asked, it
// finds what FindZone (which never remembers) finds: a zone with a child
// zone, a disabled child, the child, a zone beside, catalogs on and off,
// two views in which the same name has a child zone or not.
func TestFindZoneWireMemo(t *testing.T) {
	db := openTest(t)
	for _, z := range []string{"a.example.", "b.example.", "x.b.example.", "off.a.example.", "leaf.example."} {
		createZone(t, db, z, []string{z + " 3600 IN SOA ns1." + z + " h." + z + " 1 3600 900 1209600 300", z + " 3600 IN NS ns1." + z, "ns1." + z + " 3600 IN A 192.0.2.1"})
	}
	if _, err := db.Change("test", func(t *Txn) error {
		_, err := t.SetMeta("off.a.example.", func(z *Zone) error { z.Disabled = true; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A view where a.example. has a zone below it (x.a.example.): a memo
	// of the default view's a.example. must not answer there.
	if _, err := db.Change("test", func(t *Txn) error {
		_, err := t.CreateView("internal", []string{"10.0.0.0/8"}, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, z := range []string{"a.example.", "x.a.example."} {
		if _, err := db.Commit(&ChangeSet{View: "internal", Zones: []ZoneChange{{Zone: z, Create: &Zone{}, Replace: true,
			Records: recs(t, z+" 3600 IN SOA ns1."+z+" h."+z+" 1 3600 900 1209600 300", z+" 3600 IN NS ns1."+z, "ns1."+z+" 3600 IN A 192.0.2.1")}}}); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"y.x.a.example.", "x.a.example.", "www.a.example.", "a.example.", "q.off.a.example.", "off.a.example.", "www.b.example.", "x.b.example.",
		"y.x.b.example.", "b.example.", "leaf.example.", "h.leaf.example.", "k.j.leaf.example.", "example.", "zz.example.", "nope.test.",
		"WWW.A.Example.", "Leaf.EXAMPLE.", "q.X.b.example."}
	rng := rand.New(rand.NewPCG(1, 2))
	err := db.View(func(v *View) error {
		for i := range 2000 {
			name := names[rng.IntN(len(names))]
			v.ServeCatalogs(i%7 == 0)
			view := DefaultView
			if rng.IntN(3) == 0 {
				view = "internal"
			}
			if err := v.UseViewNamed(view); err != nil {
				return err
			}
			want, wok := v.FindZone(name)
			var wire [256]byte
			n, err := dns.PackDomainName(name, wire[:], 0, nil, false)
			if err != nil {
				return err
			}
			id, labels, ok := v.FindZoneWire(wire[:n])
			if ok != wok || ok && (id != want.ID || labels != dns.CountLabel(want.Origin)) {
				t.Errorf("%s in %s: FindZoneWire %d %d %v, FindZone %v %v", name, view, id, labels, ok, want, wok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
