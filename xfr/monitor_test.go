package xfr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

const catalog = "ext.catalog.invalid."

// fake is an in-process secondary on 127.0.0.1 (UDP and TCP on one port)
// that answers SOA queries with the serials it is given and REFUSED for
// other zones.
type fake struct {
	addr string
	key  map[string]string // set: queries must be signed with this key

	mu       sync.Mutex
	serials  map[string]uint32
	silent   bool // answer nothing
	truncate bool // answer UDP with TC only
	queries  []fakeQuery
}

type fakeQuery struct {
	zone        string
	tcp, signed bool
	rd          bool
}

func startSOAFake(t *testing.T, key map[string]string) *fake {
	t.Helper()
	f := &fake{key: key, serials: map[string]uint32{}}
	var pc net.PacketConn
	var l net.Listener
	for i := 0; ; i++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		if i == 20 {
			t.Fatalf("no free port for UDP and TCP: %v", err)
		}
	}
	f.addr = pc.LocalAddr().String()
	for _, s := range []*dns.Server{{PacketConn: pc}, {Listener: l}} {
		started := make(chan struct{})
		s.Handler, s.TsigSecret, s.NotifyStartedFunc = f, key, func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return f
}

func (f *fake) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.Question[0]
	tcp := w.LocalAddr().Network() == "tcp"
	f.queries = append(f.queries, fakeQuery{zone: strings.ToLower(q.Name), tcp: tcp, signed: r.IsTsig() != nil, rd: r.RecursionDesired})
	if f.silent {
		return
	}
	m := new(dns.Msg)
	m.SetReply(r)
	if f.key != nil && (r.IsTsig() == nil || w.TsigStatus() != nil) {
		m.Rcode = dns.RcodeRefused
		w.WriteMsg(m)
		return
	}
	serial, ok := f.serials[strings.ToLower(q.Name)]
	switch {
	case f.truncate && !tcp:
		m.Truncated = true
	case !ok || q.Qtype != dns.TypeSOA:
		m.Rcode = dns.RcodeRefused
	default:
		m.Authoritative = true
		m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
			Ns: "ns1.example.org.", Mbox: "hostmaster.example.org.", Serial: serial, Refresh: 600, Retry: 600, Expire: 604800, Minttl: 600}}
	}
	if ts := r.IsTsig(); ts != nil {
		m.SetTsig(ts.Hdr.Name, ts.Algorithm, 300, time.Now().Unix())
	}
	w.WriteMsg(m)
}

// set gives the fake these serials (a copy).
func (f *fake) set(serials map[string]uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serials = map[string]uint32{}
	for z, s := range serials {
		f.serials[z] = s
	}
}

func (f *fake) setSerial(zone string, serial uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serials[zone] = serial
}

func (f *fake) setSilent(b bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent = b
}

// takeQueries returns the queries since the last call.
func (f *fake) takeQueries() []fakeQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.queries
	f.queries = nil
	return q
}

// dropper is a UDP socket that reads and drops everything.
func dropper(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

// closedPort is a UDP address nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// monitorStore makes a store with SG ext, TSIG key k1 and the zones given
// (each a SOA and an NS).
func monitorStore(t *testing.T, zones ...string) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.CreateSG(zonedb.SG{Name: "ext"}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutTSIGKey(zonedb.TSIGKey{Name: "k1", Algorithm: "hmac-sha256", Secret: testSecret}); err != nil {
		t.Fatal(err)
	}
	for _, z := range zones {
		recs := rrs(t,
			z+". 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 600",
			z+". 3600 IN NS ns1.example.org.",
		)
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: z, Create: &zonedb.Zone{SG: "ext"}, Replace: true, Records: recs}}}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func addServer(t *testing.T, db *zonedb.DB, s zonedb.Server) {
	t.Helper()
	s.SG, s.Type = "ext", "bind9"
	if _, err := db.CreateServer(s); err != nil {
		t.Fatal(err)
	}
}

