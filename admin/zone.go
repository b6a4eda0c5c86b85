package admin

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

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
	if err := s.read(c, func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
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
		if err := s.read(c, func(v *zonedb.View) error { sg, err = v.SG(meta.SG); return err }); err != nil {
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

// ZoneNameFromFile derives a zone name from a zone file's name, by the
// common conventions: "db.example.org", "example.org.zone",
// "example.org.db", or the name itself ("example.org", "example.org.").
func ZoneNameFromFile(file string) string {
	base := path.Base(strings.ReplaceAll(file, "\\", "/"))
	for _, suffix := range []string{".zone", ".db"} {
		if t, ok := strings.CutSuffix(base, suffix); ok && t != "" {
			return t
		}
	}
	if t, ok := strings.CutPrefix(base, "db."); ok && t != "" {
		return t
	}
	return base
}

// ZoneNameFor is the name a zone file is loaded as when none is given: the
// name the file itself says (an $ORIGIN before its first record, or an
// absolute SOA owner as its first record), else ZoneNameFromFile's. from
// says where it came from, for messages.
func ZoneNameFor(file, text string) (name, from string) {
	origin := ""
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if i := strings.IndexByte(line, ';'); i >= 0 && !strings.Contains(line[:i], "\"") {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "$ORIGIN":
			if len(f) >= 2 && strings.HasSuffix(f[1], ".") {
				origin = f[1]
			}
			continue
		case "$TTL":
			continue
		}
		// The first record (or $INCLUDE, $GENERATE): an SOA with an
		// absolute owner names the zone; an $ORIGIN before it does.
		if line[0] != ' ' && line[0] != '\t' && strings.HasSuffix(f[0], ".") && f[0] != "." && slices.ContainsFunc(f[1:], func(t string) bool { return strings.EqualFold(t, "SOA") }) {
			return f[0], "the SOA owner in " + file
		}
		if origin != "" {
			return origin, "the $ORIGIN in " + file
		}
		break
	}
	if origin != "" {
		return origin, "the $ORIGIN in " + file
	}
	return ZoneNameFromFile(file), "the file name " + path.Base(strings.ReplaceAll(file, "\\", "/"))
}

// ZoneLoad parses a zone file and creates the zone from it in one commit.
// The serial of the file is kept, so secondaries that already hold the zone
// see no change. A ";!REF:" on the SOA sets the zone's reference and wins
// over req.Ref.
func (s *Service) ZoneLoad(ctx context.Context, c Caller, req ZoneLoadRequest) (*CommitResult, error) {
	zn := req.Name
	if zn == "" {
		zn, _ = ZoneNameFor(req.File, req.Text)
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
	if err := s.read(c, func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
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
