package cli_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const signedZone = `$TTL 3600
@       IN SOA  ns1.example.org. hostmaster.example.org. 1 600 600 604800 300
        IN NS   ns1.example.org.
        IN MX   10 mail
ns1     IN A    192.0.2.53
mail    IN A    192.0.2.25
www     IN A    192.0.2.80
        IN AAAA 2001:db8::80
alias   IN CNAME www
*.wild  IN TXT  "wild"
a.b.c   IN A    192.0.2.9
sub     IN NS   ns.sub
ns.sub  IN A    192.0.2.99
secure  IN NS   ns.example.net.
secure  IN DS   12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
`

// unbound runs a validating unbound with anchor as the trust anchor of
// example.org and a stub zone pointing at dms.
func startUnbound(t *testing.T, dmsAddr, anchor string) string {
	t.Helper()
	return startUnboundFor(t, "example.org", dmsAddr, anchor)
}

// startUnboundFor runs a validating unbound with anchor as the trust
// anchor of zone and a stub zone pointing at addr.
func startUnboundFor(t *testing.T, zone, dmsAddr, anchor string) string {
	t.Helper()
	bin := tool(t, "unbound", "unbound")
	dir := t.TempDir()
	port := freeDNSPort(t)
	host, dport, _ := strings.Cut(dmsAddr, ":")
	conf := fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %d
    do-ip6: no
    username: ""
    chroot: ""
    directory: "%s"
    pidfile: "%s/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    do-not-query-localhost: no
    module-config: "validator iterator"
    trust-anchor: "%s"
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    # The tests query names before and after the commits that add them:
    # no answers synthesized from cached NSEC ranges (RFC 8198).
    aggressive-nsec: no
stub-zone:
    name: "%s"
    stub-addr: %s@%s
remote-control:
    control-enable: no
`, port, dir, dir, anchor, zone, host, dport)
	writeFile(t, dir, "unbound.conf", conf)
	if out, err := exec.Command(tool(t, "unbound-checkconf", "unbound"), filepath.Join(dir, "unbound.conf")).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v\n%s", err, out)
	}
	startDaemon(t, "unbound", bin, "-d", "-c", filepath.Join(dir, "unbound.conf"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "unbound answering", 10*time.Second, func() bool { return query(addr, zone, dns.TypeSOA) != nil })
	return addr
}

// validate asks the resolver with DO and returns the answer.
func validate(t *testing.T, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, true)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// TestDNSSECValidatesWithUnbound: every kind of answer from a zone dms
// signs is secure for unbound with the zone's DS as trust anchor, before and
// after a commit; a wrong anchor gives SERVFAIL.
func TestDNSSECValidatesWithUnbound(t *testing.T) {
	for _, mode := range []string{"--nsec3", "--nsec"} {
		t.Run(mode[2:], func(t *testing.T) { validatesWithUnbound(t, mode) })
	}
}

func validatesWithUnbound(t *testing.T, mode string) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", signedZone)
	for _, args := range [][]string{
		{"zone", "load", filepath.Join(dir, "example.org")},
		{"dnssec", "enable", "example.org", mode},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	ds := run(t, db, "", "dnssec", "ds", "example.org")
	if ds.code != 0 || !strings.Contains(strings.Join(strings.Fields(ds.out), " "), " IN DS ") {
		t.Fatalf("dnssec ds: %s %s", ds.out, ds.err)
	}
	anchor := strings.Join(strings.Fields(strings.Split(ds.out, "\n")[0]), " ")
	srv := startServe(t, db)
	good := startUnbound(t, srv.dns, anchor)

	cases := []struct {
		name  string
		qtype uint16
		rcode int
		what  string
	}{
		{"www.example.org.", dns.TypeA, dns.RcodeSuccess, "a positive answer"},
		{"WwW.ExAmPlE.oRg.", dns.TypeAAAA, dns.RcodeSuccess, "mixed case"},
		{"example.org.", dns.TypeMX, dns.RcodeSuccess, "the apex"},
		{"nope.example.org.", dns.TypeA, dns.RcodeNameError, "NXDOMAIN"},
		{"deep.nope.example.org.", dns.TypeA, dns.RcodeNameError, "NXDOMAIN two labels down"},
		{"www.example.org.", dns.TypeTXT, dns.RcodeSuccess, "NODATA"},
		{"c.example.org.", dns.TypeA, dns.RcodeSuccess, "an empty non-terminal"},
		{"x.wild.example.org.", dns.TypeTXT, dns.RcodeSuccess, "a wildcard answer"},
		{"x.y.wild.example.org.", dns.TypeTXT, dns.RcodeSuccess, "a wildcard answer two labels down"},
		{"x.wild.example.org.", dns.TypeA, dns.RcodeSuccess, "wildcard NODATA"},
		{"alias.example.org.", dns.TypeA, dns.RcodeSuccess, "a CNAME"},
		{"sub.example.org.", dns.TypeDS, dns.RcodeSuccess, "no DS at an insecure delegation"},
		{"secure.example.org.", dns.TypeDS, dns.RcodeSuccess, "the DS of a secure delegation"},
		{"example.org.", dns.TypeDNSKEY, dns.RcodeSuccess, "the DNSKEY RRset"},
	}
	check := func(stage string) {
		t.Helper()
		for _, c := range cases {
			r := validate(t, good, c.name, c.qtype)
			if r.Rcode != c.rcode || !r.AuthenticatedData {
				t.Errorf("%s, %s (%s %s): rcode %s, AD %v; want %s with AD\n%v", stage, c.what, c.name, dns.TypeToString[c.qtype],
					dns.RcodeToString[r.Rcode], r.AuthenticatedData, dns.RcodeToString[c.rcode], r)
			}
		}
	}
	check("after enable")

	if r := run(t, db, "", "record", "add", "example.org", "new A 192.0.2.1", "x.y.z TXT \"deep\"", "www TXT \"now there\""); r.code != 0 {
		t.Fatal(r.err)
	}
	cases = append(cases,
		struct {
			name  string
			qtype uint16
			rcode int
			what  string
		}{"new.example.org.", dns.TypeA, dns.RcodeSuccess, "a name added by a commit"},
		struct {
			name  string
			qtype uint16
			rcode int
			what  string
		}{"y.z.example.org.", dns.TypeA, dns.RcodeSuccess, "an empty non-terminal added by a commit"},
	)
	cases[5].what, cases[5].rcode = "a type added by a commit", dns.RcodeSuccess
	check("after a commit")

	// The test can fail: a wrong anchor makes everything bogus.
	wrong := strings.Replace(anchor, " 13 2 ", " 13 2 00", 1)
	wrong = wrong[:len(wrong)-2]
	bad := startUnbound(t, srv.dns, wrong)
	if r := validate(t, bad, "www.example.org.", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("with a wrong trust anchor: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if t.Failed() {
		out, _ := exec.Command("dig", "+dnssec", "+norec", "@"+strings.Split(srv.dns, ":")[0], "-p", strings.Split(srv.dns, ":")[1], "nope.example.org", "A").CombinedOutput()
		t.Logf("dms answer to nope.example.org A:\n%s", out)
	}
}

// TestDNSSECRolloversWithUnbound: unbound finds the zone secure before,
// during and after a ZSK rollover and a KSK rollover, run in real time
// with TTLs and safety margins of a second.
func TestDNSSECRolloversWithUnbound(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	fast := strings.ReplaceAll(signedZone, "$TTL 3600", "$TTL 1")
	fast = strings.Replace(fast, "@       IN SOA", "@ 1     IN SOA", 1)
	writeFile(t, dir, "example.org", fast)
	for _, args := range [][]string{
		{"zone", "load", filepath.Join(dir, "example.org")},
		{"config", "set", "dnssec_publish_safety", "1"},
		{"config", "set", "dnssec_retire_safety", "1"},
		{"config", "set", "dnssec_ds_ttl", "1"},
		{"dnssec", "enable", "example.org", "--ksk-zsk"},
		{"dnssec", "ds-seen", "example.org"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	dsOf := func() []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(run(t, db, "", "dnssec", "ds", "example.org").out), "\n") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
		return out
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--metrics-listen", "", "--dnssec-check-interval", "200ms")
	oldDS := dsOf()
	if len(oldDS) != 1 {
		t.Fatalf("DS before: %v", oldDS)
	}
	oldUB := startUnbound(t, srv.dns, oldDS[0])
	secure := func(ub, stage string) {
		t.Helper()
		for _, q := range []struct {
			name  string
			qtype uint16
			rcode int
		}{{"www.example.org.", dns.TypeA, 0}, {"nope.example.org.", dns.TypeA, dns.RcodeNameError}, {"x.wild.example.org.", dns.TypeTXT, 0},
			{"example.org.", dns.TypeDNSKEY, 0}} {
			if r := validate(t, ub, q.name, q.qtype); r.Rcode != q.rcode || !r.AuthenticatedData {
				t.Errorf("%s: %s %s: %s AD=%v", stage, q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], r.AuthenticatedData)
			}
		}
	}
	keys := func() string { return run(t, db, "", "dnssec", "keys", "example.org").out }
	// Wait for key states, checking validation at every change seen.
	follow := func(ub, want string, timeout time.Duration) {
		t.Helper()
		last := ""
		waitFor(t, "keys to reach: "+want, timeout, func() bool {
			k := keys()
			states := regexp.MustCompile(`(?m)^\d+\s+\d+\s+(\w+)\s+(\w+)`).FindAllStringSubmatch(k, -1)
			var got []string
			for _, s := range states {
				got = append(got, s[1]+"/"+s[2])
			}
			slices.Sort(got)
			cur := strings.Join(got, " ")
			if cur != last {
				secure(ub, "keys "+cur)
				last = cur
			}
			return cur == want
		})
	}
	secure(oldUB, "before any rollover")

	// ZSK: published, active (old retired), old removed.
	if r := run(t, db, "", "dnssec", "rollover", "example.org"); r.code != 0 {
		t.Fatal(r.err)
	}
	follow(oldUB, "ksk/active zsk/active zsk/retired", 20*time.Second)
	follow(oldUB, "ksk/active zsk/active", 20*time.Second)

	// KSK: published with CDS; nothing moves until ds-seen; then the new
	// KSK signs, the old leaves after the DS TTL.
	if r := run(t, db, "", "dnssec", "rollover", "example.org", "--ksk"); r.code != 0 {
		t.Fatal(r.err)
	}
	both := dsOf()
	if len(both) != 2 {
		t.Fatalf("DS during the KSK rollover: %v", both)
	}
	time.Sleep(3 * time.Second) // past the publish wait: still published without ds-seen
	if k := keys(); !strings.Contains(k, "ksk   published") && !regexp.MustCompile(`ksk\s+published`).MatchString(k) {
		t.Fatalf("the new KSK moved before ds-seen:\n%s", k)
	}
	secure(oldUB, "new KSK published")
	var newDS string
	for _, d := range both {
		if d != oldDS[0] {
			newDS = d
		}
	}
	newUB := startUnbound(t, srv.dns, newDS) // the parent now has the new DS
	secure(newUB, "new KSK published, new DS")
	if r := run(t, db, "", "dnssec", "ds-seen", "example.org"); r.code != 0 {
		t.Fatal(r.err)
	}
	follow(newUB, "ksk/active zsk/active", 30*time.Second)
	secure(newUB, "after the KSK rollover")
	if d := dsOf(); len(d) != 1 || d[0] != newDS {
		t.Errorf("DS after: %v, want %s", d, newDS)
	}
}
