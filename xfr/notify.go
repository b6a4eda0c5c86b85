package xfr

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// NOTIFY out (RFC 1996): after every commit that makes a new instance of a
// zone, each enabled server of the zone's primary and alternate SGs (and
// every also_notify address) is told, over UDP, until it answers. A newer
// commit of the same zone replaces a NOTIFY still waiting.

// Config keys read by the notifier.
const (
	// ConfigAlsoNotify: addresses (host or host:port) notified of every
	// zone's changes besides the SG servers.
	ConfigAlsoNotify = "also_notify"
	// ConfigNotifySource: local addresses NOTIFY is sent from, one per
	// address family (secondaries accept NOTIFY only from their primaries'
	// addresses).
	ConfigNotifySource = "notify_source"
)

// NotifyResult is how one NOTIFY ended.
type NotifyResult string

const (
	NotifyOK      NotifyResult = "ok"      // answered NOERROR
	NotifyRefused NotifyResult = "refused" // answered with an error rcode
	NotifyRetry   NotifyResult = "retry"   // no answer yet; tried again later
	NotifyFailed  NotifyResult = "failed"  // no answer after every try
)

// NotifyEvent reports one NOTIFY attempt.
type NotifyEvent struct {
	Zone    string
	Server  string // server name, or the address for also_notify
	Address netip.AddrPort
	Serial  uint32
	Attempt int
	Result  NotifyResult
	Err     error
}

// NotifyOptions tune the notifier.
type NotifyOptions struct {
	// Timeout is how long one try waits for the answer (default 2 s).
	Timeout time.Duration
	// Tries is how many times a NOTIFY is sent before giving up
	// (default 5); the wait doubles from Backoff (default 1 s).
	Tries   int
	Backoff time.Duration
	// Concurrency bounds the NOTIFYs in flight (default 64).
	Concurrency int
	// OnResult, when set, is told about every attempt.
	OnResult func(NotifyEvent)
}

type notifyKey struct {
	addr netip.AddrPort
	zone string
	// keyName tells apart the views of one secondary: the same zone name
	// in two views goes to one address signed with each view's key.
	keyName string
}

type notifyJob struct {
	key     notifyKey
	server  string
	keyName string // TSIG key, "" for none
	serial  uint32
	attempt int
	due     time.Time
	version int // bumped when the job is replaced while a try is in flight
	running bool
	index   int
}

// Notifier sends NOTIFY after commits.
type Notifier struct {
	db   *zonedb.DB
	log  *slog.Logger
	opts NotifyOptions

	mu    sync.Mutex
	inbox []zoneRef // zones committed, to resolve into jobs
	jobs  map[notifyKey]*notifyJob
	queue jobHeap
	wake  chan struct{}
	// resolving counts zones taken from inbox and not yet turned into
	// jobs, so Pending never drops to 0 in between.
	resolving int

	// resolvedZI is the store's last zone instance when zones were last
	// resolved into jobs; savedZI what was last recorded with
	// SetNotified.
	resolvedZI, savedZI uint64
}

// NewNotifier returns a notifier; subscribe OnCommit to the store and run
// Run.
func NewNotifier(db *zonedb.DB, opts NotifyOptions, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Tries <= 0 {
		opts.Tries = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	return &Notifier{db: db, log: log.With("component", "notify"), opts: opts,
		jobs: map[notifyKey]*notifyJob{}, wake: make(chan struct{}, 1)}
}

// OnCommit queues NOTIFYs for the zones a commit gave a new instance. It
// does not block (it runs in the committer's goroutine).
func (n *Notifier) OnCommit(ev zonedb.Event) {
	n.mu.Lock()
	for _, zc := range ev.Zones {
		if zc.ZI != 0 && !zc.Destroyed {
			n.inbox = append(n.inbox, zoneRef{view: zc.View, name: zc.Zone})
		}
	}
	n.mu.Unlock()
	n.poke()
}

// zoneRef names a zone: its view ("": the default) and name.
type zoneRef struct{ view, name string }

// NotifyZone queues a NOTIFY for zone of view ("": the default view)
// now, as after a commit.
func (n *Notifier) NotifyZone(view, zone string) {
	n.mu.Lock()
	n.inbox = append(n.inbox, zoneRef{view: view, name: dns.CanonicalName(zone)})
	n.mu.Unlock()
	n.poke()
}

func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Startup queues NOTIFYs for the zones whose current instance came after
// the last one recorded as notified: commits made while no server ran (the
// CLI then writes the store directly). On a store that never recorded one,
// every zone is notified, as BIND does when it loads its zones.
func (n *Notifier) Startup() (int, error) {
	var zones []zoneRef
	err := n.db.View(func(v *zonedb.View) error {
		done := v.Notified()
		n.mu.Lock()
		n.savedZI = done
		n.mu.Unlock()
		return v.Zones(func(z *zonedb.Zone) bool {
			if z.ZI > done && !z.Deleted && !z.Disabled {
				zones = append(zones, zoneRef{view: z.View, name: z.Name})
			}
			return true
		})
	})
	if err != nil {
		return 0, err
	}
	n.mu.Lock()
	n.inbox = append(n.inbox, zones...)
	n.mu.Unlock()
	n.poke()
	return len(zones), nil
}

// saveProgress records, when no NOTIFY is waiting, that every instance up
// to the last resolved one was notified.
func (n *Notifier) saveProgress() {
	n.mu.Lock()
	zi := n.resolvedZI
	idle := len(n.jobs) == 0 && len(n.inbox) == 0 && n.resolving == 0 && zi > n.savedZI
	n.mu.Unlock()
	if !idle {
		return
	}
	if err := n.db.SetNotified(zi); err != nil {
		n.log.Warn("recording NOTIFY progress", "err", err)
		return
	}
	n.mu.Lock()
	n.savedZI = max(n.savedZI, zi)
	n.mu.Unlock()
}

// Pending is the number of NOTIFYs not yet answered (a zone not yet
// resolved into its servers counts once).
func (n *Notifier) Pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.jobs) + len(n.inbox) + n.resolving
}

