package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Dynamic updates (RFC 2136) for zones with inc_updates: TSIG required,
// each key allowed what its update policy grants (zonedb.UpdateRule),
// prerequisites checked, and the change committed like any other (auto-
// PTR, serial, NOTIFY). Updates to one zone arriving while a commit of it
// runs are committed together in the next one (group commit): a burst of
// ACME or DHCP updates makes a few instances, not one each.

// ParseUpdateRule reads a grant: "ZONE NAME [TYPE,...] [sectag=TAG]".
func ParseUpdateRule(s string) (zonedb.UpdateRule, error) {
	var r zonedb.UpdateRule
	f := strings.Fields(s)
	if len(f) > 0 && strings.HasPrefix(f[len(f)-1], "sectag=") {
		r.Sectag = strings.TrimPrefix(f[len(f)-1], "sectag=")
		f = f[:len(f)-1]
	}
	if len(f) < 2 || len(f) > 3 {
		return r, usagef("update rule %q: give ZONE NAME [TYPE,...] [sectag=TAG], e.g. \"example.org _acme-challenge.* TXT\"", s)
	}
	r.Zone, r.Name = strings.ToLower(dns.Fqdn(f[0])), strings.ToLower(f[1])
	if _, err := path.Match(r.Zone, "x"); err != nil {
		return r, usagef("update rule %q: bad zone pattern: %v", s, err)
	}
	if _, err := path.Match(r.Name, "x"); err != nil {
		return r, usagef("update rule %q: bad name pattern: %v", s, err)
	}
	if len(f) == 3 {
		for _, t := range strings.Split(f[2], ",") {
			t = strings.ToUpper(strings.TrimSpace(t))
			if t == "ANY" {
				r.Types = nil
				break
			}
			tt, ok := dns.StringToType[t]
			if !ok || updateForbidden(tt) && tt != dns.TypeNS {
				return r, usagef("update rule %q: %s is not a type updates may change", s, t)
			}
			r.Types = append(r.Types, t)
		}
	}
	return r, nil
}

// FormatUpdateRule is the text ParseUpdateRule reads.
func FormatUpdateRule(r zonedb.UpdateRule) string {
	s := r.Zone + " " + r.Name
	if len(r.Types) > 0 {
		s += " " + strings.Join(r.Types, ",")
	} else {
		s += " ANY"
	}
	if r.Sectag != "" {
		s += " sectag=" + r.Sectag
	}
	return s
}

// updateForbidden are the types no update changes: the SOA (dms keeps the
// serial), DNSSEC's (the signer's) and, unless a rule names it, NS.
func updateForbidden(t uint16) bool {
	return t == dns.TypeSOA || t == dns.TypeNS || zonedb.SignerType(t)
}

// grants finds the rule of key that allows name/type in zone.
func grants(key *zonedb.TSIGKey, zone, name string, t uint16) (*zonedb.UpdateRule, bool) {
	for i := range key.Update {
		r := &key.Update[i]
		if ok, _ := path.Match(r.Zone, zone); !ok {
			continue
		}
		pat := r.Name
		switch {
		case pat == "@":
			pat = zone
		case !strings.HasSuffix(pat, "."):
			pat += "." + zone
		}
		if ok, _ := path.Match(pat, name); !ok {
			continue
		}
		if len(r.Types) == 0 {
			if t == dns.TypeANY || !updateForbidden(t) {
				return r, true
			}
			continue
		}
		if t != dns.TypeSOA && !zonedb.SignerType(t) && slices.Contains(r.Types, dns.TypeToString[t]) {
			return r, true
		}
	}
	return nil, false
}

