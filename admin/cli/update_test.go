package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestDynamicUpdateNsupdate: nsupdate (BIND) against dms serve: an
// ACME-style TXT add and delete at _acme-challenge, an address whose PTR
// auto-PTR makes, and the refusals: no key, a wrong key, a name outside
// the key's policy, a failed prerequisite, a CNAME beside data.
func TestDynamicUpdateNsupdate(t *testing.T) {
	nsupdate := tool(t, "nsupdate", "bind9-dnsutils")
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	for _, args := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."},
		{"zone", "load", filepath.Join(dir, "example.org"), "--inc-updates"},
		{"zone", "create", "2001:db8:5::/48", "--inc-updates"},
		{"tsig", "import", "acme", interopSecret},
		{"tsig", "import", "other", interopSecret},
		{"tsig", "update-policy", "acme", "example.org _acme-challenge.* TXT", "example.org host* ANY"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("dms %v: %s", args, r.err)
		}
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0", "--refusal-log-interval", "200ms")
	host, port, _ := strings.Cut(srv.dns, ":")
	nsu := func(key string, lines ...string) string {
		t.Helper()
		args := []string{"-t", "5"}
		switch {
		case strings.Contains(key, ":"): // name:secret
			args = append(args, "-y", "hmac-sha256:"+key)
		case key != "":
			args = append(args, "-y", "hmac-sha256:"+key+":"+interopSecret)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, nsupdate, args...)
		cmd.Stdin = strings.NewReader("server " + host + " " + port + "\nzone example.org\n" + strings.Join(lines, "\n") + "\nsend\n")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "FAILED: " + string(out)
		}
		return string(out)
	}
	ask := func(name string, t uint16) []string {
		m := new(dns.Msg)
		m.SetQuestion(name, t)
		r, err := dns.Exchange(m, srv.dns)
		if err != nil {
			return []string{err.Error()}
		}
		var out []string
		for _, rr := range r.Answer {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
		return out
	}

	// ACME: add the challenge, see it served, delete it.
	if out := nsu("acme", `update add _acme-challenge.www.example.org. 60 TXT "token-1"`); out != "" {
		t.Fatalf("ACME add: %s", out)
	}
	if got := ask("_acme-challenge.www.example.org.", dns.TypeTXT); len(got) != 1 || got[0] != `"token-1"` {
		t.Errorf("challenge served: %v", got)
	}
	if out := nsu("acme", `update delete _acme-challenge.www.example.org. TXT`); out != "" {
		t.Fatalf("ACME delete: %s", out)
	}
	if got := ask("_acme-challenge.www.example.org.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("challenge after delete: %v", got)
	}
	// An address by update: auto-PTR makes its PTR in the same commit.
	if out := nsu("acme", "update add host1.example.org. 300 AAAA 2001:db8:5::1"); out != "" {
		t.Fatalf("AAAA add: %s", out)
	}
	if got := ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", dns.TypePTR); len(got) != 1 || got[0] != "host1.example.org." {
		t.Errorf("PTR by auto-PTR: %v", got)
	}

	// Refused: unsigned, an unknown key, a key without policy, a name
	// outside the policy; the zone is unchanged.
	for _, c := range []struct {
		key, line, want string
	}{
		{"", `update add _acme-challenge.x.example.org. 60 TXT "x"`, "REFUSED"},
		{"nokey", `update add _acme-challenge.x.example.org. 60 TXT "x"`, "BADKEY"},
		// The right name, a wrong secret: the signature fails (BADSIG).
		{"acme:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=", `update add _acme-challenge.x.example.org. 60 TXT "x"`, "BADSIG"},
		{"other", `update add _acme-challenge.x.example.org. 60 TXT "x"`, "REFUSED"},
		{"acme", "update add www.example.org. 60 A 192.0.2.99", "REFUSED"},
		{"acme", "update add host3.example.org. 60 NS ns9.example.net.", "REFUSED"}, // NS only when named
	} {
		if out := nsu(c.key, c.line); !strings.Contains(out, c.want) {
			t.Errorf("key %q %s: %q, want %s", c.key, c.line, out, c.want)
		}
	}
	if got := ask("_acme-challenge.x.example.org.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("refused update landed: %v", got)
	}
	// Prerequisites: the name must not exist (it does): YXDOMAIN, nothing
	// of the update applied.
	if out := nsu("acme", "prereq nxdomain host1.example.org.", `update add host2.example.org. 60 TXT "x"`); !strings.Contains(out, "YXDOMAIN") {
		t.Errorf("failed prerequisite: %q", out)
	}
	if got := ask("host2.example.org.", dns.TypeTXT); len(got) != 0 {
		t.Errorf("update with a failed prerequisite landed: %v", got)
	}
	// A CNAME beside data is ignored (RFC 2136 section 3.4.2.2), the rest
	// of the update lands.
	if out := nsu("acme", "update add host1.example.org. 60 CNAME www.example.org.", `update add host1.example.org. 60 TXT "kept"`); out != "" {
		t.Fatalf("CNAME beside data: %s", out)
	}
	if got := ask("host1.example.org.", dns.TypeCNAME); len(got) != 0 {
		t.Errorf("CNAME beside data added: %v", got)
	}
	if got := ask("host1.example.org.", dns.TypeTXT); len(got) != 1 {
		t.Errorf("TXT of the same update: %v", got)
	}
	// The refusals are in the event log, in aggregate (one event per
	// client, reason and interval).
	time.Sleep(500 * time.Millisecond)
	if r := run(t, db, "", "events", "--failed"); strings.Count(r.out, "UPDATE refused") < 4 {
		t.Errorf("failed updates in the event log:\n%s", r.out)
	}
}

