package cli_test

import (
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// metricValue reads one sample of the metrics text (0 when absent).
func metricValue(t *testing.T, metricsAddr, series string) float64 {
	t.Helper()
	text := httpGet(t, "http://"+metricsAddr+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestRefusedTrafficIsCheap: 10 000 unsigned UPDATEs from one address are
// refused without a store write each (a handful of aggregated events, a
// few pages written), counted by opcode and rcode, while queries from
// another address are answered throughout.
func TestRefusedTrafficIsCheap(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", signedZone)
	if r := run(t, db, "", "zone", "load", "--inc-updates", filepath.Join(dir, "example.org")); r.code != 0 {
		t.Fatal(r.err)
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0", "--refusal-log-interval", "300ms")
	time.Sleep(700 * time.Millisecond) // start-up work (NOTIFY scan) done
	before := metricValue(t, srv.metrics, "dms_store_page_writes_total")

	// Queries from 127.0.0.2 all along.
	stop := make(chan struct{})
	var qwg sync.WaitGroup
	var asked, answered int
	qwg.Add(1)
	go func() {
		defer qwg.Done()
		c := &dns.Client{Timeout: time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}}}
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		for {
			select {
			case <-stop:
				return
			default:
			}
			asked++
			if r, _, err := c.Exchange(m, srv.dns); err == nil && len(r.Answer) > 0 {
				answered++
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	const n = 10000
	refused := 0
	u := new(dns.Msg)
	u.SetUpdate("example.org.")
	rr, _ := dns.NewRR("evil.example.org. 60 IN A 192.0.2.66")
	u.Insert([]dns.RR{rr})
	start := time.Now()
	blast(t, "127.0.0.1", srv.dns, n, 0, u, func(m *dns.Msg) {
		if m.Rcode == dns.RcodeRefused {
			refused++
		}
	})
	close(stop)
	qwg.Wait()
	took := time.Since(start)
	time.Sleep(600 * time.Millisecond) // an aggregation interval: the events are written
	t.Logf("%d UPDATEs sent in %v, %d answered REFUSED; %d of %d queries from another address answered", n, took.Round(time.Millisecond), refused, answered, asked)

	// Some of the flood is lost in socket buffers on a loaded machine;
	// what arrives is refused.
	if refused < n/2 {
		t.Errorf("only %d of %d UPDATEs answered REFUSED", refused, n)
	}
	if answered < asked-1 || asked < 10 {
		t.Errorf("queries from another address: %d of %d answered", answered, asked)
	}
	ev := run(t, db, "", "events", "--failed")
	events := strings.Count(ev.out, "UPDATE refused")
	if events == 0 || events > 10 {
		t.Errorf("%d refusal events (want a handful, in aggregate):\n%s", events, ev.out)
	}
	if !regexp.MustCompile(`UPDATE refused \d+ times from 127\.0\.0\.1`).MatchString(ev.out) {
		t.Errorf("no aggregated event with a count:\n%s", ev.out)
	}
	writes := metricValue(t, srv.metrics, "dms_store_page_writes_total") - before
	if writes > float64(20*events) {
		t.Errorf("%v pages written for %d refused updates and %d events", writes, n, events)
	}
	if got := metricValue(t, srv.metrics, `dms_dns_requests_total{opcode="UPDATE",proto="udp",rcode="REFUSED"}`); got < float64(refused) {
		t.Errorf("dms_dns_requests_total counts %v refused UDP updates, %d were answered", got, refused)
	}
	t.Logf("%d events, %v pages written", events, writes)
}

// TestTCPIdleConnectionsFromOneClient: 2 000 idle TCP connections from one
// address do not keep another address from being answered over TCP.
func TestTCPIdleConnectionsFromOneClient(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", signedZone)
	if r := run(t, db, "", "zone", "load", filepath.Join(dir, "example.org")); r.code != 0 {
		t.Fatal(r.err)
	}
	srv := startServe(t, db, "--listen", "127.0.0.1:0", "--workers", "2", "--metrics-listen", "127.0.0.1:0", "--tcp-idle", "30s")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 2 * time.Second}
	for range 2000 {
		c, err := d.Dial("tcp", srv.dns)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	// The server took its share of them and closed the rest.
	waitFor(t, "the connections over the client's share closed", 10*time.Second, func() bool {
		return metricValue(t, srv.metrics, "dms_dns_tcp_rejected_total") >= 2000-32
	})
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}}
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	for i := range 5 {
		r, _, err := c.Exchange(m, srv.dns)
		if err != nil || len(r.Answer) == 0 {
			t.Fatalf("query %d over TCP from another address, with 2000 connections from 127.0.0.1 open: %v %v", i, r, err)
		}
	}
	// And the flooding address itself still gets its share.
	held := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && strings.Contains(err.Error(), "timeout") {
			held++
		}
	}
	if held != 32 {
		t.Errorf("%d of the client's connections held open, want its share of 32", held)
	}
}
