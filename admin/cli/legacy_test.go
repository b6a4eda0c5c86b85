package cli_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShellLegacyEffects: zone_tool's spellings in dms shell do what they
// did: create_sg with its master address, create_server into it, a zone
// disabled and enabled, moved to an alternate SG, listed by SG, an SG's
// config and apex NS set, two zones compared, an old instance shown, a
// zone destroyed with -f; commands without a meaning answer what
// replaces them.
func TestShellLegacyEffects(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dms.db")
	script := strings.Join([]string{
		"set_config soa_mname ns1.example.net.",
		"set_config soa_rname hostmaster.example.net.",
		"set_config apex_ns ns1.example.net.",
		"create_sg ext /etc/dms 192.0.2.53",
		"create_sg int",
		"create_server ns2 192.0.2.2 ext knot",
		"create_zone a.example -g ext",
		"create_zone b.example -g ext",
		"record add a.example 'www A 192.0.2.1'",
		"record add b.example 'www A 192.0.2.2'",
		"disable_zone a.example",
		"show_zonesm a.example",
		"enable_zone a.example",
		"dupe_zone_alt_sg a.example int",
		"ls -g int",
		"set_config -g ext soa_mname ns9.example.net.",
		"edit_apex_ns ext ns1.example.net. ns2.example.net.",
		"show_apex_ns ext",
		"diff_zones a.example b.example",
		"reset_zonesm a.example",
		"destroy_zone -f b.example",
		"ls",
	}, "\n") + "\n"
	r := run(t, db, script, "shell")
	if r.code != 0 {
		t.Fatalf("shell: %d\n%s\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{
		"master_address: 192.0.2.53", // create_sg's address (sg show after create)
		"state:         DISABLED",    // disable_zone, then show_zonesm
		"apex_ns:        ns1.example.net. ns2.example.net.",
		"soa_mname:      ns9.example.net.",
		"-www 86400 IN A 192.0.2.1", // diff_zones
		"+www 86400 IN A 192.0.2.2",
		"reset_zonesm: zones have no state machine",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("shell output lacks %q:\n%s", want, r.out)
		}
	}
	if out := run(t, db, "", "server", "show", "ns2").out; !strings.Contains(out, "knot") || !strings.Contains(out, "ext") {
		t.Errorf("create_server: %s", out)
	}
	if out := run(t, db, "", "zone", "info", "a.example").out; !strings.Contains(out, "alt_sg:        int") || !strings.Contains(out, "PUBLISHED") {
		t.Errorf("a.example after enable_zone and dupe_zone_alt_sg:\n%s", out)
	}
	// show_zone ZONE ZI: the first instance (before www was added).
	var hist []struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(run(t, db, "", "zone", "history", "a.example", "-o", "json").out), &hist); err != nil || len(hist) < 2 {
		t.Fatalf("zone history: %v %v", hist, err)
	}
	old := run(t, db, fmt.Sprintf("show_zone a.example %d\n", hist[len(hist)-1].ID), "shell")
	if old.code != 0 || strings.Contains(old.out, "192.0.2.1") || !strings.Contains(old.out, "SOA") {
		t.Errorf("show_zone a.example ZI (the first instance): %d\n%s%s", old.code, old.out, old.err)
	}
	if out := run(t, db, "", "zone", "ls").out; strings.Contains(out, "b.example") {
		t.Errorf("destroy_zone -f left b.example:\n%s", out)
	}
}

