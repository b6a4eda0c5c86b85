package authserver

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
)

// TestNSEC3ProofsAtChainEnds checks the denial proofs of both answer paths
// (the wire-form denial path and the general one) the way a validator does
// (RFC 5155 section 8), for names whose proofs need the chain's last
// record: a next closer name or a wildcard hashing before the first owner
// or after the last. The zone has owners hashing 00.. and ff.. (a hash
// beginning with 0xff once sorted past the chain's wrap bound), and the
// test fails unless its names really sit at the ends.
func TestNSEC3ProofsAtChainEnds(t *testing.T) {
	for _, c := range []struct {
		name       string
		salt       string
		iterations uint16
	}{{"default", "", 0}, {"salt and iterations", "beef", 4}} {
		t.Run(c.name, func(t *testing.T) { nsec3ProofsAtChainEnds(t, c.salt, c.iterations) })
	}
}

func nsec3ProofsAtChainEnds(t *testing.T, salt string, iter uint16) {
	const zone = "ends.example."
	hash := func(name string) string { return dns.HashName(name, dns.SHA1, iter, salt) }
	owners := map[string]bool{zone: true, "ns1." + zone: true, "www." + zone: true, "*.wild." + zone: true, "wild." + zone: true}
	text := "$TTL 3600\n@ SOA ns1 host 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n*.wild TXT \"w\"\n"
	find := func(format string, ok func(string) bool) string {
		for i := range 10_000_000 {
			if n := fmt.Sprintf(format, i) + "." + zone; ok(n) {
				return n
			}
		}
		t.Fatalf("no name for %s", format)
		return ""
	}
	add := func(name string) {
		owners[name] = true
		text += name + " TXT \"x\"\n"
	}
	ends := func() (lo, hi string) {
		for o := range owners {
			if h := hash(o); lo == "" || h < lo {
				lo = h
			}
			if h := hash(o); hi == "" || h > hi {
				hi = h
			}
		}
		return lo, hi
	}
	add(find("low%d", func(n string) bool { return strings.HasPrefix(hash(n), "00") }))
	add(find("high%d", func(n string) bool { return strings.HasPrefix(hash(n), "VV") }))
	var ceLow, ceHigh string
	for range 10 {
		lo, hi := ends()
		if ceLow != "" && hash("*."+ceLow) < lo && ceHigh != "" && hash("*."+ceHigh) > hi {
			break
		}
		if ceLow == "" || hash("*."+ceLow) >= lo {
			ceLow = find("celow%d", func(n string) bool { return hash("*."+n) < lo && hash(n) > lo })
			add(ceLow)
		}
		if ceHigh == "" || hash("*."+ceHigh) <= hi {
			ceHigh = find("cehigh%d", func(n string) bool { return hash("*."+n) > hi && hash(n) < hi })
			add(ceHigh)
		}
	}
	lo, hi := ends()
	before := find("before%d", func(n string) bool { return hash(n) < lo })
	after := find("after%d", func(n string) bool { return hash(n) > hi })

	db := testStore(t, map[string]string{zone: text})
	db.SetSigner(dnssec.NewSigner())
	p := dnssec.DefaultParams()
	p.Iterations, p.Salt = iter, salt
	signZone(t, db, zone, p)

	s := NewServer(db, Options{}, nil)
	general := &viewHolder{db: db, noCache: true}
	defer general.release()
	fast := &viewHolder{db: db}
	defer fast.release()

	cases := []struct {
		qname string
		qtype uint16
		kind  string
	}{
		{before, dns.TypeA, "nx"}, {after, dns.TypeA, "nx"}, {"deep." + before, dns.TypeTXT, "nx"}, {"deep." + after, dns.TypeTXT, "nx"},
		{"nx." + ceLow, dns.TypeA, "nx"}, {"nx." + ceHigh, dns.TypeA, "nx"}, {"a.b." + ceLow, dns.TypeMX, "nx"},
		{"nx." + zone, dns.TypeA, "nx"},
		{"www." + zone, dns.TypeMX, "nodata"}, {ceLow, dns.TypeMX, "nodata"}, {ceHigh, dns.TypeAAAA, "nodata"},
		{before[:len(before)-len(zone)] + "wild." + zone, dns.TypeTXT, "wildcard"},
		{after[:len(after)-len(zone)] + "wild." + zone, dns.TypeTXT, "wildcard"},
		{before[:len(before)-len(zone)] + "wild." + zone, dns.TypeA, "wildcard nodata"},
	}
	paths := 0
	for _, c := range cases {
		for _, path := range []string{"general", "fast"} {
			in := pack(t, c.qname, c.qtype, func(m *dns.Msg) { m.SetEdns0(1232, true) })
			var b []byte
			if path == "fast" {
				q, key, plain := parsePlain(in, UDP, nil)
				if !plain {
					t.Fatalf("%s: not a plain query", c.qname)
				}
				if b = runDenial(s, fast, in, q, key[:q.qEnd-12-4], make([]byte, 0, 4096)); b == nil {
					if c.kind == "nx" {
						t.Errorf("%s: the fast path did not answer", c.qname)
					}
					continue
				}
			} else {
				b = s.handle(general, new(dns.Msg), in, make([]byte, 0, 4096), UDP, netip.AddrPort{}, nil)
			}
			paths++
			resp := new(dns.Msg)
			if err := resp.Unpack(b); err != nil {
				t.Fatalf("%s %s: %v", path, c.qname, err)
			}
			if err := checkNSEC3Proof(resp, zone, c.qname, c.qtype, c.kind); err != nil {
				t.Errorf("%s path, %s %s (%s): %v\n%s", path, c.qname, dns.TypeToString[c.qtype], c.kind, err, resp)
			}
		}
	}
	if paths < len(cases)+8 {
		t.Errorf("only %d answers checked", paths)
	}
}

