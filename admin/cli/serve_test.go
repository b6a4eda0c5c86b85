package cli_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

const serveZone = `$TTL 3600
@    IN SOA ns1.example.org. hostmaster.example.org. 2026010100 600 600 604800 300
     IN NS  ns1.example.org.
     IN MX  10 mail
ns1  IN A   192.0.2.53
mail IN A   192.0.2.25
www  IN A   192.0.2.80
big  IN TXT "` + "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" + `"
`

func startWithZone(t *testing.T) (string, *server) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", serveZone)
	if r := run(t, db, "", "zone", "load", filepath.Join(dir, "example.org")); r.code != 0 {
		t.Fatal(r.err)
	}
	// A big RRset, for truncation.
	var big []string
	for i := range 40 {
		big = append(big, "big TXT \"record "+strings.Repeat("x", 40)+string(rune('a'+i%26))+string(rune('a'+i/26))+"\"")
	}
	if r := run(t, db, "", append([]string{"record", "add", "example.org"}, big...)...); r.code != 0 {
		t.Fatal(r.err)
	}
	return db, startServe(t, db)
}

func exchange(t *testing.T, net, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 3 * time.Second, UDPSize: 4096}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s: %v", net, m.Question[0].Name, err)
	}
	return r
}

func TestServeAnswersAndSeesCommits(t *testing.T) {
	db, srv := startWithZone(t)
	for _, proto := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("www.Example.org.", dns.TypeA)
		r := exchange(t, proto, srv.dns, m)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 || r.Question[0].Name != "www.Example.org." {
			t.Errorf("%s: %v", proto, r)
		}
	}
	// A commit is visible to the very next query.
	for i := range 5 {
		name := "new" + string(rune('a'+i))
		if r := run(t, db, "", "record", "add", "example.org", name+" A 192.0.2.1"); r.code != 0 {
			t.Fatal(r.err)
		}
		m := new(dns.Msg)
		m.SetQuestion(name+".example.org.", dns.TypeA)
		if r := exchange(t, "udp", srv.dns, m); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("commit %d not visible: %v", i, r)
		}
	}
	// And a delete takes it away again.
	run(t, db, "", "zone", "delete", "example.org")
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	if r := exchange(t, "udp", srv.dns, m); r.Rcode != dns.RcodeRefused {
		t.Errorf("deleted zone answered: %v", r)
	}
}

func TestServeProtocol(t *testing.T) {
	_, srv := startWithZone(t)
	q := func(name string, qtype uint16, edit func(*dns.Msg)) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		if edit != nil {
			edit(m)
		}
		return m
	}
	edns := func(size uint16, do bool) func(*dns.Msg) {
		return func(m *dns.Msg) { m.SetEdns0(size, do) }
	}
	// Truncation: no EDNS -> 512 bytes -> TC; over TCP the whole answer.
	r := exchange(t, "udp", srv.dns, q("big.example.org.", dns.TypeTXT, nil))
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("512-byte answer not truncated: tc=%v answers=%d", r.Truncated, len(r.Answer))
	}
	r = exchange(t, "tcp", srv.dns, q("big.example.org.", dns.TypeTXT, nil))
	if r.Truncated || len(r.Answer) != 41 {
		t.Errorf("tcp answer: tc=%v answers=%d", r.Truncated, len(r.Answer))
	}
	// EDNS: our size, DO echoed, BADVERS for version 1.
	r = exchange(t, "udp", srv.dns, q("www.example.org.", dns.TypeA, edns(4096, true)))
	if o := r.IsEdns0(); o == nil || o.UDPSize() != 1232 || !o.Do() {
		t.Errorf("edns answer: %v", r)
	}
	r = exchange(t, "udp", srv.dns, q("www.example.org.", dns.TypeA, func(m *dns.Msg) { m.SetEdns0(1232, false); m.IsEdns0().SetVersion(1) }))
	if r.Rcode != dns.RcodeBadVers || len(r.Answer) != 0 {
		t.Errorf("edns version 1: rcode %s", dns.RcodeToString[r.Rcode])
	}
	// Opcodes, classes, names outside our zones.
	r = exchange(t, "udp", srv.dns, q("www.example.org.", dns.TypeA, func(m *dns.Msg) { m.Opcode = dns.OpcodeStatus }))
	if r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("STATUS opcode: %s", dns.RcodeToString[r.Rcode])
	}
	r = exchange(t, "udp", srv.dns, q("www.example.com.", dns.TypeA, nil))
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("outside: %s", dns.RcodeToString[r.Rcode])
	}
	r = exchange(t, "udp", srv.dns, q("version.bind.", dns.TypeTXT, func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }))
	if r.Rcode != dns.RcodeRefused {
		t.Errorf("version.bind must be refused by default: %v", r)
	}
	// Cookies: a client cookie gets client+server cookie back.
	r = exchange(t, "udp", srv.dns, q("www.example.org.", dns.TypeA, func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	}))
	var cookie string
	if o := r.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if c, ok := opt.(*dns.EDNS0_COOKIE); ok {
				cookie = c.Cookie
			}
		}
	}
	if len(cookie) != 48 || !strings.HasPrefix(cookie, "0102030405060708") {
		t.Errorf("cookie %q", cookie)
	}
	r = exchange(t, "udp", srv.dns, q("www.example.org.", dns.TypeA, func(m *dns.Msg) {
		m.SetEdns0(1232, false)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "010203"})
	}))
	if r.Rcode != dns.RcodeFormatError {
		t.Errorf("short cookie: %s", dns.RcodeToString[r.Rcode])
	}
}

