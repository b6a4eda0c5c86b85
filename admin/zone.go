package admin

import (
	"bytes"
	"context"
	"errors"
	"math"

	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// CommitResult is what a changing operation reports: per zone, the new
// instance and serial, what changed, and the warnings of the checks.
type CommitResult struct {
	Commits []zonedb.ZoneCommit `json:"commits"`
}

// ZoneCreateRequest creates an empty zone: SOA and apex NS from config.
type ZoneCreateRequest struct {
	Name       string `json:"name"`
	Ref        string `json:"ref,omitempty"`
	SG         string `json:"sg,omitempty"`
	IncUpdates *bool  `json:"inc_updates,omitempty"`
	EditLock   *bool  `json:"edit_lock,omitempty"`
	DNSSEC     *bool  `json:"dnssec,omitempty"`
	NSEC3      *bool  `json:"nsec3,omitempty"`
	UseApexNS  *bool  `json:"use_apex_ns,omitempty"`
}

func boolOr(p *bool, def bool) bool {
	if p != nil {
		return *p
	}
	return def
}

func (s *Service) newZoneMeta(c Caller, cfg Config, sg string, inc, lock, sec, nsec3, apexNS *bool) *zonedb.Zone {
	return &zonedb.Zone{
		// A zone carries its creator's sectag.
		Sectags:    []string{cmpOr(c.Sectag, SectagAdmin)},
		SG:         cmpOr(sg, cfg["default_sg"]),
		IncUpdates: boolOr(inc, cfg.Bool("inc_updates")),
		EditLock:   boolOr(lock, cfg.Bool("edit_lock")),
		DNSSEC:     boolOr(sec, cfg.Bool("auto_dnssec")),
		NSEC3:      boolOr(nsec3, cfg.Bool("nsec3")),
		UseApexNS:  boolOr(apexNS, cfg.Bool("use_apex_ns")),
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ZoneCreate creates a zone with an SOA and apex NS records built from the
// configuration (soa_* keys, zone_ttl, apex_ns).
func (s *Service) ZoneCreate(ctx context.Context, c Caller, req ZoneCreateRequest) (*CommitResult, error) {
	name, err := s.newZoneName(req.Name)
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := s.db.View(func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
		return nil, err
	}
	if err := s.mayCreate(c, name, req.SG); err != nil {
		return nil, err
	}
	if req.Ref != "" && !c.mayRef() {
		return nil, errSetRef
	}
	meta := s.newZoneMeta(c, cfg, req.SG, req.IncUpdates, req.EditLock, req.DNSSEC, req.NSEC3, req.UseApexNS)
	// The zone's SG may give the SOA MNAME and, with use_apex_ns, the apex
	// NS (zonedb.Commit writes the SG's NS over the config's).
	needed := []string{"soa_mname", "soa_rname", "apex_ns"}
	if meta.SG != "" {
		var sg *zonedb.SG
		if err := s.db.View(func(v *zonedb.View) error { sg, err = v.SG(meta.SG); return err }); err != nil {
			return nil, err
		}
		if sg.SOAMname != "" {
			cfg["soa_mname"] = sg.SOAMname
		}
		if meta.UseApexNS && len(sg.ApexNS) > 0 {
			needed = needed[:2]
		}
	}
	var missing []string
	for _, k := range needed {
		if cfg[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, usagef("cannot make the SOA and NS records of %s: config %s not set; set them with, for example: dms config set soa_mname ns1.example.net. ; dms config set soa_rname hostmaster.example.net. ; dms config set apex_ns \"ns1.example.net. ns2.example.net.\"",
			name, strings.Join(missing, ", "))
	}
	zttl := cfg.TTL("zone_ttl")
	soaTTL := zttl
	if cfg["soa_ttl"] != "" {
		soaTTL = cfg.TTL("soa_ttl")
	}
	soa := &dns.SOA{
		Hdr:     dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaTTL},
		Ns:      cfg["soa_mname"],
		Mbox:    cfg["soa_rname"],
		Refresh: cfg.TTL("soa_refresh"),
		Retry:   cfg.TTL("soa_retry"),
		Expire:  cfg.TTL("soa_expire"),
		Minttl:  cfg.TTL("soa_minimum"),
	}
	recs := []zonedb.Record{{RR: soa}}
	for _, ns := range strings.Fields(cfg["apex_ns"]) {
		recs = append(recs, zonedb.Record{RR: &dns.NS{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: zttl}, Ns: ns}})
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{
		Zone: name, Create: meta, Ref: cmpOr(req.Ref, cfg["default_ref"]), Replace: true, Records: recs,
	})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneLoadRequest loads one zone file as a new zone.
type ZoneLoadRequest struct {
	// Name is the zone; empty means the file name (without a .zone suffix).
	Name string `json:"name,omitempty"`
	// File is the file name shown in messages.
	File string `json:"file"`
	// Text is the zone file's content.
	Text         string `json:"text"`
	Ref          string `json:"ref,omitempty"`
	SG           string `json:"sg,omitempty"`
	IncUpdates   *bool  `json:"inc_updates,omitempty"`
	AllowInclude bool   `json:"allow_include,omitempty"`
	// IncludeDir is the directory $INCLUDE paths are relative to.
	IncludeDir string `json:"include_dir,omitempty"`
}

// ZoneNameFromFile derives a zone name from a zone file's name:
// "example.org", "example.org." or "example.org.zone".
func ZoneNameFromFile(file string) string {
	base := path.Base(strings.ReplaceAll(file, "\\", "/"))
	base = strings.TrimSuffix(base, ".zone")
	return base
}

// ZoneLoad parses a zone file and creates the zone from it in one commit.
// The serial of the file is kept, so secondaries that already hold the zone
// see no change. A ";!REF:" on the SOA sets the zone's reference and wins
// over req.Ref.
func (s *Service) ZoneLoad(ctx context.Context, c Caller, req ZoneLoadRequest) (*CommitResult, error) {
	zn := req.Name
	if zn == "" {
		zn = ZoneNameFromFile(req.File)
	}
	name, err := s.newZoneName(zn)
	if err != nil {
		return nil, err
	}
	if err := s.mayCreate(c, name, req.SG); err != nil {
		return nil, err
	}
	if !c.IsAdmin() && (req.AllowInclude || req.IncludeDir != "") {
		return nil, fmt.Errorf("%w: only the Admin sectag may load zone files with $INCLUDE (they read files on the server)", ErrForbidden)
	}
	var cfg Config
	if err := s.db.View(func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
		return nil, err
	}
	text, err := zonefile.ParseText(strings.NewReader(req.Text), zonefile.ParseOptions{
		File: req.File, Origin: name, DefaultTTL: cfg.TTL("zone_ttl"),
		AllowInclude: req.AllowInclude, IncludeDir: req.IncludeDir, MaxRecords: maxRecords(c, cfg),
	})
	if err != nil {
		return nil, tooManyHint(c, err)
	}
	recs := text.Records
	ref := req.Ref
	if r := soaRef(recs); r != "" {
		ref = r
	}
	if ref != "" && !c.mayRef() {
		return nil, errSetRef
	}
	ref = cmpOr(ref, cfg["default_ref"])
	meta := s.newZoneMeta(c, cfg, req.SG, req.IncUpdates, nil, nil, nil, nil)
	res, err := s.commit(ctx, c, zonedb.ZoneChange{
		Zone: name, Create: meta, Ref: ref, Replace: true, Records: recs, Serial: zonedb.SerialKeep,
		SetComments: true, Comments: text.Comments,
	})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// soaRef returns the REF: flag of the SOA (the zone's reference) and clears
// it from the record: the zone holds it.
func soaRef(recs []zonedb.Record) string {
	for i := range recs {
		if recs[i].RR.Header().Rrtype == dns.TypeSOA {
			r := recs[i].Ref
			recs[i].Ref = ""
			return r
		}
	}
	return ""
}

// ZoneRequest names a zone (and, for some operations, an instance).
type ZoneRequest struct {
	Name string `json:"name"`
	ZI   uint64 `json:"zi,omitempty"`
}

// ZoneText is a zone as text, with the instance it was read from.
type ZoneText struct {
	Zone   string `json:"zone"`
	ZI     uint64 `json:"zi"`
	Serial uint32 `json:"serial"`
	Text   string `json:"text"`
}

// ZoneShow prints the zone (or one of its older instances) as zone text,
// with its ";|" and ";#" comments. Comments are not versioned: an older
// instance is shown with today's comments of the RRsets it has.
func (s *Service) ZoneShow(ctx context.Context, c Caller, req ZoneRequest) (*ZoneText, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var out *ZoneText
	err = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		ziID := z.ZI
		if req.ZI != 0 {
			ziID = req.ZI
		}
		zi, err := v.ZI(z, ziID)
		if err != nil {
			return err
		}
		recs, err := contentAt(v, z, ziID)
		if err != nil {
			return err
		}
		comments, err := v.Comments(z)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		h := &zonefile.Header{Zone: z.Name, Reference: z.Ref, ChangeBy: zi.ChangeBy, ZI: zi.ID, CTime: zi.CTime, MTime: zi.CTime, PTime: zi.PTime}
		if err := zonefile.PrintText(&b, z.Name, h, &zonefile.Text{Records: recs, Comments: comments}); err != nil {
			return err
		}
		out = &ZoneText{Zone: z.Name, ZI: zi.ID, Serial: zi.Serial, Text: b.String()}
		return nil
	})
	return out, err
}

// recKey identifies a record by owner, type and RDATA.
func recKey(r zonedb.Record) string {
	h := r.RR.Header()
	return strings.ToLower(h.Name) + "\x00" + strconv.Itoa(int(h.Rrtype)) + "\x00" + zonedb.RdataText(r.RR)
}

// contentAt rebuilds the zone's records as of instance ziID by undoing the
// diffs of the later instances, newest first.
func contentAt(v *zonedb.View, z *zonedb.Zone, ziID uint64) ([]zonedb.Record, error) {
	recs, err := contentNow(v, z, ziID)
	if err != nil {
		return nil, err
	}
	return editable(z, recs), nil
}

// editable leaves out what the signer owns: the zone's editors see and
// write only the data (RRSIG, NSEC and NSEC3 can never be theirs; DNSKEY,
// CDS and CDNSKEY are the signer's while the zone is signed).
func editable(z *zonedb.Zone, recs []zonedb.Record) []zonedb.Record {
	return slices.DeleteFunc(recs, func(r zonedb.Record) bool {
		switch t := r.RR.Header().Rrtype; t {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
			return true
		default:
			return z.DNSSEC && zonedb.SignerType(t)
		}
	})
}

func contentNow(v *zonedb.View, z *zonedb.Zone, ziID uint64) ([]zonedb.Record, error) {
	recs, err := v.Records(z)
	if err != nil {
		return nil, err
	}
	if ziID == z.ZI {
		return recs, nil
	}
	// The instance must exist (History walks what comes after it).
	if _, err := v.ZI(z, ziID); err != nil {
		return nil, err
	}
	set := make(map[string]zonedb.Record, len(recs))
	for _, r := range recs {
		set[recKey(r)] = r
	}
	// Undo the instances after ziID, newest first.
	err = v.History(z, ziID, math.MaxUint64, true, func(_ zonedb.ZI, d *zonedb.Diff) (bool, error) {
		for _, r := range d.Added {
			delete(set, recKey(r))
		}
		for _, r := range d.Removed {
			set[recKey(r)] = r
		}
		return true, nil
	})
	if errors.Is(err, zonedb.ErrHistoryGone) {
		return nil, fmt.Errorf("%w: instance %d of %s predates a reload", zonedb.ErrHistoryGone, ziID, z.Name)
	}
	if err != nil {
		return nil, err
	}
	out := make([]zonedb.Record, 0, len(set))
	for _, r := range set {
		out = append(out, r)
	}
	return out, nil
}

// ZoneReplaceRequest replaces a zone's content with zone text (dms zone
// edit). ExpectZI, when set, refuses the change if the zone moved on.
type ZoneReplaceRequest struct {
	Name     string `json:"name"`
	File     string `json:"file,omitempty"`
	Text     string `json:"text"`
	ExpectZI uint64 `json:"expect_zi,omitempty"`
	// LockToken is the edit lock held on a zone with edit_lock (see
	// ZoneLockTake); the commit releases it.
	LockToken string `json:"lock_token,omitempty"`
}

// ZoneReplace commits new zone text. The serial follows the policy (a
// higher serial typed into the SOA is kept); a ";!REF:" on the SOA changes
// the zone's reference. The text's ";|" and ";#" comments replace the
// zone's; a change of comments alone is saved without a new instance.
func (s *Service) ZoneReplace(ctx context.Context, c Caller, req ZoneReplaceRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var cfg Config
	var curRef string
	err = s.db.View(func(v *zonedb.View) error {
		cfg = s.config(v)
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		curRef = z.Ref
		return nil
	})
	if err != nil {
		return nil, err
	}
	text, err := zonefile.ParseText(strings.NewReader(req.Text), zonefile.ParseOptions{
		File: cmpOr(req.File, name), Origin: name, DefaultTTL: cfg.TTL("zone_ttl"), MaxRecords: maxRecords(c, cfg),
	})
	if err != nil {
		return nil, tooManyHint(c, err)
	}
	recs := text.Records
	zc := zonedb.ZoneChange{Zone: name, Replace: true, Records: recs, ExpectZI: req.ExpectZI,
		SetComments: true, Comments: text.Comments}
	if r := soaRef(recs); r != "" && !strings.EqualFold(r, curRef) {
		zc.Ref, zc.SetRef = r, true
	}
	res, err := s.commitLocked(ctx, c, name, req.LockToken, zc)
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// RecordRequest adds or deletes records given as zone text lines, relative
// to the zone (e.g. "www 3600 IN A 192.0.2.1").
type RecordRequest struct {
	Zone    string   `json:"zone"`
	Records []string `json:"records"`
}

func (s *Service) parseRecordLines(zone string, lines []string, cfg Config, allowBare bool) ([]zonedb.RecordOp, error) {
	var ops []zonedb.RecordOp
	for i, line := range lines {
		file := fmt.Sprintf("record %d", i+1)
		if allowBare {
			if n, t, ok := bareRRset(line, zone); ok {
				ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: n, Type: t})
				continue
			}
		}
		recs, err := zonefile.Parse(strings.NewReader(line), zonefile.ParseOptions{File: file, Origin: zone, DefaultTTL: cfg.TTL("zone_ttl")})
		if err != nil {
			return nil, err
		}
		keep := !lineHasTTL(line)
		for _, r := range recs {
			ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpAdd, Record: r, KeepTTL: keep})
		}
	}
	if len(ops) == 0 {
		return nil, usagef("no records given")
	}
	return ops, nil
}

