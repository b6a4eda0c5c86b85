package zonedb

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// CheckOptions tune Check.
type CheckOptions struct {
	// Partial: recs are only the RRsets at some names of the zone plus the
	// apex SOA and NS (a small edit). Checks that need every name of the
	// zone (glue, data below cuts) are skipped.
	Partial bool
}

// maxTTL is the largest TTL RFC 2181 section 8 allows.
const maxTTL = 1<<31 - 1

// Check runs the semantic checks on a zone's records and returns every
// problem found, errors (which block a commit) and warnings, sorted by
// position and name. origin is the zone's name; recs may be in any order.
func Check(origin string, recs []Record, opts CheckOptions) Problems {
	origin = dns.CanonicalName(origin)
	var ps Problems
	add := func(sev Severity, code string, r *Record, name, typ, format string, args ...any) {
		p := Problem{Severity: sev, Code: code, Name: name, Type: typ, Message: fmt.Sprintf(format, args...)}
		if r != nil {
			p.Pos = r.Pos
		}
		ps = append(ps, p)
	}

	// Group by owner, keeping the first record of each name for positions.
	type nameInfo struct {
		first *Record
		types map[uint16][]*Record
		hasA  bool
		cut   bool // NS below the apex: a delegation
		dname bool
	}
	names := make(map[string]*nameInfo, len(recs)/2+1)
	var order []string
	nsTargets := []*Record{}
	soaCount := 0
	for i := range recs {
		r := &recs[i]
		h := r.RR.Header()
		owner := dns.CanonicalName(h.Name)
		typ := dns.TypeToString[h.Rrtype]
		if !dns.IsSubDomain(origin, owner) {
			add(SevError, "outside-zone", r, owner, typ, "the record is outside the zone %s; remove it or write the name relative to the zone", origin)
			continue
		}
		if h.Ttl > maxTTL {
			add(SevError, "ttl-too-large", r, owner, typ, "TTL %d is above 2147483647 (RFC 2181 section 8); use a smaller TTL", h.Ttl)
		}
		ni := names[owner]
		if ni == nil {
			ni = &nameInfo{first: r, types: map[uint16][]*Record{}}
			names[owner] = ni
			order = append(order, owner)
		}
		ni.types[h.Rrtype] = append(ni.types[h.Rrtype], r)
		switch rr := r.RR.(type) {
		case *dns.A, *dns.AAAA:
			ni.hasA = true
		case *dns.SOA:
			if owner == origin {
				soaCount++
			} else {
				add(SevError, "soa-not-apex", r, owner, typ, "an SOA record belongs only at the zone apex %s", origin)
			}
		case *dns.NS:
			if owner != origin {
				ni.cut = true
			}
			nsTargets = append(nsTargets, r)
			checkTarget(add, r, owner, "NS", rr.Ns, origin)
		case *dns.MX:
			checkTarget(add, r, owner, "MX", rr.Mx, origin)
		case *dns.SRV:
			checkTarget(add, r, owner, "SRV", rr.Target, origin)
		case *dns.CNAME:
			checkTarget(add, r, owner, "CNAME", rr.Target, origin)
		case *dns.DNAME:
			ni.dname = true
			checkTarget(add, r, owner, "DNAME", rr.Target, origin)
		}
	}

	apex := names[origin]
	switch {
	case soaCount == 0:
		add(SevError, "no-soa", nil, origin, "SOA", "the zone has no SOA record at its apex; add one")
	case soaCount > 1:
		var second *Record
		if apex != nil && len(apex.types[dns.TypeSOA]) > 1 {
			second = apex.types[dns.TypeSOA][1]
		}
		add(SevError, "multiple-soa", second, origin, "SOA", "the zone has %d SOA records; keep exactly one", soaCount)
	}
	if apex == nil || len(apex.types[dns.TypeNS]) == 0 {
		add(SevError, "no-apex-ns", nil, origin, "NS", "the zone has no NS records at its apex; add the zone's nameservers")
	}

	for _, owner := range order {
		ni := names[owner]
		for t, rs := range ni.types {
			typ := dns.TypeToString[t]
			// One TTL per RRset (RFC 2181 section 5.2), no duplicate RRs.
			low, differ := rs[0].RR.Header().Ttl, false
			for _, r := range rs[1:] {
				if tt := r.RR.Header().Ttl; tt != low {
					differ = true
					low = min(low, tt)
				}
			}
			if differ {
				add(SevWarning, "ttl-mismatch", rs[0], owner, typ, "the records of this RRset have different TTLs; all get the lowest, %d (RFC 2181 section 5.2)", low)
			}
			if len(rs) > 1 {
				seen := make(map[string]bool, len(rs))
				for _, r := range rs {
					k := RdataText(r.RR)
					if t != dns.TypeTXT && t != dns.TypeSPF {
						k = strings.ToLower(k)
					}
					if seen[k] {
						add(SevWarning, "duplicate-rr", r, owner, typ, "the same record appears twice; it is stored once")
					}
					seen[k] = true
				}
			}
		}
		if cn := ni.types[dns.TypeCNAME]; len(cn) > 0 {
			if owner == origin {
				add(SevError, "cname-at-apex", cn[0], owner, "CNAME", "a CNAME cannot be at the zone apex, which must hold SOA and NS (RFC 1034 section 3.6.2)")
			} else {
				var other []string
				for t := range ni.types {
					switch t {
					case dns.TypeCNAME, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
					default:
						other = append(other, dns.TypeToString[t])
					}
				}
				if len(other) > 0 {
					slices.Sort(other)
					add(SevError, "cname-and-other-data", cn[0], owner, "CNAME", "a CNAME cannot share its name with other data (here %s; RFC 1034 section 3.6.2); remove the CNAME or the other records",
						strings.Join(other, ", "))
				}
			}
			if len(cn) > 1 {
				add(SevError, "multiple-cname", cn[1], owner, "CNAME", "a name can have only one CNAME record, here there are %d", len(cn))
			}
		}
		if len(ni.types[dns.TypeDNAME]) > 1 {
			add(SevError, "multiple-dname", ni.types[dns.TypeDNAME][1], owner, "DNAME", "a name can have only one DNAME record (RFC 6672 section 2.4)")
		}
	}

	if !opts.Partial {
		// Names below a DNAME or a delegation.
		for _, owner := range order {
			if owner == origin {
				continue
			}
			ni := names[owner]
			for p := parentName(owner); p != "" && dns.IsSubDomain(origin, p) && p != origin; p = parentName(p) {
				pi := names[p]
				if pi == nil {
					continue
				}
				if pi.dname {
					add(SevError, "data-below-dname", ni.first, owner, "", "data below the DNAME at %s can never be reached (RFC 6672 section 2.3); remove it", p)
					break
				}
				if pi.cut {
					for t, rs := range ni.types {
						if t != dns.TypeA && t != dns.TypeAAAA {
							add(SevWarning, "data-below-delegation", rs[0], owner, dns.TypeToString[t], "%s is below the delegation at %s, so this server will not answer for it; only glue (A/AAAA) belongs there", owner, p)
						}
					}
					break
				}
			}
		}
		// In-zone NS targets need addresses (glue when below a cut).
		warned := map[string]bool{}
		for _, r := range nsTargets {
			target := dns.CanonicalName(r.RR.(*dns.NS).Ns)
			if !dns.IsSubDomain(origin, target) || warned[target] {
				continue
			}
			if ti := names[target]; ti == nil || !ti.hasA {
				warned[target] = true
				add(SevWarning, "missing-glue", r, dns.CanonicalName(r.RR.Header().Name), "NS", "the nameserver %s is inside the zone but has no A or AAAA record; add its address (glue)", target)
			}
		}
	}

	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Pos.Col, b.Pos.Col); c != 0 {
			return c
		}
		return CompareNames(a.Name, b.Name)
	})
	return ps
}

// parentName drops the first label; "" above the root.
func parentName(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// checkTarget flags a target name that is really an IP address: written as
// one (MX 10 192.0.2.1.) or with the origin appended because the trailing
// dot was forgotten (MX 10 192.0.2.1 in zone example.org.).
func checkTarget(add func(Severity, string, *Record, string, string, string, ...any), r *Record, owner, typ, target, origin string) {
	t := strings.TrimSuffix(target, ".")
	if _, err := netip.ParseAddr(t); err == nil {
		add(SevError, "target-is-address", r, owner, typ, "the %s target %s is an IP address; it must be a host name (with its own A/AAAA record)", typ, t)
		return
	}
	if o := strings.TrimSuffix(origin, "."); o != "" && strings.HasSuffix(strings.ToLower(t), "."+o) {
		head := t[:len(t)-len(o)-1]
		if _, err := netip.ParseAddr(head); err == nil {
			add(SevError, "target-is-address", r, owner, typ, "the %s target %s is an IP address with the zone name appended; it must be a host name (with its own A/AAAA record)", typ, target)
		}
	}
}
