package admin

import (
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"dmsdns.org/dms/authserver"
)

// TestMetricsAllowQueryRefusals: allow-query refusals are counted apart
// (dms_dns_refused_total{reason="allow_query"}), besides their rcode in
// dms_dns_queries_total; other refusals are not; the series exists at 0
// before the first; the registry lints clean.
func TestMetricsAllowQueryRefusals(t *testing.T) {
	s, _ := newTestService(t)
	m := NewMetrics(s.db)
	if got := testutil.ToFloat64(m.denied); got != 0 {
		t.Errorf("dms_dns_refused_total{reason=\"allow_query\"} starts at %v", got)
	}
	for _, denied := range []bool{true, true, false} {
		m.Observe(authserver.Observation{Proto: authserver.UDP, Qtype: dns.TypeA, Rcode: dns.RcodeRefused, Denied: denied})
	}
	m.Observe(authserver.Observation{Proto: authserver.TCP, Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused, Denied: true})
	m.flush()
	if got := testutil.ToFloat64(m.denied); got != 3 {
		t.Errorf("dms_dns_refused_total{reason=\"allow_query\"} = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.queries[authserver.UDP][qtypeIndex(dns.TypeA)][rcodeIndex(dns.RcodeRefused)]); got != 3 {
		t.Errorf("dms_dns_queries_total{proto=\"udp\",qtype=\"A\",rcode=\"REFUSED\"} = %v, want 3", got)
	}
	probs, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsRequestLabels: dms_dns_requests_total names each request by
// opcode and by its rcode, or its TSIG error when it has one; an rcode
// outside the list is "other" (not the first TSIG error after the list).
func TestMetricsRequestLabels(t *testing.T) {
	s, _ := newTestService(t)
	m := NewMetrics(s.db)
	for _, o := range []authserver.Observation{
		{Proto: authserver.UDP, Opcode: dns.OpcodeUpdate, Rcode: dns.RcodeRefused},
		{Proto: authserver.TCP, Opcode: dns.OpcodeQuery, Qtype: dns.TypeAXFR, Rcode: dns.RcodeNotAuth, TSIGError: dns.RcodeBadSig},
		{Proto: authserver.UDP, Opcode: dns.OpcodeNotify, Rcode: dns.RcodeNXRrset}, // not in the list
		{Proto: authserver.UDP, Opcode: dns.OpcodeStatus, Rcode: dns.RcodeBadVers},
	} {
		m.Observe(o)
	}
	m.flush()
	for _, want := range []struct {
		labels []string
		n      float64
	}{
		{[]string{"UPDATE", "udp", "REFUSED"}, 1},
		{[]string{"QUERY", "tcp", "BADSIG"}, 1},
		{[]string{"NOTIFY", "udp", "other"}, 1},
		{[]string{"NOTIFY", "udp", "BADSIG"}, 0},
		{[]string{"other", "udp", "BADVERS"}, 1},
	} {
		c, err := m.requestsVec.GetMetricWithLabelValues(want.labels...)
		if err != nil {
			t.Fatal(err)
		}
		if got := testutil.ToFloat64(c); got != want.n {
			t.Errorf("dms_dns_requests_total%v = %v, want %v", want.labels, got, want.n)
		}
	}
}

// TestMetricsShards: queries counted by many workers (more than there are
// shards) add up in what the registry gathers, twice over (a flush adds
// only what came since the last), with the duration histogram's buckets
// and sum.
func TestMetricsShards(t *testing.T) {
	s, _ := newTestService(t)
	m := NewMetrics(s.db)
	g := m.Gatherer()
	for round := 1; round <= 2; round++ {
		for w := range 2 * obsShards {
			m.Observe(authserver.Observation{Proto: authserver.UDP, Qtype: dns.TypeA, Worker: w, Duration: 7 * time.Microsecond})
			m.Observe(authserver.Observation{Proto: authserver.UDP, Qtype: dns.TypeA, Worker: w, Duration: time.Second, Truncated: true})
		}
		n := float64(round * 2 * obsShards)
		for _, c := range []struct {
			metric string
			want   float64
		}{
			{`dms_dns_queries_total{proto="udp",qtype="A",rcode="NOERROR"}`, 2 * n},
			{`dms_dns_responses_truncated_total`, n},
			{`dms_dns_query_duration_seconds_count`, 2 * n},
			{`dms_dns_query_duration_seconds_bucket{le="1e-05"}`, n},
			{`dms_dns_query_duration_seconds_bucket{le="5e-06"}`, 0},
			{`dms_dns_query_duration_seconds_bucket{le="0.1"}`, n},
			{`dms_dns_query_duration_seconds_sum`, n * (1 + 7e-6)},
		} {
			if got := gathered(t, g, c.metric); math.Abs(got-c.want) > 1e-6*c.want {
				t.Errorf("round %d: %s = %v, want %v", round, c.metric, got, c.want)
			}
		}
	}
}

// gathered is the value of one series in what g gathers, in the text
// format's spelling (name{label="value",...}).
func gathered(t *testing.T, g prometheus.Gatherer, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no series %s", series)
	return 0
}
