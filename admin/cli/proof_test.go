package cli_test

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The signed answer space, proved rather than sampled (RFC 4034, 4035,
// 5155, 9077): zones whose NSEC3 chains have owners at both ends of the
// hash space, query names and wildcards that hash before the first owner
// and after the last (where the covering record is the chain's last, whose
// next hash wraps to the first), several TTLs at one owner, empty
// non-terminals, wildcards, a CNAME, a DNAME, delegations with and without
// DS, with and without opt-out. Every class of query goes to dms serve with
// DO; each answer's RRSIG TTLs are checked against their RRsets and each
// is validated by unbound; the AXFR passes ldns-verify-zone and
// dnssec-verify; BIND and Knot secondaries end with copies identical to
// ours, TTLs included.

var b32hexProof = base32.HexEncoding.WithPadding(base32.NoPadding)

// proofZone is one zone of the proof: its text and the names to ask.
type proofZone struct {
	name    string
	optOut  bool
	salt    string
	iter    uint16
	text    string
	hashed  map[string][]byte // owners with an NSEC3 record, by name
	queries []proofQuery
}

type proofQuery struct {
	name  string
	qtype uint16
	rcode int
	what  string
	// cover: the proof rests on an NSEC3 record covering a name; under
	// opt-out that is an insecure answer (RFC 5155 sections 6 and 9.2),
	// valid but not authenticated.
	cover bool
	// likeBIND: no expectation of our own, only the same validation
	// result as the same zone served by BIND gets (unbound asks DS at
	// x.dnin for a CNAME query below a DNAME, and calls the DNAME
	// answer bogus, whoever serves it).
	likeBIND bool
	// direct: asked of dms only (a referral, or a chain leaving our
	// zones, which unbound would follow where no server is).
	direct bool
}

func (z *proofZone) hash(name string) []byte {
	h, err := b32hexProof.DecodeString(strings.ToUpper(dns.HashName(dns.CanonicalName(name), dns.SHA1, z.iter, z.salt)))
	if err != nil {
		panic(err)
	}
	return h
}

// ends are the lowest and highest hashes of the chain.
func (z *proofZone) ends() (lo, hi []byte) {
	for _, h := range z.hashed {
		if lo == nil || bytes.Compare(h, lo) < 0 {
			lo = h
		}
		if hi == nil || bytes.Compare(h, hi) > 0 {
			hi = h
		}
	}
	return lo, hi
}

// find returns the first name made by format from 0 up for which ok holds.
func find(format string, ok func(string) bool) string {
	for i := 0; i < 10_000_000; i++ {
		if n := fmt.Sprintf(format, i); ok(n) {
			return n
		}
	}
	panic("no name found for " + format)
}

// buildProofZone makes the zone: fixed content, then owners whose hashes
// begin with 0x00 and 0xff (so the chain's last record sorts where a
// careless bound stops), then closest enclosers whose wildcard hashes
// outside the chain, until the chain's ends stop moving.
func buildProofZone(name string, optOut bool, salt string, iter uint16) *proofZone {
	z := &proofZone{name: name, optOut: optOut, salt: salt, iter: iter, hashed: map[string][]byte{}}
	var b strings.Builder
	fmt.Fprintf(&b, `$TTL 3600
@        IN SOA  ns1.example.net. hostmaster.example.net. 1 600 600 604800 300
@        IN NS   ns1.example.net.
@        IN NS   ns2.example.net.
@  7200  IN MX   10 mail
@  60    IN TXT  "apex"
mail     IN A    192.0.2.25
multi 60 IN A    192.0.2.2
multi 120 IN TXT "several TTLs at one owner"
multi 86400 IN AAAA 2001:db8::2
a.b.ent 300 IN A 192.0.2.3
*.wild 900 IN TXT "wild"
*.wild 1800 IN A 192.0.2.99
alias 600 IN CNAME multi
dn 3000  IN DNAME example.net.
dnin 2000 IN DNAME wild
sec      IN NS   ns.example.net.
sec 1200 IN DS   12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
insec    IN NS   ns.insec
ns.insec IN A    192.0.2.5
`)
	owners := []string{"", "mail", "multi", "a.b.ent", "b.ent", "ent", "*.wild", "wild", "alias", "dn", "dnin", "sec"}
	if !optOut {
		owners = append(owners, "insec") // opt-out leaves the unsigned delegation out of the chain
	}
	abs := func(rel string) string {
		if rel == "" {
			return name
		}
		return rel + "." + name
	}
	for _, o := range owners {
		z.hashed[abs(o)] = z.hash(abs(o))
	}
	add := func(rel, rr string) {
		fmt.Fprintf(&b, "%s %s\n", rel, rr)
		z.hashed[abs(rel)] = z.hash(abs(rel))
	}
	add(find("low%d", func(n string) bool { return z.hash(abs(n))[0] == 0x00 }), `3600 IN TXT "hash 00"`)
	add(find("high%d", func(n string) bool { return z.hash(abs(n))[0] == 0xff }), `3600 IN TXT "hash ff"`)
	var ceLow, ceHigh string
	for range 10 {
		lo, hi := z.ends()
		okLow := ceLow != "" && bytes.Compare(z.hash("*."+abs(ceLow)), lo) < 0
		okHigh := ceHigh != "" && bytes.Compare(z.hash("*."+abs(ceHigh)), hi) > 0
		if okLow && okHigh {
			break
		}
		if !okLow {
			ceLow = find("celow%d", func(n string) bool {
				return bytes.Compare(z.hash("*."+abs(n)), lo) < 0 && bytes.Compare(z.hash(abs(n)), lo) > 0
			})
			add(ceLow, `IN A 192.0.2.10`)
		}
		if !okHigh {
			ceHigh = find("cehigh%d", func(n string) bool {
				return bytes.Compare(z.hash("*."+abs(n)), hi) > 0 && bytes.Compare(z.hash(abs(n)), hi) < 0
			})
			add(ceHigh, `IN A 192.0.2.11`)
		}
	}
	z.text = b.String()
	lo, hi := z.ends()
	before := find("before%d", func(n string) bool { return bytes.Compare(z.hash(abs(n)), lo) < 0 })
	after := find("after%d", func(n string) bool { return bytes.Compare(z.hash(abs(n)), hi) > 0 })

	q := func(rel string, t uint16, rcode int, what string) {
		cover := rcode == dns.RcodeNameError || strings.Contains(what, "wildcard") || strings.Contains(what, "unsigned delegation")
		z.queries = append(z.queries, proofQuery{name: abs(rel), qtype: t, rcode: rcode, what: what, cover: cover})
	}
	// Every RRset, and NODATA at every name.
	for _, p := range []struct {
		rel   string
		types []uint16
	}{
		{"", []uint16{dns.TypeSOA, dns.TypeNS, dns.TypeMX, dns.TypeTXT, dns.TypeDNSKEY, dns.TypeNSEC3PARAM}},
		{"mail", []uint16{dns.TypeA}}, {"multi", []uint16{dns.TypeA, dns.TypeTXT, dns.TypeAAAA}},
		{"a.b.ent", []uint16{dns.TypeA}}, {"dn", []uint16{dns.TypeDNAME}}, {"dnin", []uint16{dns.TypeDNAME}}, {"alias", []uint16{dns.TypeCNAME, dns.TypeA}},
		{"*.wild", []uint16{dns.TypeTXT, dns.TypeA}}, {ceLow, []uint16{dns.TypeA}}, {ceHigh, []uint16{dns.TypeA}},
	} {
		for _, t := range p.types {
			q(p.rel, t, dns.RcodeSuccess, "positive")
		}
		q(p.rel, dns.TypeSRV, dns.RcodeSuccess, "NODATA")
	}
	q("b.ent", dns.TypeA, dns.RcodeSuccess, "empty non-terminal")
	q("ent", dns.TypeTXT, dns.RcodeSuccess, "empty non-terminal two up")
	q("x.wild", dns.TypeTXT, dns.RcodeSuccess, "wildcard")
	q("x.y.wild", dns.TypeA, dns.RcodeSuccess, "wildcard two labels down")
	q("x.wild", dns.TypeMX, dns.RcodeSuccess, "wildcard NODATA")
	q("x.dnin", dns.TypeA, dns.RcodeSuccess, "DNAME synthesis into a wildcard")
	q("x.dnin", dns.TypeCNAME, dns.RcodeSuccess, "DNAME synthesis, CNAME asked")
	z.queries[len(z.queries)-1].likeBIND = true
	q("x.y.dnin", dns.TypeMX, dns.RcodeSuccess, "DNAME synthesis into a wildcard NODATA")
	q("sec", dns.TypeDS, dns.RcodeSuccess, "DS of a signed delegation")
	q("insec", dns.TypeDS, dns.RcodeSuccess, "no DS at an unsigned delegation")
	q("nx", dns.TypeA, dns.RcodeNameError, "NXDOMAIN")
	q("nx.nx2", dns.TypeA, dns.RcodeNameError, "NXDOMAIN two labels down")
	q(before, dns.TypeA, dns.RcodeNameError, "NXDOMAIN, next closer before the first NSEC3")
	q(after, dns.TypeA, dns.RcodeNameError, "NXDOMAIN, next closer after the last NSEC3")
	q("deep."+before, dns.TypeTXT, dns.RcodeNameError, "NXDOMAIN below a name before the first NSEC3")
	q("nx."+ceLow, dns.TypeA, dns.RcodeNameError, "NXDOMAIN, wildcard before the first NSEC3")
	q("nx."+ceHigh, dns.TypeA, dns.RcodeNameError, "NXDOMAIN, wildcard after the last NSEC3")
	q("nx."+ceLow, dns.TypeMX, dns.RcodeNameError, "NXDOMAIN, wildcard before the first NSEC3, other type")
	q("nx.low0."+ceHigh, dns.TypeA, dns.RcodeNameError, "NXDOMAIN two labels below a closest encloser")
	// Referrals go to the child's servers: dms only.
	for _, r := range []proofQuery{
		{name: abs("x.sec"), qtype: dns.TypeA, what: "referral with DS"},
		{name: abs("x.insec"), qtype: dns.TypeA, what: "referral without DS"},
		{name: abs("ns.insec"), qtype: dns.TypeA, what: "glue below a cut"},
		{name: abs("x.dn"), qtype: dns.TypeA, what: "DNAME out of our zones"},
		{name: abs("x.dn"), qtype: dns.TypeCNAME, what: "DNAME out of our zones, CNAME asked"},
	} {
		r.direct = true
		z.queries = append(z.queries, r)
	}
	return z
}

// checkRRSIGTTLs checks one section: every RRSIG has the TTL of the RRset
// it covers in the same section (RFC 4034 section 3), and every RRset one
// TTL (RFC 2181 section 5.2); NSEC3 records have min(SOA TTL, MINIMUM)
// (RFC 9077), negTTL.
func checkRRSIGTTLs(what string, rrs []dns.RR, negTTL uint32) []string {
	type key struct {
		name string
		t    uint16
	}
	ttl := map[key]uint32{}
	var errs []string
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype == dns.TypeRRSIG || h.Rrtype == dns.TypeOPT {
			continue
		}
		k := key{strings.ToLower(h.Name), h.Rrtype}
		if old, ok := ttl[k]; ok && old != h.Ttl {
			errs = append(errs, fmt.Sprintf("%s: %s %s has TTLs %d and %d", what, h.Name, dns.TypeToString[h.Rrtype], old, h.Ttl))
		}
		ttl[k] = h.Ttl
		if h.Rrtype == dns.TypeNSEC3 && h.Ttl != negTTL {
			errs = append(errs, fmt.Sprintf("%s: NSEC3 %s TTL %d, want min(SOA TTL, MINIMUM) = %d", what, h.Name, h.Ttl, negTTL))
		}
	}
	for _, rr := range rrs {
		sig, ok := rr.(*dns.RRSIG)
		if !ok {
			continue
		}
		want, ok := ttl[key{strings.ToLower(sig.Hdr.Name), sig.TypeCovered}]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%s: RRSIG %s %s without its RRset", what, sig.Hdr.Name, dns.TypeToString[sig.TypeCovered]))
		case sig.Hdr.Ttl != want:
			errs = append(errs, fmt.Sprintf("%s: RRSIG %s %s TTL %d, its RRset's %d", what, sig.Hdr.Name, dns.TypeToString[sig.TypeCovered], sig.Hdr.Ttl, want))
		case sig.Hdr.Ttl > sig.OrigTtl:
			errs = append(errs, fmt.Sprintf("%s: RRSIG %s %s TTL %d above its original TTL %d", what, sig.Hdr.Name, dns.TypeToString[sig.TypeCovered], sig.Hdr.Ttl, sig.OrigTtl))
		}
	}
	return errs
}

