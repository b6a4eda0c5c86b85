package xfr

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// fakeSecondary answers NOTIFY on a UDP port of 127.0.0.1 and records what
// it got.
type fakeSecondary struct {
	addr  netip.AddrPort
	rcode int  // answer with this rcode
	mute  bool // never answer
	tsig  bool // require a valid TSIG

	mu  sync.Mutex
	got []*dns.Msg
	bad int // requests without a valid TSIG when one is required
}

func startFake(t *testing.T, f *fakeSecondary) *fakeSecondary {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	srv := &dns.Server{PacketConn: pc, TsigSecret: map[string]string{"k1.": testSecret}}
	srv.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.tsig && (r.IsTsig() == nil || w.TsigStatus() != nil) {
			f.bad++
			m := new(dns.Msg)
			m.SetRcode(r, dns.RcodeNotAuth)
			w.WriteMsg(m)
			return
		}
		f.got = append(f.got, r)
		if f.mute {
			return
		}
		m := new(dns.Msg)
		m.SetRcode(r, f.rcode)
		if t := r.IsTsig(); t != nil {
			m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return f
}

func (f *fakeSecondary) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func TestNotify(t *testing.T) {
	db, _ := setup(t)
	ok := startFake(t, &fakeSecondary{})
	signed := startFake(t, &fakeSecondary{tsig: true})
	mute := startFake(t, &fakeSecondary{mute: true})
	refusing := startFake(t, &fakeSecondary{rcode: dns.RcodeRefused})
	also := startFake(t, &fakeSecondary{})
	disabled := startFake(t, &fakeSecondary{})
	// Replace the setup's servers by ones at the fakes' addresses.
	for _, n := range []string{"s1", "s2"} {
		if err := db.DeleteServer(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []zonedb.Server{
		{Name: "ok", Address: ok.addr.String(), SG: "ext", Type: "bind9"},
		{Name: "signed", Address: signed.addr.String(), SG: "ext", Type: "knot", TSIGKey: "k1"},
		{Name: "mute", Address: mute.addr.String(), SG: "ext", Type: "nsd"},
		{Name: "refusing", Address: refusing.addr.String(), SG: "ext", Type: "nsd"},
		{Name: "off", Address: disabled.addr.String(), SG: "ext", Type: "nsd", Disabled: true},
	} {
		if _, err := db.CreateServer(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetConfig(map[string]string{ConfigAlsoNotify: also.addr.String()}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	results := map[string][]NotifyEvent{}
	n := NewNotifier(db, NotifyOptions{Timeout: 100 * time.Millisecond, Tries: 3, Backoff: 20 * time.Millisecond,
		OnResult: func(ev NotifyEvent) {
			mu.Lock()
			results[ev.Server] = append(results[ev.Server], ev)
			mu.Unlock()
		}}, nil)
	db.Subscribe(n.OnCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	serial := commitOps(t, db, add(t, "n1.example.org. 3600 IN A 192.0.2.1"))
	deadline := time.Now().Add(5 * time.Second)
	for n.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p := n.Pending(); p != 0 {
		t.Fatalf("%d NOTIFYs still pending", p)
	}
	mu.Lock()
	defer mu.Unlock()
	last := func(server string) NotifyEvent {
		evs := results[server]
		if len(evs) == 0 {
			t.Fatalf("no NOTIFY result for %s (have %v)", server, results)
		}
		return evs[len(evs)-1]
	}
	for _, s := range []string{"ok", "signed", also.addr.String()} {
		if ev := last(s); ev.Result != NotifyOK || ev.Serial != serial || ev.Attempt != 1 {
			t.Errorf("%s: %+v", s, ev)
		}
	}
	signed.mu.Lock()
	if signed.bad != 0 {
		t.Errorf("the TSIG secondary got %d NOTIFYs without a valid signature", signed.bad)
	}
	signed.mu.Unlock()
	ok.mu.Lock()
	got := ok.got[0]
	ok.mu.Unlock()
	if got.Opcode != dns.OpcodeNotify || !got.Authoritative || got.Question[0].Name != "example.org." || got.Question[0].Qtype != dns.TypeSOA ||
		len(got.Answer) != 1 || got.Answer[0].(*dns.SOA).Serial != serial {
		t.Errorf("NOTIFY as sent: %v", got)
	}
	if ev := last("mute"); ev.Result != NotifyFailed || ev.Attempt != 3 || len(results["mute"]) != 3 || mute.count() != 3 {
		t.Errorf("mute secondary: %+v, %d results, %d received", ev, len(results["mute"]), mute.count())
	}
	if ev := last("refusing"); ev.Result != NotifyRefused || len(results["refusing"]) != 1 {
		t.Errorf("refusing secondary: %+v", results["refusing"])
	}
	if disabled.count() != 0 || len(results["off"]) != 0 {
		t.Errorf("a disabled server was notified")
	}
	// The failures are in the event log: the mute server after its retries,
	// the refusing one at once.
	var failed []zonedb.LogEvent
	_ = db.View(func(v *zonedb.View) error {
		failed, _ = v.Events(zonedb.EventFilter{Kind: zonedb.EventNotify, Failed: true})
		return nil
	})
	servers := map[string]bool{}
	for _, e := range failed {
		servers[e.Server] = true
	}
	if !servers["mute"] || !servers["refusing"] || servers["ok"] {
		t.Errorf("NOTIFY failures in the event log: %+v", failed)
	}
	// The catalog zone did not change (no new zone), so only example.org
	// was notified.
	for _, ev := range results["ok"] {
		if ev.Zone != "example.org." {
			t.Errorf("unexpected NOTIFY for %s", ev.Zone)
		}
	}
}

func TestNotifyNewerCommitReplacesPending(t *testing.T) {
	db, _ := setup(t)
	mute := startFake(t, &fakeSecondary{mute: true})
	for _, n := range []string{"s1", "s2"} {
		db.DeleteServer(n)
	}
	if _, err := db.CreateServer(zonedb.Server{Name: "mute", Address: mute.addr.String(), SG: "ext", Type: "nsd"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var evs []NotifyEvent
	n := NewNotifier(db, NotifyOptions{Timeout: 50 * time.Millisecond, Tries: 2, Backoff: 10 * time.Millisecond,
		OnResult: func(ev NotifyEvent) { mu.Lock(); evs = append(evs, ev); mu.Unlock() }}, nil)
	db.Subscribe(n.OnCommit)
	commitOps(t, db, add(t, "a.example.org. 3600 IN A 192.0.2.1"))
	s2 := commitOps(t, db, add(t, "b.example.org. 3600 IN A 192.0.2.2"))
	if p := n.Pending(); p != 2 {
		t.Fatalf("pending before Run: %d (two commits queued)", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for n.Pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	// One job (the newest serial) tried twice, not two jobs.
	if len(evs) != 2 || evs[0].Serial != s2 || evs[1].Serial != s2 || evs[1].Result != NotifyFailed {
		t.Fatalf("events %+v", evs)
	}
}

// TestNotifyStartup: a starting server notifies the zones committed while
// none ran, and only those, once it has recorded its progress.
func TestNotifyStartup(t *testing.T) {
	db, _ := setup(t)
	sec := startFake(t, &fakeSecondary{})
	for _, n := range []string{"s1", "s2"} {
		db.DeleteServer(n)
	}
	if _, err := db.CreateServer(zonedb.Server{Name: "sec", Address: sec.addr.String(), SG: "ext", Type: "bind9"}); err != nil {
		t.Fatal(err)
	}
	runOnce := func() []string {
		t.Helper()
		var mu sync.Mutex
		var zones []string
		n := NewNotifier(db, NotifyOptions{Timeout: 200 * time.Millisecond, OnResult: func(ev NotifyEvent) {
			mu.Lock()
			zones = append(zones, ev.Zone)
			mu.Unlock()
		}}, nil)
		if _, err := n.Startup(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			var notified, last uint64
			db.View(func(v *zonedb.View) error { notified, last = v.Notified(), v.LastZI(); return nil })
			if n.Pending() == 0 && notified == last {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(zones)
		return zones
	}
	// Never recorded: every zone, the catalog too.
	if got := runOnce(); !slices.Equal(got, []string{"example.org.", "ext.catalog.invalid."}) {
		t.Fatalf("first start notified %v", got)
	}
	// Nothing changed: nothing to notify.
	if got := runOnce(); len(got) != 0 {
		t.Fatalf("second start notified %v", got)
	}
	// A commit while no server ran: that zone only.
	commitOps(t, db, add(t, "offline.example.org. 3600 IN A 192.0.2.1"))
	if got := runOnce(); !slices.Equal(got, []string{"example.org."}) {
		t.Fatalf("after an offline commit, notified %v", got)
	}
}

// TestNotifyViewsOneSecondary: one secondary with views is two servers at
// one address with two keys; a commit to the same zone name in each view
// sends it two NOTIFYs, one signed with each view's key (not one that
// replaces the other).
func TestNotifyViewsOneSecondary(t *testing.T) {
	db, _ := setup(t)
	sec := startFake(t, &fakeSecondary{})
	if _, err := db.Change("test", func(t *zonedb.Txn) error {
		_, err := t.CreateView("internal", []string{"key:k2"}, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSG(zonedb.SG{Name: "int", View: "internal"}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []zonedb.Server{
		{Name: "sec-ext", Address: sec.addr.String(), SG: "ext", Type: "bind9", TSIGKey: "k1"},
		{Name: "sec-int", Address: sec.addr.String(), SG: "int", Type: "bind9", TSIGKey: "k2"},
	} {
		if _, err := db.CreateServer(s); err != nil {
			t.Fatal(err)
		}
	}
	// One address, one key: refused.
	if _, err := db.CreateServer(zonedb.Server{Name: "dup", Address: sec.addr.String(), SG: "int", Type: "bind9", TSIGKey: "k2"}); err == nil {
		t.Error("a second server at one address with the same key was taken")
	}
	zone := rrs(t, "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 600", "example.org. 3600 IN NS ns1.example.org.")
	if _, err := db.Commit(&zonedb.ChangeSet{View: "internal", Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{SG: "int"}, Replace: true, Records: zone}}}); err != nil {
		t.Fatal(err)
	}
	n := NewNotifier(db, NotifyOptions{Timeout: 200 * time.Millisecond, Tries: 3, Backoff: 20 * time.Millisecond}, nil)
	db.Subscribe(n.OnCommit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// Both views' commits land before the notifier resolves them.
	op := add(t, "n1.example.org. 3600 IN A 192.0.2.1")
	if _, err := db.Change("test", func(tx *zonedb.Txn) error {
		for _, view := range []string{"", "internal"} {
			if _, err := tx.Apply(zonedb.ZoneChange{Zone: "example.org", View: view, Ops: []zonedb.RecordOp{op}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sec.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sec.mu.Lock()
	defer sec.mu.Unlock()
	keys := map[string]bool{}
	for _, m := range sec.got {
		if tr := m.IsTsig(); tr != nil && m.Question[0].Name == "example.org." {
			keys[tr.Hdr.Name] = true
		}
	}
	if !keys["k1."] || !keys["k2."] {
		t.Errorf("NOTIFYs to the secondary with views: keys %v, want k1. and k2.", keys)
	}
}
