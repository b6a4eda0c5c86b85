package xfr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// The secondary status poller: each round asks a server for the SOA of its
// server group's catalog zone and of a rotating sample of the member zones,
// and compares the serials with ours (RFC 1982).

// ServerState is a secondary's state as the monitor sees it.
type ServerState string

const (
	StateOK       ServerState = "OK"       // answers, and no zone is behind for long
	StateLagging  ServerState = "LAGGING"  // a zone has been behind ours for longer than LagThreshold
	StateRetry    ServerState = "RETRY"    // no answer at all in the last round
	StateBroken   ServerState = "BROKEN"   // in RETRY for longer than BrokenAfter
	StateDisabled ServerState = "DISABLED" // disabled in the store; not polled
)

// ServerStatus is what the monitor knows about one secondary.
type ServerStatus struct {
	Name    string      `json:"name"`
	Address string      `json:"address"`
	SG      string      `json:"sg"`
	State   ServerState `json:"state"`
	// LastReply is the last time the server answered any SOA query (zero
	// if never); LastCheck the start of its last round.
	LastReply time.Time `json:"last_reply"`
	LastCheck time.Time `json:"last_check"`
	// SerialLag is the number of zones checked in the last round that are
	// behind ours (the server has an older serial, or does not serve the
	// zone).
	SerialLag int `json:"serial_lag"`
	// MaxLag is how long the oldest still-behind zone has been behind
	// (nanoseconds in JSON).
	MaxLag time.Duration `json:"max_lag"`
	// LastError is the first problem of the last round (a query without an
	// answer, an answer without the zone's SOA); empty when there was none.
	LastError string `json:"last_error,omitempty"`
	// Since is when the server entered State.
	Since time.Time `json:"since"`
	// Checked is the number of zones checked in the last round (the
	// catalog zone included).
	Checked int `json:"checked"`
}

// MonitorOptions tune a Monitor. Zero values get the defaults.
type MonitorOptions struct {
	// Interval is the time between rounds per server (default 30s).
	Interval time.Duration
	// Timeout bounds one SOA query (default 2s).
	Timeout time.Duration
	// Sample is the number of member zones checked per round besides the
	// catalog zone (default 20). The sample rotates through the members
	// round by round, so every zone gets checked eventually. Zones found
	// behind are checked again every round, oldest first, up to Sample
	// more.
	Sample int
	// LagThreshold: a zone behind for longer than this makes the server
	// LAGGING (default 5 minutes).
	LagThreshold time.Duration
	// BrokenAfter: a server in RETRY for longer than this is BROKEN
	// (default 30 minutes).
	BrokenAfter time.Duration
	// OnChange, when set, is called when a server's state or lag changes
	// (and when the monitor first sees it), one call at a time.
	OnChange func(ServerStatus)
}

// monitorParallel bounds the server rounds that run at once.
const monitorParallel = 8

// monitorGiveUp: a round stops after this many queries without any answer.
const monitorGiveUp = 3

// Monitor polls the secondaries' serials.
type Monitor struct {
	db   *zonedb.DB
	opts MonitorOptions
	log  *slog.Logger
	sem  chan struct{}

	// cbMu serializes OnChange calls.
	cbMu sync.Mutex

	mu      sync.Mutex
	servers map[string]*tracked   // by lower-case server name
	members map[string]*memberSet // by catalog zone name
}

// tracked is the monitor's memory of one server. round is held for the
// duration of a round; the other fields are guarded by Monitor.mu.
type tracked struct {
	round sync.Mutex
	key   string // lower-case server name

	st       ServerStatus
	reported bool
	// failing is when the server entered RETRY (zero when answering).
	failing time.Time
	// behind are the zones found behind ours, by name.
	behind map[string]*behindZone
	// cursor is the last member zone checked by the rotation.
	cursor string
}

// behindZone is a zone a server is behind on: since when, and the serial
// we had then. Reaching that serial while a newer one is out starts a new
// period (the server follows, but we moved on).
type behindZone struct {
	since  time.Time
	target uint32
}

// memberSet are a catalog zone's member zones, for one instance of it.
type memberSet struct {
	zone, zi uint64
	names    []string // sorted
	set      map[string]bool
}

