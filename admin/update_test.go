package admin

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

func TestUpdatePolicy(t *testing.T) {
	rules := []string{"example.org _acme-challenge.* TXT", "*.dyn.example.net * A,AAAA sectag=CUST", "example.com @ ANY"}
	key := &zonedb.TSIGKey{Name: "k."}
	for _, s := range rules {
		r, err := ParseUpdateRule(s)
		if err != nil {
			t.Fatal(err)
		}
		key.Update = append(key.Update, r)
	}
	for _, c := range []struct {
		zone, name string
		t          uint16
		ok         bool
	}{
		{"example.org.", "_acme-challenge.www.example.org.", dns.TypeTXT, true},
		{"example.org.", "_acme-challenge.a.b.example.org.", dns.TypeTXT, true},
		{"example.org.", "_acme-challenge.www.example.org.", dns.TypeA, false},
		{"example.org.", "www.example.org.", dns.TypeTXT, false},
		{"a.dyn.example.net.", "h1.a.dyn.example.net.", dns.TypeAAAA, true},
		{"a.dyn.example.net.", "h1.a.dyn.example.net.", dns.TypeMX, false},
		{"example.com.", "example.com.", dns.TypeMX, true},
		{"example.com.", "example.com.", dns.TypeSOA, false},
		{"example.com.", "example.com.", dns.TypeNS, false},
		{"example.com.", "example.com.", dns.TypeDNSKEY, false},
		{"example.com.", "www.example.com.", dns.TypeMX, false},
	} {
		if _, ok := grants(key, c.zone, c.name, c.t); ok != c.ok {
			t.Errorf("%s %s %s: %v, want %v", c.zone, c.name, dns.TypeToString[c.t], ok, c.ok)
		}
	}
	for _, bad := range []string{"example.org", "a b C,NOPE", "a b SOA", "a b RRSIG", "[ b TXT"} {
		if _, err := ParseUpdateRule(bad); err == nil {
			t.Errorf("rule %q accepted", bad)
		}
	}
}

// TestUpdatePrerequisites: RFC 2136 section 3.2, each kind.
func TestUpdatePrerequisites(t *testing.T) {
	s, c := updateWorld(t)
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	prereq := func(name string, class uint16, typ uint16) dns.RR {
		return &dns.ANY{Hdr: dns.RR_Header{Name: name, Rrtype: typ, Class: class}}
	}
	for _, tc := range []struct {
		name    string
		prereqs []dns.RR
		rcode   int
	}{
		{"name in use", []dns.RR{prereq("www.up.example.", dns.ClassANY, dns.TypeANY)}, dns.RcodeSuccess},
		{"name in use, missing", []dns.RR{prereq("nope.up.example.", dns.ClassANY, dns.TypeANY)}, dns.RcodeNameError},
		{"RRset exists", []dns.RR{prereq("www.up.example.", dns.ClassANY, dns.TypeA)}, dns.RcodeSuccess},
		{"RRset exists, missing", []dns.RR{prereq("www.up.example.", dns.ClassANY, dns.TypeMX)}, dns.RcodeNXRrset},
		{"name not in use, exists", []dns.RR{prereq("www.up.example.", dns.ClassNONE, dns.TypeANY)}, dns.RcodeYXDomain},
		{"RRset does not exist, exists", []dns.RR{prereq("www.up.example.", dns.ClassNONE, dns.TypeA)}, dns.RcodeYXRrset},
		{"RRset is, same", []dns.RR{rr("www.up.example. 0 IN A 192.0.2.1")}, dns.RcodeSuccess},
		{"RRset is, differs", []dns.RR{rr("www.up.example. 0 IN A 192.0.2.2")}, dns.RcodeNXRrset},
		{"a hidden (DISABLE) name is not in use", []dns.RR{prereq("hidden.up.example.", dns.ClassNONE, dns.TypeANY)}, dns.RcodeSuccess},
	} {
		m := new(dns.Msg)
		m.SetUpdate("up.example.")
		m.Answer = tc.prereqs
		m.Ns = []dns.RR{rr(`t.up.example. 60 IN TXT "` + tc.name + `"`)}
		resp := s.DynamicUpdate(m, netip.MustParseAddrPort("192.0.2.7:5353"), c)
		if resp.Rcode != tc.rcode {
			t.Errorf("%s: %s, want %s", tc.name, dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
		}
	}
	// A DISABLE record survives an update of its RRset.
	m := new(dns.Msg)
	m.SetUpdate("up.example.")
	m.Ns = []dns.RR{rr("hidden.up.example. 60 IN A 192.0.2.9")}
	if resp := s.DynamicUpdate(m, netip.MustParseAddrPort("192.0.2.7:5353"), c); resp.Rcode != dns.RcodeSuccess {
		t.Fatal(dns.RcodeToString[resp.Rcode])
	}
	_ = s.db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("up.example")
		recs, _ := v.RRset(z, "hidden.up.example.", dns.TypeA)
		if len(recs) != 2 {
			t.Errorf("hidden A after the update: %v", recs)
		}
		return nil
	})
}

