package admin

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Auto-PTR (DESIGN.md "Auto reverse records"): zonedb.Commit hands every
// forward zone's address-record changes to autoPTR inside the write
// transaction; the PTR changes it returns land in the same transaction,
// one new instance per reverse zone touched. The rules, each covered by a
// row of TestAutoPTRRules:
//
//   - config auto_reverse off: nothing at all;
//   - AAAA feeds it when auto_create_ipv6_ptr is on, A when
//     auto_create_ipv4_ptr is on, either with FORCEREV or TRACKREV whatever
//     the switches (the old system's TRACKREV is FORCEREV at every save);
//   - the reverse zone is the most specific one covering the address that
//     exists, is served and has inc_updates; none: skipped, reported;
//   - privilege: the Admin sectag, or the forward zone's reference equal to
//     the reverse zone's, or to the PTR's REF:; else refused, reported;
//   - no PTR: created (the first address record wins) with REF: the forward
//     zone's reference;
//   - a PTR with LOCKPTR is never touched; more than one PTR at the name:
//     skipped; the same target: kept; FORCEREV (once) or TRACKREV (every
//     save) replace it; so does staleness (its target no longer has an
//     address record with that address); otherwise it is kept, reported;
//   - a deleted address record takes its PTR with it when that PTR is ours
//     (points at the record's name, REF: the forward zone's reference or
//     none, no LOCKPTR) and auto_delete_ptr is on;
//   - DISABLE records count as absent, on either side.
type autoPTR struct{}

// Result actions.
const (
	ptrCreated  = "created"
	ptrReplaced = "replaced"
	ptrDeleted  = "deleted"
	ptrKept     = "kept"
	ptrSkipped  = "skipped"
	ptrRefused  = "refused"
)

// ptrPlan is what this commit has decided for one PTR name so far.
type ptrPlan struct {
	zone    *zonedb.Zone
	records []zonedb.Record // the PTR RRset as it will be
}

type reverseRun struct {
	rc     *zonedb.ReverseContext
	cfg    Config
	admin  bool
	fwdRef string
	plans  map[string]*ptrPlan // by PTR owner
	order  []string
	report []zonedb.ReverseResult
	// more counts, by action, the results past maxReport (a zone load
	// with thousands of addresses is summed up, not listed).
	more map[string]int
	// zones are the served reverse zones with inc_updates, by name;
	// classless those of RFC 2317 form, by the /24 zone name above them.
	zones     map[string]*zonedb.Zone
	classless map[string][]*zonedb.Zone
}

// maxReport is how many results a commit lists one by one.
const maxReport = 100