// lineHasTTL reports whether a one-record line gives a TTL: "name [ttl]
// [class] [ttl] type ...".
func lineHasTTL(line string) bool {
	f := strings.Fields(line)
	for i := 1; i < len(f) && i < 4; i++ {
		if _, isType := dns.StringToType[strings.ToUpper(f[i])]; isType {
			return false
		}
		if _, err := ParseTTL(f[i]); err == nil {
			return true
		}
	}
	return false
}

// bareRRset recognizes "NAME TYPE" (optionally with a class): an RRset to
// delete whole.
func bareRRset(line, origin string) (string, uint16, bool) {
	f := strings.Fields(line)
	if len(f) == 3 && strings.EqualFold(f[1], "IN") {
		f = []string{f[0], f[2]}
	}
	if len(f) != 2 {
		return "", 0, false
	}
	t, ok := dns.StringToType[strings.ToUpper(f[1])]
	if !ok {
		return "", 0, false
	}
	n := f[0]
	switch {
	case n == "@":
		n = origin
	case !dns.IsFqdn(n):
		n = n + "." + origin
	}
	return dns.CanonicalName(n), t, true
}

// RecordAdd adds records, one commit for all of them.
func (s *Service) RecordAdd(ctx context.Context, c Caller, req RecordRequest) (*CommitResult, error) {
	return s.recordOps(ctx, c, req, false)
}