func updateWorld(t *testing.T) (*Service, *zonedb.TSIGKey) {
	s, admin := newTestService(t)
	ctx := context.Background()
	text := "$TTL 3600\n@ IN SOA ns1.example.net. h.example.net. 1 600 600 604800 600\n  IN NS ns1.example.net.\nwww IN A 192.0.2.1\n;!DISABLE\nhidden IN A 192.0.2.5\n"
	on := true
	if _, err := s.ZoneLoad(ctx, admin, ZoneLoadRequest{Name: "up.example", Text: text, IncUpdates: &on}); err != nil {
		t.Fatal(err)
	}
	k, err := s.db.PutTSIGKey(zonedb.TSIGKey{Name: "k.", Algorithm: dns.HmacSHA256, Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ParseUpdateRule("up.example * ANY")
	if k, err = s.db.SetTSIGUpdate(k.Name, []zonedb.UpdateRule{r}); err != nil {
		t.Fatal(err)
	}
	return s, k
}

// TestUpdatesBatch: updates queued while a commit of their zone runs are
// committed together, in one instance, each answered.
func TestUpdatesBatch(t *testing.T) {
	s, k := updateWorld(t)
	before := zis(t, s, "up.example")
	// Hold the zone's queue as if a commit were running.
	qk := "up.example."
	s.updates.mu.Lock()
	s.updates.pending, s.updates.running = map[string][]*updateJob{}, map[string]bool{qk: true}
	s.updates.mu.Unlock()
	const n = 20
	var wg sync.WaitGroup
	rcodes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := new(dns.Msg)
			m.SetUpdate("up.example.")
			rr, _ := dns.NewRR(fmt.Sprintf("h%d.up.example. 60 IN A 192.0.2.%d", i, i+10))
			m.Ns = []dns.RR{rr}
			rcodes[i] = s.DynamicUpdate(m, netip.MustParseAddrPort("192.0.2.7:5353"), k).Rcode
		}()
	}
	// Wait until all are queued, then let the "running commit" finish:
	// the queue's leader takes everything queued.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.updates.mu.Lock()
		queued := len(s.updates.pending[qk])
		s.updates.mu.Unlock()
		if queued == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d updates queued", queued, n)
		}
	}
	s.updates.mu.Lock()
	batch := s.updates.pending[qk]
	delete(s.updates.pending, qk)
	delete(s.updates.running, qk)
	s.updates.mu.Unlock()
	s.commitUpdates(batch)
	wg.Wait()
	for i, rc := range rcodes {
		if rc != dns.RcodeSuccess {
			t.Errorf("update %d: %s", i, dns.RcodeToString[rc])
		}
	}
	if after := zis(t, s, "up.example"); after != before+1 {
		t.Errorf("%d updates made %d instances, want 1", n, after-before)
	}
}

func zis(t *testing.T, s *Service, zone string) int {
	n := 0
	_ = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(zone)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := v.ZIs(z)
		n = len(list)
		return nil
	})
	return n
}

