package admin

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// zone_tool's bulk commands: nuke_zones (destroy the zones a pattern
// matches, e.g. a wrong import), copy_zone, and rr_query_db (find records
// across zones).

// ZoneNukeRequest names the zones to destroy by shell patterns.
type ZoneNukeRequest struct {
	Patterns []string `json:"patterns"`
	// DryRun lists them without destroying (for the confirmation).
	DryRun bool `json:"dry_run,omitempty"`
}

// ZoneNukeResult lists the zones destroyed (or that would be).
type ZoneNukeResult struct {
	Zones   []string            `json:"zones"`
	Commits []zonedb.ZoneCommit `json:"commits,omitempty"`
}

// ZoneNuke destroys every zone (any state, catalog zones aside) whose
// name matches one of the patterns, in one commit.
func (s *Service) ZoneNuke(ctx context.Context, c Caller, req ZoneNukeRequest) (*ZoneNukeResult, error) {
	if err := adminOnly(c, "destroy zones by pattern"); err != nil {
		return nil, err
	}
	if len(req.Patterns) == 0 {
		return nil, usagef("give the patterns of the zones to destroy (for example '*.example.org')")
	}
	pats := make([]string, len(req.Patterns))
	for i, p := range req.Patterns {
		pats[i] = dns.Fqdn(strings.ToLower(p))
		if _, err := path.Match(pats[i], ""); err != nil {
			return nil, usagef("bad pattern %q: %v", p, err)
		}
	}
	out := &ZoneNukeResult{Zones: []string{}}
	var zcs []zonedb.ZoneChange
	err := s.read(c, func(v *zonedb.View) error {
		return zonesOf(v, c)(func(z *zonedb.Zone) bool {
			if z.CatalogOf != "" {
				return true
			}
			for _, p := range pats {
				if ok, _ := path.Match(p, z.Name); ok {
					out.Zones = append(out.Zones, z.Label())
					zcs = append(zcs, zonedb.ZoneChange{Zone: z.Name, View: z.View, Destroy: true})
					break
				}
			}
			return true
		})
	})
	if err != nil || req.DryRun || len(zcs) == 0 {
		return out, err
	}
	out.Commits, err = s.commit(ctx, c, zcs...)
	return out, err
}

// ZoneCopyRequest copies zone Name to a new zone To.
type ZoneCopyRequest struct {
	Name string `json:"name"`
	To   string `json:"to"`
	// ZI copies that instance of Name (0: the current one); into an
	// existing zone To it becomes To's new content (zone_tool's copy_zi).
	ZI uint64 `json:"zi,omitempty"`
}

