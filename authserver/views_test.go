package authserver

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// Views (split horizon): the test store has example.com in three views,
// each with its own www address: "internal" for 10.0.0.0/8 and requests
// signed with int-key., "lab" for 192.0.2.66 only (a host excluded from
// internal's 192.0.2.0/24 by a negated rule before it), and the default
// view, narrowed to 198.51.100.0/24, for the rest of the world there is
// none: others are refused.
const viewKey = "dmlld3NlY3JldHZpZXdzZWNyZXR2aWV3c2VjcmV0"

func viewStore(t testing.TB) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetSigner(dnssec.NewSigner())
	if _, err := db.PutTSIGKey(zonedb.TSIGKey{Name: "int-key.", Algorithm: "hmac-sha256", Secret: viewKey}); err != nil {
		t.Fatal(err)
	}
	_, err = db.Change("test", func(t *zonedb.Txn) error {
		if _, err := t.CreateView("internal", []string{"!192.0.2.66", "192.0.2.0/24", "10.0.0.0/8", "key:int-key"}, 0); err != nil {
			return err
		}
		if _, err := t.CreateView("lab", []string{"192.0.2.66"}, 0); err != nil {
			return err
		}
		_, err := t.SetView(zonedb.DefaultView, []string{"198.51.100.0/24"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ view, addr string }{{"", "198.51.100.80"}, {"internal", "10.1.1.80"}, {"lab", "192.0.2.80"}} {
		text := fmt.Sprintf("$TTL 3600\n@ SOA ns1 h%[2]s 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A %[1]s\n%[2]s TXT view\n", v.addr, zonedb.DefaultView+v.view)
		recs, err := zonefile.ParseString(text, zonefile.ParseOptions{Origin: "example.com."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(&zonedb.ChangeSet{View: v.view, Zones: []zonedb.ZoneChange{{Zone: "example.com.", Create: &zonedb.Zone{}, Replace: true, Records: recs, Serial: zonedb.SerialKeep}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The internal and default views' zones are signed, each with its
	// own key; the lab's is not.
	for _, view := range []string{"internal", ""} {
		k, err := dnssec.GenerateKey("example.com.", dns.ECDSAP256SHA256, true)
		if err != nil {
			t.Fatal(err)
		}
		keys := []zonedb.DNSSECKey{dnssec.NewStoredKey(k, "csk", "active", time.Now())}
		p := dnssec.DefaultParams()
		if _, err := db.Commit(&zonedb.ChangeSet{View: view, Zones: []zonedb.ZoneChange{{Zone: "example.com.", SetKeys: &keys, SignAll: true,
			Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestViewsAnswer: each client is answered from its view, by address or
// by the key of a signed query; a client no view matches is refused; the
// answer cache and the signed-NXDOMAIN path keep the views apart.
func TestViewsAnswer(t *testing.T) {
	db := viewStore(t)
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	www := func(r *dns.Msg) string {
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				return a.A.String()
			}
		}
		return ""
	}
	for round := range 2 { // the second round is answered from the cache
		for _, c := range []struct{ client, want string }{
			{"10.9.9.9", "10.1.1.80"},         // internal by prefix
			{"192.0.2.9", "10.1.1.80"},        // internal by prefix
			{"192.0.2.66", "192.0.2.80"},      // lab: excluded from internal by !192.0.2.66
			{"198.51.100.7", "198.51.100.80"}, // the default view
			{"::ffff:10.9.9.9", "10.1.1.80"},  // an IPv4-mapped client
		} {
			for _, do := range []bool{false, true} {
				r := ask(t, s, h, c.client, "www.example.com.", dns.TypeA, UDP, func(m *dns.Msg) { m.SetEdns0(1232, do) })
				if got := www(r); got != c.want {
					t.Errorf("round %d: www from %s (do %v): %s, want %s\n%v", round, c.client, do, got, c.want, r)
				}
				signed := false
				for _, rr := range r.Answer {
					_, isSig := rr.(*dns.RRSIG)
					signed = signed || isSig
				}
				if want := do && c.want != "192.0.2.80"; signed != want {
					t.Errorf("round %d: www from %s (do %v): signed %v, want %v", round, c.client, do, signed, want)
				}
			}
			// A name only another view has.
			for _, other := range []string{"default", "defaultinternal", "defaultlab"} {
				r := ask(t, s, h, c.client, other+".example.com.", dns.TypeTXT, UDP, func(m *dns.Msg) { m.SetEdns0(1232, true) })
				mine := map[string]string{"10.1.1.80": "defaultinternal", "192.0.2.80": "defaultlab", "198.51.100.80": "default"}[c.want]
				if (r.Rcode == dns.RcodeSuccess) != (other == mine) {
					t.Errorf("round %d: %s TXT from %s: %s", round, other, c.client, dns.RcodeToString[r.Rcode])
				}
				if other != mine && c.want != "192.0.2.80" && len(r.Ns) < 3 {
					t.Errorf("round %d: %s TXT from %s: a signed NXDOMAIN without its proof:\n%v", round, other, c.client, r)
				}
				// The SOA of the denial is the view's own (its RNAME
				// names the view).
				for _, rr := range r.Ns {
					if soa, ok := rr.(*dns.SOA); ok && soa.Mbox != "h"+mine+".example.com." {
						t.Errorf("round %d: %s TXT from %s: the SOA of another view: %v", round, other, c.client, soa)
					}
				}
			}
		}
		// No view matches: refused, and nothing of any view is told.
		for _, client := range []string{"203.0.113.9", "2001:db8::1"} {
			wantRefused(t, ask(t, s, h, client, "www.example.com.", dns.TypeA, UDP, nil), "www from "+client)
			wantRefused(t, ask(t, s, h, client, "nx.example.com.", dns.TypeA, UDP, func(m *dns.Msg) { m.SetEdns0(1232, true) }), "nx from "+client)
		}
	}
	// A query signed with int-key. is answered from the internal view,
	// from an address no view has, and signed.
	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	m.SetTsig("int-key.", dns.HmacSHA256, 300, time.Now().Unix())
	wire, _, err := dns.TsigGenerate(m, viewKey, "", false)
	if err != nil {
		t.Fatal(err)
	}
	r := askWire(t, s, h, "203.0.113.9", wire, UDP)
	if www(r) != "10.1.1.80" || r.IsTsig() == nil {
		t.Errorf("signed with int-key from 203.0.113.9: %v", r)
	}
}

// TestViewsOneViewStore: a store without views answers everyone as
// before, and the views' table is trivial (no matching on the query path).
func TestViewsOneViewStore(t *testing.T) {
	db := aclStore(t)
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	r := ask(t, s, h, "203.0.113.9", "www.open.example.", dns.TypeA, UDP, nil)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("%v", r)
	}
	if !h.views.Trivial() {
		t.Errorf("a store without views has a table to match: %+v", h.views)
	}
	if !strings.Contains(r.Answer[0].String(), "192.0.2.80") {
		t.Errorf("%v", r)
	}
}

// BenchmarkServeViews: the query path with the default view alone (no
// matching: the table is trivial) and with three views, the client's
// the last to match (two views' rules tried first), cached and not.
func BenchmarkServeViews(b *testing.B) {
	client := netip.MustParseAddrPort("192.0.2.9:5300")
	for _, views := range []int{1, 3} {
		db := testStore(b, nil)
		view := ""
		if views == 3 {
			_, err := db.Change("bench", func(t *zonedb.Txn) error {
				for _, v := range []struct{ name, rule string }{{"a", "10.0.0.0/8"}, {"b", "key:x"}, {"c", "192.0.2.0/24"}} {
					if _, err := t.CreateView(v.name, []string{"!198.51.100.1", v.rule}, 0); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			view = "c"
		}
		recs, err := zonefile.ParseString(benchZone(10000), zonefile.ParseOptions{Origin: "bench.example."})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Commit(&zonedb.ChangeSet{View: view, Zones: []zonedb.ZoneChange{{Zone: "bench.example.", Create: &zonedb.Zone{}, Replace: true, Records: recs, Serial: zonedb.SerialKeep}}}); err != nil {
			b.Fatal(err)
		}
		queries := benchQueries(b)
		for _, cached := range []bool{true, false} {
			b.Run(fmt.Sprintf("views=%d/cached=%v", views, cached), func(b *testing.B) {
				s := NewServer(db, Options{}, nil)
				h := &viewHolder{db: db, noCache: !cached}
				defer h.release()
				out := make([]byte, 0, 65535)
				req := new(dns.Msg)
				for _, q := range queries {
					if r := s.handle(h, req, q, out, UDP, client, nil); r == nil || r[3]&0xf == dns.RcodeRefused {
						b.Fatal("refused")
					}
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					*req = dns.Msg{}
					if s.handle(h, req, queries[i%len(queries)], out, UDP, client, nil) == nil {
						b.Fatal("no answer")
					}
					i++
				}
			})
		}
	}
}