// TestUpdateSemantics: RFC 2136 3.4.2 details, and concurrent updates of
// one RRset from many clients.
func TestUpdateSemantics(t *testing.T) {
	s, k := updateWorld(t)
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	send := func(client string, rrs ...dns.RR) int {
		m := new(dns.Msg)
		m.SetUpdate("up.example.")
		m.Ns = rrs
		return s.DynamicUpdate(m, netip.MustParseAddrPort(client+":5353"), k).Rcode
	}
	rrset := func(name string, t uint16) []zonedb.Record {
		var out []zonedb.Record
		_ = s.db.View(func(v *zonedb.View) error {
			z, _ := v.Zone("up.example")
			out, _ = v.RRset(z, name, t)
			return nil
		})
		return out
	}
	// Forty clients add to one RRset at once: none is lost.
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rc := send(fmt.Sprintf("192.0.2.%d", i+1), rr(fmt.Sprintf(`many.up.example. 60 IN TXT "t%d"`, i))); rc != dns.RcodeSuccess {
				t.Errorf("update %d: %s", i, dns.RcodeToString[rc])
			}
		}()
	}
	wg.Wait()
	if n := len(rrset("many.up.example.", dns.TypeTXT)); n != 40 {
		t.Errorf("%d of 40 concurrent adds kept", n)
	}
	// Class NONE deletes one record.
	del := rr(`many.up.example. 0 NONE TXT "t7"`)
	if rc := send("192.0.2.1", del); rc != dns.RcodeSuccess || len(rrset("many.up.example.", dns.TypeTXT)) != 39 {
		t.Errorf("delete one RR: %s, %d left", dns.RcodeToString[rc], len(rrset("many.up.example.", dns.TypeTXT)))
	}
	// Adding and deleting an RRset in one message: nothing, and no error.
	if rc := send("192.0.2.1", rr(`tmp.up.example. 60 IN TXT "x"`), &dns.ANY{Hdr: dns.RR_Header{Name: "tmp.up.example.", Rrtype: dns.TypeTXT, Class: dns.ClassANY}}); rc != dns.RcodeSuccess || len(rrset("tmp.up.example.", dns.TypeTXT)) != 0 {
		t.Errorf("add and delete in one update: %s", dns.RcodeToString[rc])
	}
	// The same record again with another TTL: the TTL changes; the RRset
	// takes the new record's TTL.
	if send("192.0.2.1", rr("ttl.up.example. 3600 IN A 192.0.2.1"), rr("ttl.up.example. 3600 IN A 192.0.2.2")) != dns.RcodeSuccess ||
		send("192.0.2.1", rr("ttl.up.example. 120 IN A 192.0.2.1")) != dns.RcodeSuccess || len(rrset("ttl.up.example.", dns.TypeA)) != 2 {
		t.Fatalf("TTL updates: %v", rrset("ttl.up.example.", dns.TypeA))
	}
	for _, r := range rrset("ttl.up.example.", dns.TypeA) {
		if r.RR.Header().Ttl != 120 {
			t.Errorf("TTL after re-adding with 120: %v", r.RR)
		}
	}
	// Re-adding a DISABLE record publishes it.
	if send("192.0.2.1", rr("hidden.up.example. 3600 IN A 192.0.2.5")) != dns.RcodeSuccess || len(rrset("hidden.up.example.", dns.TypeA)) == 0 {
		t.Fatalf("re-add of a DISABLE record: %v", rrset("hidden.up.example.", dns.TypeA))
	}
	for _, r := range rrset("hidden.up.example.", dns.TypeA) {
		if r.Flags&zonedb.FlagDisable != 0 {
			t.Errorf("re-added record still DISABLE: %v", r.RR)
		}
	}
	// Deleting a name takes only the types the key may change: a
	// delegation's NS stays for a key without NS.
	if _, err := s.RecordAdd(context.Background(), Caller{User: "a", Sectag: SectagAdmin}, RecordRequest{Zone: "up.example", Records: []string{"sub NS ns.example.net.", `sub TXT "t"`}}); err != nil {
		t.Fatal(err)
	}
	if rc := send("192.0.2.1", &dns.ANY{Hdr: dns.RR_Header{Name: "sub.up.example.", Rrtype: dns.TypeANY, Class: dns.ClassANY}}); rc != dns.RcodeSuccess {
		t.Fatal(dns.RcodeToString[rc])
	}
	if len(rrset("sub.up.example.", dns.TypeNS)) != 1 || len(rrset("sub.up.example.", dns.TypeTXT)) != 0 {
		t.Errorf("delete all at sub: NS %v, TXT %v", rrset("sub.up.example.", dns.TypeNS), rrset("sub.up.example.", dns.TypeTXT))
	}
}
