package cli_test

import (
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// blast sends n copies of msg (ids 1 to n) from local (a loopback
// address) to addr, spread over d (0: as fast as the socket takes them,
// about 10 000 a second), and calls seen once for each reply, until none
// came for a second.
func blast(t *testing.T, local, addr string, n int, d time.Duration, msg *dns.Msg, seen func(*dns.Msg)) {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(local)}, ua)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		got := map[uint16]bool{}
		buf := make([]byte, 4096)
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:k]) != nil || got[m.Id] {
				continue
			}
			got[m.Id] = true
			seen(m)
		}
	}()
	for i := range n {
		msg.Id = uint16(i + 1)
		b, _ := msg.Pack()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		switch {
		case d > 0:
			time.Sleep(d / time.Duration(n))
		case i%200 == 199:
			time.Sleep(time.Millisecond)
		}
	}
	<-done
}

// flood sends n queries for name over d from local to addr and counts the
// replies: whole answers, truncated ones (slips) and none.
func flood(t *testing.T, local, addr, name string, n int, d time.Duration) (whole, slipped, lost int) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	blast(t, local, addr, n, d, q, func(m *dns.Msg) {
		if m.Truncated {
			slipped++
		} else if len(m.Answer) > 0 {
			whole++
		}
	})
	return whole, slipped, n - whole - slipped
}

// TestRRLServe: dms serve with rrl_responses_per_second limits a flood of
// one name from one address to about the rate (slipping every other
// limited response as TC), answers another address in full and an SG's
// secondary always, counts it in the metrics, and follows dms config set
// while it runs.
func TestRRLServe(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", signedZone)
	for _, args := range [][]string{
		{"zone", "load", filepath.Join(dir, "example.org")},
		{"config", "set", "rrl_responses_per_second", "20"},
		{"config", "set", "rrl_ipv4_prefix", "32"}, // 127.0.0.1 and 127.0.0.2 apart
		{"sg", "create", "ext"},
		{"server", "create", "sec", "127.0.0.3", "--sg", "ext"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	srv := startServe(t, db)
	const rate, secs = 20, 2
	whole, slipped, lost := flood(t, "127.0.0.1", srv.dns, "www.example.org.", 10*rate*secs, secs*time.Second)
	t.Logf("flood at 10x the rate: %d answered, %d slipped, %d dropped", whole, slipped, lost)
	if whole > rate*secs+rate || whole < rate/2 {
		t.Errorf("flood: %d answered in %d s at %d/s", whole, secs, rate)
	}
	if limited := 10*rate*secs - whole; slipped < limited/2-limited/10 || slipped > limited/2+limited/10 {
		t.Errorf("flood: %d limited, %d slipped (slip 2: about half)", limited, slipped)
	}
	if w, s, l := flood(t, "127.0.0.2", srv.dns, "www.example.org.", rate, time.Second); w != rate {
		t.Errorf("another address at the rate: %d answered, %d slipped, %d lost", w, s, l)
	}
	if w, s, l := flood(t, "127.0.0.3", srv.dns, "www.example.org.", 10*rate*secs, secs*time.Second); w != 10*rate*secs {
		t.Errorf("the SG's secondary: %d answered, %d slipped, %d lost", w, s, l)
	}
	metrics := httpGet(t, "http://"+srv.metrics+"/metrics")
	for _, action := range []string{"slipped", "dropped"} {
		m := regexp.MustCompile(`dms_rrl_limited_total\{action="` + action + `"\} (\d+)`).FindStringSubmatch(metrics)
		if n, _ := strconv.Atoi(m[1]); m == nil || n == 0 {
			t.Errorf("metrics: no %s responses counted:\n%s", action, grepLines(metrics, "dms_rrl"))
		}
	}
	// Off again while serving: within the poll, the flood is answered.
	if r := run(t, db, "", "config", "set", "rrl_responses_per_second", "0"); r.code != 0 {
		t.Fatal(r.err)
	}
	time.Sleep(2500 * time.Millisecond)
	if w, s, l := flood(t, "127.0.0.1", srv.dns, "www.example.org.", 10*rate, time.Second); w != 10*rate {
		t.Errorf("with RRL off: %d answered, %d slipped, %d lost", w, s, l)
	}
}

// TestRRLConfigErrors: out-of-range values are refused with the range.
func TestRRLConfigErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "dms.db")
	run(t, db, "", "zone", "create", "example.org")
	for _, c := range [][]string{{"rrl_ipv4_prefix", "33"}, {"rrl_ipv6_prefix", "0"}, {"rrl_window", "0"}, {"rrl_slip", "11"}, {"rrl_responses_per_second", "many"}, {"rrl_exempt", "not-a-net"}} {
		r := run(t, db, "", "config", "set", c[0], c[1])
		if r.code == 0 || !regexp.MustCompile(c[0]+` takes`).MatchString(r.err) {
			t.Errorf("config set %s %s: exit %d, %q", c[0], c[1], r.code, r.err)
		}
	}
}