// TestServeBadPackets: garbage gets FORMERR or nothing, and the server
// keeps answering.
func TestServeBadPackets(t *testing.T) {
	_, srv := startWithZone(t)
	good := new(dns.Msg)
	good.SetQuestion("www.example.org.", dns.TypeA)
	gw, _ := good.Pack()
	twoQ := new(dns.Msg)
	twoQ.Question = []dns.Question{{Name: "a.example.org.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, {Name: "b.example.org.", Qtype: dns.TypeA, Qclass: dns.ClassINET}}
	tw, _ := twoQ.Pack()
	noQ := new(dns.Msg)
	nw, _ := noQ.Pack()
	loop := append([]byte{0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0xc0, 12, 0, 1, 0, 1) // name points at itself
	manyLabels := []byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for range 130 {
		manyLabels = append(manyLabels, 1, 'a')
	}
	manyLabels = append(manyLabels, 0, 0, 1, 0, 1)
	optGarbage := append(append([]byte{}, gw...), 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 5, 0, 10, 0, 8, 1) // OPT with a lying option length
	optGarbage[11] = 1                                                                                 // ARCOUNT 1
	for _, tc := range []struct {
		name  string
		pkt   []byte
		rcode int // -1: no answer expected
	}{
		{"too short", []byte{1, 2, 3}, -1},
		{"header only, no question", gw[:12], dns.RcodeFormatError},
		{"truncated question", gw[:len(gw)-3], dns.RcodeFormatError},
		{"qdcount 0", nw, dns.RcodeFormatError},
		{"qdcount 2", tw, dns.RcodeFormatError},
		{"compression loop", loop, dns.RcodeFormatError},
		{"too many labels", manyLabels, dns.RcodeFormatError},
		{"edns option garbage", optGarbage, dns.RcodeFormatError},
		{"a response", func() []byte { b := append([]byte{}, gw...); b[2] |= 0x80; return b }(), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("udp", srv.dns)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tc.pkt)
			wait := 3 * time.Second
			if tc.rcode < 0 {
				wait = 500 * time.Millisecond
			}
			c.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 4096)
			n, err := c.Read(buf)
			if tc.rcode < 0 {
				if err == nil {
					t.Errorf("got an answer of %d bytes", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			var r dns.Msg
			if err := r.Unpack(buf[:n]); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if r.Rcode != tc.rcode || !r.Response {
				t.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
			}
		})
	}
	// TCP: a length prefix that lies, a slow client, and pipelining.
	c, err := net.Dial("tcp", srv.dns)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0x10, 0x00, 1, 2, 3}) // says 4096 bytes, sends 3, then stalls
	slow, _ := net.Dial("tcp", srv.dns)
	slow.Write([]byte{0})
	// Meanwhile another client gets two pipelined answers on one connection.
	p, err := net.Dial("tcp", srv.dns)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var pipe []byte
	for _, name := range []string{"www.example.org.", "mail.example.org."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		b, _ := m.Pack()
		pipe = binary.BigEndian.AppendUint16(pipe, uint16(len(b)))
		pipe = append(pipe, b...)
	}
	p.Write(pipe)
	p.SetReadDeadline(time.Now().Add(3 * time.Second))
	for i, want := range []string{"www.example.org.", "mail.example.org."} {
		var l [2]byte
		if _, err := readFull(p, l[:]); err != nil {
			t.Fatalf("pipelined answer %d: %v", i, err)
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := readFull(p, b); err != nil {
			t.Fatal(err)
		}
		var r dns.Msg
		if err := r.Unpack(b); err != nil || r.Question[0].Name != want || len(r.Answer) != 1 {
			t.Errorf("pipelined answer %d: %v %v", i, err, r)
		}
	}
	c.Close()
	slow.Close()
	// The server still answers.
	exchange(t, "udp", srv.dns, good)
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestServeWithDigAndKdig queries the running server with the real tools.
func TestServeWithDigAndKdig(t *testing.T) {
	_, srv := startWithZone(t)
	host, port, _ := net.SplitHostPort(srv.dns)
	for _, tool := range [][]string{
		{"dig", "@" + host, "-p", port, "+norec", "+tcp", "example.org.", "MX"},
		{"dig", "@" + host, "-p", port, "+norec", "www.example.org.", "A"},
		{"kdig", "@" + host, "-p", port, "+norec", "example.org.", "MX"},
		{"kdig", "@" + host, "-p", port, "+norec", "+tcp", "www.example.org.", "A"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, tool[0], tool[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%v: %v\n%s (make test installs dig and kdig)", tool, err, out)
		}
		s := string(out)
		if !strings.Contains(s, "NOERROR") || !strings.Contains(s, " aa") && !strings.Contains(s, "aa ") && !strings.Contains(s, "AA") {
			t.Errorf("%v:\n%s", tool, s)
		}
		if tool[len(tool)-1] == "MX" && !strings.Contains(s, "mail.example.org.") {
			t.Errorf("%v: no MX:\n%s", tool, s)
		}
	}
}

// TestServeMetrics scrapes /metrics, checks the counters move with
// queries and commits, and lints the names and help texts with the rules
// promtool check metrics applies (client_golang's testutil).
func TestServeMetrics(t *testing.T) {
	db, srv := startWithZone(t)
	get := func(path string) string {
		resp, err := http.Get("http://" + srv.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		return string(b)
	}
	if h := get("/healthz"); h != "ok\n" {
		t.Errorf("healthz %q", h)
	}
	value := func(text, series string) float64 {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, series+" ") {
				v, _ := strconv.ParseFloat(strings.TrimPrefix(line, series+" "), 64)
				return v
			}
		}
		return 0
	}
	before := get("/metrics")
	for range 3 {
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		exchange(t, "udp", srv.dns, m)
		m.SetQuestion("nope.example.org.", dns.TypeAAAA)
		exchange(t, "tcp", srv.dns, m)
	}
	m := new(dns.Msg)
	m.SetQuestion("big.example.org.", dns.TypeTXT)
	exchange(t, "udp", srv.dns, m)
	run(t, db, "", "record", "add", "example.org", "m A 192.0.2.1")
	after := get("/metrics")
	for _, c := range []struct {
		series string
		delta  float64
	}{
		{`dms_dns_queries_total{proto="udp",qtype="A",rcode="NOERROR"}`, 3},
		{`dms_dns_queries_total{proto="tcp",qtype="AAAA",rcode="NXDOMAIN"}`, 3},
		{`dms_dns_responses_truncated_total`, 1},
		{`dms_commits_total`, 1},
		{`dms_dns_query_duration_seconds_count`, 7},
	} {
		if d := value(after, c.series) - value(before, c.series); d != c.delta {
			t.Errorf("%s moved by %v, want %v", c.series, d, c.delta)
		}
	}
	for _, s := range []string{`dms_zones{state="PUBLISHED"} 1`, "dms_store_size_bytes ", "process_resident_memory_bytes ", "go_goroutines "} {
		if !strings.Contains(after, s) {
			t.Errorf("no %q in /metrics", s)
		}
	}
	// The name index, on by default, holds the zone's names and says so.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		text := get("/metrics")
		if value(text, "dms_name_index_names") >= 3 && value(text, "dms_name_index_bytes") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the name index metrics say nothing: names %v, bytes %v", value(text, "dms_name_index_names"), value(text, "dms_name_index_bytes"))
			break
		}
	}
	// promtool check metrics runs this linter (promlint) on the same text.
	probs, err := promlint.New(strings.NewReader(after)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// And promtool itself (Debian package prometheus; make test installs it).
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(after)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestServeIPv6AndTwoListeners: --listen repeats; IPv6 works.
func TestServeIPv6AndTwoListeners(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", serveZone)
	if r := run(t, db, "", "zone", "load", filepath.Join(dir, "example.org")); r.code != 0 {
		t.Fatal(r.err)
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--metrics-listen", "")
	if len(srv.all) != 2 {
		t.Fatalf("addresses %q", srv.all)
	}
	for _, addr := range srv.all {
		for _, proto := range []string{"udp", "tcp"} {
			q := new(dns.Msg)
			q.SetQuestion("www.example.org.", dns.TypeA)
			if r := exchange(t, proto, addr, q); len(r.Answer) != 1 {
				t.Errorf("%s %s: %v", proto, addr, r)
			}
		}
	}
}

// TestServeTCPLimits: idle connections are closed after --tcp-idle, and a
// connection over --max-tcp is closed at once, while others are served.
func TestServeTCPLimits(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", serveZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	addr := startServe(t, db, "--listen", "127.0.0.1:0", "--metrics-listen", "", "--tcp-idle", "300ms", "--max-tcp", "2").dns
	closed := func(c net.Conn, within time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(within))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	// Two connections, each known to be served (one answer each).
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		q := new(dns.Msg)
		q.SetQuestion("www.example.org.", dns.TypeA)
		dc := &dns.Conn{Conn: c}
		if err := dc.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
		if _, err := dc.ReadMsg(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	a, b := conns[0], conns[1]
	over, _ := net.Dial("tcp", addr)
	if !closed(over, 3*time.Second) {
		t.Errorf("a third connection over --max-tcp 2 stayed open")
	}
	start := time.Now()
	if !closed(a, 5*time.Second) || !closed(b, 5*time.Second) {
		t.Errorf("idle connections not closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle close took %v", d)
	}
	// Slots are free again.
	q := new(dns.Msg)
	q.SetQuestion("www.example.org.", dns.TypeA)
	if r := exchange(t, "tcp", addr, q); len(r.Answer) != 1 {
		t.Errorf("after the limits: %v", r)
	}
}

// TestServeDualWildcards: [::]:P and 0.0.0.0:P together, as the packaged
// unit gives them: IPv6 wildcards are IPv6-only, so both bind.
func TestServeDualWildcards(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", serveZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	srv := startServe(t, db, "--listen", "[::]:"+port, "--listen", "0.0.0.0:"+port, "--metrics-listen", "")
	if len(srv.all) != 2 {
		t.Fatalf("addresses %q", srv.all)
	}
	for _, addr := range []string{"127.0.0.1:" + port, "[::1]:" + port} {
		q := new(dns.Msg)
		q.SetQuestion("www.example.org.", dns.TypeA)
		if r := exchange(t, "udp", addr, q); len(r.Answer) != 1 {
			t.Errorf("%s: %v", addr, r)
		}
	}
}

// TestServeAllowQuery: a zone of a private SG (dms sg --allow-query) is
// answered only to the SG's prefixes, by the running server: refused to
// 127.0.0.1 and ::1 first, answered to 127.0.0.1 once the SG allows it
// (twice over UDP, so from the cache too) and still refused to ::1 then,
// refused again when the SG stops allowing it; public zones answer all
// along, and the refusals are counted in dms_dns_refused_total.
func TestServeAllowQuery(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", serveZone)
	writeFile(t, dir, "private.example", strings.ReplaceAll(serveZone, "example.org.", "private.example."))
	for _, args := range [][]string{
		{"sg", "create", "inside", "--allow-query", "192.0.2.0/24"},
		{"zone", "load", filepath.Join(dir, "example.org")},
		{"zone", "load", "--sg", "inside", filepath.Join(dir, "private.example")},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--workers", "1", "--metrics-listen", "127.0.0.1:0")
	v4, v6 := srv.all[0], srv.all[1]
	if strings.HasPrefix(v4, "[") {
		v4, v6 = v6, v4
	}
	refusals := func() float64 {
		resp, err := http.Get("http://" + srv.metrics + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, `dms_dns_refused_total{reason="allow_query"} `); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Fatal(`no dms_dns_refused_total{reason="allow_query"} in /metrics`)
		return 0
	}
	before := refusals()
	want := 0.0
	ask := func(step, proto, addr string, allowed bool) {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		if r := exchange(t, proto, addr, m); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s: public zone over %s to %s: %v", step, proto, addr, r)
		}
		m.SetQuestion("www.private.example.", dns.TypeA)
		r := exchange(t, proto, addr, m)
		switch {
		case allowed && (r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1):
			t.Errorf("%s: private zone over %s to %s: %v", step, proto, addr, r)
		case !allowed && (r.Rcode != dns.RcodeRefused || len(r.Answer)+len(r.Ns) != 0):
			t.Errorf("%s: private zone over %s to %s, want REFUSED: %v", step, proto, addr, r)
		case !allowed:
			want++
		}
	}
	for _, step := range []struct {
		allow  []string
		v4, v6 bool
	}{{[]string{"192.0.2.0/24"}, false, false}, {[]string{"192.0.2.0/24", "127.0.0.1"}, true, false}, {[]string{"192.0.2.0/24"}, false, false}} {
		args := []string{"sg", "set", "inside"}
		for _, p := range step.allow {
			args = append(args, "--allow-query", p)
		}
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
		name := strings.Join(step.allow, " ")
		for range 2 {
			for _, proto := range []string{"udp", "tcp"} {
				ask(name, proto, v4, step.v4)
				ask(name, proto, v6, step.v6)
			}
		}
	}
	if got := refusals() - before; got != want {
		t.Errorf(`dms_dns_refused_total{reason="allow_query"} moved by %v, want %v`, got, want)
	}
}
