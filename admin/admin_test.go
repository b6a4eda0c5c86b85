package admin

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"dmsdns.org/dms/zonedb"
)

func newTestService(t testing.TB) (*Service, Caller) {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db, nil), Caller{User: "alice", Host: "master", Sectag: SectagAdmin}
}

// configure sets config keys, by default those dms zone create needs.
func configure(t *testing.T, s *Service, c Caller, kv ...[2]string) {
	t.Helper()
	if len(kv) == 0 {
		kv = [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}}
	}
	for _, p := range kv {
		if _, err := s.ConfigSet(context.Background(), c, ConfigSetRequest{Key: p[0], Value: p[1]}); err != nil {
			t.Fatal(err)
		}
	}
}

const zoneText = `$TTL 3600
;!REF:Cust1
@ IN SOA ns1.example.net. h.example.org. 2026010100 600 600 604800 600
  IN NS ns1.example.net.
  IN NS ns2.example.net.
www IN A 192.0.2.1
`

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]uint32{"0": 0, "3600": 3600, "10m": 600, "24h": 86400, "7d": 604800, "1w2d": 777600, "1h30m": 5400, "2147483647": 2147483647} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "h", "10x", "2147483648", "99999999999", "1h30", "-5"} {
		if _, err := ParseTTL(in); err == nil {
			t.Errorf("ParseTTL(%q) accepted", in)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct{ key, value, want, err string }{
		{"inc_updates", "yes", "true", ""},
		{"inc_updates", "maybe", "", "takes true or false"},
		{"soa_mname", "ns1.example.net", "ns1.example.net.", ""},
		{"soa_mname", "not a name", "", "takes a domain name"},
		{"apex_ns", "a.example.net,b.example.net.", "a.example.net. b.example.net.", ""},
		{"zone_ttl", "25h", "25h", ""},
		{"zone_ttl", "forever", "", "takes a TTL"},
		{"zi_max_num", "-1", "", "whole number"},
		{"default_stype", "powerdns", "", "bind9, knot or nsd"},
		{"default_ref", "-bad", "", "takes a reference"},
		{"nosuchkey", "1", "", "unknown config key"},
		{"soa_ttl", "", "", ""},
	} {
		got, err := normalizeConfig(tc.key, tc.value)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage) {
				t.Errorf("%s=%q: err %v, want %q", tc.key, tc.value, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s=%q: %q, %v; want %q", tc.key, tc.value, got, err, tc.want)
		}
	}
}

func TestLineHasTTL(t *testing.T) {
	for line, want := range map[string]bool{
		"www 300 IN A 192.0.2.1": true, "www IN 300 A 192.0.2.1": true, "www 1h A 192.0.2.1": true,
		"www A 192.0.2.1": false, "@ MX 10 mail": false, "www IN TXT 300": false, "_s._tcp SRV 0 0 1 x": false,
	} {
		if got := lineHasTTL(line); got != want {
			t.Errorf("lineHasTTL(%q) = %v", line, got)
		}
	}
}

// TestReplaceAndRollback: an edit that changes nothing makes no instance;
// a ;!REF: on the SOA moves the zone; rollback restores content, flags
// included, with a higher serial; show of an old instance rebuilds it.
func TestReplaceAndRollback(t *testing.T) {
	s, c := newTestService(t)
	ctx := context.Background()
	res, err := s.ZoneLoad(ctx, c, ZoneLoadRequest{Name: "example.org", File: "example.org", Text: zoneText})
	if err != nil {
		t.Fatal(err)
	}
	first := res.Commits[0].ZI
	shown, err := s.ZoneShow(ctx, c, ZoneRequest{Name: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.Text, ";!REF:Cust1") || !strings.Contains(shown.Text, "alice@master/Admin") {
		t.Errorf("show:\n%s", shown.Text)
	}
	// Unchanged text: nothing committed.
	res, err = s.ZoneReplace(ctx, c, ZoneReplaceRequest{Name: "example.org", Text: shown.Text, ExpectZI: shown.ZI})
	if err != nil || res.Commits[0].ZI != 0 {
		t.Fatalf("unchanged replace: %v %+v", err, res)
	}
	// A flag, a new record and a new reference.
	edited := strings.Replace(shown.Text, ";!REF:Cust1", ";!REF:Cust2", 1)
	edited = strings.Replace(edited, "www ", ";!LOCKPTR\nwww ", 1) + "new IN AAAA 2001:db8::1\n"
	res, err = s.ZoneReplace(ctx, c, ZoneReplaceRequest{Name: "example.org", Text: edited, ExpectZI: shown.ZI})
	if err != nil || res.Commits[0].ZI == 0 {
		t.Fatalf("edit: %v %+v", err, res)
	}
	info, _ := s.ZoneInfo(ctx, c, ZoneRequest{Name: "example.org"})
	if info.Reference != "Cust2" {
		t.Errorf("reference %q after edit", info.Reference)
	}
	// The old text is now stale.
	if _, err := s.ZoneReplace(ctx, c, ZoneReplaceRequest{Name: "example.org", Text: shown.Text, ExpectZI: shown.ZI}); !errors.Is(err, zonedb.ErrStale) {
		t.Errorf("stale replace: %v", err)
	}
	// Show the first instance: rebuilt from the diffs.
	old, err := s.ZoneShow(ctx, c, ZoneRequest{Name: "example.org", ZI: first})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(old.Text, "2001:db8::1") || strings.Contains(old.Text, "LOCKPTR") || old.Serial != 2026010100 {
		t.Errorf("instance %d:\n%s", first, old.Text)
	}
	before, _ := s.ZoneInfo(ctx, c, ZoneRequest{Name: "example.org"})
	res, err = s.ZoneRollback(ctx, c, ZoneRequest{Name: "example.org", ZI: first})
	if err != nil {
		t.Fatal(err)
	}
	if !zonedb.SerialLess(before.Serial, res.Commits[0].Serial) {
		t.Errorf("rollback serial %d not above %d", res.Commits[0].Serial, before.Serial)
	}
	now, _ := s.ZoneShow(ctx, c, ZoneRequest{Name: "example.org"})
	if strings.Contains(now.Text, "2001:db8::1") || strings.Contains(now.Text, "LOCKPTR") {
		t.Errorf("after rollback:\n%s", now.Text)
	}
	d, err := s.ZoneDiff(ctx, c, ZoneDiffRequest{Name: "example.org", From: first, To: res.Commits[0].ZI})
	if err != nil {
		t.Fatal(err)
	}
	// Only the SOA serial differs between the first instance and the rollback.
	if len(d.Removed) != 1 || len(d.Added) != 1 || !strings.Contains(d.Added[0], "SOA") {
		t.Errorf("diff first..rollback: %+v", d)
	}
	hist, _ := s.ZoneHistory(ctx, c, ZoneRequest{Name: "example.org"})
	if len(hist) != 3 || !strings.Contains(hist[0].Comment, "rollback") {
		t.Errorf("history %+v", hist)
	}
}

// TestOpTable: every operation in the table decodes its arguments
// and reports unknown operations and bad arguments as errors, not panics.
func TestOpTable(t *testing.T) {
	s, c := newTestService(t)
	for name := range ops {
		if _, e := s.Do(context.Background(), c, name, []byte(`{"name": 5}`)); e == nil || e.Code != CodeBadInput {
			t.Errorf("%s: bad argument gave %+v", name, e)
		}
	}
	if _, e := s.Do(context.Background(), c, "zone.nosuch", nil); e == nil || e.Code != CodeUnknownOp {
		t.Errorf("unknown op: %+v", e)
	}
}