// ourSerials are the store's serials of the catalog zone and its members.
func ourSerials(t *testing.T, db *zonedb.DB) map[string]uint32 {
	t.Helper()
	out := map[string]uint32{}
	err := db.View(func(v *zonedb.View) error {
		return v.Zones(func(z *zonedb.Zone) bool {
			if !z.Deleted && !z.Disabled {
				out[z.Name] = z.Serial
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// bump commits a change to zone, moving its serial on.
func bump(t *testing.T, db *zonedb.DB, zone string, n int) {
	t.Helper()
	op := zonedb.RecordOp{Kind: zonedb.OpAdd, Record: rrs(t, fmt.Sprintf("h%d.%s. 60 IN A 192.0.2.%d", n, zone, n))[0]}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: zone, Ops: []zonedb.RecordOp{op}}}}); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, m *Monitor, name string) ServerStatus {
	t.Helper()
	for _, s := range m.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for server %s in %+v", name, m.Status())
	return ServerStatus{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// changes records OnChange calls.
type changes struct {
	mu    sync.Mutex
	calls []ServerStatus
}

func (c *changes) record(s ServerStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
}

func (c *changes) take(name string) []ServerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out, rest []ServerStatus
	for _, s := range c.calls {
		if s.Name == name {
			out = append(out, s)
		} else {
			rest = append(rest, s)
		}
	}
	c.calls = rest
	return out
}

func TestMonitorOKAndLagging(t *testing.T) {
	db := monitorStore(t, "example.org", "example.net")
	current, lagging := startSOAFake(t, nil), startSOAFake(t, nil)
	addServer(t, db, zonedb.Server{Name: "s1", Address: current.addr})
	addServer(t, db, zonedb.Server{Name: "s2", Address: lagging.addr})
	ours := ourSerials(t, db)
	current.set(ours)
	lagging.set(ours)
	lagging.setSerial("example.org.", ours["example.org."]-1)

	var logs lockedBuffer
	var ch changes
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second, LagThreshold: 50 * time.Millisecond, OnChange: ch.record},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if len(m.Status()) != 0 {
		t.Fatalf("status before any round: %+v", m.Status())
	}
	before := time.Now()
	m.CheckNow(context.Background())

	s1 := status(t, m, "s1")
	if s1.State != StateOK || s1.Checked != 3 || s1.SerialLag != 0 || s1.MaxLag != 0 || s1.LastError != "" ||
		s1.Address != current.addr || s1.SG != "ext" || s1.LastReply.Before(before) || s1.LastCheck.Before(before) || s1.Since.Before(before) {
		t.Errorf("current secondary: %+v", s1)
	}
	qs := current.takeQueries()
	if len(qs) != 3 {
		t.Errorf("current secondary got %d queries, want 3 (catalog and two zones): %+v", len(qs), qs)
	}
	for _, q := range qs {
		if q.rd || q.tcp || q.signed {
			t.Errorf("query %+v: want UDP, RD=0, unsigned", q)
		}
	}
	s2 := status(t, m, "s2")
	if s2.State != StateOK || s2.SerialLag != 1 || s2.MaxLag >= 50*time.Millisecond {
		t.Errorf("lagging secondary, first round (behind for less than the threshold): %+v", s2)
	}
	if c := ch.take("s1"); len(c) != 1 || c[0].State != StateOK {
		t.Errorf("OnChange for s1 after the first round: %+v", c)
	}
	ch.take("s2")

	time.Sleep(60 * time.Millisecond)
	m.CheckNow(context.Background())
	s2 = status(t, m, "s2")
	if s2.State != StateLagging || s2.SerialLag != 1 || s2.MaxLag < 50*time.Millisecond || s2.LastReply.IsZero() {
		t.Errorf("lagging secondary after the threshold: %+v", s2)
	}
	if c := ch.take("s2"); len(c) != 1 || c[0].State != StateLagging {
		t.Errorf("OnChange for s2: %+v", c)
	}
	if c := ch.take("s1"); len(c) != 0 {
		t.Errorf("OnChange for s1 without a change: %+v", c)
	}
	if s := status(t, m, "s1"); s.State != StateOK || s.Since != s1.Since {
		t.Errorf("current secondary, second round: %+v (Since was %v)", s, s1.Since)
	}
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "server=s2") || !strings.Contains(l, "state=LAGGING") {
		t.Errorf("no warning about s2 lagging in the log:\n%s", l)
	}

	// It catches up: OK, and the zone is forgotten.
	lagging.set(ours)
	m.CheckNow(context.Background())
	if s := status(t, m, "s2"); s.State != StateOK || s.SerialLag != 0 || s.MaxLag != 0 || s.Since.Before(s2.Since) {
		t.Errorf("caught up: %+v", s)
	}
	if c := ch.take("s2"); len(c) != 1 || c[0].State != StateOK {
		t.Errorf("OnChange for s2 catching up: %+v", c)
	}

	// A commit here: both behind, but not for long.
	bump(t, db, "example.org", 1)
	m.CheckNow(context.Background())
	for _, n := range []string{"s1", "s2"} {
		if s := status(t, m, n); s.State != StateOK || s.SerialLag != 1 {
			t.Errorf("%s just after a commit: %+v", n, s)
		}
	}
	if c := ch.take("s1"); len(c) != 1 || c[0].SerialLag != 1 {
		t.Errorf("OnChange for a lag change: %+v", c)
	}
	// s1 follows; s2 stays behind past the threshold.
	current.set(ourSerials(t, db))
	time.Sleep(60 * time.Millisecond)
	m.CheckNow(context.Background())
	if s := status(t, m, "s1"); s.State != StateOK || s.SerialLag != 0 {
		t.Errorf("s1 after following: %+v", s)
	}
	if s := status(t, m, "s2"); s.State != StateLagging {
		t.Errorf("s2 behind past the threshold: %+v", s)
	}
	// s2 reaches that serial, but we moved on meanwhile: behind on the new
	// version only since now.
	lagging.set(ourSerials(t, db))
	bump(t, db, "example.org", 2)
	m.CheckNow(context.Background())
	if s := status(t, m, "s2"); s.State != StateOK || s.SerialLag != 1 || s.MaxLag >= 50*time.Millisecond {
		t.Errorf("s2 following behind a new commit: %+v", s)
	}
}

func TestMonitorRetry(t *testing.T) {
	db := monitorStore(t, "example.org", "example.net", "example.com", "example.info")
	addServer(t, db, zonedb.Server{Name: "drop", Address: dropper(t)})
	addServer(t, db, zonedb.Server{Name: "closed", Address: closedPort(t)})
	m := NewMonitor(db, MonitorOptions{Timeout: 100 * time.Millisecond}, nil)
	start := time.Now()
	m.CheckNow(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a round against a dead server took %v; it should give up after a few timeouts", d)
	}
	s := status(t, m, "drop")
	if s.State != StateRetry || !s.LastReply.IsZero() || s.LastCheck.IsZero() ||
		!strings.HasPrefix(s.LastError, "SOA query for "+catalog+": ") || !strings.Contains(s.LastError, "timeout") {
		t.Errorf("silent server: %+v", s)
	}
	if s.Checked > monitorGiveUp {
		t.Errorf("silent server: %d zones checked; the round should give up after %d", s.Checked, monitorGiveUp)
	}
	if s := status(t, m, "closed"); s.State != StateRetry || !strings.Contains(s.LastError, "refused") {
		t.Errorf("closed port: %+v", s)
	}
}

func TestMonitorBrokenAndBack(t *testing.T) {
	db := monitorStore(t, "example.org")
	f := startSOAFake(t, nil)
	f.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr})
	var ch changes
	m := NewMonitor(db, MonitorOptions{Timeout: 50 * time.Millisecond, BrokenAfter: 400 * time.Millisecond, OnChange: ch.record}, nil)

	m.CheckNow(context.Background())
	ok := status(t, m, "s1")
	if ok.State != StateOK {
		t.Fatalf("first round: %+v", ok)
	}
	f.setSilent(true)
	m.CheckNow(context.Background())
	r1 := status(t, m, "s1")
	if r1.State != StateRetry || r1.LastReply != ok.LastReply || !strings.Contains(r1.LastError, "timeout") {
		t.Errorf("server gone silent: %+v", r1)
	}
	m.CheckNow(context.Background())
	if r2 := status(t, m, "s1"); r2.State != StateRetry || r2.Since != r1.Since {
		t.Errorf("still silent, before BrokenAfter: %+v (entered RETRY at %v)", r2, r1.Since)
	}
	time.Sleep(400 * time.Millisecond)
	m.CheckNow(context.Background())
	if b := status(t, m, "s1"); b.State != StateBroken || b.LastError == "" {
		t.Errorf("silent past BrokenAfter: %+v", b)
	}
	f.setSilent(false)
	m.CheckNow(context.Background())
	if s := status(t, m, "s1"); s.State != StateOK || s.LastError != "" || !s.LastReply.After(ok.LastReply) {
		t.Errorf("answering again: %+v", s)
	}
	var states []ServerState
	for _, c := range ch.take("s1") {
		states = append(states, c.State)
	}
	if fmt.Sprint(states) != "[OK RETRY BROKEN OK]" {
		t.Errorf("OnChange states %v", states)
	}
}

