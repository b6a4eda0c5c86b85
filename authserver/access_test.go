package authserver

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// Allow-query (access.go): the SGs and zones of the tests. SG "inside"
// allows 192.0.2.0/24 and 2001:db8::/32, SG "lab" 198.51.100.7 only, SG
// "public" everyone. Clients: 192.0.2.9 and 2001:db8::9 (inside),
// 198.51.100.7 (lab), 203.0.113.9 (nobody's).
var aclZones = []struct{ name, sg, alt string }{
	{"open.example.", "public", ""},
	{"nosg.example.", "", ""},
	{"private.example.", "inside", ""},
	{"altpublic.example.", "inside", "public"},   // a public alternate SG publishes it
	{"republished.example.", "public", "inside"}, // a public zone republished privately
	{"two.example.", "inside", "lab"},            // the clients of either
	{"lab.example.", "lab", ""},
}

func aclZone(origin string) string {
	return fmt.Sprintf(`$TTL 3600
@	SOA ns1.%[1]s h.%[1]s 1 7200 900 1209600 300
	NS ns1.%[1]s
ns1	A 192.0.2.53
www	A 192.0.2.80
sub	NS ns.sub.%[1]s
ns.sub	A 192.0.2.54
to-private	CNAME www.private.example.
to-two	CNAME www.two.example.
`, origin)
}

const (
	secPlain = "203.0.113.53" // a server of SG inside, no TSIG key
	secKeyed = "203.0.113.54" // a server of SG inside with key sec-key.
	secKey   = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
)

