package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInteropZoneCheck: dms zone check against real BIND secondaries, one
// lame on purpose (a named without the zone): the lame one is flagged and
// the good one is not; an NS that is no secondary, a delegation whose NS
// differ from the child zone's and stale glue are found; the findings
// reach dms status, the event log and the metrics.
func TestInteropZoneCheck(t *testing.T) {
	t.Parallel()
	named := tool(t, "named", "bind9")
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	dms := startServe(t, db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0")
	cli := mustCLI(t, db)
	goodPort, lamePort := freeDNSPort(t), freeDNSPort(t)
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.com."},
		{"config", "set", "soa_rname", "hostmaster.example.com."},
		{"config", "set", "apex_ns", "ns1.example.com. ns9.example.com."},
		{"tsig", "import", "xfr-key", interopSecret},
		{"sg", "create", "ext", "--master-address", dms.dns},
		{"server", "create", "good", fmt.Sprintf("127.0.0.1:%d", goodPort), "--sg", "ext", "--type", "bind9", "--tsig", "xfr-key"},
		{"server", "create", "lame", fmt.Sprintf("127.0.0.1:%d", lamePort), "--sg", "ext", "--type", "bind9"},
		{"zone", "create", "example.com", "--sg", "ext"},
		{"record", "add", "example.com", "ns1 A 127.0.0.1", "ns9 A 127.0.0.9", "www A 192.0.2.80", "sub NS ns.sub", "ns.sub A 192.0.2.53"},
		{"zone", "create", "sub.example.com"},
		{"record", "add", "sub.example.com", "ns.sub.example.com. A 192.0.2.54"},
	} {
		cli(c...)
	}
	// The good secondary from dms server config; the lame one serves
	// nothing.
	gdir := filepath.Join(dir, "good")
	os.MkdirAll(gdir, 0o755)
	conf := namedConf(t, gdir, goodPort, strings.ReplaceAll(cli("server", "config", "good"), "/var/lib/bind", gdir), "")
	writeFile(t, gdir, "named.conf", conf)
	startDaemon(t, "named-good", named, "-g", "-c", filepath.Join(gdir, "named.conf"))
	ldir := filepath.Join(dir, "lame")
	os.MkdirAll(ldir, 0o755)
	writeFile(t, ldir, "named.conf", fmt.Sprintf("options { directory \"%[1]s\"; pid-file \"%[1]s/named.pid\"; listen-on port %[2]d { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; };\ncontrols { };\n", ldir, lamePort))
	if out, err := exec.Command(tool(t, "named-checkconf", "bind9-utils"), filepath.Join(ldir, "named.conf")).CombinedOutput(); err != nil {
		t.Fatalf("named-checkconf: %v\n%s", err, out)
	}
	startDaemon(t, "named-lame", named, "-g", "-c", filepath.Join(ldir, "named.conf"))
	want := soaSerial(dms.dns, "example.com")
	waitFor(t, "the good secondary serving example.com", 30*time.Second, func() bool { return soaSerial(fmt.Sprintf("127.0.0.1:%d", goodPort), "example.com") == want })
	waitFor(t, "the lame secondary answering", 30*time.Second, func() bool { return query(fmt.Sprintf("127.0.0.1:%d", lamePort), "example.com", 6) != nil })

	r := run(t, db, "", "zone", "check", "example.com")
	if r.code != 1 {
		t.Errorf("zone check with errors: exit %d, want 1\n%s%s", r.code, r.out, r.err)
	}
	t.Logf("dms zone check example.com:\n%s", r.out)
	lines := strings.Split(r.out, "\n")
	has := func(code, part string) bool {
		for _, l := range lines {
			if strings.Contains(l, " "+code+" ") && strings.Contains(l, part) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ code, part string }{
		{"lame", "server lame"},
		{"ns-not-secondary", "ns9.example.com."},
		{"delegation-ns-mismatch", "sub.example.com."},
		{"glue-stale", "192.0.2.53"},
	} {
		if !has(c.code, c.part) {
			t.Errorf("zone check: no %s finding about %q in\n%s", c.code, c.part, r.out)
		}
	}
	if strings.Contains(r.out, "server good") {
		t.Errorf("zone check flags the good secondary:\n%s", r.out)
	}
	if !has("unreachable", "ns9.example.com.") && !has("lame", "ns9.example.com.") {
		t.Errorf("zone check: nothing about asking NS ns9 (127.0.0.9:53):\n%s", r.out)
	}
	if st := cli("status"); !strings.Contains(st, "zone_check:") || !strings.Contains(st, "lame") {
		t.Errorf("dms status:\n%s", st)
	}
	if ev := cli("events"); !strings.Contains(ev, "zone check:") {
		t.Errorf("dms events:\n%s", ev)
	}
	if m := httpGet(t, "http://"+dms.metrics+"/metrics"); !strings.Contains(m, `dms_zone_check_findings{code="lame"}`) || strings.Contains(m, `dms_zone_check_findings{code="lame"} 0`) {
		t.Errorf("metrics: %s", grepLines(m, "dms_zone_check"))
	}
	// A zone whose secondaries are well: OK.
	cli("server", "delete", "lame")
	cli("record", "delete", "example.com", "ns9 A 127.0.0.9")
	cli("config", "set", "apex_ns", "ns1.example.com.")
	cli("record", "delete", "example.com", "@ NS ns9.example.com.")
	want = soaSerial(dms.dns, "example.com")
	waitFor(t, "the good secondary following", 10*time.Second, func() bool { return soaSerial(fmt.Sprintf("127.0.0.1:%d", goodPort), "example.com") == want })
	r = run(t, db, "", "zone", "check", "example.com")
	t.Logf("after the fix:\n%s", r.out)
	for _, code := range []string{" lame ", " ns-not-secondary ", " unreachable "} {
		if strings.Contains(r.out, code) {
			t.Errorf("after the fix: %s still found\n%s", code, r.out)
		}
	}
}
