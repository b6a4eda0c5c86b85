package zonefile

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Header is the comment block at the top of a printed zone: which zone,
// whose, and which zone instance, like the old show_zone.
type Header struct {
	Zone      string
	Reference string
	ChangeBy  string
	ZI        uint64
	CTime     time.Time
	MTime     time.Time
	PTime     time.Time
}

const ownerWidth = 24

// Print writes records as zone text in a stable layout: $TTL and $ORIGIN,
// the header, the apex (SOA, NS, then the other types), then every other
// name in canonical order; owners relative to the origin, a TTL column only
// where a TTL differs from $TTL, and flags as ";!" lines before their
// records. The zone's reference (h.Reference) is the ";!REF:" of the SOA.
// Parse(Print(recs)) gives back recs.
func Print(w io.Writer, origin string, h *Header, recs []zonedb.Record) error {
	return PrintText(w, origin, h, &Text{Records: recs})
}

// PrintText is Print with comments: each RRset's comment lines above its
// first record (a blank line before them), its records' trailing comments
// at the end of their lines. ParseText(PrintText(t)) gives back t.
func PrintText(w io.Writer, origin string, h *Header, t *Text) error {
	recs := t.Records
	comments := commentIndex(t.Comments)
	origin = dns.CanonicalName(origin)
	bw := bufio.NewWriterSize(w, 64<<10)
	sorted := slices.Clone(recs)
	keys := make(map[dns.RR]string, len(sorted))
	for _, r := range sorted {
		keys[r.RR] = rdataText(r.RR)
	}
	slices.SortStableFunc(sorted, func(a, b zonedb.Record) int {
		ah, bh := a.RR.Header(), b.RR.Header()
		if c := zonedb.CompareNames(ah.Name, bh.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(typeRank(ah.Rrtype), typeRank(bh.Rrtype)); c != 0 {
			return c
		}
		return strings.Compare(keys[a.RR], keys[b.RR])
	})
	ttl := commonTTL(sorted)
	fmt.Fprintf(bw, "$TTL %d\n$ORIGIN %s\n", ttl, origin)
	if h != nil {
		row := func(k, v string) { fmt.Fprintf(bw, ";   %-13s%s\n", k+":", v) }
		bw.WriteString(";\n")
		row("Zone", cmpOr(h.Zone, origin))
		if h.Reference != "" {
			row("Reference", h.Reference)
		}
		if h.ChangeBy != "" {
			row("change_by", h.ChangeBy)
		}
		if h.ZI != 0 {
			row("zi_id", fmt.Sprint(h.ZI))
		}
		for _, t := range []struct {
			k string
			t time.Time
		}{{"zi_ctime", h.CTime}, {"zi_mtime", h.MTime}, {"zi_ptime", h.PTime}} {
			if !t.t.IsZero() {
				row(t.k, t.t.UTC().Format(time.RFC3339))
			}
		}
		bw.WriteString(";\n")
	}
	apexDone, blank := false, false
	var cm *zonedb.Comment // the comment of the RRset being printed
	for i, r := range sorted {
		rh := r.RR.Header()
		owner := dns.CanonicalName(rh.Name)
		if i == 0 && owner == origin {
			fmt.Fprintf(bw, "\n;| %s\n", apexLine(origin))
			blank = true // the apex's comments go right under this line
		}
		if owner != origin && !apexDone {
			apexDone, blank = true, true
			bw.WriteString("\n")
		}
		if len(comments) > 0 && (i == 0 || !sameRRset(sorted[i-1].RR, r.RR)) {
			cm = comments[commentKey(owner, rh.Rrtype)]
			writeLines(bw, cm, blank)
		}
		blank = false
		end := "" // the record's trailing comment, after a blank
		// A comment is kept per RDATA: a record written twice (the store
		// keeps it once) carries it on its first line only, or a reparse
		// would join it to itself.
		dup := i > 0 && sameRRset(sorted[i-1].RR, r.RR) && zonedb.SameRdata(sorted[i-1].RR, r.RR)
		if cm != nil && !dup {
			if c := cm.TrailingOf(r.RR); c != "" {
				end = " " + c
			}
		}
		var fl []string
		ref := r.Ref
		if rh.Rrtype == dns.TypeSOA && owner == origin && h != nil {
			ref = h.Reference
		}
		if ref != "" {
			fl = append(fl, "REF:"+ref)
		}
		fl = append(fl, r.Flags.Names()...)
		if len(fl) > 0 {
			fmt.Fprintf(bw, ";!%s\n", strings.Join(fl, " "))
		}
		name := relName(rh.Name, origin)
		t := ""
		if rh.Ttl != ttl {
			t = fmt.Sprint(rh.Ttl)
		}
		typ := dns.TypeToString[rh.Rrtype]
		if t, ok := dns.StringToType[typ]; !ok || t != rh.Rrtype {
			typ = fmt.Sprintf("TYPE%d", rh.Rrtype) // RFC 3597
		}
		if soa, ok := r.RR.(*dns.SOA); ok {
			fmt.Fprintf(bw, "%-*s %-7s IN  %-6s %s %s (%s\n", ownerWidth, name, t, typ, soa.Ns, soa.Mbox, end)
			pad := strings.Repeat(" ", ownerWidth+20)
			fmt.Fprintf(bw, "%s%-10d ; serial\n", pad, soa.Serial)
			fmt.Fprintf(bw, "%s%-10d ; refresh\n", pad, soa.Refresh)
			fmt.Fprintf(bw, "%s%-10d ; retry\n", pad, soa.Retry)
			fmt.Fprintf(bw, "%s%-10d ; expire\n", pad, soa.Expire)
			fmt.Fprintf(bw, "%s%-10d ; minimum\n", pad, soa.Minttl)
			fmt.Fprintf(bw, "%s)\n", pad)
			continue
		}
		fmt.Fprintf(bw, "%-*s %-7s IN  %-6s %s%s\n", ownerWidth, name, t, typ, keys[r.RR], end)
	}
	return bw.Flush()
}

// writeLines writes the comment lines above an RRset (cm may be nil),
// after a blank line unless one was just written: a comment block reads
// as the head of what follows it.
func writeLines(bw *bufio.Writer, cm *zonedb.Comment, afterBlank bool) {
	if cm == nil || len(cm.Lines) == 0 {
		return
	}
	if !afterBlank {
		bw.WriteString("\n")
	}
	for _, l := range cm.Lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
}

// commentKey names an RRset in commentIndex.
func commentKey(owner string, rrtype uint16) string {
	return strings.ToLower(owner) + "/" + strconv.Itoa(int(rrtype))
}

// commentIndex indexes comments by RRset.
func commentIndex(cs []zonedb.Comment) map[string]*zonedb.Comment {
	m := make(map[string]*zonedb.Comment, len(cs))
	for i := range cs {
		m[commentKey(dns.CanonicalName(cs[i].Name), cs[i].Type)] = &cs[i]
	}
	return m
}

// sameRRset reports whether two records have the same owner and type.
func sameRRset(a, b dns.RR) bool {
	ha, hb := a.Header(), b.Header()
	return ha.Rrtype == hb.Rrtype && strings.EqualFold(ha.Name, hb.Name)
}

// rdataText is the RDATA as zone text. NULL has no presentation format
// (miekg/dns prints its raw bytes): it is written in the RFC 3597 generic
// form, which reads back.
func rdataText(rr dns.RR) string {
	if rr.Header().Rrtype != dns.TypeNULL {
		return zonedb.RdataText(rr)
	}
	buf := make([]byte, dns.Len(rr)+512)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return zonedb.RdataText(rr)
	}
	n := rdlen(buf[:off])
	return fmt.Sprintf("\\# %d %x", n, buf[off-n:off])
}

