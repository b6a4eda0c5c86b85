package authserver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// rrlMsgs packs a query for name/qtype and a response of the given kind.
func rrlMsgs(t testing.TB, name string, qtype uint16, kind string) (req, resp []byte) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	r := new(dns.Msg)
	r.SetReply(q)
	r.Authoritative = true
	soa, _ := dns.NewRR("example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 300")
	switch kind {
	case "answer":
		rr, _ := dns.NewRR(name + " 300 IN A 192.0.2.1")
		r.Answer = []dns.RR{rr}
	case "nodata":
		r.Ns = []dns.RR{soa}
	case "nxdomain":
		r.Rcode = dns.RcodeNameError
		r.Ns = []dns.RR{soa}
	case "referral":
		r.Authoritative = false
		ns, _ := dns.NewRR("sub.example.org. 300 IN NS ns.example.net.")
		r.Ns = []dns.RR{ns}
	case "refused":
		r.Rcode = dns.RcodeRefused
	}
	var err error
	if req, err = q.Pack(); err != nil {
		t.Fatal(err)
	}
	if resp, err = r.Pack(); err != nil {
		t.Fatal(err)
	}
	return req, resp
}

// rrlRun sends n responses spread evenly over d from client and counts
// what went out whole, truncated, or not at all.
func rrlRun(t testing.TB, r *RRL, clock *time.Time, client string, n int, d time.Duration, msg func(i int) ([]byte, []byte)) (whole, slipped, dropped int) {
	addr := netip.MustParseAddr(client)
	for i := range n {
		*clock = clock.Add(d / time.Duration(n))
		req, resp := msg(i)
		out := r.Apply(req, resp, addr)
		switch {
		case out == nil:
			dropped++
		case out[2]&0x02 != 0:
			slipped++
			if m := new(dns.Msg); m.Unpack(out) != nil || len(m.Answer)+len(m.Ns)+len(m.Extra) != 0 || len(m.Question) != 1 {
				t.Fatalf("a slip is not a bare truncated answer: %v", m)
			}
		default:
			whole++
		}
	}
	return whole, slipped, dropped
}

func testRRL(cfg RRLConfig) (*RRL, *time.Time) {
	r := NewRRL(cfg, nil)
	clock := r.start
	r.clock = func() time.Time { return clock }
	return r, &clock
}

// TestRRLFlood: one name flooded from one address at 10x the rate gets
// about the rate answered (plus the first second's burst), every slip-th
// limited response truncated and the rest dropped; another network keeps
// its answers; an exempt secondary is never limited.
func TestRRLFlood(t *testing.T) {
	const rate, secs = 20, 10
	r, clock := testRRL(RRLConfig{ResponsesPerSecond: rate, Slip: 2, Window: 15 * time.Second,
		Exempt: []netip.Prefix{netip.MustParsePrefix("198.51.100.53/32")}})
	answer := func(int) ([]byte, []byte) { return rrlMsgs(t, "www.example.org.", dns.TypeA, "answer") }
	whole, slipped, dropped := rrlRun(t, r, clock, "192.0.2.7", 10*rate*secs, secs*time.Second, answer)
	// As BIND's: a flood keeps the bucket in debt (down to a window of
	// the rate), so past the first second's burst little more than the
	// refills get through; never more than the rate.
	if whole > rate*secs+rate || whole < rate {
		t.Errorf("flood: %d answered in %d s at %d/s, want at least the burst (%d) and at most the rate (%d)", whole, secs, rate, rate, rate*secs+rate)
	}
	limited := 10*rate*secs - whole
	if slipped < limited/2-1 || slipped > limited/2+1 || slipped+dropped != limited {
		t.Errorf("flood: %d limited, %d slipped, %d dropped; want half slipped (slip 2)", limited, slipped, dropped)
	}
	// No amplification past the rate: what goes out beyond the answers
	// the rate allows (the slips) is no larger than the queries that
	// caused it.
	req, resp := answer(0)
	slipLen := len(truncated(append([]byte(nil), resp...)))
	if slipLen > len(req) || slipped*slipLen > (10*rate*secs-whole)*len(req) {
		t.Errorf("slips of %d bytes for queries of %d", slipLen, len(req))
	}
	// The same /24 shares the limit; another network does not.
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.8", rate, time.Second, answer); w > rate/2 {
		t.Errorf("the flooded /24 got %d of %d answers from another address in it", w, rate)
	}
	if w, s, d := rrlRun(t, r, clock, "203.0.113.9", rate, time.Second, answer); w != rate {
		t.Errorf("another network at the rate: %d answered, %d slipped, %d dropped", w, s, d)
	}
	if w, _, _ := rrlRun(t, r, clock, "198.51.100.53", 10*rate*secs, secs*time.Second, answer); w != 10*rate*secs {
		t.Errorf("an exempt secondary was limited: %d of %d answered", w, 10*rate*secs)
	}
	st := r.Stats()
	if st.Limited == 0 || st.Slipped+st.Dropped != st.Limited || st.LogOnly != 0 {
		t.Errorf("stats %+v", st)
	}
	// A window later the flooder's debt is paid: answered again.
	*clock = clock.Add(16 * time.Second)
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.7", rate, time.Second, answer); w != rate {
		t.Errorf("after the window: %d of %d answered", w, rate)
	}
}

