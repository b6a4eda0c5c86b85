package authserver

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

func pack(t testing.TB, name string, qtype uint16, edit func(*dns.Msg)) []byte {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0x4242
	if edit != nil {
		edit(m)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCacheSameAnswers: a cached answer is byte for byte the answer the
// full path gives, with the query's id, flags and letter case.
func TestCacheSameAnswers(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg, "example.net.": exampleNet})
	s := NewServer(db, Options{}, nil)
	client := netip.MustParseAddrPort("192.0.2.9:5300")
	names := []string{"www.example.org.", "WwW.ExAmple.ORG.", "ftp.example.org.", "nope.example.org.", "a.wild.example.org.",
		"x.sub.example.org.", "www.old.example.org.", "example.org.", "b.c.example.org.", "www.example.com."}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeNS, dns.TypeTXT, dns.TypeANY}
	edits := map[string]func(*dns.Msg){
		"plain":      nil,
		"edns":       func(m *dns.Msg) { m.SetEdns0(4096, false) },
		"edns do":    func(m *dns.Msg) { m.SetEdns0(1232, true) },
		"edns small": func(m *dns.Msg) { m.SetEdns0(600, false) },
		"no rd":      func(m *dns.Msg) { m.RecursionDesired = false },
		"cd":         func(m *dns.Msg) { m.CheckingDisabled = true },
	}
	warm := &viewHolder{db: db}
	defer warm.release()
	for _, name := range names {
		for _, qt := range types {
			for en, edit := range edits {
				for _, proto := range []Proto{UDP, TCP} {
					in := pack(t, name, qt, edit)
					cold := &viewHolder{db: db}
					want := append([]byte(nil), s.handle(cold, new(dns.Msg), in, make([]byte, 0, 65535), proto, client, nil)...)
					cold.release()
					// The first query fills the cache (from another case of
					// the name), the second is answered from it.
					s.handle(warm, new(dns.Msg), pack(t, lowerFirst(name), qt, edit), make([]byte, 0, 65535), proto, client, nil)
					if _, _, ok := parsePlain(in, proto, nil); !ok {
						t.Fatalf("%s %s %s: not a plain query", name, dns.TypeToString[qt], en)
					}
					got := s.handle(warm, new(dns.Msg), in, make([]byte, 0, 65535), proto, client, nil)
					// Names compare without case (the cached answer's names
					// may point at the question and take its case), except
					// the question, which echoes the query exactly.
					var g, w dns.Msg
					if err := g.Unpack(got); err != nil {
						t.Fatal(err)
					}
					w.Unpack(want)
					if g.Question[0] != w.Question[0] || len(got) > len(want) || !strings.EqualFold(g.String(), w.String()) {
						t.Errorf("%s %s %s proto %d: cached answer differs\n got %v\nwant %v", name, dns.TypeToString[qt], en, proto, &g, &w)
					}
				}
			}
		}
	}
	if warm.cache.n == 0 {
		t.Fatal("nothing was cached")
	}
}

func lowerFirst(s string) string { return string(bytes.ToLower([]byte(s))) }

// TestCacheSeesCommits: the next query after a commit gets the new data.
func TestCacheSeesCommits(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	ask := func() *dns.Msg {
		b := s.handle(h, new(dns.Msg), pack(t, "new.example.org.", dns.TypeA, nil), make([]byte, 0, 65535), UDP, netip.AddrPort{}, nil)
		var m dns.Msg
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		return &m
	}
	if r := ask(); r.Rcode != dns.RcodeNameError {
		t.Fatalf("before: %v", r)
	}
	ask() // now cached
	rr, _ := dns.NewRR("new.example.org. 300 IN A 192.0.2.77")
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org.", Ops: []zonedb.RecordOp{{Kind: zonedb.OpAdd, Record: zonedb.Record{RR: rr}}}}}}); err != nil {
		t.Fatal(err)
	}
	if r := ask(); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("after commit: %v", r)
	}
}

