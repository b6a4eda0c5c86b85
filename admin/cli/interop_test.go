package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Interop tests: real BIND named and knotd as secondaries of dms serve on
// loopback, configured only with what dms server config prints.

const interopSecret = "aW50ZXJvcC10ZXN0LWtleS1vZi0zMi1ieXRlcyEhISE="

// tool finds a program of a Debian package, or fails the test naming the
// package (make test installs them).
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not found: install the Debian package %s (make test does, when run as root)", name, pkg)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// freeDNSPort is a port of 127.0.0.1 free for both UDP and TCP.
func freeDNSPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// daemon runs a program in the foreground until the test ends.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuffer
}

func startDaemon(t *testing.T, name string, args ...string) *daemon {
	t.Helper()
	d := &daemon{name: name, log: new(syncBuffer)}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.log.String())
		}
	})
	return d
}

// waitFor polls cond every 20 ms until it holds or timeout passes; it
// returns how long that took.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// query asks addr (UDP) and returns the answer, nil on no answer.
func query(addr, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return nil
	}
	return r
}

func soaSerial(addr, zone string) uint32 {
	r := query(addr, zone, dns.TypeSOA)
	if r == nil || r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		return 0
	}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SOA); ok {
			return s.Serial
		}
	}
	return 0
}

// axfr transfers zone from addr (signed when keyName is set) and returns
// its records in a normal form, sorted, the closing SOA dropped.
func axfr(t *testing.T, addr, zone, keyName, secret string, local net.IP) ([]string, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(zone))
	tr := &dns.Transfer{DialTimeout: 2 * time.Second, ReadTimeout: 10 * time.Second}
	if keyName != "" {
		m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
		tr.TsigSecret = map[string]string{keyName: secret}
	}
	if local != nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		tr.Conn = &dns.Conn{Conn: c}
	}
	ch, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for env := range ch {
		if env.Error != nil {
			return nil, env.Error
		}
		for _, rr := range env.RR {
			out = append(out, strings.ReplaceAll(dns.CanonicalName(rr.Header().Name)+" "+rr.String()[len(rr.Header().Name):], "\t", " "))
		}
	}
	if len(out) > 1 {
		out = out[:len(out)-1]
	}
	slices.Sort(out)
	return out, nil
}

type interop struct {
	db, dir  string
	dms      *server
	named    *daemon
	knot     *daemon
	namedAt  string
	knotAt   string
	knotSock string
}