// DynamicUpdate answers an UPDATE message signed with key (nil when
// unsigned) from client.
func (s *Service) DynamicUpdate(req *dns.Msg, client netip.AddrPort, key *zonedb.TSIGKey) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetRcode(req, dns.RcodeSuccess)
	fail := func(rcode int, why string, args ...any) *dns.Msg {
		resp.Rcode = rcode
		zone := ""
		if len(req.Question) == 1 {
			zone = dns.CanonicalName(req.Question[0].Name)
		}
		by := "unsigned"
		if key != nil {
			by = zonedb.KeyName(key.Name)
		}
		reason := fmt.Sprintf("key %s, %s: %s", by, dns.RcodeToString[rcode], fmt.Sprintf(why, args...))
		// Anyone can send updates, spoofed, as fast as they like: the
		// event log counts refusals in aggregate (one event per client,
		// reason and minute), and the log says the first of each.
		if s.db.NoteRefusal("UPDATE", zone, client.Addr().String(), reason) {
			s.log.Warn("dynamic update refused", "zone", zone, "client", client.String(), "key", by, "rcode", dns.RcodeToString[rcode], "why", fmt.Sprintf(why, args...))
		}
		return resp
	}
	if len(req.Question) != 1 || req.Question[0].Qtype != dns.TypeSOA || req.Question[0].Qclass != dns.ClassINET {
		return fail(dns.RcodeFormatError, "the zone section must hold one IN SOA entry")
	}
	if key == nil {
		return fail(dns.RcodeRefused, "updates must be signed with TSIG")
	}
	zone := dns.CanonicalName(req.Question[0].Name)
	var z *zonedb.Zone
	view, matched := "", true
	err := s.db.View(func(v *zonedb.View) error {
		// The zone of the client's view (split horizon), as for its
		// queries: by its address or its key.
		views, err := v.ViewTable()
		if err != nil {
			return err
		}
		var id uint16
		if id, view, matched = views.Match(client.Addr(), key.Name); !matched {
			return nil
		}
		v.UseView(id)
		z, err = v.Zone(zone)
		return err
	})
	if !matched {
		return fail(dns.RcodeRefused, "no view matches the client")
	}
	if err != nil || z.Deleted || z.Disabled || z.CatalogOf != "" {
		return fail(dns.RcodeNotAuth, "%s is not a zone served here", zone)
	}
	if !z.IncUpdates {
		return fail(dns.RcodeRefused, "%s does not take updates (dms zone set %s --inc-updates)", zone, zone)
	}
	// Prerequisites (RFC 2136 section 2.4) and updates (2.5) must be well
	// formed and in the zone.
	if rcode, why := checkPrereqs(zone, req.Answer); rcode != dns.RcodeSuccess {
		return fail(rcode, "%s", why)
	}
	sectag, rcode, why := checkUpdates(key, zone, req.Ns)
	if rcode != dns.RcodeSuccess {
		return fail(rcode, "%s", why)
	}
	by := Caller{User: strings.TrimSuffix(key.Name, "."), Host: client.Addr().String(), Sectag: cmpOr(sectag, SectagAdmin), View: view}
	allow := func(name string, t uint16) bool { _, ok := grants(key, zone, name, t); return ok }
	rcode, why = s.updates.submit(s, &updateJob{zone: zone, prereqs: req.Answer, updates: req.Ns, by: by, allow: allow})
	if rcode != dns.RcodeSuccess {
		return fail(rcode, "%s", why)
	}
	return resp
}

// checkPrereqs checks an update's prerequisites are well formed and in
// zone (RFC 2136 section 2.4); NOERROR when they are, else the rcode and
// why.
func checkPrereqs(zone string, rrs []dns.RR) (int, string) {
	for _, rr := range rrs {
		h := rr.Header()
		if h.Ttl != 0 {
			return dns.RcodeFormatError, fmt.Sprintf("prerequisite %s with a TTL", h.Name)
		}
		if !dns.IsSubDomain(zone, dns.CanonicalName(h.Name)) {
			return dns.RcodeNotZone, fmt.Sprintf("prerequisite %s is outside %s", h.Name, zone)
		}
		if h.Class != dns.ClassINET && h.Class != dns.ClassANY && h.Class != dns.ClassNONE {
			return dns.RcodeFormatError, fmt.Sprintf("prerequisite %s of class %s", h.Name, dns.ClassToString[h.Class])
		}
	}
	return dns.RcodeSuccess, ""
}

