package admin

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// zone_tool's update_rrs: an incremental update file. Zone text where each
// record follows a ";!RROP:" flag line saying what to do with it: ADD adds
// it, DELETE removes it (type ANY deletes every RRset of the name, empty
// rdata "" every record of the type), UPDATE_RRTYPE makes the records of
// that name and type exactly those given. Other flags (REF:, LOCKPTR,
// FORCEREV, TRACKREV, DISABLE) may stand on the same line. $ORIGIN, $TTL
// and $UPDATE_TYPE (a client's label, which dms does not need: each file
// is one commit) are read. The whole file is one commit.

// ZoneUpdateRequest is an update file for a zone.
type ZoneUpdateRequest struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"` // for messages
	Text string `json:"text"`
}

// ZoneUpdate applies an update_rrs file in one commit.
func (s *Service) ZoneUpdate(ctx context.Context, c Caller, req ZoneUpdateRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var cfg Config
	var ops []zonedb.RecordOp
	err = s.read(c, func(v *zonedb.View) error {
		cfg = s.config(v)
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		ops, err = parseUpdateRRs(v, z, cfg, cmpOr(req.File, "update"), req.Text)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, usagef("%s: no ;!RROP: record in the file", cmpOr(req.File, "update"))
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Ops: ops, Comment: "update_rrs " + req.File})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// parseUpdateRRs reads an update file into record operations.
func parseUpdateRRs(v *zonedb.View, z *zonedb.Zone, cfg Config, file, text string) ([]zonedb.RecordOp, error) {
	var ops []zonedb.RecordOp
	origin, ttl := z.Name, cfg.TTL("zone_ttl")
	op, flags := "", ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s:%d: %s", ErrUsage, file, n, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case line == "" || strings.HasPrefix(line, ";") && !strings.HasPrefix(line, ";!"):
			continue
		case strings.EqualFold(f[0], "$ORIGIN") && len(f) > 1:
			origin = dns.CanonicalName(dns.Fqdn(f[1]))
			if !dns.IsSubDomain(z.Name, origin) {
				return nil, bad("$ORIGIN %s is outside zone %s", origin, z.Name)
			}
			continue
		case strings.EqualFold(f[0], "$TTL") && len(f) > 1:
			t, err := ParseTTL(f[1])
			if err != nil {
				return nil, bad("$TTL %s: %v", f[1], err)
			}
			ttl = t
			continue
		case strings.EqualFold(f[0], "$UPDATE_TYPE"):
			continue
		case strings.HasPrefix(f[0], "$"):
			return nil, bad("%s is not read in an update file", f[0])
		case strings.HasPrefix(line, ";!"):
			var rest []string
			fs := strings.FieldsFunc(line[2:], func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
			for i := 0; i < len(fs); i++ {
				w := fs[i]
				up := strings.ToUpper(w)
				switch {
				case strings.HasPrefix(up, "RROP:"):
					op = strings.TrimPrefix(up, "RROP:")
					if op == "" && i+1 < len(fs) {
						i++
						op = strings.ToUpper(fs[i])
					}
				default:
					rest = append(rest, w)
				}
			}
			if op != "ADD" && op != "DELETE" && op != "UPDATE_RRTYPE" {
				return nil, bad("RROP:%s: the operations are ADD, DELETE and UPDATE_RRTYPE", op)
			}
			flags = strings.Join(rest, " ")
			continue
		}
		if op == "" {
			return nil, bad("a record without a ;!RROP: line before it")
		}
		// The record: name [ttl] [class] type [rdata].
		owner := f[0]
		switch {
		case owner == "@":
			owner = origin
		case !dns.IsFqdn(owner):
			owner = owner + "." + origin
		}
		owner = dns.CanonicalName(owner)
		if !dns.IsSubDomain(z.Name, owner) {
			return nil, bad("%s is outside zone %s", owner, z.Name)
		}
		ti, rrtype := -1, uint16(0)
		for i := 1; i < len(f) && i < 4; i++ {
			if t, ok := dns.StringToType[strings.ToUpper(f[i])]; ok {
				ti, rrtype = i, t
				break
			}
		}
		if ti < 0 && !(len(f) >= 2 && slicesContainsFold(f[1:min(len(f), 4)], "ANY")) {
			return nil, bad("no record type")
		}
		rdata := strings.TrimSpace(stripComment(strings.Join(f[ti+1:], " ")))
		if op == "DELETE" {
			if ti < 0 || rrtype == dns.TypeANY {
				// Every RRset of the name (not the apex's SOA and NS).
				if err := v.RRsets(z, func(nm string, t uint16, _ []zonedb.Record) bool {
					if dns.CanonicalName(nm) == owner && !zonedb.SignerType(t) && !(owner == z.Name && (t == dns.TypeSOA || t == dns.TypeNS)) {
						ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: owner, Type: t})
					}
					return true
				}); err != nil {
					return nil, err
				}
				op = ""
				continue
			}
			if rdata == "" || rdata == `""` {
				ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpDeleteRRset, Name: owner, Type: rrtype})
				op = ""
				continue
			}
		}
		// A whole record: parsed as zone text, with its flags, on its own
		// line number (for the messages).
		snippet := strings.Repeat("\n", max(0, n-2)) + ";!" + flags + "\n" + sc.Text() + "\n"
		if flags == "" {
			snippet = strings.Repeat("\n", n-1) + sc.Text() + "\n"
		}
		recs, err := zonefile.Parse(strings.NewReader(snippet), zonefile.ParseOptions{File: file, Origin: origin, DefaultTTL: ttl})
		if err != nil {
			return nil, err
		}
		keep := !lineHasTTL(line)
		for _, r := range recs {
			switch op {
			case "ADD":
				ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpAdd, Record: r, KeepTTL: keep})
			case "DELETE":
				ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpDelete, Record: r})
			case "UPDATE_RRTYPE":
				// Consecutive lines of one name and type make one RRset.
				h := r.RR.Header()
				if k := len(ops) - 1; k >= 0 && ops[k].Kind == zonedb.OpReplaceRRset && dns.CanonicalName(ops[k].Records[0].RR.Header().Name) == dns.CanonicalName(h.Name) &&
					ops[k].Records[0].RR.Header().Rrtype == h.Rrtype {
					ops[k].Records = append(ops[k].Records, r)
				} else {
					ops = append(ops, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: []zonedb.Record{r}})
				}
			}
		}
		op, flags = "", ""
	}
	return ops, sc.Err()
}

func slicesContainsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// stripComment cuts a zone text line's comment: the first ';' outside
// quotes.
func stripComment(s string) string {
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			in = !in
		case ';':
			if !in {
				return s[:i]
			}
		}
	}
	return s
}