func aclStore(t testing.TB) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, sg := range []zonedb.SG{{Name: "public"}, {Name: "inside", AllowQuery: []string{"192.0.2.0/24", "2001:db8::/32"}}, {Name: "lab", AllowQuery: []string{"198.51.100.7"}}} {
		if _, err := db.CreateSG(sg, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutTSIGKey(zonedb.TSIGKey{Name: "sec-key.", Algorithm: "hmac-sha256", Secret: secKey}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []zonedb.Server{{Name: "sec1", Address: secPlain, SG: "inside", Type: "bind9"}, {Name: "sec2", Address: secKeyed, SG: "inside", Type: "knot", TSIGKey: "sec-key."}} {
		if _, err := db.CreateServer(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, z := range aclZones {
		recs, err := zonefile.ParseString(aclZone(z.name), zonefile.ParseOptions{File: z.name, Origin: z.name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: z.name, Create: &zonedb.Zone{SG: z.sg, AltSG: z.alt}, Replace: true, Records: recs, Serial: zonedb.SerialKeep}}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// ask sends one query through the server's handler, as from client.
func ask(t testing.TB, s *Server, h *viewHolder, client, name string, qtype uint16, proto Proto, edit func(*dns.Msg)) *dns.Msg {
	t.Helper()
	in := pack(t, name, qtype, edit)
	return askWire(t, s, h, client, in, proto)
}

func askWire(t testing.TB, s *Server, h *viewHolder, client string, in []byte, proto Proto) *dns.Msg {
	t.Helper()
	b := s.handle(h, new(dns.Msg), in, make([]byte, 0, 65535), proto, netip.AddrPortFrom(netip.MustParseAddr(client), 5300), nil)
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatalf("answer to %s: %v", client, err)
	}
	return m
}

// wantRefused checks a refusal that gives nothing away: no data, no
// referral, no SOA, no denial proof.
func wantRefused(t testing.TB, r *dns.Msg, what string) {
	t.Helper()
	if r.Rcode != dns.RcodeRefused || r.Authoritative || len(r.Answer)+len(r.Ns) != 0 || len(rrStrings(r.Extra)) != 0 {
		t.Errorf("%s: want a bare REFUSED, got\n%v", what, r)
	}
}

// TestAllowQueryByZone: which zones answer which clients, for answers,
// NXDOMAIN and referrals, with and without DO, over UDP and TCP.
func TestAllowQueryByZone(t *testing.T) {
	db := aclStore(t)
	var denied atomic.Int32
	s := NewServer(db, Options{Observe: func(o Observation) {
		if o.Denied != (o.Rcode == dns.RcodeRefused) {
			t.Errorf("observation %+v: Denied and REFUSED disagree", o)
		}
		if o.Denied {
			denied.Add(1)
		}
	}}, nil)
	allowed := map[string][]string{
		"open.example.":        {"192.0.2.9", "2001:db8::9", "198.51.100.7", "203.0.113.9"},
		"nosg.example.":        {"192.0.2.9", "2001:db8::9", "198.51.100.7", "203.0.113.9"},
		"private.example.":     {"192.0.2.9", "2001:db8::9"},
		"altpublic.example.":   {"192.0.2.9", "2001:db8::9", "198.51.100.7", "203.0.113.9"},
		"republished.example.": {"192.0.2.9", "2001:db8::9", "198.51.100.7", "203.0.113.9"},
		"two.example.":         {"192.0.2.9", "2001:db8::9", "198.51.100.7"},
		"lab.example.":         {"198.51.100.7"},
	}
	want := 0
	for _, z := range aclZones {
		for _, client := range []string{"192.0.2.9", "2001:db8::9", "198.51.100.7", "203.0.113.9"} {
			ok := slices.Contains(allowed[z.name], client)
			for _, proto := range []Proto{UDP, TCP} {
				for _, do := range []bool{false, true} {
					edit := func(m *dns.Msg) { m.SetEdns0(1232, do) }
					h := &viewHolder{db: db}
					for _, q := range []struct {
						name  string
						qtype uint16
						rcode int
					}{{"www." + z.name, dns.TypeA, dns.RcodeSuccess}, {"nx." + z.name, dns.TypeA, dns.RcodeNameError},
						{"www.sub." + z.name, dns.TypeA, dns.RcodeSuccess}, {z.name, dns.TypeSOA, dns.RcodeSuccess}} {
						what := fmt.Sprintf("%s %s from %s proto %d do %v", q.name, dns.TypeToString[q.qtype], client, proto, do)
						r := ask(t, s, h, client, q.name, q.qtype, proto, edit)
						switch {
						case !ok:
							want++
							wantRefused(t, r, what)
						case r.Rcode != q.rcode || len(r.Answer)+len(r.Ns) == 0:
							t.Errorf("%s: want %s with records, got\n%v", what, dns.RcodeToString[q.rcode], r)
						}
					}
					h.release()
				}
			}
		}
	}
	if got := int(denied.Load()); got != want {
		t.Errorf("%d queries observed as denied, want %d", got, want)
	}
}

// TestAllowQueryCachedAnswer: an answer cached for an allowed client is
// not handed to a refused one, in either order, for data, NXDOMAIN,
// referrals and CNAME chains from a public zone into private ones; and it
// is served from the cache to the allowed clients.
func TestAllowQueryCachedAnswer(t *testing.T) {
	db := aclStore(t)
	s := NewServer(db, Options{}, nil)
	names := []string{"www.private.example.", "nx.private.example.", "www.sub.private.example.", "private.example.",
		"to-private.open.example.", "to-two.open.example.", "www.two.example.", "to-two.private.example."}
	for _, inFirst := range []bool{true, false} {
		for _, name := range names {
			for _, do := range []bool{false, true} {
				h := &viewHolder{db: db}
				edit := func(m *dns.Msg) { m.SetEdns0(1232, do) }
				what := fmt.Sprintf("%s do %v", name, do)
				check := func(client string) {
					t.Helper()
					before := h.cache.n
					r := ask(t, s, h, client, name, dns.TypeA, UDP, edit)
					switch client {
					case "192.0.2.9": // inside: everything
						if r.Rcode == dns.RcodeRefused || len(r.Answer)+len(r.Ns) == 0 {
							t.Errorf("%s from %s: %v", what, client, r)
						}
						if strings.HasPrefix(name, "to-") && len(r.Answer) < 2 {
							t.Errorf("%s from %s: the chain stops short: %v", what, client, r)
						}
					case "198.51.100.7": // lab: two.example only
						if leaks(r, "private.example.") {
							t.Errorf("%s from %s: private.example's data given away:\n%v", what, client, r)
						}
					case "203.0.113.9": // nobody's
						if leaks(r, "private.example.", "two.example.") {
							t.Errorf("%s from %s: private data given away:\n%v", what, client, r)
						}
					}
					if r.Rcode == dns.RcodeRefused && h.cache.n != before {
						t.Errorf("%s from %s: a refusal was cached", what, client)
					}
				}
				clients := []string{"192.0.2.9", "198.51.100.7", "203.0.113.9"}
				if !inFirst {
					slices.Reverse(clients)
				}
				for range 2 {
					for _, c := range clients {
						check(c)
					}
				}
				// The allowed client's answer was cached, and is answered
				// from the cache (no new entry); not a chain through two
				// lists (private.example's, then two.example's), which
				// the cache cannot keep under one.
				if name == "to-two.private.example." || do && strings.HasPrefix(name, "nx.") {
					if h.cache.n != 0 {
						t.Errorf("%s: cached", what)
					}
				} else if n := h.cache.n; n == 0 {
					t.Errorf("%s: nothing cached", what)
				} else {
					check("192.0.2.9")
					if h.cache.n != n {
						t.Errorf("%s: the allowed client's second query was not a cache hit", what)
					}
				}
				h.release()
			}
		}
	}
}

// leaks says whether r holds a record of one of the zones (an owner in
// them; a CNAME pointing into them is the public zone's own data).
func leaks(r *dns.Msg, zones ...string) bool {
	for _, sec := range [][]dns.RR{r.Answer, r.Ns, r.Extra} {
		for _, rr := range sec {
			for _, z := range zones {
				if rr.Header().Rrtype != dns.TypeOPT && dns.IsSubDomain(z, rr.Header().Name) {
					return true
				}
			}
		}
	}
	return false
}

// TestAllowQuerySignedDenial: a signed private zone gives a refused client
// no NSEC3 proof, on the fast denial path (denial.go) and off it.
func TestAllowQuerySignedDenial(t *testing.T) {
	db := aclStore(t)
	db.SetSigner(dnssec.NewSigner())
	signZone(t, db, "private.example.", dnssec.DefaultParams())
	s := NewServer(db, Options{}, nil)
	do := func(m *dns.Msg) { m.SetEdns0(1232, true) }
	for _, order := range [][]string{{"192.0.2.9", "203.0.113.9"}, {"203.0.113.9", "192.0.2.9"}} {
		h := &viewHolder{db: db}
		for i := range 3 {
			for _, client := range order {
				for _, name := range []string{fmt.Sprintf("nx%d.private.example.", i), "nx.www.private.example.", "www.private.example."} {
					r := ask(t, s, h, client, name, dns.TypeA, UDP, do)
					if client == "203.0.113.9" {
						wantRefused(t, r, name+" from "+client)
						continue
					}
					if len(r.Ns)+len(r.Answer) == 0 || r.Rcode == dns.RcodeRefused {
						t.Errorf("%s from %s: %v", name, client, r)
					}
				}
			}
		}
		h.release()
	}
}

// TestAllowQuerySGServers: the servers of a private zone's SGs may query
// it (their SOA polls), with their TSIG key when they have one, and so
// may xfr_allow hosts; their answers are not cached for others.
func TestAllowQuerySGServers(t *testing.T) {
	db := aclStore(t)
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	soa := func(client, zone string) *dns.Msg { return ask(t, s, h, client, zone, dns.TypeSOA, UDP, nil) }
	for _, zone := range []string{"private.example.", "two.example."} {
		if r := soa(secPlain, zone); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s SOA from its SG's server: %v", zone, r)
		}
		wantRefused(t, soa("203.0.113.9", zone), zone+" SOA from a stranger after its server")
	}
	// Not a zone of its SGs.
	wantRefused(t, soa(secPlain, "lab.example."), "lab.example. SOA from another SG's server")
	// A server with a key: only signed with it.
	wantRefused(t, soa(secKeyed, "private.example."), "unsigned SOA from a server with a TSIG key")
	m := new(dns.Msg)
	m.SetQuestion("private.example.", dns.TypeSOA)
	m.SetTsig("sec-key.", dns.HmacSHA256, 300, time.Now().Unix())
	wire, _, err := dns.TsigGenerate(m, secKey, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if r := askWire(t, s, h, secKeyed, wire, UDP); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.IsTsig() == nil {
		t.Errorf("signed SOA from a server with a TSIG key: %v", r)
	}
	// xfr_allow: read at each refusal (a config change moves no
	// generation), in the worker's view (renewed within viewMaxAge).
	wantRefused(t, soa("203.0.113.100", "private.example."), "SOA from a monitoring host before xfr_allow")
	if err := db.SetConfig(map[string]string{zonedb.ConfigXfrAllow: "203.0.113.96/28"}); err != nil {
		t.Fatal(err)
	}
	h.release()
	if r := soa("203.0.113.100", "private.example."); r.Rcode != dns.RcodeSuccess {
		t.Errorf("SOA from an xfr_allow host: %v", r)
	}
	wantRefused(t, soa("203.0.113.9", "private.example."), "SOA from a stranger after an xfr_allow host")
}

// TestAllowQueryChildOfPublicZone: a private zone delegated from a public
// parent served here: a refused client gets REFUSED, not the parent's
// referral; the DS at the cut is the parent's (RFC 4035 section 3.1.4.1),
// so answered from it to anyone.
func TestAllowQueryChildOfPublicZone(t *testing.T) {
	db := aclStore(t)
	recs, err := zonefile.ParseString(aclZone("sub.open.example."), zonefile.ParseOptions{Origin: "sub.open.example."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "sub.open.example.", Create: &zonedb.Zone{SG: "inside"}, Replace: true, Records: recs}}}); err != nil {
		t.Fatal(err)
	}
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	for range 2 {
		wantRefused(t, ask(t, s, h, "203.0.113.9", "www.sub.open.example.", dns.TypeA, UDP, nil), "www.sub.open.example. from a stranger")
		if r := ask(t, s, h, "192.0.2.9", "www.sub.open.example.", dns.TypeA, UDP, nil); r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
			t.Errorf("www.sub.open.example. from inside: %v", r)
		}
		r := ask(t, s, h, "203.0.113.9", "sub.open.example.", dns.TypeDS, UDP, nil)
		if r.Rcode != dns.RcodeSuccess || len(r.Ns) != 1 || r.Ns[0].Header().Name != "open.example." {
			t.Errorf("DS at the cut from a stranger: want the parent's NODATA, got %v", r)
		}
	}
}

// TestEngineAnswerAppliesAllowQuery: Engine.Answer, without a worker's
// table, applies allow-query too.
func TestEngineAnswerAppliesAllowQuery(t *testing.T) {
	db := aclStore(t)
	e := NewEngine(Config{}, nil)
	for client, ok := range map[string]bool{"192.0.2.9": true, "::ffff:192.0.2.9": true, "203.0.113.9": false} {
		req := new(dns.Msg)
		req.SetQuestion("www.private.example.", dns.TypeA)
		var r *dns.Msg
		_ = db.View(func(v *zonedb.View) error {
			r = e.Answer(v, req, UDP, netip.MustParseAddr(client))
			return nil
		})
		if ok != (r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1) {
			t.Errorf("from %s (allowed %v): %v", client, ok, r)
		}
		if !ok {
			wantRefused(t, r, client)
		}
	}
}

// TestAllowQueryOverSockets: over UDP and TCP from 127.0.0.1, a private
// zone is refused until its SG allows 127.0.0.0/8, answered (twice, so
// from the cache too) after, refused again once the SG stops allowing it:
// an SG change is seen by the next query, cached answers included.
func TestAllowQueryOverSockets(t *testing.T) {
	db := aclStore(t)
	var denied atomic.Int32
	s := NewServer(db, Options{Listen: []string{"127.0.0.1:0"}, Workers: 1, Observe: func(o Observation) {
		if o.Denied {
			denied.Add(1)
		}
	}}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addrs()[0]
	exchange := func(proto, name string) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			t.Fatalf("%s %s: %v", proto, name, err)
		}
		return r
	}
	setAllow := func(prefixes ...string) {
		t.Helper()
		if _, err := db.UpdateSG("inside", "test", func(sg *zonedb.SG) error { sg.AllowQuery = prefixes; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	want := int32(0)
	for step, allow := range [][]string{{"192.0.2.0/24"}, {"192.0.2.0/24", "127.0.0.0/8"}, {"192.0.2.0/24"}} {
		setAllow(allow...)
		for range 2 {
			for _, proto := range []string{"udp", "tcp"} {
				if r := exchange(proto, "www.open.example."); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					t.Errorf("step %d %s: public zone: %v", step, proto, r)
				}
				r := exchange(proto, "www.private.example.")
				if step == 1 {
					if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
						t.Errorf("step %d %s: allowed: %v", step, proto, r)
					}
					continue
				}
				want++
				wantRefused(t, r, fmt.Sprintf("step %d %s", step, proto))
			}
		}
	}
	if got := denied.Load(); got != want {
		t.Errorf("%d queries observed as denied, want %d", got, want)
	}
}

// BenchmarkServePrivateSG: the query path for a public zone in a store
// that has a private SG (compare with BenchmarkServeCached/Uncached,
// whose store has none).
func BenchmarkServePrivateSG(b *testing.B) {
	for _, cached := range []bool{true, false} {
		name := "cached"
		if !cached {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			db := testStore(b, map[string]string{"bench.example.": benchZone(10000)})
			if _, err := db.CreateSG(zonedb.SG{Name: "inside", AllowQuery: []string{"192.0.2.0/24"}}, "test"); err != nil {
				b.Fatal(err)
			}
			recs, err := zonefile.ParseString(aclZone("private.example."), zonefile.ParseOptions{Origin: "private.example."})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "private.example.", Create: &zonedb.Zone{SG: "inside"}, Replace: true, Records: recs}}}); err != nil {
				b.Fatal(err)
			}
			benchServeStore(b, db, benchQueries(b), cached)
		})
	}
}