// checkUpdates checks an update's changes are well formed, in zone and
// granted to key (RFC 2136 section 2.5, the key's policy), and returns the
// sectag of the first rule that grants one.
func checkUpdates(key *zonedb.TSIGKey, zone string, rrs []dns.RR) (string, int, string) {
	var sectag string
	for _, rr := range rrs {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		if !dns.IsSubDomain(zone, name) {
			return "", dns.RcodeNotZone, fmt.Sprintf("%s is outside %s", h.Name, zone)
		}
		switch h.Class {
		case dns.ClassINET:
			if h.Rrtype == dns.TypeANY || h.Rrtype == dns.TypeAXFR || h.Rrtype == dns.TypeIXFR || h.Rrtype == dns.TypeMAILA || h.Rrtype == dns.TypeMAILB || h.Rrtype == dns.TypeOPT {
				return "", dns.RcodeFormatError, fmt.Sprintf("cannot add a %s record", dns.TypeToString[h.Rrtype])
			}
		case dns.ClassANY:
			if h.Ttl != 0 || h.Rdlength != 0 {
				return "", dns.RcodeFormatError, fmt.Sprintf("a delete of %s with a TTL or data", h.Name)
			}
		case dns.ClassNONE:
			if h.Ttl != 0 || h.Rrtype == dns.TypeANY {
				return "", dns.RcodeFormatError, fmt.Sprintf("a delete of one %s record with a TTL or of type ANY", h.Name)
			}
		default:
			return "", dns.RcodeFormatError, fmt.Sprintf("update of class %s", dns.ClassToString[h.Class])
		}
		r, ok := grants(key, zone, name, h.Rrtype)
		if !ok {
			return "", dns.RcodeRefused, fmt.Sprintf("key %s may not change %s %s", zonedb.KeyName(key.Name), h.Name, dns.TypeToString[h.Rrtype])
		}
		if sectag == "" {
			sectag = r.Sectag
		}
	}
	return sectag, dns.RcodeSuccess, ""
}

// updateJob is one UPDATE message waiting for its zone's next commit.
type updateJob struct {
	zone             string
	prereqs, updates []dns.RR
	by               Caller
	// allow says whether the key may change name/type (its policy).
	allow func(name string, t uint16) bool
	rcode int
	why   string
	done  chan struct{}
}

// updateQueue groups the updates of a zone that arrive while a commit of
// it runs.
type updateQueue struct {
	mu      sync.Mutex
	pending map[string][]*updateJob // by zone and committer
	running map[string]bool
}

func (q *updateQueue) submit(s *Service, j *updateJob) (int, string) {
	j.done = make(chan struct{})
	k := j.zone
	if j.by.View != "" && j.by.View != zonedb.DefaultView {
		k = j.by.View + " " + k // the same name in another view is another zone
	}
	q.mu.Lock()
	if q.pending == nil {
		q.pending, q.running = map[string][]*updateJob{}, map[string]bool{}
	}
	q.pending[k] = append(q.pending[k], j)
	lead := !q.running[k]
	q.running[k] = true
	q.mu.Unlock()
	if lead {
		// This caller commits whatever is queued for the zone, batch after
		// batch, until the queue is empty: one zone's updates never commit
		// side by side. A batch is a run of one committer's updates (the
		// instance records who changed it, and auto-PTR acts with its
		// sectag).
		for {
			q.mu.Lock()
			queued := q.pending[k]
			if len(queued) == 0 {
				delete(q.pending, k)
				delete(q.running, k)
				q.mu.Unlock()
				break
			}
			n := 1
			for n < len(queued) && queued[n].by == queued[0].by {
				n++
			}
			q.pending[k] = queued[n:]
			q.mu.Unlock()
			s.commitUpdates(queued[:n])
		}
	}
	<-j.done
	return j.rcode, j.why
}

