package zonedb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// checkZone parses zone text, one record per line, into records whose
// Pos.Line is the line number. A line starting with ";!DISABLE " gives a
// record flagged DISABLE. Empty lines count but give no record.
func checkZone(t testing.TB, text string) []Record {
	t.Helper()
	var out []Record
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var f Flags
		if s, ok := strings.CutPrefix(l, ";!DISABLE "); ok {
			l, f = s, FlagDisable
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		out = append(out, Record{RR: rr, Flags: f, Pos: Pos{File: "t", Line: i + 1}})
	}
	return out
}

// checkCodes lists problems as "line:severity:code".
func checkCodes(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%s:%s", p.Pos.Line, p.Severity, p.Code))
	}
	return out
}

// chkApex is the apex of example.org., on lines 1 and 2.
const chkApex = "example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 3600\n" +
	"example.org. 3600 IN NS ns1.example.net.\n"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		origin  string // default example.org.
		zone    string
		partial bool
		want    []string // line:severity:code in output order; nil means clean
	}{
		{name: "clean zone", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\nexample.org. 300 IN MX 10 mail.example.net.\n"},
		{name: "origin in another case and without the final dot", origin: "Example.ORG", zone: chkApex + "WWW.Example.Org. 300 IN A 192.0.2.1\n"},

		// RFC 1034 section 3.6.2: a CNAME has no other data beside it.
		{name: "RFC 1034 3.6.2 cname and other data", zone: chkApex + "www.example.org. 300 IN CNAME x.example.net.\nwww.example.org. 300 IN A 192.0.2.1\n",
			want: []string{"3:error:cname-and-other-data"}},
		{name: "RFC 1034 3.6.2 other data first, the CNAME is reported", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN CNAME x.example.net.\n",
			want: []string{"4:error:cname-and-other-data"}},
		{name: "cname and other data, names differ in case", zone: chkApex + "WWW.example.org. 300 IN CNAME x.example.net.\nwww.EXAMPLE.org. 300 IN TXT \"t\"\n",
			want: []string{"3:error:cname-and-other-data"}},
		{name: "cname and other data, escaped names", zone: chkApex + `\119ww.example.org. 300 IN CNAME x.example.net.` + "\nwww.example.org. 300 IN TXT \"t\"\n",
			want: []string{"3:error:cname-and-other-data"}},
		{name: "RFC 4035 2.5 cname with rrsig and nsec is fine", zone: chkApex + "www.example.org. 300 IN CNAME x.example.net.\n" +
			"www.example.org. 300 IN RRSIG CNAME 13 3 300 20261201000000 20261101000000 12345 example.org. AAAA\n" +
			"www.example.org. 300 IN NSEC z.example.org. CNAME RRSIG NSEC\n"},
		{name: "cname beside a DISABLEd record is fine", zone: chkApex + "www.example.org. 300 IN CNAME x.example.net.\n;!DISABLE www.example.org. 300 IN A 192.0.2.1\n"},
		{name: "DISABLEd cname beside data is fine", zone: chkApex + ";!DISABLE www.example.org. 300 IN CNAME x.example.net.\nwww.example.org. 300 IN A 192.0.2.1\n"},
		{name: "cname and dname at one name", zone: chkApex + "old.example.org. 300 IN CNAME x.example.net.\nold.example.org. 300 IN DNAME example.net.\n",
			want: []string{"3:error:cname-and-other-data"}},
		{name: "RFC 2181 10.1 two cnames", zone: chkApex + "www.example.org. 300 IN CNAME a.example.net.\nwww.example.org. 300 IN CNAME b.example.net.\n",
			want: []string{"4:error:multiple-cname"}},
		{name: "cname at apex, one message", zone: chkApex + "example.org. 300 IN CNAME a.example.net.\n",
			want: []string{"3:error:cname-at-apex"}},
		{name: "RFC 6672 2.4 two dnames", zone: chkApex + "old.example.org. 300 IN DNAME a.example.net.\nold.example.org. 300 IN DNAME b.example.net.\n",
			want: []string{"4:error:multiple-dname"}},

		// Targets that are addresses.
		{name: "ns target is an address", zone: chkApex + "sub.example.org. 300 IN NS 192.0.2.1.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "ns target is an ipv6 address", zone: chkApex + "sub.example.org. 300 IN NS 2001:db8::53\n",
			want: []string{"3:error:target-is-address"}},
		{name: "mx target is an address", zone: chkApex + "example.org. 300 IN MX 10 192.0.2.1.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "mx target is an address with the origin appended", zone: chkApex + "example.org. 300 IN MX 10 192.0.2.1.Example.org.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "ns target is an ipv6 address with the origin appended, no glue warning", zone: chkApex + "sub.example.org. 300 IN NS 2001:db8::53.example.org.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "srv target is an address", zone: chkApex + "_sip._tcp.example.org. 300 IN SRV 0 0 5060 2001:db8::1.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "cname target is an address", zone: chkApex + "www.example.org. 300 IN CNAME 192.0.2.1.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "dname target is an address", zone: chkApex + "old.example.org. 300 IN DNAME 192.0.2.1.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "ptr target is an address with the origin appended", origin: "2.0.192.in-addr.arpa.",
			zone: "2.0.192.in-addr.arpa. 3600 IN SOA ns1.example.net. h.example.net. 1 2 3 4 5\n2.0.192.in-addr.arpa. 3600 IN NS ns1.example.net.\n" +
				"1.2.0.192.in-addr.arpa. 300 IN PTR 192.0.2.1.2.0.192.in-addr.arpa.\n",
			want: []string{"3:error:target-is-address"}},
		{name: "numeric labels that are a name", zone: chkApex + "example.org. 300 IN MX 10 1.example.net.\nexample.org. 300 IN MX 20 192.0.2.1.static.example.org.\n" +
			"example.org. 300 IN MX 30 192.0.2.1.example.net.\nexample.org. 300 IN MX 40 1.2.3.example.org.\n" +
			"example.org. 300 IN MX 50 192.0.2.256.example.org.\n"},
		{name: "null MX and SRV targets", zone: chkApex + "example.org. 300 IN MX 0 .\n_x._tcp.example.org. 300 IN SRV 0 0 0 .\n"},
		{name: "ip6.arpa nibbles are not an IPv4 address", origin: "8.b.d.0.1.0.0.2.ip6.arpa.",
			zone: "8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN SOA ns1.example.net. h.example.net. 1 2 3 4 5\n8.b.d.0.1.0.0.2.ip6.arpa. 3600 IN NS ns1.example.net.\n" +
				"2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN CNAME 1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.\n"},

		// RFC 1035 section 5.2: one SOA, at the apex, and NS there.
		{name: "no soa", zone: "example.org. 3600 IN NS ns1.example.net.\n",
			want: []string{"0:error:no-soa"}},
		{name: "only soa is disabled", zone: ";!DISABLE " + chkApex,
			want: []string{"0:error:no-soa"}},
		{name: "two soas", zone: chkApex + "example.org. 3600 IN SOA ns2.example.net. h.example.org. 2 2 3 4 5\n",
			want: []string{"3:error:multiple-soa"}},
		{name: "soa below apex", zone: chkApex + "sub.example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n",
			want: []string{"3:error:soa-not-apex"}},
		{name: "no apex ns", zone: "example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n",
			want: []string{"0:error:no-apex-ns"}},
		{name: "ns only below the apex", zone: "example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\nsub.example.org. 300 IN NS ns.example.net.\n",
			want: []string{"0:error:no-apex-ns"}},
		{name: "empty zone", zone: "", want: []string{"0:error:no-soa", "0:error:no-apex-ns"}},
		{name: "partial still needs the apex", zone: "www.example.org. 300 IN A 192.0.2.1\n", partial: true,
			want: []string{"0:error:no-soa", "0:error:no-apex-ns"}},

		{name: "outside the zone", zone: chkApex + "www.example.net. 300 IN A 192.0.2.1\nexample.org.example.net. 300 IN A 192.0.2.1\nnotexample.org. 300 IN A 192.0.2.1\n",
			want: []string{"3:error:outside-zone", "4:error:outside-zone", "5:error:outside-zone"}},
		{name: "escaped dot is not a label boundary", zone: chkApex + `www\.example.org. 300 IN A 192.0.2.1` + "\n",
			want: []string{"3:error:outside-zone"}},

		// RFC 2181 section 8.
		{name: "RFC 2181 8 ttl too large", zone: chkApex + "www.example.org. 2147483648 IN A 192.0.2.1\n",
			want: []string{"3:error:ttl-too-large"}},
		{name: "RFC 2181 8 ttl at the limit", zone: chkApex + "www.example.org. 2147483647 IN A 192.0.2.1\n"},

		// RFC 6672 section 2.3.
		{name: "RFC 6672 2.3 data below dname", zone: chkApex + "old.example.org. 300 IN DNAME example.net.\nx.old.example.org. 300 IN A 192.0.2.1\nb.a.old.example.org. 300 IN TXT \"t\"\n",
			want: []string{"4:error:data-below-dname", "5:error:data-below-dname"}},
		{name: "RFC 6672 2.3 data below an apex dname", zone: chkApex + "example.org. 300 IN DNAME example.net.\nwww.example.org. 300 IN A 192.0.2.1\n",
			want: []string{"4:error:data-below-dname"}},
		{name: "RFC 6672 data beside a dname is fine", zone: chkApex + "old.example.org. 300 IN DNAME example.net.\nold.example.org. 300 IN TXT \"t\"\nold2.example.org. 300 IN A 192.0.2.1\n"},
		{name: "RFC 6672 data beside an apex dname is fine", zone: chkApex + "example.org. 300 IN DNAME example.net.\nexample.org. 300 IN A 192.0.2.1\n"},
		{name: "data below dname also when partial", zone: chkApex + "old.example.org. 300 IN DNAME example.net.\nx.old.example.org. 300 IN A 192.0.2.1\n", partial: true,
			want: []string{"4:error:data-below-dname"}},
		{name: "below a disabled dname is fine", zone: chkApex + ";!DISABLE old.example.org. 300 IN DNAME example.net.\nx.old.example.org. 300 IN A 192.0.2.1\n"},

		// RFC 1034 section 4.2.1: below a cut only glue; at the cut NS, DS, glue.
		{name: "data below delegation", zone: chkApex + "sub.example.org. 300 IN NS ns.example.net.\nx.sub.example.org. 300 IN TXT \"hidden\"\nx.sub.example.org. 300 IN TXT \"also\"\nx.sub.example.org. 300 IN MX 1 m.example.net.\n",
			want: []string{"4:warning:data-below-delegation", "6:warning:data-below-delegation"}},
		{name: "data at delegation", zone: chkApex + "sub.example.org. 300 IN NS ns.example.net.\nsub.example.org. 300 IN TXT \"hidden\"\nsub.example.org. 300 IN DS 12345 13 2 " + strings.Repeat("ab", 32) + "\n",
			want: []string{"4:warning:data-below-delegation"}},
		{name: "nested delegation is below the outer cut", zone: chkApex + "sub.example.org. 300 IN NS ns.example.net.\nx.sub.example.org. 300 IN NS ns.example.net.\n",
			want: []string{"4:warning:data-below-delegation"}},
		{name: "glue below and at delegation is fine", zone: chkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\nsub.example.org. 300 IN NS sub.example.org.\n" +
			"ns.sub.example.org. 300 IN A 192.0.2.1\nns.sub.example.org. 300 IN AAAA 2001:db8::1\nsub.example.org. 300 IN A 192.0.2.2\n"},
		{name: "data below delegation skipped when partial", zone: chkApex + "sub.example.org. 300 IN NS ns.example.net.\nx.sub.example.org. 300 IN TXT \"hidden\"\n", partial: true},

		// Glue.
		{name: "missing glue, once per target", zone: chkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\nsub.example.org. 300 IN NS ns2.sub.example.org.\nother.example.org. 300 IN NS ns.sub.example.org.\n",
			want: []string{"3:warning:missing-glue", "4:warning:missing-glue"}},
		{name: "apex ns inside the zone without address", zone: chkApex + "example.org. 3600 IN NS ns2.example.org.\nns2.example.org. 300 IN TXT \"no address\"\n",
			want: []string{"3:warning:missing-glue"}},
		{name: "RFC 2181 10.3 ns target is a cname", zone: chkApex + "example.org. 3600 IN NS ns2.example.org.\nns2.example.org. 300 IN CNAME ns1.example.net.\n",
			want: []string{"3:warning:missing-glue"}},
		{name: "glue only disabled", zone: chkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\n;!DISABLE ns.sub.example.org. 300 IN A 192.0.2.1\n",
			want: []string{"3:warning:missing-glue"}},
		{name: "glue with name in another case", zone: chkApex + "sub.example.org. 300 IN NS NS.Sub.example.org.\nns.sub.EXAMPLE.org. 300 IN AAAA 2001:db8::1\n"},
		{name: "out-of-zone ns needs no glue", zone: chkApex + "sub.example.org. 300 IN NS ns.example.net.\n"},
		{name: "missing glue skipped when partial", zone: chkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\n", partial: true},

		// RFC 2181 section 5.
		{name: "RFC 2181 5.2 ttl mismatch", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 600 IN A 192.0.2.2\nwww.example.org. 300 IN A 192.0.2.3\n",
			want: []string{"3:warning:ttl-mismatch"}},
		{name: "same ttl in different rrsets", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 600 IN AAAA 2001:db8::1\n"},
		{name: "RFC 2181 5 duplicate", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN A 192.0.2.2\nWWW.example.org. 300 IN A 192.0.2.1\n",
			want: []string{"5:warning:duplicate-rr"}},
		{name: "duplicate in a large rrset", zone: chkApex + func() string {
			var b strings.Builder
			for i := range 40 {
				fmt.Fprintf(&b, "www.example.org. 300 IN A 192.0.2.%d\n", i)
			}
			return b.String() + "www.example.org. 300 IN A 192.0.2.7\nwww.example.org. 300 IN A 192.0.2.7\n"
		}(), want: []string{"43:warning:duplicate-rr", "44:warning:duplicate-rr"}},
		{name: "names in rdata differing in case", zone: chkApex + "example.org. 300 IN MX 10 Mail.example.net.\nexample.org. 300 IN MX 10 mail.example.net.\n",
			want: []string{"4:warning:duplicate-rr"}},
		{name: "same target, other preference, is no duplicate", zone: chkApex + "example.org. 300 IN MX 10 mail.example.net.\nexample.org. 300 IN MX 20 mail.example.net.\n"},
		{name: "duplicate with one disabled", zone: chkApex + "www.example.org. 300 IN A 192.0.2.1\n;!DISABLE www.example.org. 300 IN A 192.0.2.1\n",
			want: []string{"4:warning:duplicate-rr"}},
		{name: "texts differing in case are no duplicates", zone: chkApex + "www.example.org. 300 IN TXT \"a\"\nwww.example.org. 300 IN TXT \"A\"\n"},

		{name: "every problem, in line order", zone: chkApex + "www.example.org. 300 IN CNAME a.example.net.\nwww.example.org. 300 IN A 192.0.2.1\n" +
			"example.org. 300 IN MX 10 192.0.2.1.\nwww.example.net. 99 IN A 192.0.2.1\nsub.example.org. 300 IN NS ns.sub.example.org.\n",
			want: []string{"3:error:cname-and-other-data", "5:error:target-is-address", "6:error:outside-zone", "7:warning:missing-glue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.origin
			if origin == "" {
				origin = "example.org."
			}
			ps := Check(origin, checkZone(t, tc.zone), CheckOptions{Partial: tc.partial})
			if got := checkCodes(ps); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q\ninput:\n%s\nproblems:\n%s", got, tc.want, tc.zone, ps.Error())
			}
			for _, p := range ps {
				if p.Message == "" || p.Name == "" || p.Type == "" && p.Code != CodeDataBelowDNAME {
					t.Errorf("problem without message, name or type: %+v", p)
				}
				if want, ok := codeSeverity[p.Code]; !ok || p.Severity != want {
					t.Errorf("%s has severity %s, want %s", p.Code, p.Severity, want)
				}
			}
		})
	}
}

var codeSeverity = map[string]Severity{
	CodeCNAMEAndOtherData: SevError, CodeMultipleCNAME: SevError, CodeCNAMEAtApex: SevError, CodeMultipleDNAME: SevError,
	CodeTargetIsAddress: SevError, CodeNoSOA: SevError, CodeMultipleSOA: SevError, CodeSOANotApex: SevError,
	CodeNoApexNS: SevError, CodeOutsideZone: SevError, CodeTTLTooLarge: SevError, CodeDataBelowDNAME: SevError,
	CodeDataBelowDelegation: SevWarning, CodeMissingGlue: SevWarning, CodeTTLMismatch: SevWarning, CodeDuplicateRR: SevWarning,
	CodeMissingFinalDot: SevWarning,
}

// TestCheckMessages pins what the admin reads: the place, the record, what
// is wrong and what to do.
func TestCheckMessages(t *testing.T) {
	for _, tc := range []struct {
		zone string
		want string
	}{
		{chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN CNAME x.example.net.\n",
			"t:4: error: www.example.org. CNAME: a CNAME cannot share its name with other data (here A; RFC 1034 section 3.6.2); remove the CNAME or the other records"},
		{chkApex + "example.org. 300 IN MX 10 192.0.2.1.example.org.\n",
			"t:3: error: example.org. MX: the MX target 192.0.2.1.example.org. looks like the address 192.0.2.1 with the zone name appended (was the final dot missing?), and an address is not a valid MX target; use the name of a host that has this address in its A record"},
		{chkApex + "www.example.org. 300 IN CNAME 2001:db8::1.\n",
			"t:3: error: www.example.org. CNAME: the CNAME target 2001:db8::1. is an IP address, but it must be a domain name; to give www.example.org. this address, replace the CNAME with an AAAA record"},
		{chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 600 IN A 192.0.2.2\n",
			"t:3: warning: www.example.org. A: the records of this RRset have different TTLs, but an RRset has one (RFC 2181 section 5.2); all will get the lowest, 300; give them all the same TTL"},
		{chkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\n",
			"t:3: warning: sub.example.org. NS: the nameserver ns.sub.example.org. is inside the zone but has no A or AAAA record; add its address (glue)"},
		{chkApex + "old.example.org. 300 IN DNAME example.net.\nx.old.example.org. 300 IN A 192.0.2.1\n",
			"t:4: error: x.old.example.org.: x.old.example.org. is below the DNAME at old.example.org., so queries for it are redirected and this data is never answered (RFC 6672 section 2.3); remove it or the DNAME"},
		{"example.org. 3600 IN NS ns1.example.net.\n",
			"error: example.org. SOA: the zone has no SOA record at its apex example.org.; add one"},
		{chkApex + "example.org. 300 IN MX 10 Mail.example.net.\nexample.org. 300 IN MX 10 mail.example.net.\n",
			"t:4: warning: example.org. MX: the record appears more than once, differing only in the case of a name; both copies are stored and served, so remove one"},
		{chkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN A 192.0.2.1\n",
			"t:4: warning: www.example.org. A: the same record appears more than once; it is stored once, so remove the copy"},
		{chkApex + "example.org. 300 IN MX 10 mailhost.example.org.example.org.\n",
			"t:3: warning: example.org. MX: the MX target mailhost.example.org.example.org. does not exist in the zone; it looks like mailhost.example.org written without its final dot, so the zone name was appended; did you mean mailhost.example.org. (with a trailing dot)?"},
	} {
		ps := Check("example.org.", checkZone(t, tc.zone), CheckOptions{})
		if len(ps) != 1 || ps[0].String() != tc.want {
			t.Errorf("input:\n%sgot:\n%s\nwant:\n%s", tc.zone, ps.Error(), tc.want)
		}
	}
}

// TestCheckOrder: problems come sorted by line, then name, whatever the
// order of the records; records not from text (line 0) come first.
func TestCheckOrder(t *testing.T) {
	recs := checkZone(t, chkApex+"b.example.org. 300 IN CNAME 192.0.2.1.\na.example.org. 300 IN MX 1 192.0.2.1.\n")
	slices.Reverse(recs)
	for i := range recs {
		if recs[i].RR.Header().Name == "a.example.org." {
			recs[i].Pos = Pos{} // from the store
		}
	}
	recs = append(recs, checkZone(t, "c.example.org. 300 IN CNAME 192.0.2.1.\n")...) // line 1 too
	ps := Check("example.org.", recs, CheckOptions{})
	want := []string{"0:error:target-is-address", "1:error:target-is-address", "3:error:target-is-address"}
	if got := checkCodes(ps); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if ps[0].Name != "a.example.org." || ps[1].Name != "c.example.org." || ps[2].Name != "b.example.org." {
		t.Errorf("order by line and name:\n%s", ps.Error())
	}
}

// TestCheckNilRR: a record without an RR is skipped, not a panic.
func TestCheckNilRR(t *testing.T) {
	recs := append(checkZone(t, chkApex), Record{})
	if ps := Check("example.org.", recs, CheckOptions{}); len(ps) != 0 {
		t.Errorf("got %s", ps.Error())
	}
}

// checkBenchZone makes a clean zone of about n records: per 10 records an
// A, AAAA and TXT host, a two-address RRset, an MX pair, a CNAME, and a
// delegation with in-zone glue.
func checkBenchZone(t testing.TB, n int) []Record {
	t.Helper()
	out := checkZone(t, chkApex+"example.org. 3600 IN NS ns2.example.org.\nns2.example.org. 3600 IN A 192.0.2.53\n")
	hdr := func(name string, rrtype uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: 300}
	}
	for i := 0; len(out) < n; i++ {
		h := fmt.Sprintf("h%d.example.org.", i)
		w := fmt.Sprintf("w%d.example.org.", i)
		sub := fmt.Sprintf("sub%d.example.org.", i)
		ns := "ns." + sub
		ip := []byte{192, 0, 2, byte(i)}
		for _, rr := range []dns.RR{
			&dns.A{Hdr: hdr(h, dns.TypeA), A: ip},
			&dns.AAAA{Hdr: hdr(h, dns.TypeAAAA), AAAA: []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}},
			&dns.TXT{Hdr: hdr(h, dns.TypeTXT), Txt: []string{"v=spf1 -all"}},
			&dns.A{Hdr: hdr(w, dns.TypeA), A: []byte{198, 51, 100, 1}},
			&dns.A{Hdr: hdr(w, dns.TypeA), A: []byte{198, 51, 100, 2}},
			&dns.MX{Hdr: hdr(w, dns.TypeMX), Preference: 10, Mx: h},
			&dns.MX{Hdr: hdr(w, dns.TypeMX), Preference: 20, Mx: "mx.example.net."},
			&dns.CNAME{Hdr: hdr("www."+h, dns.TypeCNAME), Target: h},
			&dns.NS{Hdr: hdr(sub, dns.TypeNS), Ns: ns},
			&dns.A{Hdr: hdr(ns, dns.TypeA), A: ip},
		} {
			out = append(out, Record{RR: rr})
		}
	}
	return out
}

