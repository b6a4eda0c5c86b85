package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// Record edits: lines of zone text added or deleted.

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
	if err := s.read(c, func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
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