// RecordDelete deletes records; a line with only a name and a type deletes
// that whole RRset.
func (s *Service) RecordDelete(ctx context.Context, c Caller, req RecordRequest) (*CommitResult, error) {
	return s.recordOps(ctx, c, req, true)
}

func (s *Service) recordOps(ctx context.Context, c Caller, req RecordRequest, del bool) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Zone)
	if err != nil {
		return nil, err
	}
	var cfg Config
	if err := s.db.View(func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
		return nil, err
	}
	ops, err := s.parseRecordLines(name, req.Records, cfg, del)
	if err != nil {
		return nil, err
	}
	if del {
		for i := range ops {
			if ops[i].Kind == zonedb.OpAdd {
				ops[i].Kind = zonedb.OpDelete
			}
		}
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ops: ops})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneSetRequest changes a zone's settings; nil fields stay as they are.
type ZoneSetRequest struct {
	Name       string  `json:"name"`
	IncUpdates *bool   `json:"inc_updates,omitempty"`
	EditLock   *bool   `json:"edit_lock,omitempty"`
	NSEC3      *bool   `json:"nsec3,omitempty"`
	UseApexNS  *bool   `json:"use_apex_ns,omitempty"`
	Disabled   *bool   `json:"disabled,omitempty"`
	SG         *string `json:"sg,omitempty"`
}