// commitUpdates applies a batch of one zone's updates in order and
// commits what passed its prerequisites in one instance. If that commit
// fails, each update is tried alone so one bad update fails alone.
func (s *Service) commitUpdates(batch []*updateJob) {
	defer func() {
		for _, j := range batch {
			close(j.done)
		}
	}()
	try := func(jobs []*updateJob) error {
		// The state is read, the update worked out and committed with the
		// instance read: a commit landing in between (a CLI edit) makes
		// it stale, and it is worked out again.
		for attempt := 0; ; attempt++ {
			var ops []zonedb.RecordOp
			var ok []*updateJob
			var zi uint64
			err := s.db.View(func(v *zonedb.View) error {
				if err := v.UseViewNamed(jobs[0].by.View); err != nil {
					return err
				}
				z, err := v.Zone(jobs[0].zone)
				if err != nil {
					return err
				}
				zi = z.ZI
				st := &updState{v: v, z: z, sets: map[updKey][]zonedb.Record{}, stored: map[updKey]bool{}}
				for _, j := range jobs {
					if j.rcode, j.why = st.prereqs(j.prereqs); j.rcode != dns.RcodeSuccess {
						continue
					}
					st.allow = j.allow
					st.apply(j.updates)
					ok = append(ok, j)
				}
				ops = st.ops()
				return nil
			})
			if err != nil || len(ops) == 0 {
				return err
			}
			_, err = s.commit(context.Background(), jobs[0].by, zonedb.ZoneChange{Zone: jobs[0].zone, Ops: ops, ExpectZI: zi, Comment: "dynamic update"})
			if errors.Is(err, zonedb.ErrStale) && attempt < 5 {
				continue
			}
			if err != nil {
				for _, j := range ok {
					j.rcode, j.why = dns.RcodeServerFailure, err.Error()
				}
			}
			return err
		}
	}
	if err := try(batch); err != nil && len(batch) > 1 {
		for _, j := range batch {
			j.rcode, j.why = dns.RcodeSuccess, ""
			if err := try([]*updateJob{j}); err != nil {
				j.rcode, j.why = updateRcode(err), err.Error()
			}
		}
	} else if err != nil {
		batch[0].rcode = updateRcode(err)
	}
}

// updateRcode maps a commit error to an UPDATE rcode: REFUSED for what
// the zone's checks or locks refuse, SERVFAIL for anything else.
func updateRcode(err error) int {
	switch AsError(err).Code {
	case CodeCheck, CodeBadInput, CodeLocked, CodeForbidden:
		return dns.RcodeRefused
	}
	return dns.RcodeServerFailure
}

// updState is a zone's RRsets as a batch of updates leaves them.
type updKey struct {
	name string
	t    uint16
}

type updState struct {
	v    *zonedb.View
	z    *zonedb.Zone
	sets map[updKey][]zonedb.Record // touched or read, DISABLE ones included
	// stored says which RRsets exist in the store (a set emptied by the
	// batch that never was stored needs no delete).
	stored map[updKey]bool
	// allow is the current update's key policy.
	allow func(name string, t uint16) bool
	order []updKey
	dirty map[updKey]bool
}

func (st *updState) get(name string, t uint16) []zonedb.Record {
	k := updKey{name, t}
	if recs, ok := st.sets[k]; ok {
		return recs
	}
	recs, _ := st.v.RRset(st.z, name, t)
	st.sets[k] = recs
	st.stored[k] = len(recs) > 0
	return recs
}

// live are the published records at name/t (DISABLE ones are kept in the
// store but count as absent).
func (st *updState) live(name string, t uint16) []zonedb.Record {
	return slices.DeleteFunc(slices.Clone(st.get(name, t)), func(r zonedb.Record) bool { return r.Flags&zonedb.FlagDisable != 0 })
}

func (st *updState) set(name string, t uint16, recs []zonedb.Record) {
	k := updKey{name, t}
	if st.dirty == nil {
		st.dirty = map[updKey]bool{}
	}
	if !st.dirty[k] {
		st.dirty[k] = true
		st.order = append(st.order, k)
	}
	st.sets[k] = recs
}

