package dnssec

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Resigner renews signatures before they age (DESIGN.md): every Interval
// it commits, for each signed zone whose oldest signatures are due, a
// renewal of at most maxResign RRsets, so secondaries get small IXFRs and no
// signature ever expires on a validator or a secondary. A restart signs
// nothing: the due times are in the store.
type Resigner struct {
	db  *zonedb.DB
	log *slog.Logger
	// Interval between checks (default 1 minute).
	Interval time.Duration
	// ChangeBy is recorded on the renewal commits.
	ChangeBy string

	mu      sync.Mutex
	stats   ResignStats
	checked map[string]time.Time // when a zone's DS was last asked of the resolver
}

// ResignStats is what the last check found, for metrics.
type ResignStats struct {
	// Earliest is the soonest signature expiry over all signed zones.
	Earliest time.Time
	// Pending is the number of zones due for renewal.
	Pending int
	// AwaitingDS is the number of KSKs and CSKs whose DS the admin has not
	// confirmed at the parent (dms dnssec ds-seen).
	AwaitingDS int
	// Renewed counts the RRsets renewed since start.
	Renewed uint64
	// Checked is when the last check ran.
	Checked time.Time
}

// NewResigner returns a re-signer for db.
func NewResigner(db *zonedb.DB, log *slog.Logger) *Resigner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resigner{db: db, log: log.With("component", "resigner"), Interval: time.Minute, ChangeBy: "dms-resigner@localhost/Admin"}
}