// ZoneSet changes zone settings (no new zone instance: records and serial
// stay as they are).
func (s *Service) ZoneSet(ctx context.Context, c Caller, req ZoneSetRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	set := func(dst *bool, p *bool) {
		if p != nil {
			*dst = *p
		}
	}
	if req.SG != nil && !c.IsAdmin() {
		return nil, fmt.Errorf("%w: only the Admin sectag may move zones between server groups", ErrForbidden)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		set(&z.IncUpdates, req.IncUpdates)
		set(&z.EditLock, req.EditLock)
		if req.NSEC3 != nil && z.Params != nil && *req.NSEC3 != z.Params.NSEC3 {
			// A signed zone's denial is its DNSSEC parameters' (the flag
			// only chooses for a zone signed later): changing it means a
			// new chain, which the flag alone would not make.
			return usagef("zone %s is signed with %s; the denial of a signed zone changes only by signing it anew (dms dnssec disable, then dms dnssec enable --nsec or --nsec3)",
				z.Name, map[bool]string{true: "NSEC3", false: "NSEC"}[z.Params.NSEC3])
		}
		set(&z.NSEC3, req.NSEC3)
		set(&z.UseApexNS, req.UseApexNS)
		set(&z.Disabled, req.Disabled)
		if req.SG != nil {
			z.SG = *req.SG
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneDelete marks a zone deleted: kept in the store, not served.
func (s *Service) ZoneDelete(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	return s.setDeleted(ctx, c, req.Name, true)
}

// ZoneUndelete serves a deleted zone again.
func (s *Service) ZoneUndelete(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	return s.setDeleted(ctx, c, req.Name, false)
}

func (s *Service) setDeleted(ctx context.Context, c Caller, zone string, del bool) (*CommitResult, error) {
	name, err := s.zoneAccess(c, zone)
	if err != nil {
		return nil, err
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		if z.Deleted == del {
			if del {
				return usagef("zone %s is already deleted", name)
			}
			return usagef("zone %s is not deleted", name)
		}
		z.Deleted = del
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneDestroy removes a zone, its records and its history for good.
func (s *Service) ZoneDestroy(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Destroy: true})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneSerialRequest sets, bumps or wraps a zone's serial.
type ZoneSerialRequest struct {
	Name string  `json:"name"`
	Set  *uint32 `json:"set,omitempty"`
	Bump bool    `json:"bump,omitempty"`
	Wrap bool    `json:"wrap,omitempty"`
}

// SerialResult reports a serial change, with an explanation for a wrap.
type SerialResult struct {
	CommitResult
	Note string `json:"note,omitempty"`
}

// ZoneSerial sets the serial (only forward in RFC 1982 terms), bumps it by
// the policy, or makes one deliberate wrap step.
func (s *Service) ZoneSerial(ctx context.Context, c Caller, req ZoneSerialRequest) (*SerialResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	n := 0
	zc := zonedb.ZoneChange{Zone: name, NewZI: true}
	if req.Set != nil {
		n++
		zc.Serial, zc.SerialValue = zonedb.SerialSet, *req.Set
		zc.Comment = fmt.Sprintf("serial set to %d", *req.Set)
	}
	if req.Bump {
		n++
		zc.Comment = "serial bumped"
	}
	if req.Wrap {
		n++
		zc.Serial = zonedb.SerialWrap
		zc.Comment = "serial wrap step"
	}
	if n != 1 {
		return nil, usagef("give exactly one of --set N, --bump or --wrap")
	}
	res, err := s.commit(ctx, c, zc)
	if err != nil {
		return nil, err
	}
	out := &SerialResult{CommitResult: CommitResult{Commits: res}}
	if req.Wrap {
		out.Note = zonedb.SerialWrapNote
	}
	return out, nil
}

// ZoneRollback makes a new instance with the content of an older one (and a
// higher serial).
func (s *Service) ZoneRollback(ctx context.Context, c Caller, req ZoneRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if req.ZI == 0 {
		return nil, usagef("give the zone instance to roll back to (see dms zone history %s)", name)
	}
	var recs []zonedb.Record
	var cur uint64
	err = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		cur = z.ZI
		recs, err = contentAt(v, z, req.ZI)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cur == req.ZI {
		return nil, usagef("zone %s is at instance %d already", name, req.ZI)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{
		Zone: name, Replace: true, Records: recs, ExpectZI: cur, NewZI: true,
		Comment: fmt.Sprintf("rollback to instance %d", req.ZI),
	})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneInfo is a zone's metadata, like the old show_zonesm.
type ZoneInfo struct {
	Name       string     `json:"name"`
	ID         uint64     `json:"id"`
	State      string     `json:"state"`
	Reference  string     `json:"reference,omitempty"`
	SG         string     `json:"sg,omitempty"`
	AltSG      string     `json:"alt_sg,omitempty"`
	IncUpdates bool       `json:"inc_updates"`
	EditLock   bool       `json:"edit_lock"`
	DNSSEC     bool       `json:"dnssec"`
	NSEC3      bool       `json:"nsec3"`
	UseApexNS  bool       `json:"use_apex_ns"`
	Serial     uint32     `json:"soa_serial"`
	ZI         uint64     `json:"zi_id"`
	CTime      time.Time  `json:"ctime"`
	MTime      time.Time  `json:"mtime"`
	DeletedAt  *time.Time `json:"deleted_start,omitempty"`
	RRsets     int        `json:"rrsets"`
	ZIs        int        `json:"zi_count"`
	Current    *zonedb.ZI `json:"current_zi,omitempty"`
	LockedBy   string     `json:"locked_by,omitempty"`
	LockedAt   *time.Time `json:"locked_at,omitempty"`
}

func zoneInfo(v *zonedb.View, z *zonedb.Zone, full bool) ZoneInfo {
	zi := ZoneInfo{
		Name: z.Name, ID: z.ID, State: z.State(), Reference: z.Ref, SG: z.SG, AltSG: z.AltSG,
		IncUpdates: z.IncUpdates, EditLock: z.EditLock, DNSSEC: z.DNSSEC, NSEC3: z.NSEC3, UseApexNS: z.UseApexNS,
		Serial: z.Serial, ZI: z.ZI, CTime: z.CTime, MTime: z.MTime, DeletedAt: z.DeletedAt,
		LockedBy: z.LockedBy, LockedAt: z.LockedAt,
	}
	if full {
		zi.RRsets = v.NumRRsets(z)
		if zis, err := v.ZIs(z); err == nil {
			zi.ZIs = len(zis)
		}
		if cur, err := v.ZI(z, z.ZI); err == nil {
			zi.Current = cur
		}
	}
	return zi
}

// ZoneInfo returns a zone's metadata and current instance.
func (s *Service) ZoneInfo(ctx context.Context, c Caller, req ZoneRequest) (*ZoneInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var out ZoneInfo
	err = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		out = zoneInfo(v, z, true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ZoneListRequest filters the zone list: by reference, by shell patterns
// on the name, and deleted zones only when asked.
type ZoneListRequest struct {
	Ref      string   `json:"ref,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	Deleted  bool     `json:"deleted,omitempty"`
}

// ZoneList lists zones in canonical name order.
func (s *Service) ZoneList(ctx context.Context, c Caller, req ZoneListRequest) ([]ZoneInfo, error) {
	pats := make([]string, len(req.Patterns))
	for i, p := range req.Patterns {
		pats[i] = dns.Fqdn(strings.ToLower(p))
		if _, err := path.Match(pats[i], ""); err != nil {
			return nil, usagef("bad pattern %q: %v", p, err)
		}
	}
	out := []ZoneInfo{}
	err := s.db.View(func(v *zonedb.View) error {
		var refID uint64
		if req.Ref != "" {
			r, err := v.Ref(req.Ref)
			if err != nil {
				return err
			}
			refID = r.ID
		}
		return v.Zones(func(z *zonedb.Zone) bool {
			if z.Deleted != req.Deleted || refID != 0 && z.RefID != refID || !c.IsAdmin() && !z.HasSectag(c.Sectag) {
				return true
			}
			if len(pats) > 0 && !slices.ContainsFunc(pats, func(p string) bool { ok, _ := path.Match(p, z.Name); return ok }) {
				return true
			}
			out = append(out, zoneInfo(v, z, false))
			return true
		})
	})
	return out, err
}

// ZoneHistory lists a zone's instances, newest first.
func (s *Service) ZoneHistory(ctx context.Context, c Caller, req ZoneRequest) ([]zonedb.ZI, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var out []zonedb.ZI
	err = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		out, err = v.ZIs(z)
		slices.Reverse(out)
		return err
	})
	return out, err
}

// ZoneDiffRequest compares two instances of a zone.
type ZoneDiffRequest struct {
	Name string `json:"name"`
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// ZoneDiffResult is the difference between two instances as zone text
// lines, removed and added, in canonical order.
type ZoneDiffResult struct {
	Zone       string   `json:"zone"`
	From       uint64   `json:"from"`
	To         uint64   `json:"to"`
	FromSerial uint32   `json:"from_serial"`
	ToSerial   uint32   `json:"to_serial"`
	Removed    []string `json:"removed"`
	Added      []string `json:"added"`
}

// ZoneDiff compares two instances of a zone.
func (s *Service) ZoneDiff(ctx context.Context, c Caller, req ZoneDiffRequest) (*ZoneDiffResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	out := &ZoneDiffResult{Zone: name, From: req.From, To: req.To, Removed: []string{}, Added: []string{}}
	err = s.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		if out.To == 0 {
			out.To = z.ZI
		}
		fz, err := v.ZI(z, out.From)
		if err != nil {
			return err
		}
		tz, err := v.ZI(z, out.To)
		if err != nil {
			return err
		}
		out.FromSerial, out.ToSerial = fz.Serial, tz.Serial
		a, err := contentAt(v, z, out.From)
		if err != nil {
			return err
		}
		b, err := contentAt(v, z, out.To)
		if err != nil {
			return err
		}
		out.Removed, out.Added = diffLines(a, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// diffLines returns the records only in a and only in b, as text lines
// (flags included) in canonical order.
func diffLines(a, b []zonedb.Record) (removed, added []string) {
	line := func(r zonedb.Record) string {
		s := r.RR.String()
		var fl []string
		if r.Ref != "" {
			fl = append(fl, "REF:"+r.Ref)
		}
		fl = append(fl, r.Flags.Names()...)
		if len(fl) > 0 {
			s += " ;!" + strings.Join(fl, " ")
		}
		return s
	}
	sortRecs := func(rs []zonedb.Record) {
		slices.SortFunc(rs, func(x, y zonedb.Record) int {
			if c := zonedb.CompareNames(x.RR.Header().Name, y.RR.Header().Name); c != 0 {
				return c
			}
			if c := int(x.RR.Header().Rrtype) - int(y.RR.Header().Rrtype); c != 0 {
				return c
			}
			return strings.Compare(x.RR.String(), y.RR.String())
		})
	}
	sortRecs(a)
	sortRecs(b)
	inA := map[string]bool{}
	for _, r := range a {
		inA[line(r)] = true
	}
	inB := map[string]bool{}
	for _, r := range b {
		inB[line(r)] = true
	}
	removed, added = []string{}, []string{}
	for _, r := range a {
		if l := line(r); !inB[l] {
			removed = append(removed, l)
		}
	}
	for _, r := range b {
		if l := line(r); !inA[l] {
			added = append(added, l)
		}
	}
	return removed, added
}

// ZoneSetRefRequest moves a zone to another reference.
type ZoneSetRefRequest struct {
	Name string `json:"name"`
	Ref  string `json:"ref"`
}

// ZoneSetRef sets the zone's reference; the reference must exist.
func (s *Service) ZoneSetRef(ctx context.Context, c Caller, req ZoneSetRefRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var ref string
	if err := s.db.View(func(v *zonedb.View) error {
		r, err := v.Ref(req.Ref)
		if err == nil {
			ref = r.Name
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("%w (create it with dms ref create %s)", err, req.Ref)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ref: ref, SetRef: true})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// tooManyHint names the key behind a zone text refused for its size.
func tooManyHint(c Caller, err error) error {
	if !errors.Is(err, zonefile.ErrTooManyRecords) {
		return err
	}
	key := "zone_max_records"
	if !c.IsAdmin() {
		key = "zone_max_records_panel"
	}
	return fmt.Errorf("%w (config %s)", err, key)
}

// maxRecords is the most records a zone text of c may make: Admin's
// (zone_max_records) or a panel login's, customer or help desk
// (zone_max_records_panel, lower: what a customer sends must not decide
// the server's work).
func maxRecords(c Caller, cfg Config) int {
	all, panel := cfg.Int("zone_max_records"), cfg.Int("zone_max_records_panel")
	if c.IsAdmin() || panel == 0 || all > 0 && all < panel {
		return all
	}
	return panel
}
