package authserver

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

const exampleOrg = `$TTL 3600
@         SOA   ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300
@         NS    ns1.example.org.
@         NS    ns2.example.net.
@         MX    10 mail.example.org.
ns1       A     192.0.2.53
mail      A     192.0.2.25
mail      AAAA  2001:db8::25
www       A     192.0.2.80
ftp       CNAME www
ext       CNAME www.example.net.
outside   CNAME www.example.com.
tosub     CNAME www.sub
loop1     CNAME loop2
loop2     CNAME loop1
a.b.c     A     192.0.2.1
*.wild    A     192.0.2.99
*.wild    TXT   "wild"
x.wild    A     192.0.2.98
*.cw      CNAME www
sub       NS    ns1.sub
sub       NS    ns.example.net.
sub       DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns1.sub   A     192.0.2.200
old       DNAME example.net.
_sip._tcp SRV   0 0 5060 mail
;!DISABLE
hidden    A     192.0.2.66
hidden    TXT   "shown"
;!DISABLE
gone.off  A     192.0.2.67
`

const exampleNet = `$TTL 3600
@   SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 600
@   NS  ns1.example.org.
www A   198.51.100.80
foo A   198.51.100.1
`

// RFC 4592 section 2.2.1, with the SRV and SOA RDATA filled in.
const rfc4592 = `$TTL 3600
example.                 SOA   ns.example.com. hostmaster.example. 1 7200 3600 1209600 300
example.                 NS    ns.example.com.
example.                 NS    ns.example.net.
*.example.               TXT   "this is a wildcard"
*.example.               MX    10 host1.example.
sub.*.example.           TXT   "this is not a wildcard"
host1.example.           A     192.0.2.1
_ssh._tcp.host1.example. SRV   0 0 22 host1.example.
_ssh._tcp.host2.example. SRV   0 0 22 host2.example.
subdel.example.          NS    ns.example.com.
subdel.example.          NS    ns.example.net.
`