// PendingNotify is one NOTIFY not yet answered.
type PendingNotify struct {
	Zone    string    `json:"zone"`
	Server  string    `json:"server"`
	Address string    `json:"address"`
	Serial  uint32    `json:"serial"`
	Attempt int       `json:"attempt"`
	Due     time.Time `json:"due"`
}

// PendingList is the NOTIFYs not yet answered (soonest due first) and the
// zones committed and not yet resolved into them.
func (n *Notifier) PendingList() ([]PendingNotify, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PendingNotify, 0, len(n.jobs))
	for _, j := range n.jobs {
		out = append(out, PendingNotify{Zone: j.key.zone, Server: j.server, Address: j.key.addr.String(), Serial: j.serial, Attempt: j.attempt, Due: j.due})
	}
	slices.SortFunc(out, func(a, b PendingNotify) int {
		if c := a.Due.Compare(b.Due); c != 0 {
			return c
		}
		return strings.Compare(a.Zone+a.Server, b.Zone+b.Server)
	})
	return out, len(n.inbox) + n.resolving
}

// Run sends NOTIFYs until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	sem := make(chan struct{}, n.opts.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.resolve()
		now := time.Now()
		var due []*notifyJob
		n.mu.Lock()
		next := time.Hour
		for n.queue.Len() > 0 {
			j := n.queue[0]
			if d := j.due.Sub(now); d > 0 {
				next = d
				break
			}
			heap.Pop(&n.queue)
			j.running = true
			due = append(due, j)
		}
		n.mu.Unlock()
		for _, j := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(j *notifyJob, version int) {
				defer wg.Done()
				defer func() { <-sem }()
				n.send(ctx, j, version)
			}(j, j.version)
		}
		if len(due) > 0 {
			continue
		}
		n.saveProgress()
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// target is one address to notify for a zone.
type target struct {
	server  string
	addr    netip.AddrPort
	keyName string
}

// resolve turns committed zone names into jobs: who to notify, with which
// key, for which serial.
func (n *Notifier) resolve() {
	n.mu.Lock()
	zones := n.inbox
	n.inbox = nil
	n.resolving = len(zones)
	n.mu.Unlock()
	if len(zones) == 0 {
		return
	}
	defer func() {
		n.mu.Lock()
		n.resolving = 0
		n.mu.Unlock()
	}()
	type want struct {
		zone    string
		serial  uint32
		targets []target
	}
	var wants []want
	var lastZI uint64
	err := n.db.View(func(v *zonedb.View) error {
		lastZI = v.LastZI()
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		also := parseAddrs(v.EffectiveConfig()[ConfigAlsoNotify], n.log)
		for _, ref := range zones {
			if err := v.UseViewNamed(ref.view); err != nil {
				continue // the view is gone
			}
			z, err := v.Zone(ref.name)
			if err != nil || z.Deleted || z.Disabled {
				continue
			}
			w := want{zone: z.Name, serial: z.Serial}
			for _, s := range servers {
				if s.Disabled || (!strings.EqualFold(s.SG, z.SG) && !strings.EqualFold(s.SG, z.AltSG)) || z.SG == "" && z.AltSG == "" {
					continue
				}
				w.targets = append(w.targets, target{server: s.Name, addr: s.AddrPort(), keyName: s.TSIGKey})
			}
			for _, a := range also {
				w.targets = append(w.targets, target{server: a.String(), addr: a})
			}
			wants = append(wants, w)
		}
		return nil
	})
	if err != nil {
		n.log.Error("reading zones to notify", "err", err)
		return
	}
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.resolvedZI = max(n.resolvedZI, lastZI)
	for _, w := range wants {
		for _, t := range w.targets {
			k := notifyKey{addr: t.addr, zone: w.zone, keyName: t.keyName}
			j, ok := n.jobs[k]
			if !ok {
				j = &notifyJob{key: k, index: -1}
				n.jobs[k] = j
			}
			j.server, j.keyName, j.serial, j.attempt, j.due = t.server, t.keyName, w.serial, 0, now
			j.version++
			if j.index >= 0 {
				heap.Fix(&n.queue, j.index)
			} else if !j.running {
				heap.Push(&n.queue, j)
			}
		}
	}
}