// TestUpdateRRs: zone_tool's update_rrs file format, through dms zone
// update and the shell's update_rrs: DELETE with type ANY, with empty
// rdata and of one record; ADD; UPDATE_RRTYPE over consecutive lines with
// a flag; one commit; a record without ;!RROP: refused with its line.
func TestUpdateRRs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "h.example.net."}, {"config", "set", "apex_ns", "ns1.example.net."},
		{"zone", "create", "foo.example"},
		{"record", "add", "foo.example", "ns5 A 192.0.2.5", "ns5 TXT x", "ns7 A 192.0.2.7", "ns7 A 192.0.2.77", "ns67 A 192.168.2.3", "ns67 A 192.168.2.4", "www A 192.0.2.1"},
	} {
		if r := run(t, db, "", c...); r.code != 0 {
			t.Fatalf("%v: %s", c, r.err)
		}
	}
	writeFile(t, dir, "upd", `$ORIGIN       foo.example.
$UPDATE_TYPE SpannerReplacement_ShouldBeUUIDperClientOpType

;!RROP:DELETE
ns5                   IN    ANY        ""    ; All records for ns5
;!RROP:DELETE
ns7                   IN    A          ""    ; All A records for ns7
;!RROP:DELETE
ns67                  IN    A          192.168.2.3 ; Specific record

;!RROP:ADD
ns99                  IN    TXT        "Does not know Maxwell Smart"
;!RROP:ADD
ns99                  IN    AAAA            2002:fac::1

;!RROP:UPDATE_RRTYPE
www            IN A                192.0.2.50
;!RROP:UPDATE_RRTYPE LOCKPTR
www            IN A                192.0.2.51
`)
	r := run(t, db, "update_rrs foo.example "+filepath.Join(dir, "upd")+"\n", "shell")
	if r.code != 0 || !strings.Contains(r.out, "(+5 -7 records)") {
		t.Fatalf("update_rrs: %d %s %s", r.code, r.out, r.err)
	}
	out := run(t, db, "", "zone", "show", "foo.example").out
	for _, gone := range []string{"ns5 ", "ns7 ", "192.168.2.3", "192.0.2.1\n"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q still in the zone:\n%s", gone, out)
		}
	}
	for _, want := range []string{"192.168.2.4", `"Does not know Maxwell Smart"`, "2002:fac::1", "192.0.2.50", ";!LOCKPTR\nwww"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q not in the zone:\n%s", want, out)
		}
	}
	writeFile(t, dir, "bad", "$ORIGIN foo.example.\n;!RROP:ADD\nok A 192.0.2.9\nnoop A 192.0.2.10\n")
	if r := run(t, db, "", "zone", "update", "foo.example", filepath.Join(dir, "bad")); r.code == 0 || !strings.Contains(r.err, "bad:4: a record without a ;!RROP: line") {
		t.Errorf("a record without RROP: %d %s", r.code, r.err)
	}
	if out := run(t, db, "", "zone", "show", "foo.example").out; strings.Contains(out, "192.0.2.9") {
		t.Errorf("a refused update file changed the zone:\n%s", out)
	}
}

// TestZoneBulkLegacy: copy_zone, rr_query_db and nuke_zones (with its
// confirmation) through the shell and their native commands.
func TestZoneBulkLegacy(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dms.db")
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "h.example.net."}, {"config", "set", "apex_ns", "ns1.example.net."},
		{"zone", "create", "tpl.example"},
		{"record", "add", "tpl.example", "www A 192.0.2.80", "@ MX 10 mail", "mail A 192.0.2.25 ;!LOCKPTR", "alias CNAME www"},
	} {
		if r := run(t, db, "", c...); r.code != 0 {
			t.Fatalf("%v: %s", c, r.err)
		}
	}
	r := run(t, db, "copy_zone tpl.example new1.example\ncopy_zone tpl.example new2.example\n", "shell")
	if r.code != 0 {
		t.Fatalf("copy_zone: %s %s", r.out, r.err)
	}
	show := run(t, db, "", "zone", "show", "new1.example").out
	for _, want := range []string{"MX     10 mail.new1.example.", "CNAME  www.new1.example.", ";!LOCKPTR\nmail"} {
		if !strings.Contains(show, want) {
			t.Errorf("the copy lacks %q:\n%s", want, show)
		}
	}
	found := run(t, db, "rr_query_db 'www.*' A\n", "shell").out
	if strings.Count(found, "192.0.2.80") != 3 {
		t.Errorf("rr_query_db www.* A: want three zones' www:\n%s", found)
	}
	if out := run(t, db, "", "record", "find", "mail.new2.example"); !strings.Contains(out.out, "192.0.2.25") || strings.Contains(out.out, "tpl.example") {
		t.Errorf("record find mail.new2.example: %s %s", out.out, out.err)
	}
	// Not confirmed: nothing destroyed; confirmed: both copies go.
	if r := run(t, db, "no\n", "zone", "nuke", "new*"); r.code == 0 || !strings.Contains(r.err, "new1.example.") {
		t.Errorf("nuke without confirmation: %d %s", r.code, r.err)
	}
	if n := strings.Count(run(t, db, "", "zone", "ls").out, "new"); n != 2 {
		t.Errorf("%d copies after a refused nuke, want 2", n)
	}
	if r := run(t, db, "nuke_zones -f 'new*'\n", "shell"); r.code != 0 || !strings.Contains(r.out, "destroyed 2 zone(s)") {
		t.Errorf("nuke_zones -f: %d %s %s", r.code, r.out, r.err)
	}
	if out := run(t, db, "", "zone", "ls").out; strings.Contains(out, "new") || !strings.Contains(out, "tpl.example") {
		t.Errorf("after nuke_zones: %s", out)
	}
}

