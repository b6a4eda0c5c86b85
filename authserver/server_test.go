package authserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestServerConcurrentQueriesAndCommits: queries over UDP and TCP from
// several goroutines while commits land; every answer is whole and a name
// added by a commit is answered right after the commit returns. Run with
// -race to check the workers' views and caches.
func TestServerConcurrentQueriesAndCommits(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	s := NewServer(db, Options{Listen: []string{"127.0.0.1:0"}, Workers: 2}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addrs()[0]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: []string{"udp", "tcp"}[g%2], Timeout: 2 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := new(dns.Msg)
				m.SetQuestion("www.example.org.", dns.TypeA)
				r, _, err := c.Exchange(m, addr)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					errs <- fmt.Errorf("query %d: %v %v", i, err, r)
					return
				}
			}
		}()
	}
	c := &dns.Client{Timeout: 2 * time.Second}
	for i := range 30 {
		name := fmt.Sprintf("n%d.example.org.", i)
		rr, _ := dns.NewRR(name + " 300 IN A 192.0.2.9")
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org.", Ops: []zonedb.RecordOp{{Kind: zonedb.OpAdd, Record: zonedb.Record{RR: rr}}}}}}); err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		// Twice, so the second may come from a worker's cache. A UDP
		// query may be dropped under load (a full socket buffer): ask
		// again then; a stale answer is a failure.
		for range 2 {
			var r *dns.Msg
			var err error
			for try := 0; try < 5; try++ {
				if r, _, err = c.Exchange(m, addr); err == nil {
					break
				}
			}
			if err != nil || len(r.Answer) != 1 {
				t.Fatalf("%s right after its commit: %v %v", name, err, r)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUpdateOverUDPAsync: a dynamic update over UDP runs beside the
// worker, which answers queries meanwhile; the update sees its own
// request, not the packets the worker read after it (run with -race).
func TestUpdateOverUDPAsync(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	const secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	if _, err := db.PutTSIGKey(zonedb.TSIGKey{Name: "k1.", Algorithm: "hmac-sha256", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	seen := make(chan string, 1)
	s := NewServer(db, Options{Listen: []string{"127.0.0.1:0"}, Workers: 1, Update: func(req *dns.Msg, _ netip.AddrPort, key *zonedb.TSIGKey) *dns.Msg {
		m := new(dns.Msg)
		if key == nil {
			return m.SetRcode(req, dns.RcodeRefused) // at once, as the contract wants
		}
		<-release // as long as a commit
		seen <- req.Question[0].Name
		return m.SetRcode(req, dns.RcodeSuccess)
	}}, nil)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failed test must not leave the pool waiting
		}
	}()
	addr := s.Addrs()[0]
	upd := new(dns.Msg)
	upd.SetUpdate("example.org.")
	upd.SetTsig("k1.", dns.HmacSHA256, 300, time.Now().Unix())
	done := make(chan *dns.Msg, 1)
	go func() {
		c := &dns.Client{TsigSecret: map[string]string{"k1.": secret}, Timeout: 5 * time.Second}
		r, _, _ := c.Exchange(upd, addr)
		done <- r
	}()
	// The one worker answers a query, and refuses an unsigned update,
	// while the signed update waits for its commit.
	time.Sleep(50 * time.Millisecond)
	q := new(dns.Msg)
	q.SetQuestion("www.example.org.", dns.TypeA)
	if r, err := dns.Exchange(q, addr); err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("query while an update runs: %v %v", r, err)
	}
	unsigned := new(dns.Msg)
	unsigned.SetUpdate("example.org.")
	if r, err := dns.Exchange(unsigned, addr); err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("unsigned update while a signed one runs: %v %v", r, err)
	}
	close(release)
	if name := <-seen; name != "example.org." {
		t.Errorf("the update saw %q", name)
	}
	if r := <-done; r == nil || r.Rcode != dns.RcodeSuccess || r.Id != upd.Id {
		t.Errorf("update answer %v", r)
	}
}

// TestCatalogAnswerNotCached: a catalog zone (it lists every zone of its
// SG) answered to the SG's server must not come out of the answer cache
// for a stranger asking the same.
func TestCatalogAnswerNotCached(t *testing.T) {
	db := testStore(t, nil)
	if _, err := db.CreateSG(zonedb.SG{Name: "inside"}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateServer(zonedb.Server{Name: "sec1", Address: "203.0.113.53", SG: "inside", Type: "bind9"}); err != nil {
		t.Fatal(err)
	}
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db}
	defer h.release()
	ask := func(client string) *dns.Msg {
		in := pack(t, "inside.catalog.invalid.", dns.TypeSOA, nil)
		b := s.handle(h, new(dns.Msg), in, make([]byte, 0, 65535), UDP, netip.AddrPortFrom(netip.MustParseAddr(client), 5300), nil)
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for range 2 {
		if r := ask("203.0.113.53"); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("catalog SOA from the SG's server: %v", r)
		}
		if r := ask("203.0.113.9"); r.Rcode != dns.RcodeRefused || len(r.Answer)+len(r.Ns) != 0 {
			t.Errorf("catalog SOA from a stranger after the SG's server: %v", r)
		}
	}
}

// TestListenErrors: the two likeliest mistakes in --listen are named in
// the error: a port another server holds, and an address no interface
// has.
func TestListenErrors(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, c := range []struct{ addr, want string }{
		{pc.LocalAddr().String(), "address already in use (is another nameserver running there?)"},
		{"192.0.2.1:5300", "(no interface of this machine has that address)"},
	} {
		s := NewServer(db, Options{Listen: []string{c.addr}, Workers: 1}, nil)
		err := s.Start(context.Background())
		if err == nil {
			s.Close()
			t.Errorf("listen %s: no error", c.addr)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("listen %s: %v, want %q", c.addr, err, c.want)
		}
	}
}