// Reverse implements zonedb.Reverser.
func (autoPTR) Reverse(rc *zonedb.ReverseContext) ([]zonedb.ZoneChange, []zonedb.ReverseResult, error) {
	cfg := effectiveConfig(rc.View.Config())
	if !cfg.Bool("auto_reverse") {
		return nil, nil, nil
	}
	r := &reverseRun{rc: rc, cfg: cfg, admin: Caller{Sectag: rc.Sectag}.IsAdmin(), fwdRef: rc.Zone.Ref,
		plans: map[string]*ptrPlan{}, more: map[string]int{}}
	// A bulk load asks for thousands of addresses: read the candidate
	// zones once. A small commit looks each address's zones up by name
	// (a store may hold thousands of reverse zones).
	if len(rc.Added)+len(rc.Removed) > bulkAddresses {
		r.zones, r.classless = map[string]*zonedb.Zone{}, map[string][]*zonedb.Zone{}
		for _, top := range []string{"in-addr.arpa.", "ip6.arpa."} {
			err := rc.View.ZonesBelow(top, func(z *zonedb.Zone) bool {
				if takesPTRs(z) {
					r.zones[z.Name] = z
					label, parent, _ := strings.Cut(z.Name, ".")
					if _, _, ok := classlessRange(label); ok {
						r.classless[parent] = append(r.classless[parent], z)
					}
				}
				return true
			})
			if err != nil {
				return nil, nil, err
			}
		}
	}
	// Removals first: an address moving from one name to another frees
	// its PTR for the new name in the same commit.
	if cfg.Bool("auto_delete_ptr") {
		for _, a := range rc.Removed {
			if err := r.remove(a); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, a := range rc.Added {
		if err := r.add(a); err != nil {
			return nil, nil, err
		}
	}
	for _, a := range []string{ptrCreated, ptrReplaced, ptrDeleted, ptrKept, ptrSkipped, ptrRefused} {
		if n := r.more[a]; n > 0 {
			r.report = append(r.report, zonedb.ReverseResult{Action: a, Reason: fmt.Sprintf("%d more addresses, not listed", n)})
		}
	}
	return r.changes(), r.report, nil
}

func (r *reverseRun) result(a zonedb.AddrRecord, z *zonedb.Zone, action, reason string, args ...any) {
	if len(r.report) >= maxReport {
		r.more[action]++
		return
	}
	res := zonedb.ReverseResult{Address: a.Addr.String(), Name: a.Name, PTR: ReverseName(a.Addr), Action: action, Reason: fmt.Sprintf(reason, args...)}
	if z != nil {
		res.Zone, res.PTR = z.Name, ptrOwner(z, a.Addr)
	}
	r.report = append(r.report, res)
}

// feeds says whether an address record feeds auto-PTR. FORCEREV and
// TRACKREV ask for the PTR in so many words, so the per-family switches,
// which only set the default, do not hold them back.
func (r *reverseRun) feeds(a zonedb.AddrRecord) bool {
	if a.Flags&(zonedb.FlagForceRev|zonedb.FlagTrackRev) != 0 {
		return true
	}
	if a.Addr.Is4() {
		return r.cfg.Bool("auto_create_ipv4_ptr")
	}
	return r.cfg.Bool("auto_create_ipv6_ptr")
}

// zoneFor is the most specific served reverse zone with inc_updates that
// covers a (an RFC 2317 zone below the /24 first, for IPv4).
func (r *reverseRun) zoneFor(a netip.Addr) *zonedb.Zone {
	if r.zones == nil {
		return reverseZoneFor(r.rc.View, a, takesPTRs)
	}
	// A bulk commit: the same lookup in the zones read once.
	if a.Is4() {
		last := int(a.As4()[3])
		for _, z := range r.classless[reverseLabels(a, 3)] {
			label, _, _ := strings.Cut(z.Name, ".")
			if lo, hi, ok := classlessRange(label); ok && lo <= last && last <= hi {
				return z
			}
		}
	}
	for name := ReverseName(a); ; {
		if z, ok := r.zones[name]; ok {
			return z
		}
		i, end := dns.NextLabel(name, 0)
		if end || name == "arpa." {
			return nil
		}
		name = name[i:]
	}
}

// locked says whether someone holds z's edit lock: auto-PTR leaves the
// zone alone meanwhile (its change would make the editor's commit stale).
func (r *reverseRun) locked(z *zonedb.Zone) bool {
	return z.EditLock && lockHeld(z, r.rc.Now, lockTimeout(r.cfg))
}

// takesPTRs says whether auto-PTR may write into zone z.
func takesPTRs(z *zonedb.Zone) bool {
	return z.IncUpdates && served(z) && z.CatalogOf == ""
}

// bulkAddresses is past how many addresses a commit reads every reverse
// zone once instead of looking each address's up.
const bulkAddresses = 64

// ptrOwner is the PTR's name for a in reverse zone z: its reverse name,
// or in an RFC 2317 classless zone the last octet below the zone's name
// (the /24 zone points there by CNAME).
func ptrOwner(z *zonedb.Zone, a netip.Addr) string {
	name := ReverseName(a)
	if dns.IsSubDomain(z.Name, name) {
		return name
	}
	return fmt.Sprintf("%d.%s", a.As4()[3], z.Name)
}

// plan returns the PTR RRset at owner as this commit has it so far.
func (r *reverseRun) plan(z *zonedb.Zone, owner string) (*ptrPlan, error) {
	if p, ok := r.plans[owner]; ok {
		return p, nil
	}
	recs, err := r.rc.View.RRset(z, owner, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	p := &ptrPlan{zone: z, records: recs}
	r.plans[owner] = p
	r.order = append(r.order, owner)
	return p, nil
}

// allowed is the privilege rule for changing a PTR (ptrRef is the
// existing PTR's REF:, "" when there is none).
func (r *reverseRun) allowed(z *zonedb.Zone, ptrRef string) bool {
	if r.admin {
		return true
	}
	if r.fwdRef == "" {
		return false
	}
	return strings.EqualFold(r.fwdRef, z.Ref) || ptrRef != "" && strings.EqualFold(r.fwdRef, ptrRef)
}

func (r *reverseRun) newPTR(owner string, a zonedb.AddrRecord) zonedb.Record {
	return zonedb.Record{
		RR:  &dns.PTR{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: a.TTL}, Ptr: a.Name},
		Ref: r.fwdRef,
	}
}

func (r *reverseRun) add(a zonedb.AddrRecord) error {
	if !r.feeds(a) {
		return nil
	}
	z := r.zoneFor(a.Addr)
	if z == nil {
		r.result(a, nil, ptrSkipped, "no reverse zone with inc_updates covers %s", a.Addr)
		return nil
	}
	if r.locked(z) {
		r.result(a, z, ptrSkipped, "the reverse zone is being edited (edit lock held by %s); save the forward zone again later", z.LockedBy)
		return nil
	}
	owner := ptrOwner(z, a.Addr)
	p, err := r.plan(z, owner)
	if err != nil {
		return err
	}
	var live []int // published PTRs
	for i, rec := range p.records {
		if rec.Flags&zonedb.FlagDisable == 0 {
			live = append(live, i)
		}
	}
	switch {
	case len(live) == 0:
		if !r.allowed(z, "") {
			r.result(a, z, ptrRefused, "the forward zone's reference %s is not the reverse zone's", orNoneRef(r.fwdRef))
			return nil
		}
		p.records = append(p.records, r.newPTR(owner, a))
		r.result(a, z, ptrCreated, "")
		return nil
	case len(live) > 1:
		r.result(a, z, ptrSkipped, "%d PTR records at %s: auto-PTR only keeps a name with one", len(live), owner)
		return nil
	}
	cur := p.records[live[0]]
	target := dns.CanonicalName(cur.RR.(*dns.PTR).Ptr)
	switch {
	case cur.Flags&zonedb.FlagLockPTR != 0:
		if target != a.Name {
			r.result(a, z, ptrSkipped, "the PTR is locked (LOCKPTR) and points at %s", target)
		}
		return nil
	case target == a.Name:
		return nil // already right
	}
	why := ""
	switch {
	case a.Flags&zonedb.FlagForceRev != 0:
		why = "FORCEREV"
	case a.Flags&zonedb.FlagTrackRev != 0:
		why = "TRACKREV"
	case r.stale(target, a.Addr):
		why = "stale: " + target + " no longer has that address"
	default:
		r.result(a, z, ptrKept, "the PTR points at %s, which still has that address (FORCEREV takes it over)", target)
		return nil
	}
	if !r.allowed(z, cur.Ref) {
		r.result(a, z, ptrRefused, "the forward zone's reference %s is neither the reverse zone's nor the PTR's", orNoneRef(r.fwdRef))
		return nil
	}
	p.records[live[0]] = r.newPTR(owner, a)
	r.result(a, z, ptrReplaced, "%s (was %s)", why, target)
	return nil
}

// stale says whether name no longer has an address record for addr.
func (r *reverseRun) stale(name string, addr netip.Addr) bool {
	v := r.rc.View
	h, ok := v.FindZone(name)
	if !ok {
		return true
	}
	z, err := v.ZoneByID(h.ID)
	if err != nil {
		return true
	}
	t := dns.TypeAAAA
	if addr.Is4() {
		t = dns.TypeA
	}
	recs, err := v.RRset(z, name, t)
	if err != nil {
		return true
	}
	for _, rec := range recs {
		if rec.Flags&zonedb.FlagDisable != 0 {
			continue
		}
		if got, ok := zonedb.AddrOf(rec.RR); ok && got == addr {
			return false
		}
	}
	return true
}

func (r *reverseRun) remove(a zonedb.AddrRecord) error {
	z := r.zoneFor(a.Addr)
	if z == nil {
		return nil
	}
	if r.locked(z) {
		r.result(a, z, ptrSkipped, "the reverse zone is being edited (edit lock held by %s): its PTR stays", z.LockedBy)
		return nil
	}
	owner := ptrOwner(z, a.Addr)
	p, err := r.plan(z, owner)
	if err != nil {
		return err
	}
	kept := p.records[:0:0]
	for _, rec := range p.records {
		ptr := rec.RR.(*dns.PTR)
		ours := dns.CanonicalName(ptr.Ptr) == a.Name && rec.Flags&zonedb.FlagLockPTR == 0 &&
			(rec.Ref == "" || strings.EqualFold(rec.Ref, r.fwdRef))
		if ours && !r.stale(a.Name, a.Addr) {
			ours = false // the name still has the address (another record)
		}
		if ours && r.allowed(z, rec.Ref) {
			r.result(a, z, ptrDeleted, "its address record was deleted")
			continue
		}
		kept = append(kept, rec)
	}
	p.records = kept
	return nil
}

// changes turns the plans into one change per reverse zone.
func (r *reverseRun) changes() []zonedb.ZoneChange {
	var out []zonedb.ZoneChange
	idx := map[string]int{}
	for _, owner := range r.order {
		p := r.plans[owner]
		cur, err := r.rc.View.RRset(p.zone, owner, dns.TypePTR)
		if err != nil || samePTRs(cur, p.records) {
			continue
		}
		i, ok := idx[p.zone.Name]
		if !ok {
			i = len(out)
			idx[p.zone.Name] = i
			out = append(out, zonedb.ZoneChange{Zone: p.zone.Name, Comment: "auto-PTR"})
		}
		op := zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: p.records}
		if len(p.records) == 0 {
			op = zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: owner, Type: dns.TypePTR}
		}
		out[i].Ops = append(out[i].Ops, op)
	}
	return out
}