// types are the types with published records at name.
func (st *updState) types(name string) []uint16 {
	var out []uint16
	node := st.v.Node(zonedb.ZoneHandle{ID: st.z.ID, Origin: st.z.Name}, name)
	for _, t := range node.Types {
		if t != dns.TypeRRSIG && t != dns.TypeNSEC && t != dns.TypeNSEC3 && len(st.live(name, t)) > 0 {
			out = append(out, t)
		}
	}
	for k := range st.sets {
		if k.name == name && len(st.live(k.name, k.t)) > 0 && !slices.Contains(out, k.t) {
			out = append(out, k.t)
		}
	}
	return out
}

// prereqs checks RFC 2136 section 3.2's prerequisites.
func (st *updState) prereqs(rrs []dns.RR) (int, string) {
	// Value-dependent ones are compared as whole RRsets.
	want := map[updKey][]dns.RR{}
	for _, rr := range rrs {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		switch {
		case h.Class == dns.ClassANY && h.Rrtype == dns.TypeANY:
			if len(st.types(name)) == 0 {
				return dns.RcodeNameError, name + " does not exist"
			}
		case h.Class == dns.ClassANY:
			if len(st.live(name, h.Rrtype)) == 0 {
				return dns.RcodeNXRrset, "no " + dns.TypeToString[h.Rrtype] + " at " + name
			}
		case h.Class == dns.ClassNONE && h.Rrtype == dns.TypeANY:
			if len(st.types(name)) > 0 {
				return dns.RcodeYXDomain, name + " exists"
			}
		case h.Class == dns.ClassNONE:
			if len(st.live(name, h.Rrtype)) > 0 {
				return dns.RcodeYXRrset, dns.TypeToString[h.Rrtype] + " at " + name + " exists"
			}
		default:
			k := updKey{name, h.Rrtype}
			want[k] = append(want[k], rr)
		}
	}
	for k, rrs := range want {
		have := st.live(k.name, k.t)
		same := len(have) == len(rrs)
		for _, rr := range rrs {
			same = same && slices.ContainsFunc(have, func(r zonedb.Record) bool { return zonedb.SameRdata(r.RR, rr) })
		}
		for _, r := range have {
			same = same && slices.ContainsFunc(rrs, func(rr dns.RR) bool { return zonedb.SameRdata(r.RR, rr) })
		}
		if !same {
			return dns.RcodeNXRrset, "the " + dns.TypeToString[k.t] + " RRset at " + k.name + " is not as given"
		}
	}
	return dns.RcodeSuccess, ""
}

