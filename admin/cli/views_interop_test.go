package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const viewSecret = "dmlld3MtaW50ZXJvcC1rZXktb2YtMzItYnl0ZXMhISE="

// queryFrom asks addr for name/qtype from the local address from.
func queryFrom(from, addr, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: 500 * time.Millisecond, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return nil
	}
	return r
}

// mustCLI runs dms commands on db and returns their output; a failure
// ends the test.
func mustCLI(t *testing.T, db string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		r := run(t, db, "", args...)
		if r.code != 0 {
			t.Fatalf("dms %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
		}
		return r.out
	}
}

func firstA(r *dns.Msg) string {
	if r == nil {
		return ""
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}

// TestInteropViews: split horizon with two BIND secondaries. example.com
// is in the default view (for everyone else) and in view "internal"
// (clients from 127.0.0.2, and requests signed with int-key.), each with
// its own content and server group. BIND "ext" (unsigned, from 127.0.0.1)
// transfers the default view's zone; BIND "int" (signed with int-key.)
// the internal one, each configured from dms server config. dms answers
// queries from 127.0.0.1 and 127.0.0.2 each from its view; commits to
// either view reach its secondary alone by NOTIFY and IXFR.
func TestInteropViews(t *testing.T) {
	t.Parallel()
	named := tool(t, "named", "bind9")
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	dms := startServe(t, db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0", "--log-level", "debug")
	cli := mustCLI(t, db)
	extPort, intPort := freeDNSPort(t), freeDNSPort(t)
	extAt, intAt := fmt.Sprintf("127.0.0.1:%d", extPort), fmt.Sprintf("127.0.0.1:%d", intPort)
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."},
		{"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."},
		{"config", "set", "soa_refresh", "10h"}, // only NOTIFY explains a quick transfer
		{"config", "set", "soa_retry", "1h"},
		{"tsig", "import", "int-key", viewSecret},
		{"view", "create", "internal", "--match", "key:int-key", "--match", "127.0.0.2"},
		{"sg", "create", "ext", "--master-address", dms.dns},
		{"--view", "internal", "sg", "create", "int", "--master-address", dms.dns},
		{"server", "create", "bind-ext", extAt, "--sg", "ext", "--type", "bind9"},
		{"server", "create", "bind-int", intAt, "--sg", "int", "--type", "bind9", "--tsig", "int-key"},
		{"zone", "create", "example.com", "--sg", "ext"},
		{"record", "add", "example.com", "www A 192.0.2.80", "outside TXT only-outside"},
		{"--view", "internal", "zone", "create", "example.com", "--sg", "int"},
		{"--view", "internal", "record", "add", "example.com", "www A 10.0.0.80", "inside TXT only-inside"},
	} {
		cli(c...)
	}
	if out := cli("view", "ls"); !strings.Contains(out, "internal") || !strings.Contains(out, "key:int-key") || strings.Contains(out, "key:int-key.") {
		t.Errorf("dms view ls:\n%s", out)
	}

	// Each BIND from its server's configuration.
	start := func(name string, port int) *daemon {
		t.Helper()
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		conf := cli("server", "config", name)
		if strings.Contains(conf, "WARNING") {
			t.Errorf("dms server config %s warns:\n%s", name, conf)
		}
		conf = namedConf(t, d, port, strings.ReplaceAll(conf, "/var/lib/bind", d), "")
		writeFile(t, d, "named.conf", conf)
		if out, err := exec.Command(tool(t, "named-checkconf", "bind9-utils"), filepath.Join(d, "named.conf")).CombinedOutput(); err != nil {
			t.Fatalf("named-checkconf: %v\n%s\n%s", err, out, conf)
		}
		return startDaemon(t, "named-"+name, named, "-g", "-d", "1", "-c", filepath.Join(d, "named.conf"))
	}
	extNamed, intNamed := start("bind-ext", extPort), start("bind-int", intPort)

	// dms itself answers each client from its view.
	if got := firstA(queryFrom("127.0.0.1", dms.dns, "www.example.com", dns.TypeA)); got != "192.0.2.80" {
		t.Errorf("dms to 127.0.0.1: www %q, want the default view's 192.0.2.80", got)
	}
	if got := firstA(queryFrom("127.0.0.2", dms.dns, "www.example.com", dns.TypeA)); got != "10.0.0.80" {
		t.Errorf("dms to 127.0.0.2: www %q, want the internal view's 10.0.0.80", got)
	}
	// Each secondary serves its own view of the name.
	for _, c := range []struct{ at, want, has, hasnot string }{
		{extAt, "192.0.2.80", "outside", "inside"},
		{intAt, "10.0.0.80", "inside", "outside"},
	} {
		waitFor(t, c.at+" serving www.example.com "+c.want, 30*time.Second, func() bool { return firstA(query(c.at, "www.example.com", dns.TypeA)) == c.want })
		if r := query(c.at, c.has+".example.com", dns.TypeTXT); r == nil || len(r.Answer) != 1 {
			t.Errorf("%s: %s.example.com TXT: %v", c.at, c.has, r)
		}
		if r := query(c.at, c.hasnot+".example.com", dns.TypeTXT); r == nil || r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: %s.example.com TXT, another view's name: %v", c.at, c.hasnot, r)
		}
	}

	// Commits to each view reach its secondary, and only it, by NOTIFY
	// and IXFR (the refresh is 10 hours).
	for round := range 2 {
		begin := time.Now()
		host := fmt.Sprintf("new%d", round)
		cli("record", "add", "example.com", host+" A 192.0.2.7")
		cli("--view", "internal", "record", "add", "example.com", host+" A 10.0.0.7")
		for _, c := range []struct{ at, want string }{{extAt, "192.0.2.7"}, {intAt, "10.0.0.7"}} {
			waitFor(t, c.at+" serving "+host+".example.com", 10*time.Second, func() bool {
				return firstA(query(c.at, host+".example.com", dns.TypeA)) == c.want
			})
			t.Logf("round %d: %s serves %s %v after the commits began", round, c.at, c.want, time.Since(begin).Round(time.Millisecond))
		}
		if s1, s2 := soaSerial(extAt, "example.com"), soaSerial(intAt, "example.com"); s1 == 0 || s2 == 0 {
			t.Errorf("serials %d %d", s1, s2)
		}
	}
	for name, d := range map[string]*daemon{"ext": extNamed, "int": intNamed} {
		waitFor(t, "named "+name+" logging an IXFR", 5*time.Second, func() bool {
			return strings.Contains(d.log.String(), "zone example.com/IN: requesting IXFR")
		})
	}
	// A client no view matches is refused: narrow the default view to
	// 127.0.0.1 and ask from 127.0.0.3.
	cli("view", "set", "default", "--match", "127.0.0.1")
	waitFor(t, "dms refusing 127.0.0.3", 5*time.Second, func() bool {
		r := queryFrom("127.0.0.3", dms.dns, "www.example.com", dns.TypeA)
		return r != nil && r.Rcode == dns.RcodeRefused
	})
	if got := firstA(queryFrom("127.0.0.1", dms.dns, "www.example.com", dns.TypeA)); got != "192.0.2.80" {
		t.Errorf("dms to 127.0.0.1 after the default view was narrowed: %q", got)
	}
}