func parseAddrs(s string, log *slog.Logger) []netip.AddrPort {
	var out []netip.AddrPort
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		ap, err := zonedb.ParseServerAddress(f)
		if err != nil {
			log.Warn("bad address in config", "value", f, "err", err)
			continue
		}
		out = append(out, ap)
	}
	return out
}

// send makes one try of job j (as it was at version).
func (n *Notifier) send(ctx context.Context, j *notifyJob, version int) {
	n.mu.Lock()
	zone, addr, serial, keyName, server := j.key.zone, j.key.addr, j.serial, j.keyName, j.server
	j.attempt++
	attempt := j.attempt
	n.mu.Unlock()

	err := n.exchange(ctx, zone, addr, serial, keyName)
	ev := NotifyEvent{Zone: zone, Server: server, Address: addr, Serial: serial, Attempt: attempt, Err: err}
	var rcodeErr *rcodeError
	switch {
	case err == nil:
		ev.Result = NotifyOK
	case errors.As(err, &rcodeErr):
		ev.Result = NotifyRefused
	case attempt >= n.opts.Tries:
		ev.Result = NotifyFailed
	default:
		ev.Result = NotifyRetry
	}

	// Report before the job leaves the pending set, so whoever waits for
	// Pending() to reach 0 has every result.
	switch ev.Result {
	case NotifyOK:
		n.log.Debug("notified", "zone", zone, "server", server, "addr", addr.String(), "serial", serial, "attempt", attempt)
	case NotifyRetry:
		n.log.Debug("NOTIFY unanswered, will retry", "zone", zone, "server", server, "addr", addr.String(), "attempt", attempt, "err", err)
	default:
		n.log.Warn("NOTIFY failed", "zone", zone, "server", server, "addr", addr.String(), "serial", serial, "attempts", attempt, "result", string(ev.Result), "err", err)
		msg := fmt.Sprintf("NOTIFY of serial %d to %s failed after %d attempt(s): %s", serial, addr, attempt, ev.Result)
		if err != nil {
			msg += ": " + err.Error()
		}
		if lerr := n.db.AddEvent(zonedb.LogEvent{Kind: zonedb.EventNotify, Zone: zone, Server: server, Failed: true, Message: msg}); lerr != nil {
			n.log.Error("event log", "err", lerr)
		}
	}
	if n.opts.OnResult != nil {
		n.opts.OnResult(ev)
	}

	n.mu.Lock()
	j.running = false
	switch {
	case j.version != version:
		// Replaced by a newer commit while in flight: send the new one.
		j.due = time.Now()
		heap.Push(&n.queue, j)
	case ev.Result == NotifyRetry:
		j.due = time.Now().Add(n.opts.Backoff << (attempt - 1))
		heap.Push(&n.queue, j)
	default:
		delete(n.jobs, j.key)
	}
	n.mu.Unlock()
	n.poke()
}

// rcodeError is an answer with an error rcode.
type rcodeError struct{ rcode int }

func (e *rcodeError) Error() string { return "answered " + dns.RcodeToString[e.rcode] }

func (n *Notifier) exchange(ctx context.Context, zone string, addr netip.AddrPort, serial uint32, keyName string) error {
	m := new(dns.Msg)
	m.SetNotify(zone)
	m.Authoritative = true
	// The SOA in the answer section tells the new serial (RFC 1996
	// section 3.7).
	m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET}, Ns: ".", Mbox: ".", Serial: serial}}
	c := &dns.Client{Net: "udp", Timeout: n.opts.Timeout}
	var src string
	err := n.db.View(func(v *zonedb.View) error {
		src = v.EffectiveConfig()[ConfigNotifySource]
		if keyName == "" {
			return nil
		}
		k, err := v.TSIGKey(keyName)
		if err != nil {
			return err
		}
		m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{k.Name: k.Secret}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(src) {
		a, err := netip.ParseAddr(f)
		if err == nil && a.Is4() == addr.Addr().Is4() {
			c.Dialer = &net.Dialer{Timeout: n.opts.Timeout, LocalAddr: &net.UDPAddr{IP: a.AsSlice()}}
		}
	}
	r, _, err := c.ExchangeContext(ctx, m, addr.String())
	if err != nil {
		return err
	}
	if r.Opcode != dns.OpcodeNotify {
		return fmt.Errorf("answer has opcode %s", dns.OpcodeToString[r.Opcode])
	}
	if r.Rcode != dns.RcodeSuccess {
		return &rcodeError{rcode: r.Rcode}
	}
	return nil
}

// jobHeap orders jobs by due time.
type jobHeap []*notifyJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *jobHeap) Push(x any) {
	j := x.(*notifyJob)
	j.index = len(*h)
	*h = append(*h, j)
}
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	j.index = -1
	*h = old[:len(old)-1]
	return j
}