// Stats returns what the last check found.
func (r *Resigner) Stats() ResignStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Run checks every Interval until ctx ends.
func (r *Resigner) Run(ctx context.Context) {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once renews what is due now and returns the number of zones it
// committed.
func (r *Resigner) Once(ctx context.Context) int {
	now := r.db.Now()
	p, err := r.survey(now)
	if err != nil {
		r.log.Error("reading zones", "err", err)
		return 0
	}
	if p.resolver != "" {
		p.steps = append(p.steps, r.remoteDS(ctx, p.resolver, p.remote, now)...)
	}
	due := r.keySteps(p.steps, p.due)
	st := p.stats
	st.Pending = len(due)
	n, renewed := r.renew(ctx, due)
	r.mu.Lock()
	st.Renewed = r.stats.Renewed + renewed
	st.Checked = now
	if n > 0 {
		st.Pending -= n
	}
	r.stats = st
	r.mu.Unlock()
	return n
}

// resignPlan is what one look at the signed zones found to do.
type resignPlan struct {
	due    []string  // zones whose signatures are due
	steps  []keyStep // key rollover steps to commit
	remote []string  // zones whose parent is elsewhere, keys waiting for their DS
	// resolver asks for those DS records (config ds_resolver; "": none).
	resolver string
	stats    ResignStats
}

// survey reads every signed zone: the key steps due, the zones due for
// renewal, the soonest expiry.
func (r *Resigner) survey(now time.Time) (*resignPlan, error) {
	p := new(resignPlan)
	err := r.db.View(func(v *zonedb.View) error {
		if f := v.EffectiveConfig().Fields(ConfigDSResolver); len(f) > 0 {
			p.resolver = f[0]
		}
		tm, err := TimingFrom(v.Config())
		if err != nil {
			r.log.Warn("rollover timing", "err", err)
			tm = DefaultTiming()
		}
		return v.Zones(func(z *zonedb.Zone) bool {
			if !z.DNSSEC || z.Deleted {
				return true
			}
			if keys, err := v.DNSSECKeys(z); err == nil {
				r.surveyKeys(v, z, keys, tm, now, p)
			}
			if !z.SigExpiry.IsZero() && (p.stats.Earliest.IsZero() || z.SigExpiry.Before(p.stats.Earliest)) {
				p.stats.Earliest = z.SigExpiry
			}
			if !z.ResignAt().After(now) {
				p.due = append(p.due, zoneRef(z))
			}
			return true
		})
	})
	return p, err
}

// surveyKeys notes a zone's keys waiting for their DS and its next key
// step, if any.
func (r *Resigner) surveyKeys(v *zonedb.View, z *zonedb.Zone, keys []zonedb.DNSSECKey, tm Timing, now time.Time, p *resignPlan) {
	for _, k := range keys {
		if k.Role != "zsk" && k.State != "removed" && k.DSSeen.IsZero() {
			p.stats.AwaitingDS++
		}
	}
	// A parent zone served here answers ds-seen by itself.
	seen := parentDSSeen(v, z, keys, now)
	if seen == "" && waitingDS(keys) {
		p.remote = append(p.remote, zoneRef(z))
	}
	nk, what, all, ok, err := KeyStep(z, keys, dnskeyTTL(v, z), tm, now)
	if seen != "" && !ok {
		nk, what, ok = keys, seen, true
	} else if seen != "" {
		what = seen + "; " + what
	}
	if err != nil {
		r.log.Error("rollover step", "zone", z.Name, "err", err)
	} else if ok {
		p.steps = append(p.steps, keyStep{zone: zoneRef(z), what: what, keys: nk, signAll: all})
	}
}

// keySteps commits the key steps; a zone that took one is due for renewal
// (signatures by keys that stopped signing are renewed now).
func (r *Resigner) keySteps(steps []keyStep, due []string) []string {
	for _, sp := range steps {
		keys := sp.keys
		name, view := splitZoneRef(sp.zone)
		_, err := r.db.Commit(&zonedb.ChangeSet{ChangeBy: r.ChangeBy, Zones: []zonedb.ZoneChange{{Zone: name, View: view, SetKeys: &keys, SignAll: sp.signAll,
			Comment: "key rollover: " + sp.what, Update: func(z *zonedb.Zone) error { z.StaleSigs = -1; return nil }}}})
		if err != nil {
			r.log.Error("rollover step", "zone", sp.zone, "err", err)
			continue
		}
		r.log.Info("key rollover", "zone", sp.zone, "step", sp.what)
		if !slices.Contains(due, sp.zone) {
			due = append(due, sp.zone)
		}
	}
	return due
}

// renew renews the due zones' signatures, a commit each; it returns how
// many zones and RRs it renewed.
func (r *Resigner) renew(ctx context.Context, due []string) (int, uint64) {
	n := 0
	var renewed uint64
	for _, zone := range due {
		if ctx.Err() != nil {
			break
		}
		name, view := splitZoneRef(zone)
		res, err := r.db.Commit(&zonedb.ChangeSet{ChangeBy: r.ChangeBy, Zones: []zonedb.ZoneChange{{Zone: name, View: view, Resign: true, Comment: "signatures renewed"}}})
		if err != nil {
			r.log.Error("renewing signatures", "zone", zone, "err", err)
			continue
		}
		n++
		for _, c := range res {
			renewed += uint64(c.Added)
		}
		r.log.Info("signatures renewed", "zone", zone, "serial", res[0].Serial)
	}
	return n, renewed
}

// keyStep is a key change the re-signer commits for a zone.
type keyStep struct {
	zone, what string
	keys       []zonedb.DNSSECKey
	signAll    bool
}

// ConfigDSResolver: the address of a resolver the re-signer asks for the
// DS records of zones whose parent is not served here, to see a new KSK's
// DS at the parent without dms dnssec ds-seen. Empty: ask none.
const ConfigDSResolver = "dnssec_ds_resolver"

// remoteCheckEvery spaces the resolver queries for one zone.
const remoteCheckEvery = time.Hour

// waitingDS reports whether a KSK or CSK still waits for its DS.
func waitingDS(keys []zonedb.DNSSECKey) bool {
	for _, k := range keys {
		if k.Role != "zsk" && k.State != "removed" && k.State != "retired" && k.DSSeen.IsZero() {
			return true
		}
	}
	return false
}

// remoteDS asks resolver for the DS records of zones (each at most once
// per remoteCheckEvery) and returns the key changes for the keys whose DS
// the parent publishes. No read transaction is held meanwhile.
func (r *Resigner) remoteDS(ctx context.Context, resolver string, zones []string, now time.Time) (out []keyStep) {
	addr, err := zonedb.ParseServerAddress(resolver)
	if err != nil {
		r.log.Warn("bad "+ConfigDSResolver, "value", resolver, "err", err)
		return nil
	}
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, zone := range zones {
		r.mu.Lock()
		if r.checked == nil {
			r.checked = map[string]time.Time{}
		}
		last := r.checked[zone]
		if !last.IsZero() && now.Sub(last) < remoteCheckEvery {
			r.mu.Unlock()
			continue
		}
		r.checked[zone] = now
		r.mu.Unlock()
		name, view := splitZoneRef(zone)
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeDS)
		m.SetEdns0(1232, true)
		resp, _, err := c.ExchangeContext(ctx, m, addr.String())
		if err != nil || resp.Rcode != dns.RcodeSuccess {
			continue
		}
		var ds []zonedb.Record
		for _, rr := range resp.Answer {
			if d, ok := rr.(*dns.DS); ok && strings.EqualFold(d.Hdr.Name, name) {
				ds = append(ds, zonedb.Record{RR: d})
			}
		}
		if len(ds) == 0 {
			continue
		}
		var keys []zonedb.DNSSECKey
		if err := r.db.View(func(v *zonedb.View) error {
			if err := v.UseViewNamed(view); err != nil {
				return err
			}
			z, err := v.Zone(name)
			if err == nil {
				keys, err = v.DNSSECKeys(z)
			}
			return err
		}); err != nil {
			continue
		}
		if what := markDSSeen(keys, ds, now); what != "" {
			out = append(out, keyStep{zone: zone, what: what + " (" + addr.String() + ")", keys: keys})
		}
	}
	return out
}

