package zonedb

import (
	"slices"
	"strings"
	"testing"
)

const checkApex = "example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\nexample.org. 3600 IN NS ns1.example.net.\n"

func codes(ps Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Severity.String()+":"+p.Code)
	}
	return out
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		zone    string
		partial bool
		want    []string // severity:code, in order; nil means none
	}{
		{"clean", checkApex + "www.example.org. 300 IN A 192.0.2.1\n", false, nil},
		{"cname and other data", checkApex + "www.example.org. 300 IN CNAME x.example.net.\nwww.example.org. 300 IN A 192.0.2.1\n", false, []string{"error:cname-and-other-data"}},
		{"cname with rrsig is fine", checkApex + "www.example.org. 300 IN CNAME x.example.net.\nwww.example.org. 300 IN RRSIG CNAME 13 3 300 20261201000000 20261101000000 12345 example.org. AAAA\n", false, nil},
		{"two cnames", checkApex + "www.example.org. 300 IN CNAME a.example.net.\nwww.example.org. 300 IN CNAME b.example.net.\n", false, []string{"error:multiple-cname"}},
		{"cname at apex", checkApex + "example.org. 300 IN CNAME a.example.net.\n", false, []string{"error:cname-at-apex"}},
		{"ns target is an address", checkApex + "sub.example.org. 300 IN NS 192.0.2.1.\n", false, []string{"error:target-is-address"}},
		{"mx target is an address with origin", checkApex + "example.org. 300 IN MX 10 192.0.2.1.example.org.\n", false, []string{"error:target-is-address"}},
		{"srv target is an ipv6 address", checkApex + "_x._tcp.example.org. 300 IN SRV 0 0 1 2001:db8::1.\n", false, []string{"error:target-is-address"}},
		{"mx target looks numeric but is a name", checkApex + "example.org. 300 IN MX 10 1.example.net.\n", false, nil},
		{"no soa", "example.org. 3600 IN NS ns1.example.net.\n", false, []string{"error:no-soa"}},
		{"two soas", checkApex + "example.org. 3600 IN SOA ns2.example.net. h.example.org. 2 2 3 4 5\n", false, []string{"error:multiple-soa"}},
		{"soa below apex", checkApex + "sub.example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n", false, []string{"error:soa-not-apex"}},
		{"no apex ns", "example.org. 3600 IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n", false, []string{"error:no-apex-ns"}},
		{"outside", checkApex + "www.example.net. 300 IN A 192.0.2.1\n", false, []string{"error:outside-zone"}},
		{"ttl too large", checkApex + "www.example.org. 2147483648 IN A 192.0.2.1\n", false, []string{"error:ttl-too-large"}},
		{"ttl at the limit", checkApex + "www.example.org. 2147483647 IN A 192.0.2.1\n", false, nil},
		{"data below dname", checkApex + "old.example.org. 300 IN DNAME example.net.\nx.old.example.org. 300 IN A 192.0.2.1\n", false, []string{"error:data-below-dname"}},
		{"data below delegation", checkApex + "sub.example.org. 300 IN NS ns.example.net.\nx.sub.example.org. 300 IN TXT \"hidden\"\n", false, []string{"warning:data-below-delegation"}},
		{"glue below delegation is fine", checkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\nns.sub.example.org. 300 IN A 192.0.2.1\n", false, nil},
		{"missing glue", checkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\n", false, []string{"warning:missing-glue"}},
		{"missing glue skipped when partial", checkApex + "sub.example.org. 300 IN NS ns.sub.example.org.\n", true, nil},
		{"ttl mismatch", checkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 600 IN A 192.0.2.2\n", false, []string{"warning:ttl-mismatch"}},
		{"duplicate", checkApex + "www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN A 192.0.2.1\n", false, []string{"warning:duplicate-rr"}},
		{"all at once, in line order", checkApex + "www.example.org. 300 IN CNAME a.example.net.\nwww.example.org. 300 IN A 192.0.2.1\nexample.org. 300 IN MX 10 192.0.2.1.\n", false,
			[]string{"error:cname-and-other-data", "error:target-is-address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := strings.Split(strings.TrimSpace(tc.zone), "\n")
			ps := Check("Example.ORG", recs(t, lines...), CheckOptions{Partial: tc.partial})
			if got := codes(ps); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v\n%s", got, tc.want, ps.Error())
			}
			for _, p := range ps {
				if p.Message == "" || p.Name == "" {
					t.Errorf("problem without message or name: %+v", p)
				}
			}
		})
	}
}

func TestCheckPositions(t *testing.T) {
	ps := Check("example.org.", recs(t, strings.Split(strings.TrimSpace(checkApex+"www.example.org. 300 IN A 192.0.2.1\nwww.example.org. 300 IN CNAME x.example.net.\n"), "\n")...), CheckOptions{})
	if len(ps) != 1 || ps[0].Pos.Line != 4 || !strings.HasPrefix(ps[0].String(), "t:4: error: www.example.org. CNAME:") {
		t.Errorf("got %q", ps.Error())
	}
}

func BenchmarkCheck(b *testing.B) {
	zone := bigZone(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		if ps := Check("example.org.", zone, CheckOptions{}); ps.HasErrors() {
			b.Fatal(ps)
		}
	}
}
