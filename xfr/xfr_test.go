package xfr

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

const testSecret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

var (
	secondary = netip.MustParseAddrPort("192.0.2.2:40000")
	keyed     = netip.MustParseAddrPort("192.0.2.3:40000")
	stranger  = netip.MustParseAddrPort("198.51.100.9:40000")
)

func rrs(t testing.TB, lines ...string) []zonedb.Record {
	t.Helper()
	var out []zonedb.Record
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, zonedb.Record{RR: rr})
	}
	return out
}

// setup makes a store with SG ext (servers 192.0.2.2 without a key and
// 192.0.2.3 with key k1), and zone example.org in it.
func setup(t *testing.T) (*zonedb.DB, *Server) {
	t.Helper()
	db := monitorStore(t)
	if _, err := db.PutTSIGKey(zonedb.TSIGKey{Name: "k2", Algorithm: "hmac-sha256", Secret: testSecret}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []zonedb.Server{
		{Name: "s1", Address: secondary.Addr().String(), SG: "ext", Type: "bind9"},
		{Name: "s2", Address: keyed.Addr().String(), SG: "ext", Type: "knot", TSIGKey: "k1"},
	} {
		if _, err := db.CreateServer(s); err != nil {
			t.Fatal(err)
		}
	}
	zone := rrs(t,
		"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 600",
		"example.org. 3600 IN NS ns1.example.org.",
		"ns1.example.org. 3600 IN A 192.0.2.53",
		"www.example.org. 3600 IN A 192.0.2.80",
		"www.example.org. 3600 IN AAAA 2001:db8::80",
		"mail.example.org. 3600 IN MX 10 mx.example.org.",
	)
	hidden := rrs(t, "hidden.example.org. 3600 IN A 192.0.2.99")[0]
	hidden.Flags = zonedb.FlagDisable
	zone = append(zone, hidden)
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{SG: "ext"}, Replace: true, Records: zone}}}); err != nil {
		t.Fatal(err)
	}
	return db, NewServer(db, nil)
}

type result struct {
	msgs []*dns.Msg
	t    Transfer
}

func (r *result) records() []dns.RR {
	var out []dns.RR
	for _, m := range r.msgs {
		out = append(out, m.Answer...)
	}
	return out
}

func (r *result) rcode() int { return r.msgs[0].Rcode }

func run(t *testing.T, s *Server, req *dns.Msg, client netip.AddrPort, tcp bool, key *zonedb.TSIGKey) *result {
	t.Helper()
	r := new(result)
	s.Observe = func(tr Transfer) { r.t = tr }
	sendWire := func(b []byte) error {
		// What goes on the wire must unpack.
		if len(b) > 65535 {
			t.Fatalf("message of %d bytes", len(b))
		}
		u := new(dns.Msg)
		if err := u.Unpack(b); err != nil {
			t.Fatal(err)
		}
		if u.Id != req.Id || !u.Response || u.Opcode != req.Opcode {
			t.Fatalf("answer header %v for request id %d", u.MsgHdr, req.Id)
		}
		r.msgs = append(r.msgs, u)
		return nil
	}
	s.Serve(req, client, tcp, key, sendWire)
	if len(r.msgs) == 0 {
		t.Fatal("no answer")
	}
	return r
}

func axfr(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	return m
}

func ixfr(zone string, serial uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(zone, serial, "ns1."+zone, "hostmaster."+zone)
	return m
}

func key(t *testing.T, db *zonedb.DB, name string) *zonedb.TSIGKey {
	var k *zonedb.TSIGKey
	db.View(func(v *zonedb.View) error {
		var err error
		k, err = v.TSIGKey(name)
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	return k
}

func strs(rs []dns.RR) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strings.ReplaceAll(r.String(), "\t", " "))
	}
	return out
}