// TestShellScript: dms shell reading commands from a pipe runs old and new
// spellings in order, never pages (PAGER would fail here), and stops at
// the first failing line, naming it.
func TestShellScript(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	script := strings.Join([]string{
		"set_config soa_mname ns1.example.net.",
		"config set soa_rname hostmaster.example.net.",
		"set_config apex_ns ns1.example.net.",
		"create_zone 192.0.2.0/24 inc_updates",
		"create_zone -r cust1 shell.example edit_lock",
		"# a comment",
		`record add shell.example "www A 192.0.2.5"`,
		"show_zonesm 192.0.2.5",
		"ls",
		"nosuch_command x",
		"create_zone never.example",
	}, "\n") + "\n"
	r := runEnv(t, db, script, []string{"PAGER=false"}, "shell")
	if r.code == 0 || !strings.Contains(r.err, "line 10: nosuch_command x") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.err)
	}
	for _, want := range []string{"created zone 2.0.192.in-addr.arpa.", "created zone shell.example.", "inc_updates:   true", "shell.example.\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if got := run(t, db, "", "zone", "ls").out; strings.Contains(got, "never.example") {
		t.Error("the shell went on after a failing line")
	}
	if got := run(t, db, "", "zone", "info", "shell.example").out; !strings.Contains(got, "reference:     cust1") || !strings.Contains(got, "edit_lock:     true") {
		t.Errorf("-r REF not taken:\n%s", got)
	}
}

// TestShellTerminal: dms shell on a terminal (a pty from script(1)):
// tab completes a command, long output goes through $PAGER, short output
// does not, and the history file keeps the lines.
func TestShellTerminal(t *testing.T) {
	script := tool(t, "script", "bsdutils")
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	for _, args := range [][]string{{"config", "set", "soa_mname", "ns1.example.net."}, {"config", "set", "soa_rname", "h.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."}, {"zone", "create", "short.example"}} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qfec", "stty rows 6 cols 100; "+dmsBin+" --db "+db+" shell", "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+dir, "PAGER=sed s/^/PAGED:/", "DMS_DB=")
	cmd.Stdin = strings.NewReader("show_con\t\rls\rexit\r")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	text := strings.ReplaceAll(string(out), "\r", "")
	if !strings.Contains(text, "show_config ") {
		t.Errorf("no completion to show_config:\n%s", text)
	}
	if !strings.Contains(text, "PAGED:soa_mname:") {
		t.Errorf("long output not paged:\n%s", text)
	}
	if !strings.Contains(text, "\nshort.example.\n") || strings.Contains(text, "PAGED:short.example.") || strings.Contains(text, "PAGED:zone_tool") {
		t.Errorf("short output (ls) paged, or missing:\n%s", text)
	}
	hist, _ := os.ReadFile(filepath.Join(dir, ".dms_history"))
	if string(hist) != "show_config \nls\nexit\n" {
		t.Errorf("history %q", hist)
	}
}