func TestMonitorDisabled(t *testing.T) {
	db := monitorStore(t, "example.org")
	f := startSOAFake(t, nil)
	f.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr, Disabled: true})
	addServer(t, db, zonedb.Server{Name: "s0", Address: "192.0.2.1:53", Disabled: true})
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second}, nil)
	m.CheckNow(context.Background())
	st := m.Status()
	if len(st) != 2 || st[0].Name != "s0" || st[1].Name != "s1" || st[0].State != StateDisabled || st[1].State != StateDisabled {
		t.Fatalf("status %+v", st)
	}
	if q := f.takeQueries(); len(q) != 0 {
		t.Errorf("a disabled server was queried: %+v", q)
	}
	set := func(name string, disabled bool) {
		if _, err := db.UpdateServer(name, func(s *zonedb.Server) error { s.Disabled = disabled; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set("s1", false)
	m.CheckNow(context.Background())
	if s := status(t, m, "s1"); s.State != StateOK || s.Checked != 2 {
		t.Errorf("enabled: %+v", s)
	}
	set("s1", true)
	m.CheckNow(context.Background())
	if s := status(t, m, "s1"); s.State != StateDisabled || s.SerialLag != 0 || s.LastError != "" {
		t.Errorf("disabled again: %+v", s)
	}
	// A server deleted from the store leaves the status.
	if err := db.DeleteServer("s0"); err != nil {
		t.Fatal(err)
	}
	m.CheckNow(context.Background())
	if st := m.Status(); len(st) != 1 || st[0].Name != "s1" {
		t.Errorf("after deleting s0: %+v", st)
	}
}

func TestMonitorTSIG(t *testing.T) {
	db := monitorStore(t, "example.org")
	strict := startSOAFake(t, map[string]string{"k1.": testSecret})
	strict.set(ourSerials(t, db))
	other := startSOAFake(t, map[string]string{"k1.": testSecret})
	other.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "signed", Address: strict.addr, TSIGKey: "k1"})
	addServer(t, db, zonedb.Server{Name: "unsigned", Address: other.addr})
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second}, nil)
	m.CheckNow(context.Background())

	if s := status(t, m, "signed"); s.State != StateOK || s.SerialLag != 0 || s.LastError != "" {
		t.Errorf("server with its key: %+v", s)
	}
	qs := strict.takeQueries()
	if len(qs) != 2 {
		t.Errorf("%d queries: %+v", len(qs), qs)
	}
	for _, q := range qs {
		if !q.signed {
			t.Errorf("unsigned query %+v", q)
		}
	}
	// Without the key the server refuses: it answers, but every zone counts
	// as one it does not have.
	if s := status(t, m, "unsigned"); s.State != StateOK || s.SerialLag != 2 || !strings.Contains(s.LastError, "REFUSED") {
		t.Errorf("server queried without its key: %+v", s)
	}
}