// TestParsePlainRejects: what the cache must leave to the full path.
func TestParsePlainRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"cookie": pack(t, "www.example.org.", dns.TypeA, func(m *dns.Msg) {
			m.SetEdns0(1232, false)
			m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
		}),
		"edns version 1": pack(t, "www.example.org.", dns.TypeA, func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }),
		"chaos":          pack(t, "version.bind.", dns.TypeTXT, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }),
		"axfr":           pack(t, "example.org.", dns.TypeAXFR, nil),
		"notify":         pack(t, "example.org.", dns.TypeSOA, func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }),
		"response":       pack(t, "example.org.", dns.TypeSOA, func(m *dns.Msg) { m.Response = true }),
		"trailing":       append(pack(t, "example.org.", dns.TypeSOA, nil), 0),
	} {
		if _, _, ok := parsePlain(in, UDP, nil); ok {
			t.Errorf("%s taken as a plain query", name)
		}
	}
}

// benchZone is the bench/gen.sh zone's shape, smaller.
func benchZone(n int) string {
	var b bytes.Buffer
	b.WriteString("$TTL 3600\n@ SOA ns1.bench.example. h.bench.example. 1 3600 900 1209600 300\n@ NS ns1.bench.example.\nns1 A 192.0.2.1\n*.w A 192.0.2.99\n")
	for i := range n {
		fmt.Fprintf(&b, "h%d A 10.0.%d.%d\nh%d AAAA 2001:db8::%x\n", i, i/256%256, i%256, i, i)
	}
	for i := range n / 100 {
		fmt.Fprintf(&b, "d%d NS ns1.d%d\nns1.d%d A 198.51.100.%d\n", i, i, i, i%256)
	}
	return b.String()
}

func benchServe(b *testing.B, queries [][]byte, cached bool) {
	benchServeStore(b, testStore(b, map[string]string{"bench.example.": benchZone(10000)}), queries, cached)
}

func benchServeStore(b *testing.B, db *zonedb.DB, queries [][]byte, cached bool) {
	benchServeHolder(b, db, queries, &viewHolder{db: db, noCache: !cached})
}

func benchServeHolder(b *testing.B, db *zonedb.DB, queries [][]byte, h *viewHolder) {
	s := NewServer(db, Options{}, nil)
	defer h.release()
	out := make([]byte, 0, 65535)
	req := new(dns.Msg)
	for _, q := range queries {
		s.handle(h, req, q, out, UDP, netip.AddrPort{}, nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		*req = dns.Msg{}
		if s.handle(h, req, queries[i%len(queries)], out, UDP, netip.AddrPort{}, nil) == nil {
			b.Fatal("no answer")
		}
		i++
	}
}

func benchQueries(b *testing.B) [][]byte {
	var qs [][]byte
	for i := range 1000 {
		qs = append(qs, pack(b, fmt.Sprintf("h%d.bench.example.", i*7), dns.TypeA, nil))
		qs = append(qs, pack(b, fmt.Sprintf("nx%d.bench.example.", i), dns.TypeA, nil))
		qs = append(qs, pack(b, fmt.Sprintf("www.d%d.bench.example.", i%100), dns.TypeA, nil))
		qs = append(qs, pack(b, fmt.Sprintf("x%d.w.bench.example.", i), dns.TypeA, nil))
	}
	return qs
}

// BenchmarkServeCached: the cached-answer path, query bytes in, answer
// bytes out (must be 0 allocs/op).
func BenchmarkServeCached(b *testing.B) { benchServe(b, benchQueries(b), true) }

// BenchmarkServeUncached: the general path (parse, lookup, pack).
func BenchmarkServeUncached(b *testing.B) { benchServe(b, benchQueries(b), false) }

// BenchmarkServeWire: the same queries (positive, NXDOMAIN, referral with
// glue, wildcard) without the answer cache: the wire-form path.
func BenchmarkServeWire(b *testing.B) {
	db := testStore(b, map[string]string{"bench.example.": benchZone(10000)})
	benchServeHolder(b, db, benchQueries(b), &viewHolder{db: db, noAnswerCache: true})
}

// BenchmarkReferral: referrals with glue without the answer cache.
func BenchmarkReferral(b *testing.B) {
	db := testStore(b, map[string]string{"bench.example.": benchZone(10000)})
	var qs [][]byte
	for i := range 100 {
		qs = append(qs, pack(b, fmt.Sprintf("www.d%d.bench.example.", i), dns.TypeA, nil))
	}
	benchServeHolder(b, db, qs, &viewHolder{db: db, noAnswerCache: true})
}

// BenchmarkServeParallel runs the query path on every P, each goroutine a
// worker with its own read transaction and cache, as in dms serve: run with
// -cpu 1,2 to see that workers do not contend (no shared lock on the path).
func BenchmarkServeParallel(b *testing.B) {
	for _, mode := range []string{"cached", "wire", "general"} {
		b.Run(mode, func(b *testing.B) {
			db := testStore(b, map[string]string{"bench.example.": benchZone(10000)})
			s := NewServer(db, Options{}, nil)
			queries := benchQueries(b)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				h := &viewHolder{db: db, noCache: mode == "general", noAnswerCache: mode == "wire"}
				defer h.release()
				out := make([]byte, 0, 65535)
				req := new(dns.Msg)
				i := 0
				for pb.Next() {
					*req = dns.Msg{}
					s.handle(h, req, queries[i%len(queries)], out, UDP, netip.AddrPort{}, nil)
					i++
				}
			})
		})
	}
}

