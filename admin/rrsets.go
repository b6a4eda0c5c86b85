package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// RRsets as JSON, for control panels (PowerDNS-like: a PATCH replaces or
// deletes whole RRsets).

// RRset is one RRset of a zone.
type RRset struct {
	Name    string        `json:"name"`
	Type    string        `json:"type"`
	TTL     uint32        `json:"ttl"`
	Records []RRsetRecord `json:"records"`
}

// RRsetRecord is one record's data in presentation form, with its flags.
type RRsetRecord struct {
	Content  string `json:"content"`
	Disabled bool   `json:"disabled,omitempty"`
	// Flags are LOCKPTR, FORCEREV, TRACKREV; Ref the record's REF:.
	Flags []string `json:"flags,omitempty"`
	Ref   string   `json:"ref,omitempty"`
}

// RRsetPatch replaces (REPLACE) or deletes (DELETE) one RRset.
type RRsetPatch struct {
	RRset
	ChangeType string `json:"changetype"`
}

// RRsetsRequest names a zone and, for a change, the RRsets to change.
type RRsetsRequest struct {
	Name   string       `json:"name"`
	RRsets []RRsetPatch `json:"rrsets,omitempty"`
}

// ZoneRRsets lists a zone's editable RRsets.
func (s *Service) ZoneRRsets(ctx context.Context, c Caller, req RRsetsRequest) ([]RRset, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	out := []RRset{}
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		recs, err := v.Records(z)
		if err != nil {
			return err
		}
		for _, r := range editable(z, recs) {
			h := r.RR.Header()
			t := dns.TypeToString[h.Rrtype]
			if n := len(out); n == 0 || out[n-1].Name != h.Name || out[n-1].Type != t {
				out = append(out, RRset{Name: h.Name, Type: t, TTL: h.Ttl})
			}
			rec := RRsetRecord{Content: strings.TrimPrefix(r.RR.String(), h.String()), Disabled: r.Flags&zonedb.FlagDisable != 0, Ref: r.Ref}
			for _, f := range (r.Flags &^ zonedb.FlagDisable).Names() {
				rec.Flags = append(rec.Flags, f)
			}
			out[len(out)-1].Records = append(out[len(out)-1].Records, rec)
		}
		return nil
	})
	return out, err
}

// ZoneRRsetsPatch replaces or deletes RRsets in one commit.
func (s *Service) ZoneRRsetsPatch(ctx context.Context, c Caller, req RRsetsRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if len(req.RRsets) == 0 {
		return nil, usagef("give the RRsets to change")
	}
	var ops []zonedb.RecordOp
	for i, p := range req.RRsets {
		owner := dns.CanonicalName(p.Name)
		if !strings.HasSuffix(p.Name, ".") {
			owner = dns.CanonicalName(p.Name + "." + name)
		}
		if p.Name == "@" || p.Name == "" {
			owner = name
		}
		if _, ok := dns.IsDomainName(owner); !ok || !dns.IsSubDomain(name, owner) {
			return nil, usagef("rrsets[%d]: %q is not a name in %s", i, p.Name, name)
		}
		t, ok := dns.StringToType[strings.ToUpper(p.Type)]
		if !ok {
			return nil, usagef("rrsets[%d]: unknown type %q", i, p.Type)
		}
		switch strings.ToUpper(p.ChangeType) {
		case "DELETE":
			ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: owner, Type: t})
		case "REPLACE":
			if len(p.Records) == 0 {
				return nil, usagef("rrsets[%d]: REPLACE needs records (DELETE removes an RRset)", i)
			}
			var recs []zonedb.Record
			for j, r := range p.Records {
				rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", owner, p.TTL, dns.TypeToString[t], r.Content))
				if err != nil || rr == nil {
					return nil, usagef("rrsets[%d].records[%d]: %q: %v", i, j, r.Content, err)
				}
				rec := zonedb.Record{RR: rr, Ref: r.Ref}
				if r.Disabled {
					rec.Flags |= zonedb.FlagDisable
				}
				for _, fn := range r.Flags {
					f, ok := zonedb.FlagByName(fn)
					if !ok {
						return nil, usagef("rrsets[%d].records[%d]: unknown flag %q (LOCKPTR, FORCEREV, TRACKREV)", i, j, fn)
					}
					rec.Flags |= f
				}
				recs = append(recs, rec)
			}
			ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: recs})
		default:
			return nil, usagef("rrsets[%d]: changetype %q: REPLACE or DELETE", i, p.ChangeType)
		}
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ops: ops})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}