// BenchmarkCheck is the whole-zone check of a 100 000-record zone.
func BenchmarkCheck(b *testing.B) { benchmarkCheck(b, 100_000) }

// BenchmarkCheckMillion: a million records should take well under a
// second (DESIGN.md, "Scale": 10 million+ records per store).
func BenchmarkCheckMillion(b *testing.B) { benchmarkCheck(b, 1_000_000) }

func benchmarkCheck(b *testing.B, n int) {
	zone := checkBenchZone(b, n)
	if ps := Check("example.org.", zone, CheckOptions{}); len(ps) != 0 {
		b.Fatalf("%d problems, first: %s", len(ps), ps[0])
	}
	b.ReportAllocs()
	for b.Loop() {
		Check("example.org.", zone, CheckOptions{})
	}
}

// TestCheckMissingFinalDot: a target written without its final dot, so that
// the zone's name was appended (the slides' "top ten" error 4), is a
// warning for every RDATA field that names a host or domain to look up; a
// target that exists, or is answered by a child zone or a DNAME, or shows
// no sign of having been meant as an absolute name, is not.
func TestCheckMissingFinalDot(t *testing.T) {
	const apex = "example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org. 1 7200 3600 1209600 3600\n" +
		"example.org. 3600 IN NS ns1.example.net.\n"
	const rev = "2.0.192.in-addr.arpa. 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600\n" +
		"2.0.192.in-addr.arpa. 3600 IN NS ns1.example.net.\n"
	warn := []string{"3:warning:missing-final-dot"}
	for _, tc := range []struct {
		name, origin, zone string
		want               []string
	}{
		// The zone's own name appended to a name that already had it.
		{"MX", "", apex + "example.org. 300 IN MX 10 mailhost.example.org.example.org.\n", warn},
		{"CNAME", "", apex + "www.example.org. 300 IN CNAME web.example.org.example.org.\n", warn},
		{"SRV", "", apex + "_sip._tcp.example.org. 300 IN SRV 0 0 5060 sip.example.org.example.org.\n", warn},
		{"DNAME", "", apex + "old.example.org. 300 IN DNAME new.example.org.example.org.\n", warn},
		{"NS of a delegation: the dot, not the glue, is missing", "", apex + "sub.example.org. 300 IN NS ns.example.org.example.org.\n", warn},
		{"NS at the apex", "", apex + "example.org. 3600 IN NS ns2.example.org.example.org.\n", warn},
		{"SOA MNAME", "", "example.org. 3600 IN SOA ns1.example.org.example.org. hostmaster.example.org. 1 7200 3600 1209600 3600\n" +
			"example.org. 3600 IN NS ns1.example.net.\n", []string{"1:warning:missing-final-dot"}},
		{"AFSDB", "", apex + "example.org. 300 IN AFSDB 1 afs.example.org.example.org.\n", warn},
		{"KX", "", apex + "example.org. 300 IN KX 10 kx.example.org.example.org.\n", warn},
		{"RT", "", apex + "example.org. 300 IN RT 10 rt.example.org.example.org.\n", warn},
		{"NAPTR replacement", "", apex + `example.org. 300 IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.org.example.org.` + "\n", warn},
		{"HTTPS target", "", apex + "example.org. 300 IN HTTPS 1 cdn.example.org.example.org. alpn=h2\n", warn},
		{"SVCB target", "", apex + "_dns.example.org. 300 IN SVCB 1 dns.example.org.example.org. alpn=dot\n", warn},
		{"LP", "", apex + "example.org. 300 IN LP 10 l64.example.org.example.org.\n", warn},
		{"RP TXT name", "", apex + "example.org. 300 IN RP hostmaster.example.org. info.example.org.example.org.\n", warn},
		{"MB", "", apex + "example.org. 300 IN MB mail.example.org.example.org.\n", warn},
		// Other signs of a name meant as absolute.
		{"another domain's name (a top-level domain)", "", apex + "www.example.org. 300 IN CNAME web.example.net.example.org.\n", warn},
		{"a country-code top-level domain", "", apex + "example.org. 300 IN MX 10 mx.example.nz.example.org.\n", warn},
		{"the parent's name in a child zone", "sub.example.org.", "sub.example.org. 3600 IN SOA ns1.example.net. h.example.net. 1 2 3 4 5\n" +
			"sub.example.org. 3600 IN NS ns1.example.net.\nwww.sub.example.org. 300 IN CNAME www.example.org.sub.example.org.\n", warn},
		{"a zone under a private name", "corp.internal.", "corp.internal. 3600 IN SOA ns1.example.net. h.example.net. 1 2 3 4 5\n" +
			"corp.internal. 3600 IN NS ns1.example.net.\nx.corp.internal. 300 IN CNAME host.internal.corp.internal.\n", warn},
		{"PTR in a reverse zone", "2.0.192.in-addr.arpa.", rev + "1.2.0.192.in-addr.arpa. 300 IN PTR host.example.com.2.0.192.in-addr.arpa.\n", warn},
		{"a warning per record", "", apex + "example.org. 300 IN MX 10 a.example.org.example.org.\nexample.org. 300 IN MX 20 b.example.org.example.org.\n",
			[]string{"3:warning:missing-final-dot", "4:warning:missing-final-dot"}},

		// Names that were meant.
		{"the target exists", "", apex + "example.org. 300 IN MX 10 mailhost.example.org.example.org.\nmailhost.example.org.example.org. 300 IN A 192.0.2.1\n", nil},
		{"the target exists, disabled", "", apex + "example.org. 300 IN MX 10 mailhost.example.org.example.org.\n;!DISABLE mailhost.example.org.example.org. 300 IN A 192.0.2.1\n", nil},
		{"below a delegation", "", apex + "example.com.example.org. 300 IN NS ns1.example.net.\nwww.example.org. 300 IN CNAME web.example.com.example.org.\n", nil},
		{"at a delegation", "", apex + "example.com.example.org. 300 IN NS ns1.example.net.\nwww.example.org. 300 IN CNAME example.com.example.org.\n", nil},
		{"below a DNAME", "", apex + "net.example.org. 300 IN DNAME example.net.\nwww.example.org. 300 IN CNAME web.example.net.example.org.\n", nil},
		{"RFC 2317 CNAME into a delegated child", "2.0.192.in-addr.arpa.", rev + "64/29.2.0.192.in-addr.arpa. 300 IN NS ns.example.com.\n" +
			"65.2.0.192.in-addr.arpa. 300 IN CNAME 65.64/29.2.0.192.in-addr.arpa.\n", nil},
		{"one label, as intended", "", apex + "example.org. 300 IN MX 10 mail.example.org.\n", nil},
		{"no sign of an absolute name", "", apex + "www.example.org. 300 IN CNAME web.lab.example.org.\n", nil},
		{"outside the zone", "", apex + "example.org. 300 IN MX 10 mail.example.net.\n", nil},
		{"the apex", "", apex + "www.example.org. 300 IN CNAME example.org.\n", nil},
		{"a mailbox (SOA RNAME) is not a target", "", "example.org. 3600 IN SOA ns1.example.net. hostmaster.example.org.example.org. 1 2 3 4 5\n" +
			"example.org. 3600 IN NS ns1.example.net.\n", nil},
		{"the root zone", ".", ". 3600 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 2 3 4 5\n. 3600 IN NS a.root-servers.net.\n" +
			"example.com. 300 IN NS ns.example.com.org.\n", []string{"2:warning:missing-glue", "3:warning:missing-glue"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := cmpOrStr(tc.origin, "example.org.")
			ps := Check(origin, checkZone(t, tc.zone), CheckOptions{})
			if got := checkCodes(ps); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q\ninput:\n%s\nproblems:\n%s", got, tc.want, tc.zone, ps.Error())
			}
		})
	}
}

func cmpOrStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestMissingFinalDotOnCommit: the warning reaches the committer of a
// record op too, the commit lands, and the store answers whether the
// target exists: records stored before or added in the same commit, or a
// stored delegation above it, mean no warning; a stored record is not
// warned about again by a later commit that does not touch its RRset.
func TestMissingFinalDotOnCommit(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", append(slices.Clone(baseZone),
		"mx.example.org.example.org. 300 IN A 192.0.2.9", "example.com.example.org. 300 IN NS ns1.example.net."))
	add := func(lines ...string) Problems {
		t.Helper()
		var ops []RecordOp
		for _, r := range recs(t, lines...) {
			ops = append(ops, RecordOp{Kind: OpAdd, Record: r})
		}
		res, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org.", Ops: ops}}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].ZI == 0 {
			t.Errorf("%q: not committed", lines)
		}
		return res[0].Warnings
	}
	w := add("example.org. 300 IN MX 10 mailhost.example.org.example.org.")
	if len(w) != 1 || w[0].Code != CodeMissingFinalDot || !strings.Contains(w[0].Message, "did you mean mailhost.example.org. (with a trailing dot)?") {
		t.Errorf("warnings %v", w)
	}
	for _, lines := range [][]string{
		{"example.org. 300 IN TXT \"unrelated\""},
		{"shop.example.org. 300 IN MX 20 mx.example.org.example.org."},
		{"www2.example.org. 300 IN CNAME web.example.org.example.org.", "web.example.org.example.org. 300 IN A 192.0.2.10"},
		{"www3.example.org. 300 IN CNAME www.example.com.example.org."},
	} {
		if w := add(lines...); len(w) != 0 {
			t.Errorf("%q: warnings %v", lines, w)
		}
	}
}
