package authserver

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestPanicsAreRecovered: a panic while handling a request (here in the
// transfer and update handlers, over TCP and UDP) loses that request
// only: it is counted, and the same worker and connection go on.
func TestPanicsAreRecovered(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	s := NewServer(db, Options{Listen: []string{"127.0.0.1:0"}, Workers: 1,
		Transfer: func(*dns.Msg, netip.AddrPort, bool, *zonedb.TSIGKey, func([]byte) error) { panic("transfer handler") },
		Update:   func(*dns.Msg, netip.AddrPort, *zonedb.TSIGKey) *dns.Msg { panic("update handler") },
	}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addrs()[0]
	q := new(dns.Msg)
	q.SetQuestion("www.example.org.", dns.TypeA)

	// TCP: the AXFR's panic ends nothing but the AXFR.
	conn, err := dns.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ax := new(dns.Msg)
	ax.SetAxfr("example.org.")
	if err := conn.WriteMsg(ax); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if r, err := conn.ReadMsg(); err != nil || r.Id != q.Id || len(r.Answer) != 1 {
		t.Fatalf("the query after a panicking AXFR on one connection: %v %v", r, err)
	}

	// UDP: an update's panic, then a query to the same (only) worker.
	up := new(dns.Msg)
	up.SetUpdate("example.org.")
	c := &dns.Client{Timeout: 300 * time.Millisecond}
	if r, _, err := c.Exchange(up, addr); err == nil {
		t.Errorf("an answer to the panicking update: %v", r)
	}
	c.Timeout = 2 * time.Second
	if r, _, err := c.Exchange(q, addr); err != nil || len(r.Answer) != 1 {
		t.Fatalf("the query after a panicking update: %v %v", r, err)
	}
	if n := s.Panics(); n != 2 {
		t.Errorf("%d panics counted, want 2", n)
	}
}

// TestTCPSlotsPerClient: a client's share of connections, by address for
// IPv4 and by /64 for IPv6; slots come back when connections close.
func TestTCPSlotsPerClient(t *testing.T) {
	ts := tcpSlots{max: 2}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	v6a, v6b, v6c := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff"), netip.MustParseAddr("2001:db8:0:1::1")
	for _, step := range []struct {
		addr netip.Addr
		take bool
		want bool
	}{
		{a, true, true}, {a, true, true}, {a, true, false}, {b, true, true},
		{v6a, true, true}, {v6b, true, true}, {v6a, true, false}, {v6c, true, true},
		{a, false, false}, {a, true, true},
	} {
		if !step.take {
			ts.release(step.addr)
			continue
		}
		if got := ts.take(step.addr); got != step.want {
			t.Errorf("take(%s) = %v, want %v", step.addr, got, step.want)
		}
	}
}
