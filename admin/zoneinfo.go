package admin

import (
	"context"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// What the admin reads of zones: info, lists, history, differences.

// ZoneInfo is a zone's metadata, like the old show_zonesm.
type ZoneInfo struct {
	Name string `json:"name"`
	// View is the zone's view when it is not the default one.
	View       string     `json:"view,omitempty"`
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
	// RRsets and ZIs are counted for one zone's info, not in lists (which
	// would count every zone's): absent there rather than 0.
	RRsets   *int       `json:"rrsets,omitempty"`
	ZIs      *int       `json:"zi_count,omitempty"`
	Current  *zonedb.ZI `json:"current_zi,omitempty"`
	LockedBy string     `json:"locked_by,omitempty"`
	LockedAt *time.Time `json:"locked_at,omitempty"`
}

func zoneInfo(v *zonedb.View, z *zonedb.Zone, full bool) ZoneInfo {
	zi := ZoneInfo{
		Name: z.Name, ID: z.ID, State: z.State(), Reference: z.Ref, SG: z.SG, AltSG: z.AltSG,
		IncUpdates: z.IncUpdates, EditLock: z.EditLock, DNSSEC: z.DNSSEC, NSEC3: z.NSEC3, UseApexNS: z.UseApexNS,
		Serial: z.Serial, ZI: z.ZI, CTime: z.CTime, MTime: z.MTime, DeletedAt: z.DeletedAt,
		LockedBy: z.LockedBy, LockedAt: z.LockedAt,
	}
	if z.ViewID != 0 {
		zi.View = z.View
	}
	if full {
		n := v.NumRRsets(z)
		zi.RRsets = &n
		if zis, err := v.ZIs(z); err == nil {
			n := len(zis)
			zi.ZIs = &n
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
	err = s.read(c, func(v *zonedb.View) error {
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
	SG       string   `json:"sg,omitempty"` // only zones of this server group (primary or alternate)
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
	err := s.read(c, func(v *zonedb.View) error {
		var refID uint64
		if req.Ref != "" {
			r, err := v.Ref(req.Ref)
			if err != nil {
				return err
			}
			refID = r.ID
		}
		return zonesOf(v, c)(func(z *zonedb.Zone) bool {
			if z.Deleted != req.Deleted || refID != 0 && z.RefID != refID || !c.IsAdmin() && !z.HasSectag(c.Sectag) ||
				req.SG != "" && !strings.EqualFold(z.SG, req.SG) && !strings.EqualFold(z.AltSG, req.SG) {
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
	err = s.read(c, func(v *zonedb.View) error {
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
	// With compares the zone with another zone instead (their current
	// contents, owner names relative to each origin): zone_tool's
	// diff_zones.
	With string `json:"with,omitempty"`
}

// ZoneDiffResult is the difference between two instances as zone text
// lines, removed and added, in canonical order.
type ZoneDiffResult struct {
	Zone       string   `json:"zone"`
	With       string   `json:"with,omitempty"`
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
	if req.With != "" {
		return s.diffZones(c, name, req.With)
	}
	out := &ZoneDiffResult{Zone: name, From: req.From, To: req.To, Removed: []string{}, Added: []string{}}
	err = s.read(c, func(v *zonedb.View) error {
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
	return diffLinesRel(a, b, "", "")
}

// diffLinesRel is diffLines with the names of zone originA (of a) and
// originB (of b) written relative to them ("@" for the origin), so that two
// zones compare by their content ("" leaves the names absolute).
func diffLinesRel(a, b []zonedb.Record, originA, originB string) (removed, added []string) {
	lineIn := func(r zonedb.Record, origin string) string {
		s := r.RR.String()
		if origin != "" {
			s = relativeText(s, origin)
		}
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
	line := func(r zonedb.Record) string { return lineIn(r, originA) }
	lineB := func(r zonedb.Record) string { return lineIn(r, originB) }
	inA := map[string]bool{}
	for _, r := range a {
		inA[line(r)] = true
	}
	inB := map[string]bool{}
	for _, r := range b {
		inB[lineB(r)] = true
	}
	removed, added = []string{}, []string{}
	for _, r := range a {
		if l := line(r); !inB[l] {
			removed = append(removed, l)
		}
	}
	for _, r := range b {
		if l := lineB(r); !inA[l] {
			added = append(added, l)
		}
	}
	return removed, added
}

// relativeText writes the names in a record's text that are origin or
// below it relative to it: "www.example.org." -> "www", the origin "@".
func relativeText(s, origin string) string {
	f := strings.Fields(s)
	for i, w := range f {
		lw := strings.ToLower(w)
		switch {
		case lw == origin:
			f[i] = "@"
		case strings.HasSuffix(lw, "."+origin):
			f[i] = w[:len(w)-len(origin)-1]
		}
	}
	return strings.Join(f, " ")
}

// diffZones compares the current contents of two zones, owner names
// relative to each zone's origin.
func (s *Service) diffZones(c Caller, a, b string) (*ZoneDiffResult, error) {
	other, err := s.zoneAccess(c, b)
	if err != nil {
		return nil, err
	}
	out := &ZoneDiffResult{Zone: a, With: other, Removed: []string{}, Added: []string{}}
	err = s.read(c, func(v *zonedb.View) error {
		var recs [2][]zonedb.Record
		var origins [2]string
		for i, name := range []string{a, other} {
			z, err := v.Zone(name)
			if err != nil {
				return err
			}
			if i == 0 {
				out.From, out.FromSerial = z.ZI, z.Serial
			} else {
				out.To, out.ToSerial = z.ZI, z.Serial
			}
			if recs[i], err = contentAt(v, z, z.ZI); err != nil {
				return err
			}
			origins[i] = z.Name
		}
		out.Removed, out.Added = diffLinesRel(recs[0], recs[1], origins[0], origins[1])
		return nil
	})
	return out, err
}
