package authserver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
)

// signedBenchStore is benchZone(n) signed with NSEC3 and a CSK.
func signedBenchStore(b testing.TB, n int) *zonedb.DB {
	db := testStore(b, map[string]string{"bench.example.": benchZone(n)})
	db.SetSigner(dnssec.NewSigner())
	k, err := dnssec.GenerateKey("bench.example.", dns.ECDSAP256SHA256, true)
	if err != nil {
		b.Fatal(err)
	}
	keys := []zonedb.DNSSECKey{dnssec.NewStoredKey(k, "csk", "active", time.Now())}
	p := dnssec.DefaultParams()
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "bench.example", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
		b.Fatal(err)
	}
	waitIndex(b, db)
	return db
}

func benchSigned(b *testing.B, queries [][]byte, general bool) {
	db := signedBenchStore(b, 10000)
	s := NewServer(db, Options{}, nil)
	h := &viewHolder{db: db, noCache: general, noAnswerCache: true}
	defer h.release()
	out := make([]byte, 0, 65535)
	req := new(dns.Msg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		*req = dns.Msg{}
		if s.handle(h, req, queries[i%len(queries)], out, UDP, netip.AddrPort{}, nil) == nil {
			b.Fatal("no answer")
		}
		i++
	}
}

func doQuery(b testing.TB, name string, t uint16) []byte {
	return pack(b, name, t, func(m *dns.Msg) { m.SetEdns0(1232, true) })
}

// BenchmarkSignedNXDOMAIN: random NXDOMAIN queries with DO to an
// NSEC3-signed zone (three NSEC3 and their RRSIGs each), as a flood sends
// them: each query a new name, never cached; answered by the fast denial
// path (denial.go).
func BenchmarkSignedNXDOMAIN(b *testing.B) {
	benchSigned(b, nxQueries(b), false)
}

// BenchmarkSignedNXDOMAINGeneral: the same down the general path.
func BenchmarkSignedNXDOMAINGeneral(b *testing.B) {
	benchSigned(b, nxQueries(b), true)
}

func nxQueries(b *testing.B) [][]byte {
	var qs [][]byte
	for i := range 100000 {
		qs = append(qs, doQuery(b, fmt.Sprintf("nx%d.bench.example.", (i*7919+13)%1000003), dns.TypeA))
	}
	return qs
}

// BenchmarkSignedPositive: positive answers with DO (the A RRset and its
// RRSIG) not in the answer cache: the wire-form path.
func BenchmarkSignedPositive(b *testing.B) { benchSigned(b, signedPositiveQueries(b), false) }

// BenchmarkSignedPositiveGeneral: the same down the general path.
func BenchmarkSignedPositiveGeneral(b *testing.B) { benchSigned(b, signedPositiveQueries(b), true) }

func signedPositiveQueries(b *testing.B) [][]byte {
	var qs [][]byte
	for i := range 1000 {
		qs = append(qs, doQuery(b, fmt.Sprintf("h%d.bench.example.", i*7), dns.TypeA))
	}
	return qs
}

// BenchmarkSignedReferral: referrals with DO from a signed zone to
// unsigned children (NS, the NSEC3 proving there is no DS and its RRSIG,
// glue), not in the answer cache: the wire-form path.
func BenchmarkSignedReferral(b *testing.B) {
	var qs [][]byte
	for i := range 100 {
		qs = append(qs, doQuery(b, fmt.Sprintf("www.d%d.bench.example.", i), dns.TypeA))
	}
	benchSigned(b, qs, false)
}