// checkNSEC3Proof checks a negative or wildcard answer's NSEC3 proof as a
// validator does (RFC 5155 sections 8.4 to 8.8): the closest encloser's
// record matches, the next closer name is covered, the wildcard at the
// closest encloser covered (NXDOMAIN) or matched without the type (wildcard
// NODATA); an existing name's record matches without the type (NODATA).
// Every NSEC3 comes with an RRSIG.
func checkNSEC3Proof(m *dns.Msg, zone, qname string, qtype uint16, kind string) error {
	var nsec3s []*dns.NSEC3
	sigs := map[string]bool{}
	for _, rr := range m.Ns {
		switch r := rr.(type) {
		case *dns.NSEC3:
			nsec3s = append(nsec3s, r)
		case *dns.RRSIG:
			if r.TypeCovered == dns.TypeNSEC3 {
				sigs[strings.ToLower(r.Hdr.Name)] = true
			}
		}
	}
	for _, n := range nsec3s {
		if !sigs[strings.ToLower(n.Hdr.Name)] {
			return fmt.Errorf("NSEC3 %s without its RRSIG", n.Hdr.Name)
		}
	}
	matches := func(name string) *dns.NSEC3 {
		for _, n := range nsec3s {
			if n.Match(name) {
				return n
			}
		}
		return nil
	}
	covered := func(name string) bool {
		for _, n := range nsec3s {
			if n.Cover(name) {
				return true
			}
		}
		return false
	}
	hasType := func(n *dns.NSEC3, t uint16) bool {
		for _, x := range n.TypeBitMap {
			if x == t {
				return true
			}
		}
		return false
	}
	// The closest encloser: the longest ancestor of qname with a match.
	labels := dns.SplitDomainName(qname)
	ce, next := "", ""
	for i := 1; i < len(labels); i++ {
		cand := dns.Fqdn(strings.Join(labels[i:], "."))
		if !dns.IsSubDomain(zone, cand) {
			break
		}
		if matches(cand) != nil {
			ce, next = cand, dns.Fqdn(strings.Join(labels[i-1:], "."))
			break
		}
	}
	switch kind {
	case "nodata":
		n := matches(qname)
		if n == nil {
			return fmt.Errorf("no NSEC3 matches %s", qname)
		}
		if hasType(n, qtype) || hasType(n, dns.TypeCNAME) {
			return fmt.Errorf("the matching NSEC3 has %s or CNAME", dns.TypeToString[qtype])
		}
		return nil
	case "nx", "wildcard nodata":
		if m.Rcode != map[string]int{"nx": dns.RcodeNameError, "wildcard nodata": dns.RcodeSuccess}[kind] {
			return fmt.Errorf("rcode %s", dns.RcodeToString[m.Rcode])
		}
		if ce == "" {
			return fmt.Errorf("no closest encloser proved")
		}
		if !covered(next) {
			return fmt.Errorf("next closer %s not covered", next)
		}
		if kind == "nx" && !covered("*."+ce) {
			return fmt.Errorf("wildcard *.%s not covered", ce)
		}
		if kind == "wildcard nodata" {
			w := matches("*." + ce)
			if w == nil || hasType(w, qtype) {
				return fmt.Errorf("wildcard *.%s not matched without %s", ce, dns.TypeToString[qtype])
			}
		}
		return nil
	case "wildcard":
		if len(m.Answer) == 0 {
			return fmt.Errorf("no answer")
		}
		// The RRSIG's labels name the wildcard's closest encloser; the
		// next closer name below it must be covered (RFC 5155 8.8).
		for _, rr := range m.Answer {
			if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == qtype {
				l := dns.SplitDomainName(qname)
				nc := dns.Fqdn(strings.Join(l[len(l)-int(sig.Labels)-1:], "."))
				if !covered(nc) {
					return fmt.Errorf("next closer %s not covered", nc)
				}
				return nil
			}
		}
		return fmt.Errorf("no RRSIG for the answer")
	}
	return fmt.Errorf("unknown kind %s", kind)
}