func (e *interop) dmsCLI(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, e.db, "", args...)
	if r.code != 0 {
		t.Fatalf("dms %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// startInterop runs dms serve with a zone, and named and knotd as its
// secondaries, each configured from dms server config.
func startInterop(t *testing.T) *interop {
	named := tool(t, "named", "bind9")
	knotd := tool(t, "knotd", "knot")
	tool(t, "knotc", "knot")
	e := &interop{dir: t.TempDir()}
	e.db = filepath.Join(e.dir, "dms.db")
	e.dms = startServe(t, e.db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0", "--log-level", "debug")
	namedPort, knotPort := freeDNSPort(t), freeDNSPort(t)
	e.namedAt, e.knotAt = fmt.Sprintf("127.0.0.1:%d", namedPort), fmt.Sprintf("127.0.0.1:%d", knotPort)
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."},
		{"config", "set", "soa_rname", "hostmaster.example.net."},
		// Hours: only NOTIFY can explain a secondary picking a change up
		// within a second.
		{"config", "set", "soa_refresh", "10h"},
		{"config", "set", "soa_retry", "1h"},
		{"sg", "create", "ext", "--apex-ns", "ns1.example.net", "--apex-ns", "ns2.example.net", "--master-address", e.dms.dns},
		{"tsig", "import", "xfr-key", interopSecret},
		{"server", "create", "bind", e.namedAt, "--sg", "ext", "--type", "bind9", "--tsig", "xfr-key"},
		{"server", "create", "knot", e.knotAt, "--sg", "ext", "--type", "knot", "--tsig", "xfr-key"},
		{"zone", "create", "example.com", "--sg", "ext"},
		{"record", "add", "example.com", "www A 192.0.2.80", "www AAAA 2001:db8::80", "@ MX 10 mail", "mail A 192.0.2.25",
			"@ TXT \"v=spf1 mx -all\"", "_sip._tcp SRV 10 5 5060 sip", "sip A 192.0.2.50", "*.wild A 192.0.2.99",
			"sub NS ns.sub", "ns.sub A 192.0.2.53", "alias CNAME www"},
	} {
		e.dmsCLI(t, c...)
	}

	// named, with the fragment dms prints.
	bindConf := strings.ReplaceAll(e.dmsCLI(t, "server", "config", "bind"), "/var/lib/bind", e.dir)
	conf := namedConf(t, e.dir, namedPort, bindConf, "allow-transfer { any; };")
	writeFile(t, e.dir, "named.conf", conf)
	if out, err := exec.Command(tool(t, "named-checkconf", "bind9-utils"), filepath.Join(e.dir, "named.conf")).CombinedOutput(); err != nil {
		t.Fatalf("named-checkconf: %v\n%s\n%s", err, out, conf)
	}
	e.named = startDaemon(t, "named", named, "-g", "-d", "1", "-c", filepath.Join(e.dir, "named.conf"))

	// knotd, with the fragment dms prints.
	kdir := filepath.Join(e.dir, "knot")
	os.MkdirAll(kdir, 0o755)
	e.knotSock = filepath.Join(kdir, "knot.sock")
	knotConf := strings.ReplaceAll(e.dmsCLI(t, "server", "config", "knot"), "/var/lib/knot", kdir)
	writeFile(t, kdir, "knot.conf", fmt.Sprintf(`server:
    listen: 127.0.0.1@%d
    rundir: %s
log:
  - target: stderr
    any: info
database:
    storage: %s
control:
    listen: %s
%s`, knotPort, kdir, kdir, e.knotSock, knotConf))
	e.knot = startDaemon(t, "knotd", knotd, "-c", filepath.Join(kdir, "knot.conf"))
	return e
}

func (e *interop) serial(t *testing.T, zone string) uint32 {
	return soaSerial(e.dms.dns, zone)
}

// TestInteropSecondaries: BIND and Knot slave the zone from dms by its
// catalog zone, with TSIG; their copies equal ours; a change reaches them
// within a second through NOTIFY and IXFR; new and deleted zones follow the
// catalog; strangers are refused.
func TestInteropSecondaries(t *testing.T) {
	e := startInterop(t)
	want := e.serial(t, "example.com")
	if want == 0 {
		t.Fatal("dms does not serve example.com")
	}
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		d := waitFor(t, name+" serving example.com from the catalog", 30*time.Second, func() bool { return soaSerial(addr, "example.com") == want })
		t.Logf("%s serves example.com serial %d %v after start", name, want, d.Round(time.Millisecond))
	}

	// The copies equal ours, record for record.
	ours, err := axfr(t, e.dms.dns, "example.com", "xfr-key.", interopSecret, nil)
	if err != nil {
		t.Fatalf("AXFR from dms: %v", err)
	}
	if len(ours) < 14 {
		t.Fatalf("AXFR from dms: %d records:\n%s", len(ours), strings.Join(ours, "\n"))
	}
	theirs, err := axfr(t, e.namedAt, "example.com", "", "", nil)
	if err != nil {
		t.Fatalf("AXFR from named: %v", err)
	}
	if !slices.Equal(ours, theirs) {
		t.Errorf("named's copy differs:\n--- dms\n%s\n--- named\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	}
	knotc := tool(t, "knotc", "knot")
	out, err := exec.Command(knotc, "-s", e.knotSock, "zone-read", "example.com").CombinedOutput()
	if err != nil {
		t.Fatalf("knotc zone-read: %v\n%s", err, out)
	}
	var kc []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "[example.com.] owner ttl type rdata"
		_, rest, _ := strings.Cut(l, "] ")
		rr, err := dns.NewRR(rest)
		if err != nil {
			t.Fatalf("knotc zone-read line %q: %v", l, err)
		}
		kc = append(kc, strings.ReplaceAll(dns.CanonicalName(rr.Header().Name)+" "+rr.String()[len(rr.Header().Name):], "\t", " "))
	}
	slices.Sort(kc)
	if !slices.Equal(ours, kc) {
		t.Errorf("knotd's copy differs:\n--- dms\n%s\n--- knotd\n%s", strings.Join(ours, "\n"), strings.Join(kc, "\n"))
	}

	// A change reaches both within a second: the SOA refresh is 10 hours,
	// so only NOTIFY explains it.
	start := time.Now()
	e.dmsCLI(t, "record", "add", "example.com", "new A 192.0.2.77")
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		waitFor(t, name+" serving new.example.com", 10*time.Second, func() bool {
			r := query(addr, "new.example.com", dns.TypeA)
			return r != nil && len(r.Answer) == 1
		})
		d := time.Since(start)
		t.Logf("%s serves the new record %v after dms record add started", name, d.Round(time.Millisecond))
		if d > time.Second {
			t.Errorf("%s took %v to serve the new record; want under 1 s", name, d)
		}
	}
	// Both fetched it by IXFR.
	waitFor(t, "named logging an IXFR", 5*time.Second, func() bool {
		return strings.Contains(e.named.log.String(), "zone example.com/IN: requesting IXFR")
	})
	waitFor(t, "knotd logging an IXFR", 5*time.Second, func() bool {
		return strings.Contains(e.knot.log.String(), "[example.com.] IXFR, incoming")
	})
	// dms answered both with a condensed IXFR, not a whole zone.
	if n := strings.Count(e.dms.log.String(), `type=IXFR zone=example.com. client=127.0.0.1`); n < 2 {
		t.Errorf("dms logged %d IXFR answers for example.com, want one to each secondary", n)
	}
	if strings.Contains(e.named.log.String(), "expected a TSIG") || strings.Contains(e.knot.log.String(), "TSIG") && strings.Contains(e.knot.log.String(), "failed") {
		t.Errorf("a secondary complained about TSIG")
	}

	// A new zone appears on both through the catalog; a deleted one goes.
	e.dmsCLI(t, "zone", "create", "new.example", "--sg", "ext")
	ns := e.serial(t, "new.example")
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		d := waitFor(t, name+" serving new.example", 15*time.Second, func() bool { return soaSerial(addr, "new.example") == ns })
		t.Logf("%s serves the new zone %v after dms zone create", name, d.Round(time.Millisecond))
	}
	e.dmsCLI(t, "zone", "delete", "new.example")
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		waitFor(t, name+" dropping new.example", 15*time.Second, func() bool { return soaSerial(addr, "new.example") == 0 })
	}

	// Refusals: no TSIG, a wrong key, an address not in the SG.
	if _, err := axfr(t, e.dms.dns, "example.com", "", "", nil); !isRcode(err, dns.RcodeRefused) {
		t.Errorf("AXFR without TSIG: %v, want REFUSED", err)
	}
	wrong := "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="
	if _, err := axfr(t, e.dms.dns, "example.com", "xfr-key.", wrong, nil); err == nil {
		t.Errorf("AXFR with a wrong secret succeeded")
	}
	m := new(dns.Msg)
	m.SetAxfr("example.com.")
	m.SetTsig("xfr-key.", dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{"xfr-key.": wrong}, Timeout: 2 * time.Second}
	if r, _, _ := c.Exchange(m, e.dms.dns); r == nil || r.Rcode != dns.RcodeNotAuth || r.IsTsig() == nil || r.IsTsig().Error != dns.RcodeBadSig || len(r.Answer) != 0 {
		t.Errorf("AXFR with a wrong secret: %v, want NOTAUTH with TSIG error BADSIG", r)
	}
	if _, err := axfr(t, e.dms.dns, "example.com", "xfr-key.", interopSecret, net.ParseIP("127.0.0.2")); !isRcode(err, dns.RcodeRefused) {
		t.Errorf("AXFR from 127.0.0.2 (not in the SG): %v, want REFUSED", err)
	}
	// The same with dig, as an operator would try it.
	host, port, _ := net.SplitHostPort(e.dms.dns)
	out, _ = exec.Command(tool(t, "dig", "dnsutils"), "@"+host, "-p", port, "example.com", "AXFR").CombinedOutput()
	if !strings.Contains(string(out), "Transfer failed") {
		t.Errorf("dig AXFR without a key:\n%s", out)
	}
	metrics := httpGet(t, "http://"+e.dms.metrics+"/metrics")
	for _, want := range []string{`dms_xfr_total{result="refused",type="AXFR"} 3`, `dms_xfr_total{result="ok",type="IXFR"}`, `dms_notify_total{result="ok"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(metrics, "dms_xfr_total|dms_notify_total"))
		}
	}
	if !strings.Contains(e.dms.log.String(), "TSIG failed") {
		t.Errorf("the wrong key was not logged")
	}

	// A signed zone: BIND and Knot slave it with its signatures; the copy
	// passes both zone verifiers; unbound validates BIND's answers with the
	// zone's DS; two AXFRs are identical; an IXFR after one change is small.
	e.dmsCLI(t, "zone", "create", "signed.example", "--sg", "ext", "--dnssec")
	e.dmsCLI(t, "record", "add", "signed.example", "www A 192.0.2.80", "*.wild TXT \"w\"", "sub NS ns.example.net.")
	ss := e.serial(t, "signed.example")
	for name, addr := range map[string]string{"named": e.namedAt, "knotd": e.knotAt} {
		waitFor(t, name+" serving signed.example", 15*time.Second, func() bool { return soaSerial(addr, "signed.example") == ss })
	}
	signedCopy, err := axfr(t, e.namedAt, "signed.example", "", "", nil)
	if err != nil {
		t.Fatalf("AXFR of signed.example from named: %v", err)
	}
	zf := writeFile(t, e.dir, "signed.example.zone", strings.Join(signedCopy, "\n")+"\n")
	for _, c := range [][]string{{tool(t, "ldns-verify-zone", "ldnsutils"), zf}, {tool(t, "dnssec-verify", "bind9-utils"), "-z", "-o", "signed.example", zf}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects named's copy of signed.example: %v\n%s", filepath.Base(c[0]), err, out)
		}
	}
	a1, _ := axfr(t, e.dms.dns, "signed.example", "xfr-key.", interopSecret, nil)
	a2, _ := axfr(t, e.dms.dns, "signed.example", "xfr-key.", interopSecret, nil)
	if !slices.Equal(a1, a2) || len(a1) < 20 || !slices.Equal(a1, signedCopy) {
		t.Errorf("two AXFRs of the signed zone differ (%d, %d records) or differ from named's (%d)", len(a1), len(a2), len(signedCopy))
	}
	dsLine := strings.Fields(strings.Split(e.dmsCLI(t, "dnssec", "ds", "signed.example"), "\n")[0])
	ub := startUnboundFor(t, "signed.example", e.namedAt, strings.Join(dsLine, " "))
	for _, q := range []struct {
		name  string
		qtype uint16
		rcode int
	}{{"www.signed.example.", dns.TypeA, 0}, {"nx.signed.example.", dns.TypeA, dns.RcodeNameError}, {"a.wild.signed.example.", dns.TypeTXT, 0},
		{"sub.signed.example.", dns.TypeDS, 0}} {
		if r := validate(t, ub, q.name, q.qtype); r.Rcode != q.rcode || !r.AuthenticatedData {
			t.Errorf("unbound via named, %s %s: %s AD=%v", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], r.AuthenticatedData)
		}
	}
	before := e.serial(t, "signed.example")
	e.dmsCLI(t, "record", "add", "signed.example", "one A 192.0.2.1")
	m = new(dns.Msg)
	m.SetIxfr("signed.example.", before, "ns1.example.net.", "hostmaster.example.net.")
	m.SetTsig("xfr-key.", dns.HmacSHA256, 300, time.Now().Unix())
	tr := &dns.Transfer{TsigSecret: map[string]string{"xfr-key.": interopSecret}}
	ch, err := tr.In(m, e.dms.dns)
	if err != nil {
		t.Fatal(err)
	}
	var ixfrRRs, ixfrBytes int
	for env := range ch {
		if env.Error != nil {
			t.Fatal(env.Error)
		}
		ixfrRRs += len(env.RR)
		for _, rr := range env.RR {
			ixfrBytes += dns.Len(rr)
		}
	}
	t.Logf("IXFR of the signed zone after one added record: %d RRs, about %d bytes", ixfrRRs, ixfrBytes)
	if ixfrRRs > 16 {
		t.Errorf("IXFR after one record: %d RRs, want the record, its RRSIG, two NSEC3 and their RRSIGs, SOA and RRSIG", ixfrRRs)
	}

	// dms status sees both secondaries current.
	st := e.dmsCLI(t, "status", "--check")
	for _, s := range []string{"bind", "knot"} {
		if !regexp.MustCompile(`(?m)^\s+` + s + `\s+127\.0\.0\.1:\d+\s+ext\s+OK\s`).MatchString(st) {
			t.Errorf("dms status does not show %s OK:\n%s", s, st)
		}
	}
	// And so do the metrics; the signed zone made signatures in the server.
	metrics = httpGet(t, "http://"+e.dms.metrics+"/metrics")
	for _, re := range []string{`dms_secondary_state\{server="bind",state="OK"\} 1\n`, `dms_secondary_state\{server="knot",state="RETRY"\} 0\n`,
		`dms_secondary_serial_lag\{server="knot"\} \d+\n`, `dms_dnssec_signatures_total [1-9]`, `dms_dnssec_keys_awaiting_ds \d`} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("metrics lack %s:\n%s", re, grepLines(metrics, "dms_secondary|dms_dnssec"))
		}
	}
}

// isRcode reports whether a transfer failed with rcode (miekg/dns says
// "bad xfr rcode: N").
func isRcode(err error, rcode int) bool {
	return err != nil && strings.HasSuffix(err.Error(), fmt.Sprintf("rcode: %d", rcode))
}

func grepLines(s, pattern string) string {
	re := regexp.MustCompile(pattern)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// namedConf is a named.conf for a test secondary in dir on port: the
// fragment bindConf that dms server config bind printed (its options part
// inside options), with extra options.
func namedConf(t *testing.T, dir string, port int, bindConf, extra string) string {
	t.Helper()
	top, inOptions, ok := strings.Cut(bindConf, "// ---- inside options")
	if !ok {
		t.Fatalf("dms server config bind has no options part:\n%s", bindConf)
	}
	inOptions = inOptions[strings.Index(inOptions, "\n"):]
	return fmt.Sprintf(`options {
	directory "%[1]s";
	pid-file "%[1]s/named.pid";
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	%[5]s
	%[3]s
};
controls { };
%[4]s
`, dir, port, inOptions, top, extra)
}