// parentDSSeen marks the zone's KSKs and CSKs whose DS its parent zone -
// when that zone is served here - publishes as seen (what dms dnssec
// ds-seen would say), in keys, and says which.
func parentDSSeen(v *zonedb.View, z *zonedb.Zone, keys []zonedb.DNSSECKey, now time.Time) string {
	var waiting []int
	for i, k := range keys {
		if k.Role != "zsk" && k.State != "removed" && k.State != "retired" && k.DSSeen.IsZero() {
			waiting = append(waiting, i)
		}
	}
	if len(waiting) == 0 {
		return ""
	}
	// The closest enclosing zone served here, in the zone's view, is the
	// parent.
	v.UseView(z.ViewID)
	var ds []zonedb.Record
	for p := z.Name; ; {
		i, end := dns.NextLabel(p, 0)
		if end {
			return ""
		}
		p = p[i:]
		pz, err := v.Zone(p)
		if err != nil || pz.Deleted || pz.Disabled {
			continue
		}
		if ds, err = v.RRset(pz, z.Name, dns.TypeDS); err != nil || len(ds) == 0 {
			return ""
		}
		break
	}
	return markDSSeen(keys, ds, now)
}

// markDSSeen sets DSSeen on the waiting KSKs and CSKs of keys that one of
// ds (the parent's DS records) matches, digest checked, and says which.
func markDSSeen(keys []zonedb.DNSSECKey, ds []zonedb.Record, now time.Time) string {
	var marked []string
	for i := range keys {
		if keys[i].Role == "zsk" || keys[i].State == "removed" || keys[i].State == "retired" || !keys[i].DSSeen.IsZero() {
			continue
		}
		k, err := ParseKey(keys[i].DNSKEY, keys[i].Private)
		if err != nil {
			continue
		}
		for _, r := range ds {
			d, ok := r.RR.(*dns.DS)
			if !ok || d.KeyTag != k.Tag() || d.Algorithm != k.Algorithm() {
				continue
			}
			want, err := DS(k, d.DigestType, 0)
			if err == nil && strings.EqualFold(want.Digest, d.Digest) {
				keys[i].DSSeen = now
				marked = append(marked, fmt.Sprintf("DS of %s %d seen at the parent", strings.ToUpper(keys[i].Role), keys[i].Tag))
				break
			}
		}
	}
	return strings.Join(marked, "; ")
}

// zoneRef names a zone in the re-signer's lists: its name, and after a
// NUL (never in a name's text) its view when not the default one.
func zoneRef(z *zonedb.Zone) string {
	if z.View == "" || z.View == zonedb.DefaultView {
		return z.Name
	}
	return z.Name + "\x00" + z.View
}

// splitZoneRef is the name and view of a zoneRef ("" the default view).
func splitZoneRef(ref string) (name, view string) {
	name, view, _ = strings.Cut(ref, "\x00")
	return name, view
}