func samePTRs(a, b []zonedb.Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Flags != b[i].Flags || a[i].Ref != b[i].Ref || a[i].RR.String() != b[i].RR.String() {
			return false
		}
	}
	return true
}

func orNoneRef(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// checkFlagPrivileges refuses record flags the caller may not set:
// LOCKPTR (set or taken off) needs the Admin sectag, a record's REF:
// (set, changed or taken off) Admin or the help desk. The SOA's REF: is
// the zone's reference, which its own rules govern. It runs inside the
// commit's transaction (v), so what it reads is what the commit changes.
func checkFlagPrivileges(v *zonedb.View, c Caller, zcs []zonedb.ZoneChange) error {
	if c.IsAdmin() {
		return nil
	}
	for i := range zcs {
		zc := &zcs[i]
		fc := flagCheck{zone: zc.Zone, helpdesk: c.role() == RoleHelpdesk}
		if err := fc.load(v, zc); err != nil {
			return err
		}
		if zc.Replace {
			if err := fc.replace(zc.Records); err != nil {
				return err
			}
		}
		for _, op := range zc.Ops {
			if err := fc.op(op); err != nil {
				return err
			}
		}
	}
	return nil
}

// flagCheck checks one zone change's records for checkFlagPrivileges.
type flagCheck struct {
	zone     string
	helpdesk bool
	// cur are the stored records the change may touch.
	cur map[recordKey]zonedb.Record
}

// recordKey names a record: its RRset ("name/TYPE") and RDATA text.
type recordKey struct{ name, rr string }

func keyOfRecord(r zonedb.Record) recordKey {
	h := r.RR.Header()
	rr := strings.TrimPrefix(r.RR.String(), h.String())
	return recordKey{dns.CanonicalName(h.Name) + "/" + dns.TypeToString[h.Rrtype], rr}
}

// opRRset is the owner and type of the RRset op works on ("" when none).
func opRRset(op zonedb.RecordOp) (string, uint16) {
	switch op.Kind {
	case zonedb.OpAdd, zonedb.OpDelete:
		return op.Record.RR.Header().Name, op.Record.RR.Header().Rrtype
	case zonedb.OpReplaceRRset:
		if len(op.Records) == 0 {
			return "", 0
		}
		return op.Records[0].RR.Header().Name, op.Records[0].RR.Header().Rrtype
	}
	return op.Name, op.Type
}

// load reads the records the change may touch: the whole zone for a new
// text, the RRsets its operations name otherwise.
func (fc *flagCheck) load(v *zonedb.View, zc *zonedb.ZoneChange) error {
	fc.cur = map[recordKey]zonedb.Record{}
	z, err := v.Zone(zc.Zone)
	if err != nil || !zc.Replace && len(zc.Ops) == 0 {
		return nil
	}
	var recs []zonedb.Record
	if zc.Replace {
		if recs, err = v.Records(z); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, op := range zc.Ops {
		name, t := opRRset(op)
		if name == "" {
			continue
		}
		if k := dns.CanonicalName(name) + "/" + dns.TypeToString[t]; !seen[k] {
			seen[k] = true
			// A name the commit will refuse (outside the zone) has none;
			// the commit says what is wrong.
			set, _ := v.RRset(z, dns.CanonicalName(name), t)
			recs = append(recs, set...)
		}
	}
	for _, r := range recs {
		fc.cur[keyOfRecord(r)] = r
	}
	return nil
}

func (fc *flagCheck) look(r zonedb.Record) *zonedb.Record {
	if o, ok := fc.cur[keyOfRecord(r)]; ok {
		return &o
	}
	return nil
}

// check refuses nw's flags if they differ from old's in a way the caller
// may not make.
func (fc *flagCheck) check(old *zonedb.Record, nw zonedb.Record) error {
	if nw.RR.Header().Rrtype == dns.TypeSOA {
		return nil
	}
	var of zonedb.Flags
	var oref string
	if old != nil {
		of, oref = old.Flags, old.Ref
	}
	if (of^nw.Flags)&zonedb.FlagLockPTR != 0 {
		return fmt.Errorf("%w: %s %s: only the Admin sectag may set or clear LOCKPTR", ErrForbidden, fc.zone, nw.RR.Header().Name)
	}
	if !fc.helpdesk && !strings.EqualFold(oref, nw.Ref) {
		return fmt.Errorf("%w: %s %s: only the Admin sectag or the help desk may set a record's REF:", ErrForbidden, fc.zone, nw.RR.Header().Name)
	}
	return nil
}

func (fc *flagCheck) lockedGone(o zonedb.Record) error {
	return fmt.Errorf("%w: %s %s: only the Admin sectag may remove a LOCKPTR record", ErrForbidden, fc.zone, o.RR.Header().Name)
}

// replace checks a whole new text: each record's flags, and no locked
// record left out.
func (fc *flagCheck) replace(recs []zonedb.Record) error {
	seen := map[recordKey]bool{}
	for _, r := range recs {
		seen[keyOfRecord(r)] = true
		if err := fc.check(fc.look(r), r); err != nil {
			return err
		}
	}
	for k, o := range fc.cur {
		if !seen[k] && o.Flags&zonedb.FlagLockPTR != 0 {
			return fc.lockedGone(o)
		}
	}
	return nil
}

// op checks one record operation: the flags of what it writes, and no
// locked record taken away, whichever op takes it.
func (fc *flagCheck) op(op zonedb.RecordOp) error {
	var recs []zonedb.Record
	switch op.Kind {
	case zonedb.OpAdd:
		recs = []zonedb.Record{op.Record}
	case zonedb.OpReplaceRRset:
		recs = op.Records
	}
	for _, r := range recs {
		if err := fc.check(fc.look(r), r); err != nil {
			return err
		}
	}
	switch op.Kind {
	case zonedb.OpDelete:
		if o := fc.look(op.Record); o != nil && o.Flags&zonedb.FlagLockPTR != 0 {
			return fc.lockedGone(*o)
		}
		return nil
	case zonedb.OpAdd:
		return nil
	}
	name, t := opRRset(op)
	if name == "" {
		return nil
	}
	set := dns.CanonicalName(name) + "/" + dns.TypeToString[t]
	for k, o := range fc.cur {
		if k.name != set || o.Flags&zonedb.FlagLockPTR == 0 {
			continue
		}
		if op.Kind == zonedb.OpReplaceRRset && slices.ContainsFunc(op.Records, func(r zonedb.Record) bool {
			return keyOfRecord(r) == k && r.Flags&zonedb.FlagLockPTR != 0
		}) {
			continue // kept, still locked
		}
		return fc.lockedGone(o)
	}
	return nil
}