// TestPendingWork: ls_pending_events (dms pending) shows work waiting:
// the NOTIFY a silent secondary has not answered, a signed zone's next
// renewal; not past events.
func TestPendingWork(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	srv := startServe(t, db)
	silent := freeDNSPort(t) // nothing answers there
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "h.example.net."}, {"config", "set", "apex_ns", "ns1.example.net."},
		{"sg", "create", "ext", "--master-address", srv.dns},
		{"server", "create", "silent", fmt.Sprintf("127.0.0.1:%d", silent), "--sg", "ext"},
		{"zone", "create", "wait.example", "--sg", "ext", "--dnssec"},
	} {
		if r := run(t, db, "", c...); r.code != 0 {
			t.Fatalf("%v: %s", c, r.err)
		}
	}
	var out string
	waitFor(t, "the NOTIFY to the silent secondary pending", 10*time.Second, func() bool {
		out = run(t, db, "ls_pending_events\n", "shell").out
		return strings.Contains(out, "wait.example. serial") && strings.Contains(out, "to silent")
	})
	if !strings.Contains(out, "resign (soonest first):\n  wait.example.: ") || !strings.Contains(out, "edit locks: none") {
		t.Errorf("pending:\n%s", out)
	}
	var p struct {
		Notify []struct {
			Zone    string `json:"zone"`
			Attempt int    `json:"attempt"`
		} `json:"notify"`
		Server bool `json:"server_running"`
	}
	if err := json.Unmarshal([]byte(run(t, db, "", "pending", "-o", "json").out), &p); err != nil || !p.Server || len(p.Notify) == 0 {
		t.Errorf("pending -o json: %+v %v", p, err)
	}
}

// TestShellHistoryLegacy: copy_zi (an old instance into another zone, and
// back into its own), delete_zi (history cut there), refresh_zone_ttl and
// rename_sg, with their effects.
func TestShellHistoryLegacy(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dms.db")
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "h.example.net."}, {"config", "set", "apex_ns", "ns1.example.net."},
		{"sg", "create", "ext"},
		{"server", "create", "s1", "192.0.2.2", "--sg", "ext"},
		{"zone", "create", "h.example", "--sg", "ext"},
		{"zone", "create", "other.example"},
		{"record", "add", "h.example", "v1 A 192.0.2.1"},
		{"record", "add", "h.example", "v2 A 192.0.2.2"},
		{"record", "add", "h.example", "v3 A 192.0.2.3"},
	} {
		if r := run(t, db, "", c...); r.code != 0 {
			t.Fatalf("%v: %s", c, r.err)
		}
	}
	var hist []struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(run(t, db, "", "zone", "history", "h.example", "-o", "json").out), &hist); err != nil || len(hist) != 4 {
		t.Fatalf("history: %v %v", hist, err)
	}
	v1 := hist[2].ID // the instance with v1 only
	r := run(t, db, fmt.Sprintf("copy_zi h.example %d other.example\n", v1), "shell")
	if out := run(t, db, "", "zone", "show", "other.example").out; r.code != 0 || !strings.Contains(out, "v1 ") || strings.Contains(out, "v2 ") || !strings.Contains(out, "ns1.example.net.") {
		t.Errorf("copy_zi into other.example: %s %s\n%s", r.out, r.err, out)
	}
	if r := run(t, db, fmt.Sprintf("delete_zi h.example %d\n", v1), "shell"); r.code != 0 || !strings.Contains(r.out, "2 instance(s) removed") {
		t.Errorf("delete_zi: %d %s %s", r.code, r.out, r.err)
	}
	if err := json.Unmarshal([]byte(run(t, db, "", "zone", "history", "h.example", "-o", "json").out), &hist); err != nil || len(hist) != 2 {
		t.Errorf("history after delete_zi: %v %v", hist, err)
	}
	if r := run(t, db, "", "zone", "show", "h.example", "--zi", fmt.Sprint(hist[1].ID)); r.code != 0 || !strings.Contains(r.out, "v2 ") || strings.Contains(r.out, "v3 ") {
		t.Errorf("the oldest instance left reads wrong: %s %s", r.out, r.err)
	}
	if r := run(t, db, "refresh_zone_ttl h.example 5m\n", "shell"); r.code != 0 {
		t.Errorf("refresh_zone_ttl: %s", r.err)
	}
	if out := run(t, db, "", "record", "find", "v3.h.example").out; !strings.Contains(out, "\t300\tIN") {
		t.Errorf("refresh_zone_ttl did not set 300: %s", out)
	}
	if r := run(t, db, "rename_sg ext ext2\n", "shell"); r.code != 0 {
		t.Fatalf("rename_sg: %s", r.err)
	}
	if out := run(t, db, "", "zone", "info", "h.example").out; !strings.Contains(out, "ext2") {
		t.Errorf("the zone did not follow the SG:\n%s", out)
	}
	if out := run(t, db, "", "server", "show", "s1").out; !strings.Contains(out, "ext2") {
		t.Errorf("the server did not follow the SG:\n%s", out)
	}
	cat := run(t, db, "", "zone", "show", "ext2.catalog.invalid").out
	if !strings.Contains(cat, "PTR    h.example.") {
		t.Errorf("the new catalog lacks the zone:\n%s", cat)
	}
	if r := run(t, db, "", "zone", "info", "ext.catalog.invalid"); r.code == 0 {
		t.Errorf("the old catalog zone is still there")
	}
	if r := run(t, db, "", "check"); r.code != 0 {
		t.Errorf("check: %s %s", r.out, r.err)
	}
}