func TestAXFR(t *testing.T) {
	db, s := setup(t)
	s.MaxMessage = 100 // a few records per message
	r := run(t, s, axfr("example.org."), secondary, true, nil)
	if r.rcode() != dns.RcodeSuccess || r.t.Result != ResultOK {
		t.Fatalf("rcode %d result %s %v", r.rcode(), r.t.Result, r.t.Err)
	}
	recs := r.records()
	if len(recs) != 7 {
		t.Fatalf("%d records, want 7 (SOA, 5 records, SOA; the DISABLE one left out):\n%s", len(recs), strings.Join(strs(recs), "\n"))
	}
	if recs[0].Header().Rrtype != dns.TypeSOA || recs[6].Header().Rrtype != dns.TypeSOA {
		t.Errorf("SOA not first and last: %v", strs(recs))
	}
	if len(r.msgs) < 3 {
		t.Errorf("%d messages, want the zone cut into several", len(r.msgs))
	}
	for i, m := range r.msgs {
		if (len(m.Question) == 1) != (i == 0) {
			t.Errorf("message %d has %d questions; only the first repeats it", i, len(m.Question))
		}
		if !m.Authoritative {
			t.Errorf("message %d not authoritative", i)
		}
	}
	for _, rr := range recs {
		if strings.HasPrefix(rr.Header().Name, "hidden.") {
			t.Errorf("DISABLE record transferred: %v", rr)
		}
	}
	// The keyed server with its key.
	if r := run(t, s, axfr("example.org."), keyed, true, key(t, db, "k1")); r.rcode() != dns.RcodeSuccess {
		t.Errorf("keyed server with its key: rcode %d", r.rcode())
	}
	// The catalog zone goes to the SG's servers.
	if r := run(t, s, axfr("ext.catalog.invalid."), secondary, true, nil); r.rcode() != dns.RcodeSuccess || len(r.records()) != 5 {
		t.Errorf("catalog AXFR: rcode %d, %v", r.rcode(), strs(r.records()))
	}
}

func TestTransferRefusals(t *testing.T) {
	db, s := setup(t)
	for _, tc := range []struct {
		name   string
		req    *dns.Msg
		client netip.AddrPort
		tcp    bool
		key    *zonedb.TSIGKey
		rcode  int
		result Result
		why    string
	}{
		{"stranger", axfr("example.org."), stranger, true, nil, dns.RcodeRefused, ResultRefused, "not a server of server group ext"},
		{"stranger with a valid key", axfr("example.org."), stranger, true, key(t, db, "k1"), dns.RcodeRefused, ResultRefused, "not a server"},
		{"keyed server unsigned", axfr("example.org."), keyed, true, nil, dns.RcodeRefused, ResultRefused, "must sign with TSIG key k1;"},
		{"keyed server, other key", axfr("example.org."), keyed, true, key(t, db, "k2"), dns.RcodeRefused, ResultRefused, "with TSIG key k1, not k2"},
		{"AXFR over UDP", axfr("example.org."), secondary, false, nil, dns.RcodeFormatError, ResultFormErr, "UDP"},
		{"zone not served", axfr("example.com."), secondary, true, nil, dns.RcodeNotAuth, ResultNotAuth, "not a zone"},
		{"name inside a zone", axfr("www.example.org."), secondary, true, nil, dns.RcodeNotAuth, ResultNotAuth, "not a zone"},
		{"IXFR without SOA", func() *dns.Msg { m := ixfr("example.org.", 1); m.Ns = nil; return m }(), secondary, true, nil, dns.RcodeFormatError, ResultFormErr, "SOA"},
		{"IXFR with another zone's SOA", func() *dns.Msg { m := ixfr("example.org.", 1); m.Ns[0].Header().Name = "example.com."; return m }(), secondary, true, nil, dns.RcodeFormatError, ResultFormErr, "SOA"},
		{"IXFR with two SOAs", func() *dns.Msg { m := ixfr("example.org.", 1); m.Ns = append(m.Ns, m.Ns[0]); return m }(), secondary, true, nil, dns.RcodeFormatError, ResultFormErr, "SOA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, s, tc.req, tc.client, tc.tcp, tc.key)
			if r.rcode() != tc.rcode || r.t.Result != tc.result || len(r.records()) != 0 {
				t.Fatalf("rcode %s result %s, %d records; want %s %s", dns.RcodeToString[r.rcode()], r.t.Result, len(r.records()), dns.RcodeToString[tc.rcode], tc.result)
			}
			if r.t.Err == nil || !strings.Contains(r.t.Err.Error(), tc.why) {
				t.Errorf("reason %v, want it to say %q", r.t.Err, tc.why)
			}
		})
	}
	// The global allow list lets a monitoring host in.
	if err := db.SetConfig(map[string]string{zonedb.ConfigXfrAllow: "198.51.100.0/24"}); err != nil {
		t.Fatal(err)
	}
	if r := run(t, s, axfr("example.org."), stranger, true, nil); r.rcode() != dns.RcodeSuccess {
		t.Errorf("allow-listed host: rcode %d", r.rcode())
	}
}

