package admin

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"dmsdns.org/dms/zonedb"
)

func TestReverseZoneName(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"192.0.2.0/24", "2.0.192.in-addr.arpa.", ""},
		{"10.0.0.0/8", "10.in-addr.arpa.", ""},
		{"172.16.0.0/16", "16.172.in-addr.arpa.", ""},
		{"192.0.2.7/32", "7.2.0.192.in-addr.arpa.", ""},
		{"0.0.0.0/0", "in-addr.arpa.", ""},
		{"2001:db8::/32", "8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"2001:db8:1:200::/56", "2.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"2001:db8:1:2::/56", "0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""}, // the /56 holding the address
		{"2001:db8:1:20::/60", "2.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", ""},
		{"::ffff:192.0.2.0/120", "2.0.192.in-addr.arpa.", ""},
		{"192.0.2.0/26", "", "create the enclosing 192.0.2.0/24 (2.0.192.in-addr.arpa.), or an RFC 2317 classless zone such as 0-63.2.0.192.in-addr.arpa. with CNAMEs to it in 2.0.192.in-addr.arpa."},
		{"192.0.2.64/26", "", "64-127.2.0.192.in-addr.arpa."},
		{"10.16.0.0/12", "", "create the enclosing 10.0.0.0/8 (10.in-addr.arpa.), or the 16 zones of its /16 networks"},
		{"2001:db8::/50", "", "not on a nibble boundary, which reverse zones follow: create the enclosing 2001:db8::/48 (0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.), or the 4 zones of its /52 networks"},
		{"192.0.2.5/24", "2.0.192.in-addr.arpa.", ""},
	} {
		got, err := ReverseZoneName(netip.MustParsePrefix(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage) {
				t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestReverseZonesByNetworkAndAddress(t *testing.T) {
	s, c := newTestService(t)
	ctx := context.Background()
	configure(t, s, c)
	for _, n := range []string{"2001:db8:1::/48", "2001:db8:1:200::/56", "192.0.2.0/24", "0-63.2.0.192.in-addr.arpa", "198.51.100.0/24"} {
		if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: n}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
	if _, err := s.ZoneDelete(ctx, c, ZoneRequest{Name: "198.51.100.0/24"}); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{
		"2001:db8:1:2ff::1":  "2.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", // the /56, not the /48
		"2001:db8:1:300::1":  "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"2001:db8:1:2::1":    "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
		"192.0.2.10":         "0-63.2.0.192.in-addr.arpa.", // RFC 2317 classless
		"192.0.2.200":        "2.0.192.in-addr.arpa.",
		"::ffff:192.0.2.201": "2.0.192.in-addr.arpa.",
	} {
		info, err := s.ZoneInfo(ctx, c, ZoneRequest{Name: addr})
		if err != nil || info.Name != want {
			t.Errorf("zone for %s: %v, %v; want %s", addr, info, err, want)
		}
	}
	// Deleted zones cover nothing; an uncovered address says what to do.
	for _, addr := range []string{"198.51.100.1", "2001:db9::1"} {
		_, err := s.ZoneInfo(ctx, c, ZoneRequest{Name: addr})
		if !errors.Is(err, zonedb.ErrZoneNotFound) || !strings.Contains(err.Error(), "no reverse zone covers") {
			t.Errorf("%s: %v", addr, err)
		}
	}
	// An address names no zone to create.
	if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "192.0.2.1"}); err == nil || !strings.Contains(err.Error(), "give the network") {
		t.Errorf("create by address: %v", err)
	}
	if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "192.0.2.0/25"}); !errors.Is(err, ErrUsage) {
		t.Errorf("create /25: %v", err)
	}
}