// TestNoAnswerCacheKeepsNothing: a worker without the answer cache (dms
// serve's default) keeps no answer, whichever path made it (the general
// path kept its answers all the same, memory never read).
func TestNoAnswerCacheKeepsNothing(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg, "example.net.": exampleNet})
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db, noAnswerCache: true}
	defer h.release()
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"www.example.org.", dns.TypeA}, {"www.old.example.org.", dns.TypeA}, {"nope.example.org.", dns.TypeMX}} {
		for range 2 {
			if s.handle(h, new(dns.Msg), pack(t, q.name, q.qtype, nil), make([]byte, 0, 4096), UDP, netip.AddrPort{}, nil) == nil {
				t.Fatalf("%s: no answer", q.name)
			}
		}
	}
	if h.cache.n != 0 || len(h.cache.arena) != 0 {
		t.Errorf("%d answers kept, %d bytes", h.cache.n, len(h.cache.arena))
	}
}

// TestAnswerCacheOption: a UDP worker has no answer cache unless
// Options.AnswerCacheBytes gives one, and then that bound.
func TestAnswerCacheOption(t *testing.T) {
	for _, c := range []struct {
		bytes int
		off   bool
	}{{0, true}, {-1, true}, {1 << 20, false}} {
		h := NewServer(nil, Options{AnswerCacheBytes: c.bytes}, nil).udpHolder(nil, 1)
		if h.noAnswerCache != c.off || !c.off && h.cache.max != c.bytes {
			t.Errorf("AnswerCacheBytes %d: no cache %v, bound %d", c.bytes, h.noAnswerCache, h.cache.max)
		}
	}
}

// TestAnswerCacheBound: a cache past its byte bound starts again empty.
func TestAnswerCacheBound(t *testing.T) {
	c := answerCache{max: 4096}
	wire := make([]byte, 500)
	for i := range 20 {
		c.put(1, []byte(fmt.Sprintf("key%d", i)), cacheEntry{wire: wire})
		if len(c.arena) > c.max {
			t.Fatalf("after %d answers: %d bytes kept, bound %d", i+1, len(c.arena), c.max)
		}
	}
	if _, ok := c.get(1, []byte("key19")); !ok {
		t.Error("the newest answer is not kept")
	}
	if _, ok := c.get(1, []byte("key0")); ok {
		t.Error("the oldest answer outlived the bound")
	}
}