func commitOps(t *testing.T, db *zonedb.DB, ops ...zonedb.RecordOp) uint32 {
	t.Helper()
	res, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Ops: ops}}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].Serial
}

func add(t *testing.T, line string) zonedb.RecordOp {
	return zonedb.RecordOp{Kind: zonedb.OpAdd, Record: rrs(t, line)[0]}
}

func del(t *testing.T, line string) zonedb.RecordOp {
	return zonedb.RecordOp{Kind: zonedb.OpDelete, Record: rrs(t, line)[0]}
}

func serialOf(t *testing.T, db *zonedb.DB) uint32 {
	var s uint32
	db.View(func(v *zonedb.View) error {
		z, err := v.Zone("example.org")
		if err != nil {
			t.Fatal(err)
		}
		s = z.Serial
		return nil
	})
	return s
}

func TestIXFR(t *testing.T) {
	db, s := setup(t)
	s0 := serialOf(t, db)
	s1 := commitOps(t, db, add(t, "new.example.org. 3600 IN A 192.0.2.1"))
	// Added then removed: condensed away. A TTL change: old out, new in.
	s2 := commitOps(t, db, add(t, "tmp.example.org. 3600 IN A 192.0.2.2"), del(t, "www.example.org. 3600 IN AAAA 2001:db8::80"))
	s3 := commitOps(t, db, del(t, "tmp.example.org. 3600 IN A 192.0.2.2"),
		zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: rrs(t, "mail.example.org. 60 IN MX 10 mx.example.org.")})
	soa := func(rr dns.RR) uint32 { return rr.(*dns.SOA).Serial }

	r := run(t, s, ixfr("example.org.", s0), secondary, true, nil)
	got := strs(r.records())
	want := []string{
		fmt.Sprintf("SOA %d", s3), fmt.Sprintf("SOA %d", s0),
		"www.example.org. 3600 IN AAAA 2001:db8::80", "mail.example.org. 3600 IN MX 10 mx.example.org.",
		fmt.Sprintf("SOA %d", s3),
		"new.example.org. 3600 IN A 192.0.2.1", "mail.example.org. 60 IN MX 10 mx.example.org.",
		fmt.Sprintf("SOA %d", s3),
	}
	norm := func(rs []dns.RR) []string {
		var out []string
		for i, rr := range rs {
			if rr.Header().Rrtype == dns.TypeSOA {
				out = append(out, fmt.Sprintf("SOA %d", soa(rr)))
			} else {
				out = append(out, got[i])
			}
		}
		return out
	}
	g := norm(r.records())
	// Within each side, order is not significant.
	if len(g) != len(want) || g[0] != want[0] || g[1] != want[1] || g[4] != want[4] || g[7] != want[7] ||
		!sameSet(g[2:4], want[2:4]) || !sameSet(g[5:7], want[5:7]) {
		t.Fatalf("condensed IXFR from %d:\n%s\nwant\n%s", s0, strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	if r.t.Type != "IXFR" || r.t.Result != ResultOK {
		t.Errorf("transfer %s %s", r.t.Type, r.t.Result)
	}

	// From s2 (one step).
	r = run(t, s, ixfr("example.org.", s2), secondary, true, nil)
	if n := len(r.records()); n != 7 { // SOA, SOA, MX and tmp out, SOA, new MX in, SOA
		t.Errorf("IXFR from %d: %d records %v", s2, n, strs(r.records()))
	}
	// From s1: tmp was added and removed after it, so it is not there.
	r = run(t, s, ixfr("example.org.", s1), secondary, true, nil)
	if g := strs(r.records()); len(g) != 7 || strings.Contains(strings.Join(g, " "), "tmp.") {
		t.Errorf("IXFR from %d: %v", s1, g)
	}

	// Current or future serial: our SOA only.
	for _, serial := range []uint32{s3, s3 + 5} {
		r = run(t, s, ixfr("example.org.", serial), secondary, true, nil)
		if recs := r.records(); len(recs) != 1 || soa(recs[0]) != s3 || r.t.Result != ResultUpToDate {
			t.Errorf("IXFR from %d: %v %s", serial, strs(recs), r.t.Result)
		}
	}
	// Over UDP while behind: our SOA with TC.
	r = run(t, s, ixfr("example.org.", s0), secondary, false, nil)
	if recs := r.records(); len(recs) != 1 || soa(recs[0]) != s3 || !r.msgs[0].Truncated {
		t.Errorf("IXFR over UDP from %d: %v TC=%v", s0, strs(recs), r.msgs[0].Truncated)
	}
	// A serial the journal does not hold: the whole zone in IXFR form.
	r = run(t, s, ixfr("example.org.", s0-1000), secondary, true, nil)
	recs := r.records()
	if r.t.Type != "IXFR-AXFR" || soa(recs[0]) != s3 || soa(recs[len(recs)-1]) != s3 || len(recs) != 7 {
		t.Errorf("IXFR from an unknown serial: %s %v", r.t.Type, strs(recs))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// BenchmarkAXFR streams a 100 000-record zone into packed messages, as the
// server does (without TSIG and the network).
func BenchmarkAXFR(b *testing.B) {
	db, err := zonedb.Open(filepath.Join(b.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recs := rrs(b,
		"big.example. 3600 IN SOA ns1.big.example. hostmaster.big.example. 1 600 600 604800 600",
		"big.example. 3600 IN NS ns1.big.example.",
		"ns1.big.example. 3600 IN A 192.0.2.1")
	for i := range 100000 {
		rr := &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.big.example.", i), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600},
			A: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))}
		recs = append(recs, zonedb.Record{RR: rr})
	}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "big.example", Create: &zonedb.Zone{}, Replace: true, Records: recs}}}); err != nil {
		b.Fatal(err)
	}
	if err := db.SetConfig(map[string]string{zonedb.ConfigXfrAllow: "127.0.0.0/8"}); err != nil {
		b.Fatal(err)
	}
	s := NewServer(db, nil)
	req := axfr("big.example.")
	client := netip.MustParseAddrPort("127.0.0.1:5353")
	var bytes int
	b.ResetTimer()
	for range b.N {
		bytes = 0
		s.Serve(req, client, true, nil, func(b []byte) error {
			bytes += len(b)
			return nil
		})
	}
	b.ReportMetric(float64(bytes), "bytes/xfr")
}

