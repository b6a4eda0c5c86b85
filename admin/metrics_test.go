package admin

import (
	"testing"

	"github.com/miekg/dns"
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