func testStore(t testing.TB, zones map[string]string) *zonedb.DB {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for name, text := range zones {
		recs, err := zonefile.ParseString(text, zonefile.ParseOptions{File: name, Origin: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: name, Create: &zonedb.Zone{}, Replace: true, Records: recs, Serial: zonedb.SerialKeep}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The name index, as dms serve keeps it: queries find their nodes
	// there once it holds the store's generation (runCases and the wire
	// tests also ask the B+tree, and compare).
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	waitIndex(t, db)
	return db
}

// waitIndex waits until db's name index holds its generation.
func waitIndex(t testing.TB, db *zonedb.DB) {
	t.Helper()
	if !db.WaitNodeIndex(10 * time.Second) {
		t.Fatalf("the name index never reached generation %d", db.Generation())
	}
}

type tcase struct {
	name   string
	qname  string
	qtype  uint16
	rcode  int
	aa     bool
	answer []string
	ns     []string
	extra  []string
	// do sets the DO bit (RFC 3225) on the query.
	do bool
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

func query(t testing.TB, e *Engine, db *zonedb.DB, qname string, qtype uint16) *dns.Msg {
	return queryDO(t, e, db, qname, qtype, false)
}

func queryDO(t testing.TB, e *Engine, db *zonedb.DB, qname string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	return queryIndex(t, e, db, qname, qtype, do, true)
}

// queryIndex is queryDO with the store's name index used or not (the
// B+tree then answers every lookup).
func queryIndex(t testing.TB, e *Engine, db *zonedb.DB, qname string, qtype uint16, do, index bool) *dns.Msg {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	if do {
		req.SetEdns0(1232, true)
	}
	var resp *dns.Msg
	if err := db.View(func(v *zonedb.View) error {
		if !index {
			v.SkipNodeIndex()
		}
		resp = e.Answer(v, req, TCP, netip.MustParseAddr("127.0.0.1"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return resp
}

// runCases asks each case twice: with the nodes found in the name index,
// and in the B+tree.
func runCases(t *testing.T, db *zonedb.DB, cases []tcase) {
	waitIndex(t, db)
	e := NewEngine(Config{}, nil)
	for _, tc := range cases {
		for _, index := range []bool{true, false} {
			runCase(t, e, db, tc, index)
		}
	}
}

func runCase(t *testing.T, e *Engine, db *zonedb.DB, tc tcase, index bool) {
	name := tc.name
	if !index {
		name += "/btree"
	}
	t.Run(name, func(t *testing.T) {
		resp := queryIndex(t, e, db, tc.qname, tc.qtype, tc.do, index)
		if resp.Rcode != tc.rcode || resp.Authoritative != tc.aa {
			t.Errorf("rcode %s aa %v, want %s aa %v\n%s", dns.RcodeToString[resp.Rcode], resp.Authoritative, dns.RcodeToString[tc.rcode], tc.aa, resp)
		}
		for _, sec := range []struct {
			name      string
			got, want []string
		}{{"answer", rrStrings(resp.Answer), tc.answer}, {"authority", rrStrings(resp.Ns), tc.ns}, {"additional", rrStrings(resp.Extra), tc.extra}} {
			if !slices.Equal(sec.got, sec.want) {
				t.Errorf("%s:\n got %q\nwant %q", sec.name, sec.got, sec.want)
			}
		}
	})
}

const (
	soaOrg = "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300"
	soaEx  = "example. 300 IN SOA ns.example.com. hostmaster.example. 1 7200 3600 1209600 300"
)

// TestLookupRFC1034 covers RFC 1034 section 4.3.2 and RFC 6672.
func TestLookupRFC1034(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg, "example.net.": exampleNet})
	runCases(t, db, []tcase{
		{name: "4.3.2 exact answer", qname: "www.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.example.org. 3600 IN A 192.0.2.80"}},
		{name: "query name case is kept", qname: "WwW.Example.ORG.", qtype: dns.TypeA, aa: true,
			answer: []string{"WwW.Example.ORG. 3600 IN A 192.0.2.80"}},
		{name: "apex NS with in-zone addresses", qname: "example.org.", qtype: dns.TypeNS, aa: true,
			answer: []string{"example.org. 3600 IN NS ns1.example.org.", "example.org. 3600 IN NS ns2.example.net."},
			extra:  []string{"ns1.example.org. 3600 IN A 192.0.2.53"}},
		{name: "MX additional A and AAAA", qname: "example.org.", qtype: dns.TypeMX, aa: true,
			answer: []string{"example.org. 3600 IN MX 10 mail.example.org."},
			extra:  []string{"mail.example.org. 3600 IN A 192.0.2.25", "mail.example.org. 3600 IN AAAA 2001:db8::25"}},
		{name: "SRV additional", qname: "_sip._tcp.example.org.", qtype: dns.TypeSRV, aa: true,
			answer: []string{"_sip._tcp.example.org. 3600 IN SRV 0 0 5060 mail.example.org."},
			extra:  []string{"mail.example.org. 3600 IN A 192.0.2.25", "mail.example.org. 3600 IN AAAA 2001:db8::25"}},
		{name: "NODATA with SOA min TTL", qname: "www.example.org.", qtype: dns.TypeAAAA, aa: true, ns: []string{soaOrg}},
		{name: "NXDOMAIN", qname: "nope.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError, ns: []string{soaOrg}},
		{name: "NXDOMAIN below an existing name", qname: "x.www.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError, ns: []string{soaOrg}},
		{name: "empty non-terminal is NODATA", qname: "b.c.example.org.", qtype: dns.TypeA, aa: true, ns: []string{soaOrg}},
		{name: "empty non-terminal two up", qname: "c.example.org.", qtype: dns.TypeTXT, aa: true, ns: []string{soaOrg}},
		{name: "CNAME followed in zone", qname: "ftp.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"ftp.example.org. 3600 IN CNAME www.example.org.", "www.example.org. 3600 IN A 192.0.2.80"}},
		{name: "CNAME asked for", qname: "ftp.example.org.", qtype: dns.TypeCNAME, aa: true,
			answer: []string{"ftp.example.org. 3600 IN CNAME www.example.org."}},
		{name: "CNAME into another served zone", qname: "ext.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"ext.example.org. 3600 IN CNAME www.example.net.", "www.example.net. 3600 IN A 198.51.100.80"}},
		{name: "CNAME out of our zones", qname: "outside.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"outside.example.org. 3600 IN CNAME www.example.com."}},
		{name: "CNAME into a delegation: AA for the CNAME, then the referral", qname: "tosub.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"tosub.example.org. 3600 IN CNAME www.sub.example.org."},
			ns:     []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."},
			extra:  []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}},
		{name: "CNAME loop stops", qname: "loop1.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"loop1.example.org. 3600 IN CNAME loop2.example.org.", "loop2.example.org. 3600 IN CNAME loop1.example.org."}},
		{name: "referral with glue, no AA", qname: "www.sub.example.org.", qtype: dns.TypeA,
			ns:    []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."},
			extra: []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}},
		{name: "referral at the cut itself", qname: "sub.example.org.", qtype: dns.TypeA,
			ns:    []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."},
			extra: []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}},
		{name: "glue is not authoritative data", qname: "ns1.sub.example.org.", qtype: dns.TypeA,
			ns:    []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."},
			extra: []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}},
		{name: "DS at the cut from the parent", qname: "sub.example.org.", qtype: dns.TypeDS, aa: true,
			answer: []string{"sub.example.org. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
		{name: "RFC 6672 DNAME synthesis", qname: "www.old.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"old.example.org. 3600 IN DNAME example.net.", "www.old.example.org. 3600 IN CNAME www.example.net.", "www.example.net. 3600 IN A 198.51.100.80"}},
		{name: "DNAME owner itself", qname: "old.example.org.", qtype: dns.TypeDNAME, aa: true,
			answer: []string{"old.example.org. 3600 IN DNAME example.net."}},
		{name: "DNAME to a missing name", qname: "nope.old.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeNameError,
			answer: []string{"old.example.org. 3600 IN DNAME example.net.", "nope.old.example.org. 3600 IN CNAME nope.example.net."},
			ns:     []string{"example.net. 600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 600"}},
		{name: "RFC 8482 ANY is one RRset", qname: "mail.example.org.", qtype: dns.TypeANY, aa: true,
			answer: []string{"mail.example.org. 3600 IN A 192.0.2.25"}},
		{name: "DISABLE records are not served", qname: "hidden.example.org.", qtype: dns.TypeA, aa: true, ns: []string{soaOrg}},
		{name: "other records at a DISABLE name are", qname: "hidden.example.org.", qtype: dns.TypeTXT, aa: true,
			answer: []string{"hidden.example.org. 3600 IN TXT \"shown\""}},
		{name: "a name with only DISABLE records does not exist", qname: "gone.off.example.org.", qtype: dns.TypeA, aa: true,
			rcode: dns.RcodeNameError, ns: []string{soaOrg}},
		{name: "nor does the empty non-terminal above it", qname: "off.example.org.", qtype: dns.TypeA, aa: true,
			rcode: dns.RcodeNameError, ns: []string{soaOrg}},
		{name: "not our zone", qname: "www.example.com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "parent of our zone", qname: "org.", qtype: dns.TypeNS, rcode: dns.RcodeRefused},
	})
}

// TestLookupWildcards covers RFC 4592 section 2.2.1 and our own cases.
func TestLookupWildcards(t *testing.T) {
	db := testStore(t, map[string]string{"example.": rfc4592, "example.org.": exampleOrg})
	runCases(t, db, []tcase{
		{name: "2.2.1 host3 MX synthesized", qname: "host3.example.", qtype: dns.TypeMX, aa: true,
			answer: []string{"host3.example. 3600 IN MX 10 host1.example."}, extra: []string{"host1.example. 3600 IN A 192.0.2.1"}},
		{name: "2.2.1 host3 A no data", qname: "host3.example.", qtype: dns.TypeA, aa: true, ns: []string{soaEx}},
		{name: "2.2.1 foo.bar TXT synthesized", qname: "foo.bar.example.", qtype: dns.TypeTXT, aa: true,
			answer: []string{"foo.bar.example. 3600 IN TXT \"this is a wildcard\""}},
		{name: "2.2.1 host1 MX: the name exists", qname: "host1.example.", qtype: dns.TypeMX, aa: true, ns: []string{soaEx}},
		{name: "2.2.1 sub.* MX: the name exists", qname: "sub.*.example.", qtype: dns.TypeMX, aa: true, ns: []string{soaEx}},
		{name: "2.2.1 _telnet._tcp.host1: ENT closest encloser", qname: "_telnet._tcp.host1.example.", qtype: dns.TypeSRV, aa: true,
			rcode: dns.RcodeNameError, ns: []string{soaEx}},
		{name: "2.2.1 host.subdel: referral", qname: "host.subdel.example.", qtype: dns.TypeA,
			ns: []string{"subdel.example. 3600 IN NS ns.example.com.", "subdel.example. 3600 IN NS ns.example.net."}},
		{name: "2.2.1 ghost.*: no wildcard below *", qname: "ghost.*.example.", qtype: dns.TypeMX, aa: true,
			rcode: dns.RcodeNameError, ns: []string{soaEx}},
		{name: "wildcard A", qname: "a.wild.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"a.wild.example.org. 3600 IN A 192.0.2.99"}},
		{name: "wildcard two labels deep", qname: "a.b.wild.example.org.", qtype: dns.TypeTXT, aa: true,
			answer: []string{"a.b.wild.example.org. 3600 IN TXT \"wild\""}},
		{name: "wildcard not for an existing name", qname: "x.wild.example.org.", qtype: dns.TypeTXT, aa: true, ns: []string{soaOrg}},
		{name: "wildcard NODATA", qname: "a.wild.example.org.", qtype: dns.TypeMX, aa: true, ns: []string{soaOrg}},
		{name: "wildcard CNAME", qname: "q.cw.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"q.cw.example.org. 3600 IN CNAME www.example.org.", "www.example.org. 3600 IN A 192.0.2.80"}},
		{name: "the wildcard name itself", qname: "*.wild.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"*.wild.example.org. 3600 IN A 192.0.2.99"}},
	})
}

// TestDNAMEAtApex: RFC 6672 allows a DNAME at the apex; it redirects
// every name below, not the apex itself.
func TestDNAMEAtApex(t *testing.T) {
	db := testStore(t, map[string]string{"example.net.": exampleNet, "example.com.": `@ SOA ns1.example.net. h.example.net. 1 2 3 4 5
@ NS ns1.example.net.
@ DNAME example.net.
@ A 192.0.2.5
`})
	runCases(t, db, []tcase{
		{name: "below the apex DNAME", qname: "www.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"example.com. 86400 IN DNAME example.net.", "www.example.com. 86400 IN CNAME www.example.net.", "www.example.net. 3600 IN A 198.51.100.80"}},
		{name: "the apex itself", qname: "example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"example.com. 86400 IN A 192.0.2.5"}},
	})
}

func TestZoneSelection(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg, "sub.example.org.": `@ SOA ns1.example.org. h.example.org. 1 2 3 4 5
@ NS ns1.example.org.
www A 192.0.2.201
`})
	runCases(t, db, []tcase{
		// The child zone, served here too, answers for its names.
		{name: "longest suffix wins", qname: "www.sub.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.sub.example.org. 86400 IN A 192.0.2.201"}},
		{name: "child apex NS from the child", qname: "sub.example.org.", qtype: dns.TypeNS, aa: true,
			answer: []string{"sub.example.org. 86400 IN NS ns1.example.org."}},
		{name: "RFC 4035 3.1.4.1 DS at a child apex from the parent", qname: "sub.example.org.", qtype: dns.TypeDS, aa: true,
			answer: []string{"sub.example.org. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
		{name: "DS at an apex whose parent is not ours", qname: "example.org.", qtype: dns.TypeDS, aa: true, ns: []string{soaOrg}},
	})
	// Delete the child: the parent's referral comes back.
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "sub.example.org.", Update: func(z *zonedb.Zone) error { z.Deleted = true; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	runCases(t, db, []tcase{
		{name: "deleted zone not served", qname: "www.sub.example.org.", qtype: dns.TypeA,
			ns:    []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."},
			extra: []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}},
	})
}

// TestDNAMETooLong: a DNAME substitution whose result would not fit in 255
// octets is answered YXDOMAIN with the DNAME (RFC 6672 section 2.2), not
// with a CNAME that cannot be packed. The bound is the wire length: the
// text form of a name is one octet shorter and spells some octets \DDD.
func TestDNAMETooLong(t *testing.T) {
	l63 := strings.Repeat("a", 63)
	// A target of 3*64 + 1+59 + 1 = 253 octets on the wire; "x." adds 2
	// (255: fits), "xy." adds 3 (256: does not).
	target := l63 + "." + l63 + "." + l63 + "." + strings.Repeat("b", 59) + "."
	// The same length with escaped octets: 253 on the wire, far longer
	// as text.
	escTarget := strings.Repeat("\\255", 63) + "." + l63 + "." + l63 + "." + strings.Repeat("b", 59) + "."
	db := testStore(t, map[string]string{"example.org.": `$TTL 3600
@ SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300
@ NS ns1.example.org.
ns1 A 192.0.2.53
d DNAME ` + target + `
e DNAME ` + escTarget + `
`})
	dname := "d.example.org. 3600 IN DNAME " + target
	edname := "e.example.org. 3600 IN DNAME " + escTarget
	runCases(t, db, []tcase{
		{name: "255 octets: synthesized", qname: "x.d.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{dname, "x.d.example.org. 3600 IN CNAME x." + target}},
		{name: "256 octets: YXDOMAIN", qname: "xy.d.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeYXDomain,
			answer: []string{dname}},
		{name: "far too long: YXDOMAIN", qname: l63 + ".d.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeYXDomain,
			answer: []string{dname}},
		{name: "escaped octets count once", qname: "x.e.example.org.", qtype: dns.TypeA, aa: true,
			answer: []string{edname, "x.e.example.org. 3600 IN CNAME x." + escTarget}},
		{name: "escaped target, 256 octets: YXDOMAIN", qname: "xy.e.example.org.", qtype: dns.TypeA, aa: true, rcode: dns.RcodeYXDomain,
			answer: []string{edname}},
	})
	// Every answer packs (dig's "bad packet: name too long" was the
	// symptom).
	e := NewEngine(Config{}, nil)
	for _, q := range []string{"x.d.example.org.", "xy.d.example.org.", "x.e.example.org.", "xy.e.example.org."} {
		if _, err := query(t, e, db, q, dns.TypeA).Pack(); err != nil {
			t.Errorf("%s: the answer does not pack: %v", q, err)
		}
	}
}

// TestUnsignedReferralNoDS: a referral from an unsigned zone carries no
// DS, even with DO set and a DS record at the cut (Knot and NSD agree: an
// unsigned DS proves nothing); a DS query still gets it as data.
func TestUnsignedReferralNoDS(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	ref := []string{"sub.example.org. 3600 IN NS ns.example.net.", "sub.example.org. 3600 IN NS ns1.sub.example.org."}
	glue := []string{"ns1.sub.example.org. 3600 IN A 192.0.2.200"}
	runCases(t, db, []tcase{
		{name: "referral with DO", qname: "www.sub.example.org.", qtype: dns.TypeA, do: true, ns: ref, extra: glue},
		{name: "referral without DO", qname: "www.sub.example.org.", qtype: dns.TypeA, ns: ref, extra: glue},
		{name: "DS query with DO", qname: "sub.example.org.", qtype: dns.TypeDS, do: true, aa: true,
			answer: []string{"sub.example.org. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
	})
}