func TestMonitorTCPFallback(t *testing.T) {
	db := monitorStore(t, "example.org")
	f := startSOAFake(t, nil)
	f.set(ourSerials(t, db))
	f.mu.Lock()
	f.truncate = true
	f.mu.Unlock()
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr})
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second}, nil)
	m.CheckNow(context.Background())
	if s := status(t, m, "s1"); s.State != StateOK || s.SerialLag != 0 {
		t.Errorf("truncated answers: %+v", s)
	}
	var udp, tcp int
	for _, q := range f.takeQueries() {
		if q.tcp {
			tcp++
		} else {
			udp++
		}
	}
	if udp != 2 || tcp != 2 {
		t.Errorf("%d UDP and %d TCP queries, want 2 and 2", udp, tcp)
	}
}

func TestMonitorSampleRotation(t *testing.T) {
	zones := []string{"a.example", "b.example", "c.example", "d.example", "e.example", "f.example", "g.example"}
	db := monitorStore(t, zones...)
	f := startSOAFake(t, nil)
	f.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr})
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second, Sample: 3}, nil)

	seen := map[string]int{}
	for round := 0; round < 3; round++ {
		m.CheckNow(context.Background())
		qs := f.takeQueries()
		if len(qs) != 4 || qs[0].zone != catalog {
			t.Fatalf("round %d: %+v, want the catalog then 3 zones", round, qs)
		}
		for _, q := range qs[1:] {
			seen[q.zone]++
		}
	}
	for _, z := range zones {
		if seen[z+"."] == 0 {
			t.Errorf("%s never checked in three rounds of 3: %v", z, seen)
		}
	}

	// A zone found behind is checked again every round until it catches up.
	ours := ourSerials(t, db)
	f.setSerial("a.example.", ours["a.example."]-1)
	var behindRounds int
	for round := 0; round < 4; round++ {
		m.CheckNow(context.Background())
		qs := f.takeQueries()
		a := 0
		for _, q := range qs {
			if q.zone == "a.example." {
				a++
			}
		}
		if a > 1 {
			t.Errorf("round %d asked for a.example %d times", round, a)
		}
		if a == 1 {
			behindRounds++
		}
		if s := status(t, m, "s1"); s.Checked != len(qs) {
			t.Errorf("round %d: Checked %d, %d queries", round, s.Checked, len(qs))
		}
	}
	// Found in the round the rotation reached it (the third or fourth
	// here), then checked every round.
	if s := status(t, m, "s1"); s.SerialLag != 1 || behindRounds < 2 {
		t.Errorf("behind zone checked in %d of 4 rounds; status %+v", behindRounds, s)
	}
	// A member deleted from the store leaves the rotation.
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "a.example", Update: func(z *zonedb.Zone) error { z.Deleted = true; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	f.set(ourSerials(t, db))
	for round := 0; round < 3; round++ {
		m.CheckNow(context.Background())
		for _, q := range f.takeQueries() {
			if q.zone == "a.example." {
				t.Errorf("deleted zone checked")
			}
		}
	}
	if s := status(t, m, "s1"); s.SerialLag != 0 || s.MaxLag != 0 || s.State != StateOK {
		t.Errorf("after the behind zone was deleted: %+v", s)
	}
}