// TestRRLClasses: random names under one zone share the zone's NXDOMAIN
// bucket (a random-name flood is limited); answers for different names
// and types, and referrals to different delegations, do not share.
func TestRRLClasses(t *testing.T) {
	const rate = 10
	r, clock := testRRL(RRLConfig{ResponsesPerSecond: rate, Slip: 0})
	nx := func(i int) ([]byte, []byte) {
		return rrlMsgs(t, fmt.Sprintf("r%d.example.org.", i), dns.TypeA, "nxdomain")
	}
	if w, _, d := rrlRun(t, r, clock, "192.0.2.1", 100, time.Second, nx); w > 2*rate || d == 0 {
		t.Errorf("random-name NXDOMAIN flood: %d answered, %d dropped", w, d)
	}
	refused := func(i int) ([]byte, []byte) {
		return rrlMsgs(t, fmt.Sprintf("r%d.example.com.", i), dns.TypeA, "refused")
	}
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.1", 100, time.Second, refused); w > 2*rate {
		t.Errorf("REFUSED flood: %d answered", w)
	}
	distinct := func(i int) ([]byte, []byte) {
		return rrlMsgs(t, fmt.Sprintf("n%d.example.org.", i), []uint16{dns.TypeA, dns.TypeAAAA}[i%2], "answer")
	}
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.1", 100, time.Second, distinct); w != 100 {
		t.Errorf("answers for 100 names: %d answered", w)
	}
	// Case does not make a new bucket.
	mixed := func(i int) ([]byte, []byte) {
		return rrlMsgs(t, []string{"www.example.org.", "WWW.Example.ORG."}[i%2], dns.TypeA, "answer")
	}
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.1", 100, time.Second, mixed); w > 2*rate {
		t.Errorf("one name in two spellings: %d answered", w)
	}
	ref := func(i int) ([]byte, []byte) {
		return rrlMsgs(t, fmt.Sprintf("h%d.sub.example.org.", i), dns.TypeA, "referral")
	}
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.1", 100, time.Second, ref); w > 2*rate {
		t.Errorf("referrals to one delegation: %d answered", w)
	}
	// IPv6 clients count per /56.
	if w, _, _ := rrlRun(t, r, clock, "2001:db8:0:1::1", 50, time.Second, nx); w > 2*rate {
		t.Errorf("IPv6 flood: %d answered", w)
	}
	if w, _, _ := rrlRun(t, r, clock, "2001:db8:0:ff::2", rate, time.Second, nx); w > rate/2 {
		t.Errorf("the same /56: %d answered", w)
	}
	if w, _, _ := rrlRun(t, r, clock, "2001:db8:0:100::2", rate, time.Second, nx); w != rate {
		t.Errorf("the next /56: %d answered", w)
	}
}

// TestRRLLogOnly: log-only counts what it would limit and answers all.
func TestRRLLogOnly(t *testing.T) {
	r, clock := testRRL(RRLConfig{ResponsesPerSecond: 5, Slip: 2, LogOnly: true})
	answer := func(int) ([]byte, []byte) { return rrlMsgs(t, "www.example.org.", dns.TypeA, "answer") }
	if w, _, _ := rrlRun(t, r, clock, "192.0.2.7", 100, time.Second, answer); w != 100 {
		t.Errorf("log-only answered %d of 100", w)
	}
	if st := r.Stats(); st.LogOnly < 80 || st.Limited != st.LogOnly || st.Dropped+st.Slipped != 0 {
		t.Errorf("log-only stats %+v", st)
	}
}

// TestRRLBounded: the table does not grow with the number of sources, and
// a response costs no allocation.
func TestRRLBounded(t *testing.T) {
	r, clock := testRRL(RRLConfig{ResponsesPerSecond: 5, Buckets: 4096})
	size := len(r.table)
	req, resp := rrlMsgs(t, "www.example.org.", dns.TypeA, "answer")
	for i := range 200_000 {
		*clock = clock.Add(time.Microsecond)
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.Apply(req, resp, a)
	}
	if len(r.table) != size || size != 4096 {
		t.Errorf("table of %d buckets, was %d", len(r.table), size)
	}
	client := netip.MustParseAddr("192.0.2.1")
	if n := testing.AllocsPerRun(1000, func() { r.Apply(req, resp, client) }); n != 0 {
		t.Errorf("Apply allocates %.1f times a response", n)
	}
}

// TestRRLOff: no rate, no limiter.
func TestRRLOff(t *testing.T) {
	if NewRRL(RRLConfig{}, nil) != nil {
		t.Error("a limiter without a rate")
	}
}

func BenchmarkRRLApply(b *testing.B) {
	r := NewRRL(RRLConfig{ResponsesPerSecond: 1 << 30}, nil)
	req, resp := rrlMsgs(b, "www.example.org.", dns.TypeA, "answer")
	client := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		r.Apply(req, resp, client)
	}
}