// askDO asks addr over UDP with DO (TCP when truncated).
func askDO(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(4096, true)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err == nil && r.Truncated {
		c.Net = "tcp"
		r, _, err = c.Exchange(m, addr)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

func TestSignedAnswerProof(t *testing.T) {
	e := startInterop(t)
	zones := []*proofZone{
		buildProofZone("proof.example.", false, "", 0),
		buildProofZone("optout.example.", true, "BEEF", 3),
	}
	for _, z := range zones {
		file := writeFile(t, e.dir, strings.TrimSuffix(z.name, "."), z.text)
		e.dmsCLI(t, "zone", "load", "--sg", "ext", file)
		args := []string{"dnssec", "enable", z.name, "--nsec3-iterations", fmt.Sprint(z.iter), "--nsec3-salt", cmpOr(z.salt, "-")}
		if z.optOut {
			args = append(args, "--opt-out")
		}
		e.dmsCLI(t, args...)
	}
	for _, z := range zones {
		t.Run(strings.TrimSuffix(z.name, "."), func(t *testing.T) { proveZone(t, e, z) })
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func proveZone(t *testing.T, e *interop, z *proofZone) {
	const negTTL = 300 // min(SOA TTL 3600, MINIMUM 300)
	// The zone as served: the chain's ends are where the test put them.
	ours, err := axfr(t, e.dms.dns, z.name, "xfr-key.", interopSecret, nil)
	if err != nil {
		t.Fatalf("AXFR from dms: %v", err)
	}
	var zoneRRs []dns.RR
	var chain [][]byte
	for _, l := range ours {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("AXFR line %q: %v", l, err)
		}
		zoneRRs = append(zoneRRs, rr)
		if rr.Header().Rrtype == dns.TypeNSEC3 {
			h, _ := b32hexProof.DecodeString(strings.ToUpper(strings.SplitN(rr.Header().Name, ".", 2)[0]))
			chain = append(chain, h)
		}
	}
	slices.SortFunc(chain, bytes.Compare)
	if len(chain) != len(z.hashed) {
		t.Errorf("the chain has %d NSEC3 records, the test expects %d", len(chain), len(z.hashed))
	}
	if chain[0][0] != 0x00 || chain[len(chain)-1][0] != 0xff {
		t.Errorf("the chain runs from %x to %x: the test wants owners hashing 00.. and ff..", chain[0], chain[len(chain)-1])
	}
	for _, q := range z.queries {
		h := z.hash(q.name)
		switch q.what {
		case "NXDOMAIN, next closer before the first NSEC3":
			if bytes.Compare(h, chain[0]) >= 0 {
				t.Errorf("%s: %s does not hash before the chain", q.what, q.name)
			}
		case "NXDOMAIN, next closer after the last NSEC3":
			if bytes.Compare(h, chain[len(chain)-1]) <= 0 {
				t.Errorf("%s: %s does not hash after the chain", q.what, q.name)
			}
		case "NXDOMAIN, wildcard before the first NSEC3", "NXDOMAIN, wildcard after the last NSEC3":
			w := z.hash("*." + strings.SplitN(q.name, ".", 2)[1])
			if bytes.Compare(w, chain[0]) >= 0 && bytes.Compare(w, chain[len(chain)-1]) <= 0 {
				t.Errorf("%s: the wildcard of %s hashes inside the chain", q.what, q.name)
			}
		}
	}

	// The AXFR: one TTL per RRset, RRSIGs with their RRsets' (owner by
	// owner), both verifiers content.
	byOwner := map[string][]dns.RR{}
	for _, rr := range zoneRRs {
		byOwner[strings.ToLower(rr.Header().Name)] = append(byOwner[strings.ToLower(rr.Header().Name)], rr)
	}
	for owner, rrs := range byOwner {
		for _, msg := range checkRRSIGTTLs("AXFR "+owner, rrs, negTTL) {
			t.Error(msg)
		}
	}
	zf := writeFile(t, e.dir, z.name+"axfr", strings.Join(ours, "\n")+"\n")
	for _, c := range [][]string{{tool(t, "ldns-verify-zone", "ldnsutils"), zf}, {tool(t, "dnssec-verify", "bind9-utils"), "-z", "-o", z.name, zf}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects the AXFR of %s: %v\n%s", filepath.Base(c[0]), z.name, err, out)
		}
	}

	// Every class of query, asked of dms with DO.
	for _, q := range z.queries {
		r := askDO(t, e.dms.dns, q.name, q.qtype)
		what := fmt.Sprintf("%s (%s %s)", q.what, q.name, dns.TypeToString[q.qtype])
		if !q.direct && r.Rcode != q.rcode {
			t.Errorf("%s: dms answers %s, want %s", what, dns.RcodeToString[r.Rcode], dns.RcodeToString[q.rcode])
		}
		for _, sec := range []struct {
			name string
			rrs  []dns.RR
		}{{"answer", r.Answer}, {"authority", r.Ns}} {
			for _, msg := range checkRRSIGTTLs(what+" "+sec.name, sec.rrs, negTTL) {
				t.Error(msg)
			}
		}
		if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0 && len(r.Ns) == 0 {
			t.Errorf("%s: empty answer", what)
		}
	}

	// And validated by unbound, with the zone's DS as trust anchor,
	// through a stub zone pointing at dms; the same through a stub zone
	// pointing at BIND, serving our zone as a secondary, gives the same
	// results.
	serial := e.serial(t, z.name)
	waitFor(t, "named serving "+z.name, 30*time.Second, func() bool { return soaSerial(e.namedAt, z.name) == serial })
	dsLine := strings.Join(strings.Fields(strings.Split(e.dmsCLI(t, "dnssec", "ds", z.name), "\n")[0]), " ")
	ub := startUnboundFor(t, strings.TrimSuffix(z.name, "."), e.dms.dns, dsLine)
	ubBIND := startUnboundFor(t, strings.TrimSuffix(z.name, "."), e.namedAt, dsLine)
	for _, q := range z.queries {
		if q.direct {
			continue
		}
		r := validate(t, ub, q.name, q.qtype)
		rb := validate(t, ubBIND, q.name, q.qtype)
		wantAD := !(z.optOut && q.cover)
		if q.likeBIND {
			q.rcode, wantAD = rb.Rcode, rb.AuthenticatedData
		}
		if r.Rcode != q.rcode || r.AuthenticatedData != wantAD {
			t.Errorf("unbound, %s (%s %s): %s AD=%v, want %s AD=%v", q.what, q.name, dns.TypeToString[q.qtype],
				dns.RcodeToString[r.Rcode], r.AuthenticatedData, dns.RcodeToString[q.rcode], wantAD)
		}
		if rb.Rcode != r.Rcode || rb.AuthenticatedData != r.AuthenticatedData {
			t.Errorf("unbound, %s (%s %s): %s AD=%v from dms, %s AD=%v from BIND serving the same zone", q.what, q.name, dns.TypeToString[q.qtype],
				dns.RcodeToString[r.Rcode], r.AuthenticatedData, dns.RcodeToString[rb.Rcode], rb.AuthenticatedData)
		}
	}

	// BIND and Knot secondaries end with our zone, record for record,
	// TTLs included.
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		waitFor(t, name+" serving "+z.name, 30*time.Second, func() bool { return soaSerial(addr, z.name) == serial })
		var theirs []string
		var err error
		if name == "knotd" {
			theirs, err = knotCopy(t, e, z.name)
		} else {
			theirs, err = axfr(t, addr, z.name, "", "", nil)
		}
		if err != nil {
			t.Errorf("AXFR from %s: %v", name, err)
			continue
		}
		if !slices.Equal(ours, theirs) {
			t.Errorf("%s's copy of %s differs from ours:\n%s", name, z.name, lineDiff(ours, theirs))
		}
	}
}

// lineDiff lists the lines only in a (-) and only in b (+).
func lineDiff(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// knotCopy is knotd's copy of zone (knotc zone-read) in axfr's form.
func knotCopy(t *testing.T, e *interop, zone string) ([]string, error) {
	out, err := exec.Command(tool(t, "knotc", "knot"), "-s", e.knotSock, "zone-read", zone).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("knotc zone-read: %v\n%s", err, out)
	}
	var kc []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "[example.com.] owner ttl type rdata"
		_, rest, _ := strings.Cut(l, "] ")
		rr, err := dns.NewRR(rest)
		if err != nil {
			return nil, fmt.Errorf("knotc zone-read line %q: %v", l, err)
		}
		// Through the wire and back, as an AXFR would (the text form
		// keeps the case of base32 fields).
		buf := make([]byte, dns.Len(rr)+512)
		off, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return nil, err
		}
		if rr, _, err = dns.UnpackRR(buf[:off], 0); err != nil {
			return nil, err
		}
		kc = append(kc, strings.ReplaceAll(dns.CanonicalName(rr.Header().Name)+" "+rr.String()[len(rr.Header().Name):], "\t", " "))
	}
	slices.Sort(kc)
	return kc, nil
}