// typeRank orders types within a name: SOA, NS, then by number.
func typeRank(t uint16) int {
	switch t {
	case dns.TypeSOA:
		return -2
	case dns.TypeNS:
		return -1
	}
	return int(t)
}

// relName writes name relative to origin ("@" for the apex).
func relName(name, origin string) string {
	out := relName1(name, origin)
	switch {
	case strings.HasPrefix(out, "$"):
		// A line starting with $ is a directive: escape it ($GENERATE
		// makes such names from "$$").
		out = "\\" + out
	case strings.HasPrefix(out, "#"):
		// A line starting with # is refused as a shell-style comment.
		out = "\\035" + out[1:]
	}
	return out
}

func relName1(name, origin string) string {
	cn := dns.CanonicalName(name)
	if cn == origin {
		return "@"
	}
	if origin != "." && strings.HasSuffix(cn, "."+origin) {
		return name[:len(name)-len(origin)-1]
	}
	if origin == "." {
		return strings.TrimSuffix(name, ".")
	}
	return name
}

// commonTTL is the most frequent TTL (the lowest of equals): the $TTL.
func commonTTL(recs []zonedb.Record) uint32 {
	counts := map[uint32]int{}
	for _, r := range recs {
		counts[r.RR.Header().Ttl]++
	}
	best, n := uint32(3600), 0
	for t, c := range counts {
		if c > n || c == n && t < best {
			best, n = t, c
		}
	}
	return best
}