func TestMonitorRun(t *testing.T) {
	db := monitorStore(t, "example.org")
	f := startSOAFake(t, nil)
	f.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr})
	addServer(t, db, zonedb.Server{Name: "s2", Address: dropper(t)})
	m := NewMonitor(db, MonitorOptions{Interval: 10 * time.Millisecond, Timeout: 30 * time.Millisecond}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := m.Status()
		if len(st) == 2 && st[0].State == StateOK && st[1].State == StateRetry && len(f.takeQueries()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Servers added while running are picked up.
	g := startSOAFake(t, nil)
	g.set(ourSerials(t, db))
	addServer(t, db, zonedb.Server{Name: "s3", Address: g.addr})
	for len(m.Status()) != 3 || status(t, m, "s3").State != StateOK {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v", m.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// CheckNow alongside Run.
	m.CheckNow(context.Background())
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestMonitorNotifyFailed: a server that leaves a NOTIFY unanswered goes to
// RETRY with that error until a poll finds it answering.
func TestMonitorNotifyFailed(t *testing.T) {
	db := monitorStore(t, "example.org")
	f := startSOAFake(t, nil)
	addServer(t, db, zonedb.Server{Name: "s1", Address: f.addr})
	f.set(ourSerials(t, db))
	m := NewMonitor(db, MonitorOptions{Timeout: time.Second}, nil)
	m.CheckNow(context.Background())
	if st := status(t, m, "s1"); st.State != StateOK {
		t.Fatalf("before: %+v", st)
	}
	m.NotifyFailed(NotifyEvent{Zone: "example.org.", Server: "s1", Serial: 7, Attempt: 5, Result: NotifyRetry})
	if st := status(t, m, "s1"); st.State != StateOK {
		t.Fatalf("a retry (not the last try) changed the state: %+v", st)
	}
	m.NotifyFailed(NotifyEvent{Zone: "example.org.", Server: "s1", Serial: 7, Attempt: 5, Result: NotifyFailed, Err: errors.New("i/o timeout")})
	st := status(t, m, "s1")
	if st.State != StateRetry || !strings.Contains(st.LastError, "NOTIFY for example.org. (serial 7) unanswered after 5 tries: i/o timeout") {
		t.Fatalf("after a failed NOTIFY: %+v", st)
	}
	m.CheckNow(context.Background())
	if st := status(t, m, "s1"); st.State != StateOK || st.LastError != "" {
		t.Fatalf("after a good poll: %+v", st)
	}
}
