package zonedb

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

func bigZone(b testing.TB, n int) []Record {
	out := recs(b, baseZone[:3]...)
	for i := range n {
		rr := &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.example.org.", i), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A: []byte{192, 0, 2, byte(i)}}
		out = append(out, Record{RR: rr})
	}
	return out
}

// BenchmarkCommitRecordAdd is the commit path of one record added to a
// zone of 100 000 records: it must touch only the RRset, the SOA and the
// journal.
func BenchmarkCommitRecordAdd(b *testing.B) { benchCommitRecordAdd(b, false) }

// BenchmarkCommitRecordAddIndexed is the same with the name index kept
// (dms serve): the commit also works out the new state of the names it
// touched and hands it to the index.
func BenchmarkCommitRecordAddIndexed(b *testing.B) { benchCommitRecordAdd(b, true) }

func benchCommitRecordAdd(b *testing.B, indexed bool) {
	db := openTest(b)
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Create: &Zone{}, Replace: true, Records: bigZone(b, 100000)}}}); err != nil {
		b.Fatal(err)
	}
	if indexed {
		if err := db.EnableNodeIndex(nil); err != nil {
			b.Fatal(err)
		}
		waitNodeIndex(b, db)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rr := &dns.A{Hdr: dns.RR_Header{Name: fmt.Sprintf("new%d.example.org.", i), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: []byte{192, 0, 2, 1}}
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Ops: []RecordOp{{Kind: OpAdd, Record: Record{RR: rr}}}}}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkCommitLoad is a whole-zone load of 100 000 records.
func BenchmarkCommitLoad(b *testing.B) {
	zone := bigZone(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db := openTest(b)
		b.StartTimer()
		if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Create: &Zone{}, Replace: true, Records: zone}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkViewRRset is a point read of one RRset in a held read
// transaction (the query path's access pattern).
func BenchmarkViewRRset(b *testing.B) {
	db := openTest(b)
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org", Create: &Zone{}, Replace: true, Records: bigZone(b, 10000)}}}); err != nil {
		b.Fatal(err)
	}
	v, err := db.BeginView()
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	z, err := v.Zone("example.org")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r, err := v.RRset(z, "h77.example.org.", dns.TypeA); err != nil || len(r) != 1 {
			b.Fatal(err, r)
		}
	}
}