// TestShellEveryLegacySpelling runs every zone_tool spelling the shell maps
// (help legacy's list) with real arguments, in one session against a
// running dms serve: the shell stops at the first command that fails, so
// a whole run is every spelling working; then their effects are checked.
func TestShellEveryLegacySpelling(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	srv := startServe(t, db)
	writeFile(t, dir, "load1.example", "$TTL 300\n@ SOA ns1.example.net. h.example.net. 1 3600 600 86400 300\n@ NS ns1.example.net.\nwww A 192.0.2.9\n")
	writeFile(t, dir, "load2.example", "$TTL 300\n@ SOA ns1.example.net. h.example.net. 1 3600 600 86400 300\n@ NS ns1.example.net.\n")
	writeFile(t, dir, "edited", "$TTL 300\n@ SOA ns1.example.net. h.example.net. 7 3600 600 86400 300\n@ NS ns1.example.net.\nedited A 192.0.2.77\n")
	writeFile(t, dir, "upd", ";!RROP:ADD\nupd A 192.0.2.66\n")
	lines := []string{
		"set_config soa_mname ns1.example.net.", "set_config soa_rname h.example.net.", "set_config apex_ns ns1.example.net.",
		"show_config",
		"create_sg ext /etc/dms " + strings.Split(srv.dns, ":")[0], "create_sg int", "create_sg spare",
		"set_sg_config ext --soa-mname ns1.example.net.", "set_sg_master_address ext 192.0.2.53 192.0.2.54",
		"edit_apex_ns ext ns1.example.net.", "show_apex_ns ext", "show_sg ext", "ls_sg", "show_master_sg",
		"rename_sg spare spare2", "delete_sg spare2",
		"tsig_key_generate xk",
		"create_server s1 192.0.2.2 ext", "show_server s1", "ls_server", "ls_slave", "show_server_byaddr",
		"set_server_type s1 knot", "set_server_address s1 192.0.2.3", "rename_server s1 s2", "move_server_sg s2 int",
		"disable_server s2", "enable_server s2", "delete_server s2",
		"create_reference REF-1", "rename_reference REF-1 REF-2", "ls_reference", "lsref", "create_reference REF-3", "delete_reference REF-3",
		"create_sectag TAG-1", "show_sectags", "ls_sectags", "show_sectag",
		"create_zone z.example -g ext -r REF-2 inc_updates", "create_zone 192.0.2.0/24 -g ext inc_updates",
		"load_zone " + filepath.Join(dir, "load1.example"), "load_zones " + filepath.Join(dir, "load2.example"),
		"add_zone_sectag z.example TAG-1", "show_zone_sectags z.example", "replace_zone_sectags z.example Admin TAG-1", "delete_zone_sectag z.example TAG-1",
		"record add z.example 'www A 192.0.2.80 ;!FORCEREV'",
		"show_zone z.example", "show_zonesm z.example", "show_zi z.example", "ls_zi z.example", "ls", "ls_zones", "list_zone", "ls -g ext",
		"set_zone z.example edit_lock", "set_zone z.example no_edit_lock", "set_zone_reference z.example REF-2",
		"disable_zone load2.example", "enable_zone load2.example",
		"set_zone_alt_sg z.example int", "delete_zone_alt_sg z.example", "dupe_zone_alt_sg z.example int", "swap_zone_sg z.example", "swap_zone_sg z.example", "delete_zone_alt_sg z.example",
		"set_zone_sg load2.example int",
		"poke_zone_set_serial z.example", "poke_zone_wrap_serial z.example",
		"update_rrs z.example " + filepath.Join(dir, "upd"),
		"edit_zone load1.example --file " + filepath.Join(dir, "edited"),
		"diff_zones load1.example load2.example",
		"refresh_zone_ttl z.example 10m",
		"rr_query_db 'www.*'", "record_query_db upd.z.example",
		"copy_zone z.example copy.example",
		"check_zone z.example -o json",
		"refresh_zone z.example", "refresh_sg ext", "refresh_all",
		"show_dms_status", "show_master_status",
		"ls_pending_events", "list_pending_events", "ls_events", "ls_failed_events", "show_event 1",
		"delete_zone copy.example", "ls_deleted", "undelete_zone copy.example",
		"delete_zone copy.example", "destroy_zone -f copy.example",
		"create_zone nuke1.example", "nuke_zones -f 'nuke*'",
		"vacuum_zis", "vacuum_zones", "vacuum_zone", "vacuum_pare_deleted_zone_zis", "vacuum_event_queue", "vacuum_all",
		"delete_sectag TAG-1",
	}
	// The instance ids: rollback_zone, copy_zi and delete_zi need them.
	script := strings.Join(lines, "\n") + "\n"
	r := run(t, db, script, "shell")
	if r.code != 0 {
		t.Fatalf("shell: exit %d\n%s\n%s", r.code, r.err, tail(r.out, 2000))
	}
	// Some effects.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sg", "show", "ext"}, "192.0.2.54"},
		{[]string{"sg", "ls"}, "int"},
		{[]string{"zone", "info", "z.example"}, "REF-2"},
		{[]string{"zone", "info", "load2.example"}, "sg:            int"},
		{[]string{"zone", "show", "z.example"}, "upd"},
		{[]string{"zone", "show", "load1.example"}, "edited"},
		{[]string{"zone", "show", "2.0.192.in-addr.arpa"}, "www.z.example."},
		{[]string{"record", "find", "upd.z.example"}, "\t600\tIN"},
		{[]string{"tsig", "ls"}, "xk "},
		{[]string{"ref", "ls"}, "REF-2"},
	} {
		if out := run(t, db, "", c.args...).out; !strings.Contains(out, c.want) {
			t.Errorf("dms %v: no %q in\n%s", c.args, c.want, out)
		}
	}
	var hist []struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(run(t, db, "", "zone", "history", "z.example", "-o", "json").out), &hist); err != nil || len(hist) < 3 {
		t.Fatalf("history: %v %v", hist, err)
	}
	first, second := hist[len(hist)-1].ID, hist[len(hist)-2].ID
	r2 := run(t, db, fmt.Sprintf("rollback_zone z.example %d\ncopy_zi z.example %d load2.example\ndelete_zi z.example %d\n", second, second, first), "shell")
	if r2.code != 0 {
		t.Fatalf("shell (history commands): exit %d\n%s\n%s", r2.code, r2.err, r2.out)
	}
	// Breaking an edit lock nobody holds is refused, by both spellings.
	for _, l := range []string{"clear_edit_lock z.example", "unlock_zone z.example"} {
		if r := run(t, db, l+"\n", "shell"); r.code == 0 || !strings.Contains(r.err, "is not locked") {
			t.Errorf("%s: %d %s", l, r.code, r.err)
		}
	}
	// Every mapped spelling ran: help legacy's list is covered.
	ran := map[string]bool{}
	for _, l := range append(lines, "rollback_zone", "copy_zi", "delete_zi", "unlock_zone", "clear_edit_lock") {
		ran[strings.Fields(l)[0]] = true
	}
	help := run(t, db, "help legacy\n", "shell").out
	for _, l := range strings.Split(help, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] == "keywords:" || f[0] == "also:" || strings.HasPrefix(f[1], "(none)") {
			continue
		}
		if !ran[f[0]] {
			t.Errorf("%s is mapped but this test does not run it", f[0])
		}
	}
	if out := run(t, db, "", "zone", "ls").out; strings.Contains(out, "copy.example") || strings.Contains(out, "nuke1") {
		t.Errorf("destroyed zones remain:\n%s", out)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
