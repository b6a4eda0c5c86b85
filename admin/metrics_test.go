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