// TestTransfersOutBounded: past MaxOut transfers at once, a request is
// refused (the secondary retries) and counted as refused; when one ends,
// the next is answered.
func TestTransfersOutBounded(t *testing.T) {
	db, s := setup(t)
	s.SetMaxOut(1)
	var results []Transfer
	s.Observe = func(tr Transfer) { results = append(results, tr) }
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		first := true
		s.Serve(axfr("example.org."), secondary, true, nil, func([]byte) error {
			if first {
				first = false
				close(started)
				<-release // a slow secondary holds its slot
			}
			return nil
		})
	}()
	<-started
	var rcode = -1
	s.Serve(axfr("example.org."), secondary, true, nil, func(b []byte) error {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			return err
		}
		rcode = m.Rcode
		return nil
	})
	if rcode != dns.RcodeRefused || len(results) != 1 || results[0].Result != ResultRefused || !strings.Contains(results[0].Err.Error(), "transfers under way") {
		t.Errorf("a transfer past the bound: rcode %d, %+v", rcode, results)
	}
	close(release)
	<-done
	rcode = -1
	s.Serve(axfr("example.org."), secondary, true, nil, func(b []byte) error {
		m := new(dns.Msg)
		_ = m.Unpack(b)
		if rcode < 0 {
			rcode = m.Rcode
		}
		return nil
	})
	if rcode != dns.RcodeSuccess {
		t.Errorf("after the slot came back: rcode %d", rcode)
	}
	_ = db
}
