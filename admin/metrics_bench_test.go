package admin

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/authserver"
)

// BenchmarkObserveParallel: the metrics of one answered query, from every
// P at once as from dms serve's workers: run with -cpu 1,2 to see what
// the shared counters cost when two workers answer.
func BenchmarkObserveParallel(b *testing.B) {
	s, _ := newTestService(b)
	m := NewMetrics(s.db)
	o := authserver.Observation{Proto: authserver.UDP, Opcode: dns.OpcodeQuery, Qtype: dns.TypeA, Duration: 700 * time.Nanosecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(o)
		}
	})
}