// ZoneCopy makes zone To with Name's content: names in it (owners and
// data) that were Name or below it are To or below it; flags and
// references go with the records; the new zone has Name's server group
// and reference.
func (s *Service) ZoneCopy(ctx context.Context, c Caller, req ZoneCopyRequest) (*CommitResult, error) {
	src, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	dst, err := s.newZoneName(req.To)
	if err != nil {
		return nil, err
	}
	var text strings.Builder
	var z *zonedb.Zone
	var cfg Config
	exists := false
	err = s.read(c, func(v *zonedb.View) error {
		cfg = s.config(v)
		var err error
		if z, err = v.Zone(src); err != nil {
			return err
		}
		if _, err := v.Zone(dst); err == nil {
			exists = true
		}
		zi := z.ZI
		if req.ZI != 0 {
			zi = req.ZI
		}
		recs, err := contentAt(v, z, zi)
		if err != nil {
			return err
		}
		for _, r := range recs {
			var fl []string
			if r.Ref != "" {
				fl = append(fl, "REF:"+r.Ref)
			}
			fl = append(fl, r.Flags.Names()...)
			if len(fl) > 0 {
				fmt.Fprintf(&text, ";!%s\n", strings.Join(fl, " "))
			}
			fmt.Fprintln(&text, relativeText(r.RR.String(), z.Name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if exists && req.ZI == 0 {
		return nil, fmt.Errorf("%w: %s (to give it another zone's content, name the instance: dms zone copy --zi ZI)", zonedb.ErrZoneExists, dst)
	}
	if !exists {
		if err := s.mayCreate(c, dst, z.SG); err != nil {
			return nil, err
		}
	}
	parsed, err := zonefile.ParseText(strings.NewReader(text.String()), zonefile.ParseOptions{File: "copy of " + src, Origin: dst, DefaultTTL: cfg.TTL("zone_ttl")})
	if err != nil {
		return nil, err
	}
	if exists {
		// The instance's records, with the target's own SOA serial moving on.
		name, err := s.zoneAccess(c, dst)
		if err != nil {
			return nil, err
		}
		res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Replace: true, Records: parsed.Records,
			Comment: fmt.Sprintf("copy of %s instance %d", src, req.ZI)})
		if err != nil {
			return nil, err
		}
		return &CommitResult{Commits: res}, nil
	}
	meta := s.newZoneMeta(c, cfg, z.SG, &z.IncUpdates, &z.EditLock, new(bool), nil, &z.UseApexNS)
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: dst, Create: meta, Ref: z.Ref, Replace: true, Records: parsed.Records,
		Comment: "copy of " + src})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// RecordFindRequest finds records across zones: by owner (a name, or a
// shell pattern on names: www.*, *.example.org), type and data.
type RecordFindRequest struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// Data matches records whose data contains it (case-insensitive).
	Data string `json:"data,omitempty"`
	// Zone limits the search to one zone.
	Zone string `json:"zone,omitempty"`
}

// FoundRecord is one record found.
type FoundRecord struct {
	Zone   string `json:"zone"`
	View   string `json:"view,omitempty"`
	Record string `json:"record"`
}

// maxFound bounds a search's answer.
const maxFound = 10000

// RecordFind finds records by owner name (or pattern), type and data in
// the caller's zones: zone_tool's rr_query_db.
func (s *Service) RecordFind(ctx context.Context, c Caller, req RecordFindRequest) ([]FoundRecord, error) {
	if req.Name == "" {
		return nil, usagef("give a name or a pattern (www.example.org, 'www.*', '*.example.org')")
	}
	pat := dns.Fqdn(strings.ToLower(req.Name))
	if _, err := path.Match(pat, ""); err != nil {
		return nil, usagef("bad pattern %q: %v", req.Name, err)
	}
	var rrtype uint16
	if req.Type != "" {
		t, ok := dns.StringToType[strings.ToUpper(req.Type)]
		if !ok {
			return nil, usagef("unknown record type %q", req.Type)
		}
		rrtype = t
	}
	data := strings.ToLower(req.Data)
	out := []FoundRecord{}
	err := s.read(c, func(v *zonedb.View) error {
		var zones []*zonedb.Zone
		switch {
		case req.Zone != "":
			z, err := v.Zone(req.Zone)
			if err != nil {
				return err
			}
			zones = append(zones, z)
		case !strings.ContainsAny(pat, "*?["):
			// One name: the zone that holds it.
			if h, ok := v.FindZone(pat); ok {
				if z, err := v.ZoneByID(h.ID); err == nil {
					zones = append(zones, z)
				}
			}
		default:
			if err := zonesOf(v, c)(func(z *zonedb.Zone) bool {
				if z.CatalogOf == "" && !z.Deleted {
					zones = append(zones, z)
				}
				return true
			}); err != nil {
				return err
			}
		}
		for _, z := range zones {
			if !c.IsAdmin() && !z.HasSectag(c.Sectag) {
				continue
			}
			err := v.RRsets(z, func(name string, t uint16, recs []zonedb.Record) bool {
				if rrtype != 0 && t != rrtype || zonedb.SignerType(t) {
					return true
				}
				if ok, _ := path.Match(pat, dns.CanonicalName(name)); !ok {
					return true
				}
				for _, r := range recs {
					line := r.RR.String()
					if data != "" && !strings.Contains(strings.ToLower(line[len(r.RR.Header().String()):]), data) {
						continue
					}
					f := FoundRecord{Zone: z.Name, Record: line}
					if z.ViewID != 0 {
						f.View = z.View
					}
					out = append(out, f)
				}
				return len(out) < maxFound
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Zone < out[j].Zone })
	return out, err
}

// ZoneDropHistoryRequest names a zone and an instance of it.
type ZoneDropHistoryRequest struct {
	Name string `json:"name"`
	ZI   uint64 `json:"zi"`
}

// ZoneDropHistoryResult counts the instances removed.
type ZoneDropHistoryResult struct {
	Zone    string `json:"zone"`
	Dropped int    `json:"dropped"`
}

// ZoneDropHistory removes an instance of a zone and every older one.
func (s *Service) ZoneDropHistory(ctx context.Context, c Caller, req ZoneDropHistoryRequest) (*ZoneDropHistoryResult, error) {
	if err := adminOnly(c, "drop zone history"); err != nil {
		return nil, err
	}
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	out := &ZoneDropHistoryResult{Zone: name}
	err = s.change(c, func(t *zonedb.Txn) error {
		var err error
		out.Dropped, err = t.DropHistory(name, req.ZI)
		return err
	})
	return out, err
}

// ZoneTTLRequest sets the TTL of a zone's records that have its default
// TTL (zone_tool's refresh_zone_ttl).
type ZoneTTLRequest struct {
	Name string `json:"name"`
	// TTL is the new TTL ("": config zone_ttl); From the TTL whose RRsets
	// take it ("": the zone's most common TTL, its $TTL).
	TTL  string `json:"ttl,omitempty"`
	From string `json:"from,omitempty"`
}

// ZoneTTL gives the RRsets that have the zone's default TTL a new one, in
// one commit.
func (s *Service) ZoneTTL(ctx context.Context, c Caller, req ZoneTTLRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var ops []zonedb.RecordOp
	var newTTL, from uint32
	err = s.read(c, func(v *zonedb.View) error {
		cfg := s.config(v)
		newTTL = cfg.TTL("zone_ttl")
		if req.TTL != "" {
			t, err := ParseTTL(req.TTL)
			if err != nil {
				return usagef("TTL %q: %v", req.TTL, err)
			}
			newTTL = t
		}
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		recs, err := contentAt(v, z, z.ZI)
		if err != nil {
			return err
		}
		if req.From != "" {
			if from, err = ParseTTL(req.From); err != nil {
				return usagef("--from %q: %v", req.From, err)
			}
		} else {
			count := map[uint32]int{}
			for _, r := range recs {
				count[r.RR.Header().Ttl]++
			}
			for t, n := range count {
				if n > count[from] || n == count[from] && t < from {
					from = t
				}
			}
		}
		sets := map[string][]zonedb.Record{}
		var order []string
		for _, r := range recs {
			h := r.RR.Header()
			if h.Ttl != from || h.Ttl == newTTL {
				continue
			}
			k := dns.CanonicalName(h.Name) + " " + dns.TypeToString[h.Rrtype]
			if _, ok := sets[k]; !ok {
				order = append(order, k)
			}
			rr := dns.Copy(r.RR)
			rr.Header().Ttl = newTTL
			r.RR = rr
			sets[k] = append(sets[k], r)
		}
		for _, k := range order {
			ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: sets[k]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, usagef("zone %s: no record has TTL %d (or they have %d already)", name, from, newTTL)
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ops: ops, Comment: fmt.Sprintf("TTL %d -> %d", from, newTTL)})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// zonesOf iterates the zones a caller's listing covers: its view's with
// --view, else every view's.
func zonesOf(v *zonedb.View, c Caller) func(fn func(z *zonedb.Zone) bool) error {
	if c.View == "" {
		return v.Zones
	}
	return func(fn func(z *zonedb.Zone) bool) error { return v.ZonesIn(c.View, fn) }
}