// apply applies RFC 2136 section 3.4.2's updates to the state.
func (st *updState) apply(rrs []dns.RR) {
	apex := st.z.Name
	for _, rr := range rrs {
		h := rr.Header()
		name := dns.CanonicalName(h.Name)
		switch h.Class {
		case dns.ClassINET:
			// A CNAME and other data never share a name (section 3.4.2.2:
			// such adds are ignored).
			others := slices.DeleteFunc(st.types(name), func(t uint16) bool { return t == dns.TypeCNAME })
			if h.Rrtype == dns.TypeCNAME && len(others) > 0 || h.Rrtype != dns.TypeCNAME && len(st.live(name, dns.TypeCNAME)) > 0 {
				continue
			}
			// The new record wins: a matching one takes its TTL and is
			// published (DISABLE cleared); the RRset takes its TTL (one TTL
			// an RRset, RFC 2181 5.2), as a record add does.
			cp := dns.Copy(rr)
			cp.Header().Name = name
			cur := slices.Clone(st.get(name, h.Rrtype))
			if h.Rrtype == dns.TypeCNAME {
				cur = slices.DeleteFunc(cur, func(r zonedb.Record) bool { return !zonedb.SameRdata(r.RR, cp) }) // one CNAME
			}
			changed := false
			i := slices.IndexFunc(cur, func(r zonedb.Record) bool { return zonedb.SameRdata(r.RR, cp) })
			if i < 0 {
				cur = append(cur, zonedb.Record{RR: cp})
				changed = true
			} else if cur[i].Flags&zonedb.FlagDisable != 0 {
				cur[i].Flags &^= zonedb.FlagDisable
				changed = true
			}
			for j := range cur {
				if hh := cur[j].RR.Header(); hh.Ttl != h.Ttl {
					c := dns.Copy(cur[j].RR)
					c.Header().Ttl = h.Ttl
					cur[j].RR = c
					changed = true
				}
			}
			if changed || len(cur) != len(st.get(name, h.Rrtype)) {
				st.set(name, h.Rrtype, cur)
			}
		case dns.ClassANY:
			ts := []uint16{h.Rrtype}
			if h.Rrtype == dns.TypeANY {
				ts = st.types(name)
			}
			for _, t := range ts {
				if name == apex && (t == dns.TypeSOA || t == dns.TypeNS) || updateForbidden(t) && t != dns.TypeNS {
					continue // the apex keeps its SOA and NS
				}
				if st.allow != nil && !st.allow(name, t) {
					continue // deleting a name takes only what the key may change
				}
				if len(st.get(name, t)) > 0 {
					st.set(name, t, nil) // DISABLE records of the RRset go too
				}
			}
		case dns.ClassNONE:
			cur := st.get(name, h.Rrtype)
			if name == apex && h.Rrtype == dns.TypeNS && len(st.live(name, h.Rrtype)) <= 1 || h.Rrtype == dns.TypeSOA {
				continue // never the last apex NS, never the SOA
			}
			in := dns.Copy(rr) // class NONE on the wire: compare as IN
			in.Header().Class = dns.ClassINET
			kept := slices.DeleteFunc(slices.Clone(cur), func(r zonedb.Record) bool { return zonedb.SameRdata(r.RR, in) })
			if len(kept) != len(cur) {
				st.set(name, h.Rrtype, kept)
			}
		}
	}
}

// ops turns the changed RRsets into record operations.
func (st *updState) ops() []zonedb.RecordOp {
	var out []zonedb.RecordOp
	for _, k := range st.order {
		recs := st.sets[k]
		if len(recs) == 0 {
			if st.stored[k] {
				out = append(out, zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: k.name, Type: k.t})
			}
			continue
		}
		out = append(out, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: recs})
	}
	return out
}

// TSIGPolicyRequest sets a key's dynamic update policy: Rules replace it
// (none: the key may update nothing).
type TSIGPolicyRequest struct {
	Name  string   `json:"name"`
	Rules []string `json:"rules,omitempty"`
}

// TSIGUpdatePolicy sets what dynamic updates signed with a key may change.
func (s *Service) TSIGUpdatePolicy(ctx context.Context, c Caller, req TSIGPolicyRequest) (*TSIGInfo, error) {
	if err := adminOnly(c, "set update policies"); err != nil {
		return nil, err
	}
	var rules []zonedb.UpdateRule
	for _, text := range req.Rules {
		r, err := ParseUpdateRule(text)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	var k *zonedb.TSIGKey
	err := s.change(c, func(t *zonedb.Txn) error {
		var err error
		k, err = t.SetTSIGUpdate(req.Name, rules)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tsigInfo(k, false, nil), nil
}

// NotifyReceived notes a NOTIFY sent to dms, which is the primary and
// takes none (authserver answers it REFUSED): in the event log in
// aggregate, in the log once a minute per client.
func (s *Service) NotifyReceived(req *dns.Msg, client netip.AddrPort, signed bool) {
	zone := ""
	if len(req.Question) == 1 {
		zone = dns.CanonicalName(req.Question[0].Name)
	}
	why := "dms is the primary and takes no NOTIFY"
	if s.db.NoteRefusal("NOTIFY", zone, client.Addr().String(), why) {
		s.log.Warn("NOTIFY refused", "zone", zone, "client", client.String(), "signed", signed, "why", why)
	}
}