// NewMonitor returns a monitor of the servers in db. log may be nil.
func NewMonitor(db *zonedb.DB, opts MonitorOptions, log *slog.Logger) *Monitor {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Sample <= 0 {
		opts.Sample = 20
	}
	if opts.LagThreshold <= 0 {
		opts.LagThreshold = 5 * time.Minute
	}
	if opts.BrokenAfter <= 0 {
		opts.BrokenAfter = 30 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{
		db: db, opts: opts, log: log.With("component", "monitor"),
		sem:     make(chan struct{}, monitorParallel),
		servers: map[string]*tracked{},
		members: map[string]*memberSet{},
	}
}

// Run polls every server each Interval until ctx is done. A server whose
// previous round has not finished is skipped.
func (m *Monitor) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	// The first round comes an interval after start: a server starting
	// does not poll every secondary at once (dms status --check does).
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.start(ctx, &wg, false)
	}
}

// CheckNow runs one round for every server and returns when all are done
// (a round already running for a server is waited for first).
func (m *Monitor) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	m.start(ctx, &wg, true)
	wg.Wait()
}

// Status returns what the monitor knows of every server, by name.
func (m *Monitor) Status() []ServerStatus {
	m.mu.Lock()
	out := make([]ServerStatus, 0, len(m.servers))
	for _, t := range m.servers {
		if t.reported {
			out = append(out, t.st)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b ServerStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// start begins a round for every server in the store; wait says whether to
// wait for a round already running (else the server is skipped).
func (m *Monitor) start(ctx context.Context, wg *sync.WaitGroup, wait bool) {
	var servers []zonedb.Server
	var sgs []zonedb.SG
	err := m.db.View(func(v *zonedb.View) error {
		var err error
		if servers, err = v.Servers(); err != nil {
			return err
		}
		sgs, err = v.SGs()
		return err
	})
	if err != nil {
		m.log.Error("reading the servers", "err", err.Error())
		return
	}
	ts := make([]*tracked, len(servers))
	m.mu.Lock()
	for c := range m.members {
		if !slices.ContainsFunc(sgs, func(sg zonedb.SG) bool { return sg.CatalogZone == c }) {
			delete(m.members, c) // a catalog zone no more
		}
	}
	keep := map[string]bool{}
	for i, s := range servers {
		k := strings.ToLower(s.Name)
		keep[k] = true
		t := m.servers[k]
		if t == nil {
			t = &tracked{key: k, behind: map[string]*behindZone{}}
			m.servers[k] = t
		}
		ts[i] = t
	}
	for k := range m.servers {
		if !keep[k] {
			delete(m.servers, k) // removed from the store
		}
	}
	m.mu.Unlock()
	for i, s := range servers {
		t := ts[i]
		if !wait && !t.round.TryLock() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait {
				t.round.Lock()
			}
			defer t.round.Unlock()
			select {
			case m.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-m.sem }()
			if ctx.Err() == nil {
				m.round(ctx, t, s.Name)
			}
		}()
	}
}

// check is one SOA query of a round.
type check struct {
	zone string
	ours uint32
	// result
	answered bool
	at       time.Time // of the answer
	have     bool      // the answer has the zone's SOA
	theirs   uint32
	problem  string
}

// plan is what a round needs from the store.
type plan struct {
	srv    zonedb.Server
	key    *zonedb.TSIGKey
	checks []check
}

// round polls one server: plan from the store, queries with no read
// transaction open, then the new status.
func (m *Monitor) round(ctx context.Context, t *tracked, name string) {
	now := time.Now()
	var p *plan
	err := m.db.View(func(v *zonedb.View) error {
		var err error
		p, err = m.plan(v, t, name)
		return err
	})
	if errors.Is(err, zonedb.ErrServerNotFound) {
		m.mu.Lock()
		if m.servers[t.key] == t {
			delete(m.servers, t.key) // removed since the round began
		}
		m.mu.Unlock()
		return
	}
	if err != nil {
		m.log.Error("reading the store for a round", "server", name, "err", err.Error())
		m.update(t, now, name, p, err)
		return
	}
	if p.srv.Disabled {
		m.update(t, now, name, p, nil)
		return
	}
	c := &dns.Client{Net: "udp", Timeout: m.opts.Timeout}
	if p.key != nil {
		c.TsigSecret = map[string]string{p.key.Name: p.key.Secret}
	}
	noAnswer := 0
	for i := range p.checks {
		if ctx.Err() != nil {
			return // shutting down: no verdict from a cut round
		}
		ch := &p.checks[i]
		m.query(ctx, c, p, ch)
		if ch.answered {
			noAnswer = 0
			continue
		}
		if noAnswer++; noAnswer >= monitorGiveUp && !anyAnswered(p.checks[:i+1]) {
			p.checks = p.checks[:i+1] // unreachable: don't wait for the rest
			break
		}
	}
	m.update(t, now, name, p, nil)
}

func anyAnswered(cs []check) bool {
	return slices.ContainsFunc(cs, func(c check) bool { return c.answered })
}

// plan reads the server, its key, its SG's catalog zone and members, and
// picks the zones to check (the catalog, the rotation's next Sample
// members, and the zones found behind before, oldest first).
func (m *Monitor) plan(v *zonedb.View, t *tracked, name string) (*plan, error) {
	s, err := v.Server(name)
	if err != nil {
		return nil, err
	}
	p := &plan{srv: *s}
	if s.Disabled {
		return p, nil
	}
	if s.TSIGKey != "" {
		if p.key, err = v.TSIGKey(s.TSIGKey); err != nil {
			return p, err
		}
	}
	sg, err := v.SG(s.SG)
	if err != nil {
		return p, err
	}
	// The SG's zones are those of its view.
	if err := v.UseViewNamed(sg.View); err != nil {
		return p, err
	}
	cat, err := v.Zone(sg.CatalogZone)
	if err != nil {
		return p, fmt.Errorf("catalog zone of server group %s: %w", sg.Name, err)
	}
	ms, err := m.memberSet(v, cat)
	if err != nil {
		return p, err
	}
	p.checks = append(p.checks, check{zone: cat.Name, ours: cat.Serial})

	m.mu.Lock()
	if t.st.Address != s.Address || !strings.EqualFold(t.st.SG, s.SG) {
		// Another secondary now: what we knew is about the old one.
		clear(t.behind)
		t.cursor = ""
	}
	var picks []string
	if n := len(ms.names); n > 0 {
		i := sort.SearchStrings(ms.names, t.cursor)
		if i < n && ms.names[i] == t.cursor {
			i++
		}
		for k := 0; k < min(m.opts.Sample, n); k++ {
			picks = append(picks, ms.names[(i+k)%n])
		}
		t.cursor = picks[len(picks)-1]
	}
	type old struct {
		zone  string
		since time.Time
	}
	var olds []old
	for z, b := range t.behind {
		switch {
		case z == cat.Name || slices.Contains(picks, z):
		case !ms.set[z]:
			delete(t.behind, z) // no longer a member
		default:
			olds = append(olds, old{z, b.since})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(olds, func(a, b old) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return strings.Compare(a.zone, b.zone)
	})
	for i := 0; i < len(olds) && i < m.opts.Sample; i++ {
		picks = append(picks, olds[i].zone)
	}
	for _, name := range picks {
		z, err := v.Zone(name)
		if err != nil || z.Deleted || z.Disabled || z.CatalogOf != "" {
			continue // the catalog is about to change
		}
		p.checks = append(p.checks, check{zone: z.Name, ours: z.Serial})
	}
	return p, nil
}

// memberSet returns the member zones of a catalog zone (the PTR records
// under zones.<catalog>), cached per catalog instance.
func (m *Monitor) memberSet(v *zonedb.View, cat *zonedb.Zone) (*memberSet, error) {
	m.mu.Lock()
	ms := m.members[cat.Name]
	m.mu.Unlock()
	if ms != nil && ms.zone == cat.ID && ms.zi == cat.ZI {
		return ms, nil
	}
	ms = &memberSet{zone: cat.ID, zi: cat.ZI, set: map[string]bool{}}
	suffix := ".zones." + cat.Name
	err := v.RRsets(cat, func(owner string, rrtype uint16, recs []zonedb.Record) bool {
		if rrtype != dns.TypePTR || !strings.HasSuffix(owner, suffix) {
			return true
		}
		for _, r := range recs {
			if ptr, ok := r.RR.(*dns.PTR); ok {
				z := dns.CanonicalName(ptr.Ptr)
				if !ms.set[z] {
					ms.set[z] = true
					ms.names = append(ms.names, z)
				}
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("catalog zone %s: %w", cat.Name, err)
	}
	slices.Sort(ms.names)
	m.mu.Lock()
	m.members[cat.Name] = ms
	m.mu.Unlock()
	return ms, nil
}

// query asks the server for a zone's SOA: over UDP with RD=0, again over
// TCP when the answer is truncated, signed when the server has a key.
func (m *Monitor) query(ctx context.Context, c *dns.Client, p *plan, ch *check) {
	ask := func(c *dns.Client) (*dns.Msg, error) {
		q := new(dns.Msg)
		q.SetQuestion(ch.zone, dns.TypeSOA)
		q.RecursionDesired = false
		if p.key != nil {
			q.SetTsig(p.key.Name, p.key.Algorithm, 300, time.Now().Unix())
		}
		qctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
		defer cancel()
		r, _, err := c.ExchangeContext(qctx, q, p.srv.Address)
		return r, err
	}
	r, err := ask(c)
	if err == nil && r.Truncated {
		tc := *c
		tc.Net = "tcp"
		r, err = ask(&tc)
	}
	fail := func(format string, args ...any) {
		ch.problem = fmt.Sprintf("SOA query for %s: ", ch.zone) + fmt.Sprintf(format, args...)
	}
	if r == nil {
		fail("%v", err) // no answer
		return
	}
	ch.answered, ch.at = true, time.Now()
	switch {
	case err != nil:
		// An answer that does not unpack or whose TSIG does not verify.
		fail("%v", err)
	case r.Rcode != dns.RcodeSuccess:
		why := dns.RcodeToString[r.Rcode]
		if why == "" {
			why = fmt.Sprintf("rcode %d", r.Rcode)
		}
		if ts := r.IsTsig(); ts != nil && ts.Error != dns.RcodeSuccess {
			why += " (TSIG " + dns.RcodeToString[int(ts.Error)] + ")"
		}
		fail("%s", why)
	case p.key != nil && r.IsTsig() == nil:
		fail("the answer is not signed with TSIG key %s", p.key.Name)
	case !r.Authoritative:
		fail("not authoritative for the zone")
	default:
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, ch.zone) {
				ch.have, ch.theirs = true, soa.Serial
				return
			}
		}
		fail("no SOA in the answer")
	}
}

// update records a round's outcome (or the reason there was none) and
// reports a changed state.
func (m *Monitor) update(t *tracked, now time.Time, name string, p *plan, planErr error) {
	m.mu.Lock()
	if m.servers[t.key] != t {
		m.mu.Unlock()
		return // removed from the store meanwhile
	}
	prev, reported := t.st, t.reported
	st := &t.st
	if p != nil {
		st.Name, st.Address, st.SG = p.srv.Name, p.srv.Address, p.srv.SG
	} else if st.Name == "" {
		st.Name = name
	}
	state := st.State
	switch {
	case planErr != nil:
		st.LastError = planErr.Error()
		if state == "" || state == StateDisabled {
			state = StateRetry
		}
	case p.srv.Disabled:
		state = StateDisabled
		clear(t.behind)
		t.failing = time.Time{}
		st.SerialLag, st.MaxLag, st.Checked, st.LastError = 0, 0, 0, ""
	default:
		state = m.afterChecks(t, now, p, state)
	}
	if state != st.State {
		st.State, st.Since = state, now
	}
	t.reported = true
	cur := *st
	m.mu.Unlock()
	m.report(prev, cur, reported)
}

// afterChecks sets a server's status from one round of SOA checks and
// returns its state: OK (or LAGGING past the threshold) when it answered,
// RETRY and then BROKEN while it does not. m.mu is held.
func (m *Monitor) afterChecks(t *tracked, now time.Time, p *plan, state ServerState) ServerState {
	st := &t.st
	st.LastCheck, st.Checked, st.SerialLag, st.LastError = now, len(p.checks), 0, ""
	var answered bool
	var lastReply time.Time
	for i := range p.checks {
		ch := &p.checks[i]
		if ch.problem != "" && st.LastError == "" {
			st.LastError = ch.problem
		}
		if !ch.answered {
			continue
		}
		answered = true
		if ch.at.After(lastReply) {
			lastReply = ch.at
		}
		if ch.have && !zonedb.SerialLess(ch.theirs, ch.ours) {
			delete(t.behind, ch.zone) // current (or ahead of us)
			continue
		}
		st.SerialLag++
		b := t.behind[ch.zone]
		if b == nil || ch.have && !zonedb.SerialLess(ch.theirs, b.target) {
			t.behind[ch.zone] = &behindZone{since: now, target: ch.ours}
		}
	}
	st.MaxLag = 0
	for _, b := range t.behind {
		st.MaxLag = max(st.MaxLag, now.Sub(b.since))
	}
	if !answered {
		if t.failing.IsZero() || state != StateRetry && state != StateBroken {
			t.failing = now
		}
		if now.Sub(t.failing) > m.opts.BrokenAfter {
			return StateBroken
		}
		return StateRetry
	}
	st.LastReply = lastReply
	t.failing = time.Time{}
	if st.MaxLag > m.opts.LagThreshold {
		return StateLagging
	}
	return StateOK
}

// report logs a server's change of state and tells OnChange of any change
// of its status (and of its first).
func (m *Monitor) report(prev, cur ServerStatus, reported bool) {
	if cur.State != prev.State {
		lvl := slog.LevelInfo
		if cur.State == StateLagging || cur.State == StateRetry || cur.State == StateBroken {
			lvl = slog.LevelWarn
		}
		attrs := []any{"server", cur.Name, "address", cur.Address, "sg", cur.SG, "state", string(cur.State)}
		if prev.State != "" {
			attrs = append(attrs, "was", string(prev.State))
		}
		if cur.SerialLag > 0 || cur.MaxLag > 0 {
			attrs = append(attrs, "zones_behind", cur.SerialLag, "max_lag", cur.MaxLag.Round(time.Second).String())
		}
		if cur.LastError != "" {
			attrs = append(attrs, "err", cur.LastError)
		}
		m.log.Log(context.Background(), lvl, "secondary state", attrs...)
	}
	if m.opts.OnChange != nil && (!reported || cur.State != prev.State || cur.SerialLag != prev.SerialLag || cur.MaxLag != prev.MaxLag) {
		m.cbMu.Lock()
		defer m.cbMu.Unlock()
		m.opts.OnChange(cur)
	}
}

// NotifyFailed tells the monitor that a server left a NOTIFY unanswered
// after every try: the server goes to RETRY with that as its error until a
// poll finds it answering again (xfr.NotifyOptions.OnResult feeds it).
func (m *Monitor) NotifyFailed(ev NotifyEvent) {
	if ev.Result != NotifyFailed {
		return
	}
	now := time.Now()
	m.mu.Lock()
	t := m.servers[strings.ToLower(ev.Server)]
	if t == nil || t.st.State == StateDisabled {
		m.mu.Unlock()
		return
	}
	prev := t.st.State
	t.st.LastError = fmt.Sprintf("NOTIFY for %s (serial %d) unanswered after %d tries: %v", ev.Zone, ev.Serial, ev.Attempt, ev.Err)
	if t.failing.IsZero() {
		t.failing = now
	}
	if prev != StateRetry && prev != StateBroken {
		t.st.State, t.st.Since = StateRetry, now
	}
	cur := t.st
	m.mu.Unlock()
	if prev != cur.State {
		m.log.Warn("secondary state", "server", cur.Name, "address", cur.Address, "sg", cur.SG, "state", string(cur.State), "was", string(prev), "err", cur.LastError)
		if m.opts.OnChange != nil {
			m.cbMu.Lock()
			defer m.cbMu.Unlock()
			m.opts.OnChange(cur)
		}
	}
}
