package admin

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// dms zone check: the delegation and secondary health checks of the
// reference's top-ten operator errors (lame delegations, NS that are no
// secondaries, stale glue). For a zone: its apex NS against its server
// groups' servers (each NS name's addresses from the zones served here, or
// from the resolver in config check_resolver when one is set; never
// required: what cannot be checked is said); each secondary and each NS
// address asked for the SOA (no answer, no AA, an error, a serial behind
// ours); and for every delegation inside the zone to a child zone also
// served here, the NS sets compared and the glue against the child's
// addresses.

// ConfigCheckResolver is the resolver zone checks ask for the addresses of
// NS names outside the zones served here.
const ConfigCheckResolver = "check_resolver"

// ZoneCheckRequest names a zone, or all zones.
type ZoneCheckRequest struct {
	Name string `json:"name,omitempty"`
	All  bool   `json:"all,omitempty"`
}

// CheckFinding is one thing a check found.
type CheckFinding struct {
	Severity string `json:"severity"` // error, warning, unchecked
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// ZoneCheck is one zone's findings.
type ZoneCheck struct {
	Zone     string         `json:"zone"`
	View     string         `json:"view,omitempty"`
	Serial   uint32         `json:"serial"`
	Findings []CheckFinding `json:"findings,omitempty"`
}

// ZoneCheckResult is a check run.
type ZoneCheckResult struct {
	Time     time.Time      `json:"time"`
	Zones    []ZoneCheck    `json:"zones"`
	Errors   int            `json:"errors"`
	Warnings int            `json:"warnings"`
	ByCode   map[string]int `json:"by_code,omitempty"`
}

// checkTimeout bounds one SOA query of a check.
const checkTimeout = 2 * time.Second

// zoneCheckPlan is what a zone's check reads from the store.
type zoneCheckPlan struct {
	z       *zonedb.Zone
	ns      []string
	nsAddrs map[string][]netip.Addr // NS name -> addresses (nil: unknown)
	servers []zonedb.Server
	keys    map[string]*zonedb.TSIGKey
	out     ZoneCheck
	// lagging are the servers the secondary monitor of a running server
	// finds behind longer than config status_lag_threshold.
	lagging map[string]bool
}

// ZoneCheck checks one zone, or every served zone with All.
func (s *Service) ZoneCheck(ctx context.Context, c Caller, req ZoneCheckRequest) (*ZoneCheckResult, error) {
	if !req.All && req.Name == "" {
		return nil, usagef("name a zone, or check them all with --all")
	}
	var name string
	if !req.All {
		var err error
		if name, err = s.zoneAccess(c, req.Name); err != nil {
			return nil, err
		}
	} else if !c.IsAdmin() {
		return nil, fmt.Errorf("%w: only the Admin sectag may check every zone", ErrForbidden)
	}
	var plans []*zoneCheckPlan
	resolver := ""
	err := s.read(c, func(v *zonedb.View) error {
		if f := s.config(v).Fields(ConfigCheckResolver); len(f) > 0 {
			resolver = f[0]
		}
		var zones []*zonedb.Zone
		if req.All {
			if err := v.Zones(func(z *zonedb.Zone) bool {
				if served(z) && z.CatalogOf == "" {
					zones = append(zones, z)
				}
				return true
			}); err != nil {
				return err
			}
		} else {
			z, err := v.Zone(name)
			if err != nil {
				return err
			}
			zones = append(zones, z)
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		for _, z := range zones {
			v.UseView(z.ViewID)
			p, err := checkPlan(v, z, servers)
			if err != nil {
				return err
			}
			plans = append(plans, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res := &ZoneCheckResult{Time: time.Now().UTC(), ByCode: map[string]int{}}
	lagging := map[string]bool{}
	if s.live != nil && s.live.Monitor != nil {
		for _, st := range s.live.Monitor.Status() {
			if st.State == xfr.StateLagging || st.State == xfr.StateBroken {
				lagging[st.Name] = true
			}
		}
	}
	for _, p := range plans {
		p.lagging = lagging
		p.resolveNS(ctx, resolver)
		p.compareNS()
		p.askSOA(ctx)
		res.Zones = append(res.Zones, p.out)
	}
	for _, zc := range res.Zones {
		for _, f := range zc.Findings {
			res.ByCode[f.Code]++
			switch f.Severity {
			case "error":
				res.Errors++
			case "warning":
				res.Warnings++
			}
		}
	}
	s.noteCheck(c, res)
	return res, nil
}

func (p *zoneCheckPlan) find(sev, code, format string, args ...any) {
	p.out.Findings = append(p.out.Findings, CheckFinding{Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

// checkPlan reads a zone's NS, its servers and its delegations (checked
// here, from the store alone).
func checkPlan(v *zonedb.View, z *zonedb.Zone, all []zonedb.Server) (*zoneCheckPlan, error) {
	p := &zoneCheckPlan{z: z, nsAddrs: map[string][]netip.Addr{}, keys: map[string]*zonedb.TSIGKey{},
		out: ZoneCheck{Zone: z.Name, Serial: z.Serial}}
	if z.ViewID != 0 {
		p.out.View = z.View
	}
	ns, err := v.RRset(z, z.Name, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	for _, r := range ns {
		p.ns = append(p.ns, dns.CanonicalName(r.RR.(*dns.NS).Ns))
	}
	for _, n := range p.ns {
		if addrs, ok := ourAddrs(v, n); ok {
			p.nsAddrs[n] = addrs
		}
	}
	for _, srv := range all {
		if srv.Disabled || z.SG == "" && z.AltSG == "" || !strings.EqualFold(srv.SG, z.SG) && !strings.EqualFold(srv.SG, z.AltSG) {
			continue
		}
		p.servers = append(p.servers, srv)
		if srv.TSIGKey != "" {
			if k, err := v.TSIGKey(srv.TSIGKey); err == nil {
				p.keys[srv.TSIGKey] = k
			}
		}
	}
	return p, p.delegations(v)
}

// ourAddrs are the A and AAAA of name from the zone served here that
// holds it (ok false when none does).
func ourAddrs(v *zonedb.View, name string) ([]netip.Addr, bool) {
	h, ok := v.FindZone(name)
	if !ok {
		return nil, false
	}
	z, err := v.ZoneByID(h.ID)
	if err != nil {
		return nil, false
	}
	return addrsAt(v, z, name), true
}

// delegations checks each delegation inside the zone to a child zone
// served here: the same NS sets, and glue that is the child's addresses.
func (p *zoneCheckPlan) delegations(v *zonedb.View) error {
	type cut struct {
		name string
		ns   []string
	}
	var cuts []cut
	err := v.RRsets(p.z, func(name string, t uint16, recs []zonedb.Record) bool {
		if t == dns.TypeNS && !strings.EqualFold(name, p.z.Name) {
			c := cut{name: dns.CanonicalName(name)}
			for _, r := range recs {
				c.ns = append(c.ns, dns.CanonicalName(r.RR.(*dns.NS).Ns))
			}
			cuts = append(cuts, c)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, c := range cuts {
		child, err := v.Zone(c.name)
		if err != nil || !served(child) {
			continue // not served here: nothing to compare with
		}
		cns, err := v.RRset(child, child.Name, dns.TypeNS)
		if err != nil {
			return err
		}
		var childNS []string
		for _, r := range cns {
			childNS = append(childNS, dns.CanonicalName(r.RR.(*dns.NS).Ns))
		}
		sort.Strings(childNS)
		sort.Strings(c.ns)
		if !slices.Equal(childNS, c.ns) {
			p.find("error", "delegation-ns-mismatch", "delegation %s: the parent's NS (%s) are not the child zone's (%s)", c.name, strings.Join(c.ns, " "), strings.Join(childNS, " "))
		}
		for _, n := range c.ns {
			if !dns.IsSubDomain(c.name, n) {
				continue // out of bailiwick: no glue
			}
			glue := addrsAt(v, p.z, n)
			want := addrsAt(v, child, n)
			switch {
			case len(glue) == 0:
				p.find("error", "glue-missing", "delegation %s: no glue for %s (the child has %s)", c.name, n, addrList(want))
			case !slices.Equal(glue, want):
				p.find("error", "glue-stale", "delegation %s: the glue of %s is %s, the child zone says %s", c.name, n, addrList(glue), addrList(want))
			}
		}
	}
	return nil
}

// addrsAt are the A and AAAA records at name in zone z, sorted.
func addrsAt(v *zonedb.View, z *zonedb.Zone, name string) []netip.Addr {
	var out []netip.Addr
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, _ := v.RRset(z, name, t)
		for _, r := range rrs {
			out = appendAddr(out, r.RR)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// appendAddr appends the address of an A or AAAA record.
func appendAddr(out []netip.Addr, rr dns.RR) []netip.Addr {
	switch rr := rr.(type) {
	case *dns.A:
		if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
			return append(out, a)
		}
	case *dns.AAAA:
		if a, ok := netip.AddrFromSlice(rr.AAAA); ok {
			return append(out, a)
		}
	}
	return out
}

func addrList(as []netip.Addr) string {
	if len(as) == 0 {
		return "none"
	}
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, " ")
}

// resolveNS asks the resolver (if any) for the NS names not in our zones.
func (p *zoneCheckPlan) resolveNS(ctx context.Context, resolver string) {
	for _, n := range p.ns {
		if _, ok := p.nsAddrs[n]; ok {
			continue
		}
		if resolver == "" {
			p.find("unchecked", "ns-unresolved", "NS %s is in no zone served here and config %s is not set: its address is not checked", n, ConfigCheckResolver)
			continue
		}
		addr := resolver
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "53")
		}
		var addrs []netip.Addr
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			m := new(dns.Msg)
			m.SetQuestion(n, t)
			r, _, err := (&dns.Client{Timeout: checkTimeout}).ExchangeContext(ctx, m, addr)
			if err != nil {
				continue
			}
			for _, rr := range r.Answer {
				addrs = appendAddr(addrs, rr)
			}
		}
		if len(addrs) == 0 {
			p.find("error", "ns-no-address", "NS %s has no address (asked %s)", n, resolver)
		}
		p.nsAddrs[n] = addrs
	}
}

// compareNS compares the NS addresses with the servers of the zone's SGs.
func (p *zoneCheckPlan) compareNS() {
	if len(p.ns) == 0 {
		p.find("error", "no-ns", "the zone has no apex NS")
	}
	serverAt := map[netip.Addr]bool{}
	for _, srv := range p.servers {
		serverAt[srv.AddrPort().Addr()] = true
	}
	nsAt := map[netip.Addr]bool{}
	for _, n := range p.ns {
		addrs, known := p.nsAddrs[n]
		if !known {
			continue
		}
		if len(addrs) == 0 && !slices.ContainsFunc(p.out.Findings, func(f CheckFinding) bool { return f.Code == "ns-no-address" }) {
			p.find("error", "ns-no-address", "NS %s has no A or AAAA record in the zones served here", n)
		}
		for _, a := range addrs {
			nsAt[a] = true
			if len(p.servers) > 0 && !serverAt[a] {
				p.find("warning", "ns-not-secondary", "NS %s (%s) is no server of the zone's server groups: dms does not feed it", n, a)
			}
		}
	}
	for _, srv := range p.servers {
		if len(nsAt) > 0 && !nsAt[srv.AddrPort().Addr()] {
			p.find("warning", "secondary-not-ns", "server %s (%s) is not in the zone's apex NS: a hidden secondary (fine if meant)", srv.Name, srv.AddrPort().Addr())
		}
	}
}

// askSOA asks each secondary, and each NS address that is none, for the
// zone's SOA, all at once.
func (p *zoneCheckPlan) askSOA(ctx context.Context) {
	type target struct {
		what, server string
		addr         netip.AddrPort
		key          *zonedb.TSIGKey
	}
	var ts []target
	seen := map[netip.Addr]bool{}
	for _, srv := range p.servers {
		ts = append(ts, target{what: "server " + srv.Name, server: srv.Name, addr: srv.AddrPort(), key: p.keys[srv.TSIGKey]})
		seen[srv.AddrPort().Addr()] = true
	}
	for _, n := range p.ns {
		for _, a := range p.nsAddrs[n] {
			if !seen[a] {
				seen[a] = true
				ts = append(ts, target{what: "NS " + n, addr: netip.AddrPortFrom(a, 53)})
			}
		}
	}
	findings := make([][]CheckFinding, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			findings[i] = p.soaOf(ctx, t.what, t.addr, t.key, p.lagging[t.server])
		}()
	}
	wg.Wait()
	for _, fs := range findings {
		p.out.Findings = append(p.out.Findings, fs...)
	}
}

// soaOf asks one server for the zone's SOA (signed with its key, if any).
func (p *zoneCheckPlan) soaOf(ctx context.Context, what string, addr netip.AddrPort, key *zonedb.TSIGKey, lagging bool) []CheckFinding {
	m := new(dns.Msg)
	m.SetQuestion(p.z.Name, dns.TypeSOA)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: checkTimeout}
	if key != nil {
		c.TsigSecret = map[string]string{key.Name: key.Secret}
		m.SetTsig(key.Name, dns.Fqdn(key.Algorithm), 300, time.Now().Unix())
	}
	var r *dns.Msg
	var err error
	for try := 0; try < 2; try++ {
		if r, _, err = c.ExchangeContext(ctx, m, addr.String()); err == nil {
			break
		}
	}
	f := func(sev, code, format string, args ...any) []CheckFinding {
		return []CheckFinding{{Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)}}
	}
	switch {
	case err != nil:
		return f("error", "unreachable", "%s (%s) does not answer: %v", what, addr, err)
	case r.Rcode != dns.RcodeSuccess:
		return f("error", "lame", "%s (%s) answers %s for the zone: a lame delegation or a secondary without the zone", what, addr, dns.RcodeToString[r.Rcode])
	case !r.Authoritative:
		return f("error", "lame", "%s (%s) answers without authority (no AA): it does not serve the zone", what, addr)
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			if soa.Serial != p.z.Serial {
				if serialBehind(soa.Serial, p.z.Serial) {
					if lagging {
						return f("error", "behind", "%s (%s) serves serial %d, dms has %d, and has been behind longer than config status_lag_threshold (dms status: LAGGING)", what, addr, soa.Serial, p.z.Serial)
					}
					return f("warning", "behind", "%s (%s) serves serial %d, dms has %d (within status_lag_threshold as far as dms knows: a transfer may be under way)", what, addr, soa.Serial, p.z.Serial)
				}
				return f("error", "ahead", "%s (%s) serves serial %d, ahead of dms's %d: it will not take dms's changes until dms's serial passes it", what, addr, soa.Serial, p.z.Serial)
			}
			return nil
		}
	}
	return f("error", "lame", "%s (%s) answers without the SOA", what, addr)
}

// serialBehind says whether a is before b in RFC 1982 serial arithmetic.
func serialBehind(a, b uint32) bool { return a != b && int32(b-a) > 0 }

// noteCheck keeps the run for dms status and the metrics, and logs an
// event for each zone with findings.
func (s *Service) noteCheck(c Caller, res *ZoneCheckResult) {
	s.checkMu.Lock()
	s.lastCheck = res
	s.checkMu.Unlock()
	var events []zonedb.LogEvent
	for _, zc := range res.Zones {
		if len(zc.Findings) == 0 {
			continue
		}
		e := zonedb.LogEvent{Kind: zonedb.EventCheck, Zone: zc.Zone, View: zc.View, Failed: true}
		n := 0
		for _, f := range zc.Findings {
			e.Details = append(e.Details, f.Severity+" "+f.Code+": "+f.Message)
			if f.Severity == "error" {
				n++
			}
		}
		e.Failed = n > 0
		e.Message = fmt.Sprintf("zone check: %d error(s), %d finding(s)", n, len(zc.Findings))
		events = append(events, e)
	}
	if len(events) == 0 {
		return
	}
	if err := s.change(c, func(t *zonedb.Txn) error {
		for _, e := range events {
			t.Event(e)
		}
		return nil
	}); err != nil {
		s.log.Warn("recording zone check events", "err", err)
	}
}

// LastZoneCheck is the last check run in this process (nil: none).
func (s *Service) LastZoneCheck() *ZoneCheckResult {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	return s.lastCheck
}

// WatchZoneChecks exports the last zone check's findings by code and its
// time.
func (m *Metrics) WatchZoneChecks(svc *Service) {
	m.Registry.MustRegister(&checkCollector{svc: svc})
}

type checkCollector struct{ svc *Service }

var (
	descCheckFindings = prometheus.NewDesc("dms_zone_check_findings", "Findings of the last dms zone check run (lame servers, stale glue, ...), by code.", []string{"code"}, nil)
	descCheckTime     = prometheus.NewDesc("dms_zone_check_last_run_timestamp_seconds", "When dms zone check last ran in this server, as a Unix time; 0 when never.", nil, nil)
	checkCodes        = []string{"unreachable", "lame", "behind", "ahead", "ns-not-secondary", "secondary-not-ns", "ns-no-address", "ns-unresolved", "no-ns", "delegation-ns-mismatch", "glue-missing", "glue-stale"}
)

func (c *checkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCheckFindings
	ch <- descCheckTime
}

func (c *checkCollector) Collect(ch chan<- prometheus.Metric) {
	last := c.svc.LastZoneCheck()
	t := 0.0
	if last != nil {
		t = float64(last.Time.Unix())
	}
	ch <- prometheus.MustNewConstMetric(descCheckTime, prometheus.GaugeValue, t)
	for _, code := range checkCodes {
		n := 0.0
		if last != nil {
			n = float64(last.ByCode[code])
		}
		ch <- prometheus.MustNewConstMetric(descCheckFindings, prometheus.GaugeValue, n, code)
	}
}
