package authserver

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// The wire-form answer path (wireanswer.go) must answer exactly as the
// general path does, or leave the query to it; and it must take every
// common kind of answer.

// sorgZone is exampleOrg's data as a zone of its own, to be signed.
var sorgZone = strings.NewReplacer("ns1.example.org.", "ns1.sorg.example.", "hostmaster.example.org.", "hostmaster.sorg.example.",
	"mail.example.org.", "mail.sorg.example.").Replace(exampleOrg)

// wireStore holds the RFC table zones unsigned (example.org., example.net.,
// example.) and, signed with NSEC3 (params), the denial test's zones and
// sorg.example. (example.org.'s data).
func wireStore(t testing.TB, params zonedb.DNSSECParams) *zonedb.DB {
	db := testStore(t, map[string]string{
		"example.org.": exampleOrg, "example.net.": exampleNet, "example.": rfc4592,
		"den.example.": denialZone, "child.den.example.": childZone, "redir.example.": apexDNAMEZone,
		"sorg.example.": sorgZone,
	})
	db.SetSigner(dnssec.NewSigner())
	for _, z := range []string{"den.example.", "child.den.example.", "redir.example.", "sorg.example."} {
		signZone(t, db, z, params)
	}
	waitIndex(t, db)
	return db
}

// wireNames are the names asked: every owner of the zones, names below
// them, names beside them, in other letter cases.
func wireNames(t testing.TB) []string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for origin, text := range map[string]string{"example.org.": exampleOrg, "example.net.": exampleNet, "example.": rfc4592,
		"den.example.": denialZone, "child.den.example.": childZone, "redir.example.": apexDNAMEZone, "sorg.example.": sorgZone} {
		recs, err := zonefile.ParseString(text, zonefile.ParseOptions{File: origin, Origin: origin})
		if err != nil {
			t.Fatal(err)
		}
		add("nx." + origin)
		add("a.b.nx." + origin)
		for _, r := range recs {
			n := r.RR.Header().Name
			add(n)
			add("x." + n)
			add(strings.ToUpper(n))
			if i, end := dns.NextLabel(n, 0); !end {
				add("zz" + n[:i-1] + "q." + n[i:])
			}
			switch rr := r.RR.(type) {
			case *dns.CNAME:
				add(rr.Target)
			case *dns.NS:
				add(rr.Ns)
				add("x." + rr.Ns)
			}
		}
	}
	add("www.example.com.")
	add("org.")
	add(".")
	return names
}

var wireTypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeNS, dns.TypeTXT, dns.TypeSRV, dns.TypeSOA,
	dns.TypeCNAME, dns.TypeDNAME, dns.TypeRRSIG, dns.TypeNSEC3, dns.TypeDS, dns.TypeANY, dns.TypePTR}

var wireEdits = []struct {
	name string
	edit func(*dns.Msg)
}{
	{"plain", nil},
	{"edns", func(m *dns.Msg) { m.SetEdns0(1232, false) }},
	{"do", func(m *dns.Msg) { m.SetEdns0(1232, true); m.RecursionDesired = true }},
	{"do 512 cd", func(m *dns.Msg) { m.SetEdns0(512, true); m.CheckingDisabled = true }},
}

// compareWire runs the query in through both paths; it returns whether
// the wire path answered, and an error when the answers differ.
func compareWire(s *Server, wire, general *viewHolder, in []byte) (bool, error) {
	q, key, plain := parsePlain(in, UDP, nil)
	if !plain {
		return false, nil
	}
	out := make([]byte, 0, 4096)
	acc := &access{client: netip.MustParseAddr("192.0.2.7")}
	v, _ := wire.plainView(acc, time.Now())
	if v == nil {
		return false, nil
	}
	b, rcode := s.wire(v, acc, in, q, key[:q.qEnd-12-4], out)
	if b == nil {
		return false, nil
	}
	got := new(dns.Msg)
	if err := got.Unpack(b); err != nil {
		return true, fmt.Errorf("wire answer does not unpack: %v", err)
	}
	if got.Rcode != rcode {
		return true, fmt.Errorf("rcode %d returned, %d in the answer", rcode, got.Rcode)
	}
	wb := s.handle(general, new(dns.Msg), in, make([]byte, 0, 65535), UDP, netip.MustParseAddrPort("192.0.2.7:53"), nil)
	want := new(dns.Msg)
	if err := want.Unpack(wb); err != nil {
		return true, err
	}
	// Owner names may differ in letter case: the general path writes a
	// zone's SOA under the spelling it first cached.
	if lowerOwners(got).String() != lowerOwners(want).String() {
		return true, fmt.Errorf("wire path\n%s\ngeneral path\n%s", got, want)
	}
	if len(b) > len(wb)+64 {
		return true, fmt.Errorf("wire answer of %d bytes, general %d: compression lost", len(b), len(wb))
	}
	return true, nil
}

func TestWireMatchesGeneralPath(t *testing.T) {
	optOut := dnssec.DefaultParams()
	optOut.OptOut = true
	salted := dnssec.DefaultParams()
	salted.Iterations, salted.Salt = 3, "abcd"
	for _, c := range []struct {
		name   string
		params zonedb.DNSSECParams
	}{{"default", dnssec.DefaultParams()}, {"salt", salted}, {"opt-out", optOut}} {
		t.Run(c.name, func(t *testing.T) {
			db := wireStore(t, c.params)
			s := NewServer(db, Options{}, nil)
			wire := &viewHolder{db: db}
			defer wire.release()
			general := &viewHolder{db: db, noCache: true, noIndex: true} // the general path on the B+tree
			defer general.release()
			answered, asked := 0, 0
			for _, name := range wireNames(t) {
				for _, qt := range wireTypes {
					for _, e := range wireEdits {
						in := pack(t, name, qt, e.edit)
						took, err := compareWire(s, wire, general, in)
						asked++
						if took {
							answered++
						}
						if err != nil {
							t.Errorf("%s %s %s: %v", name, dns.TypeToString[qt], e.name, err)
						}
					}
				}
			}
			t.Logf("wire path took %d of %d queries", answered, asked)

			// Every common kind of answer must be the wire path's.
			for _, k := range []struct {
				name string
				qt   uint16
				do   bool
			}{
				{"www.example.org.", dns.TypeA, false},         // positive
				{"WwW.Example.ORG.", dns.TypeA, false},         // letter case
				{"example.org.", dns.TypeMX, false},            // additional A and AAAA
				{"example.org.", dns.TypeNS, false},            // NS with in-zone address
				{"_sip._tcp.example.org.", dns.TypeSRV, false}, // SRV additional
				{"ftp.example.org.", dns.TypeA, false},         // CNAME in zone
				{"ext.example.org.", dns.TypeA, false},         // CNAME to another zone
				{"outside.example.org.", dns.TypeA, false},     // CNAME out of our zones
				{"tosub.example.org.", dns.TypeA, false},       // CNAME to a referral
				{"loop1.example.org.", dns.TypeA, false},       // CNAME loop
				{"www.sub.example.org.", dns.TypeA, false},     // referral with glue
				{"www.example.org.", dns.TypeAAAA, false},      // NODATA
				{"b.c.example.org.", dns.TypeA, false},         // empty non-terminal
				{"nope.example.org.", dns.TypeA, false},        // NXDOMAIN
				{"nope.example.org.", dns.TypeA, true},         // NXDOMAIN unsigned with DO
				{"a.wild.example.org.", dns.TypeA, false},      // wildcard
				{"q.cw.example.org.", dns.TypeA, false},        // wildcard CNAME
				{"host3.example.", dns.TypeMX, false},          // RFC 4592 synthesized MX
				{"host3.example.", dns.TypeA, false},           // RFC 4592 wildcard NODATA
				{"www.sorg.example.", dns.TypeA, true},         // signed positive
				{"sorg.example.", dns.TypeMX, true},            // signed with additional
				{"ftp.sorg.example.", dns.TypeA, true},         // signed CNAME
				{"www.sorg.example.", dns.TypeAAAA, true},      // signed NODATA
				{"www.sub.sorg.example.", dns.TypeA, true},     // signed referral with DS
				{"a.wild.sorg.example.", dns.TypeA, true},      // signed wildcard
				{"a.wild.sorg.example.", dns.TypeMX, true},     // signed wildcard NODATA
				{"www.insec.den.example.", dns.TypeA, true},    // signed referral, no DS (opt-out or not)
				{"ns1.sorg.example.", dns.TypeTXT, true},       // signed NODATA
				{"nope.sorg.example.", dns.TypeA, true},        // signed NXDOMAIN (denial.go)
				{"www.sec.den.example.", dns.TypeA, true},      // signed referral with DS
				{"sub.example.org.", dns.TypeDS, false},        // DS at a cut, from the parent
				{"sub.sorg.example.", dns.TypeDS, true},        // signed DS and its RRSIG
				{"insec.den.example.", dns.TypeDS, true},       // no DS: the NSEC3 proof
				{"child.den.example.", dns.TypeDS, true},       // a child zone's apex: the parent answers
				{"mail.example.org.", dns.TypeANY, false},      // RFC 8482: one RRset
				{"www.sorg.example.", dns.TypeANY, true},       // the same, signed
			} {
				in := pack(t, k.name, k.qt, func(m *dns.Msg) {
					if k.do {
						m.SetEdns0(1232, true)
					}
				})
				took, err := compareWire(s, wire, general, in)
				if err != nil {
					t.Errorf("%s %s: %v", k.name, dns.TypeToString[k.qt], err)
				}
				if !took {
					t.Errorf("%s %s do=%v: left to the general path", k.name, dns.TypeToString[k.qt], k.do)
				}
			}
		})
	}
}

// FuzzWireMatchesGeneral: for any query name and type, the wire path
// answers as the general path does, or leaves it.
func FuzzWireMatchesGeneral(f *testing.F) {
	for _, n := range []string{"www.example.org.", "a.wild.sorg.example.", "www.sub.sorg.example.", "x.cw.example.org.", "host3.example.", "nope.den.example."} {
		f.Add(n, uint16(dns.TypeA), byte(3))
		f.Add(n, uint16(dns.TypeMX), byte(0))
	}
	db := wireStore(f, dnssec.DefaultParams())
	s := NewServer(db, Options{}, nil)
	wire := &viewHolder{db: db}
	f.Cleanup(wire.release)
	general := &viewHolder{db: db, noCache: true, noIndex: true} // the general path on the B+tree
	f.Cleanup(general.release)
	f.Fuzz(func(t *testing.T, name string, qt uint16, flags byte) {
		name = dns.Fqdn(name)
		if _, ok := dns.IsDomainName(name); !ok {
			return
		}
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		if flags&1 != 0 {
			m.SetEdns0(512+uint16(flags&0xf0)*8, flags&2 != 0)
		}
		m.CheckingDisabled = flags&4 != 0
		in, err := m.Pack()
		if err != nil {
			return
		}
		if _, err := compareWire(s, wire, general, in); err != nil {
			t.Fatalf("%q %d %x: %v", name, qt, flags, err)
		}
	})
}

// TestWireCompression: names are compressed against every earlier
// spelling, and only against the same bytes.
func TestWireCompression(t *testing.T) {
	var m wmsg
	m.b = append(m.b, make([]byte, 12)...)
	q := []byte("\x03www\x07Example\x03org\x00")
	m.b = append(m.b, q...)
	m.note(12)
	start := m.name([]byte("\x04mail\x07Example\x03org\x00"))
	if got := m.b[start:]; !bytes.Equal(got, []byte("\x04mail\xc0\x10")) {
		t.Errorf("suffix: %q", got)
	}
	start = m.name([]byte("\x04mail\x07example\x03org\x00"))
	if got := m.b[start:]; !bytes.Equal(got, []byte("\x04mail\x07example\xc0\x18")) {
		t.Errorf("other case: %q", got)
	}
	start = m.name([]byte("\x04MAIL\x07Example\x03org\x00"))
	if got := m.b[start:]; !bytes.Equal(got, []byte("\x04MAIL\xc0\x10")) {
		t.Errorf("case of the first label: %q", got)
	}
	start = m.name([]byte("\x04mail\x07Example\x03org\x00"))
	if got := m.b[start:]; !bytes.Equal(got, []byte{0xc0, 0x1d}) {
		t.Errorf("whole name: %q", got)
	}
	// A pointer is never taken to a name of another length.
	start = m.name([]byte("\x03org\x00"))
	if got := m.b[start:]; !bytes.Equal(got, []byte{0xc0, 0x18}) {
		t.Errorf("last label: %q", got)
	}
}

// TestSignedReferralFirstQuery: a signed referral carries its DS and the
// DS's RRSIG even on the first query that loads the zone's DNSSEC parts
// (which read the apex into the View's node the referral was reading: the
// general path answered with an NSEC3 whose bitmap says DS, and no DS, a
// bogus answer, once per zone and generation; FuzzWireMatchesGeneral found
// it). Engine.Answer keeps no DNSSEC parts between queries: every query
// is such a first one.
func TestSignedReferralFirstQuery(t *testing.T) {
	db := wireStore(t, dnssec.DefaultParams())
	e := NewEngine(Config{}, nil)
	b, err := queryDO(t, e, db, "www.sub.sorg.example.", dns.TypeA, true).Pack()
	if err != nil {
		t.Fatal(err)
	}
	resp := new(dns.Msg)
	if err := resp.Unpack(b); err != nil { // the RRSIGs as the client reads them
		t.Fatal(err)
	}
	var ds, dsSig, nsec3 int
	for _, rr := range resp.Ns {
		switch rr := rr.(type) {
		case *dns.DS:
			ds++
		case *dns.RRSIG:
			if rr.TypeCovered == dns.TypeDS {
				dsSig++
			}
		case *dns.NSEC3:
			nsec3++
		}
	}
	if ds != 1 || dsSig != 1 || nsec3 != 0 {
		t.Errorf("referral with %d DS, %d RRSIG DS, %d NSEC3:\n%s", ds, dsSig, nsec3, resp)
	}
}

// TestWireMatchesGeneralPathCold: the same answers whatever either path
// has kept from earlier queries: each query goes to one path warm (the
// DNSSEC parts and proofs of every zone cached by the queries before) and
// the other cold (a new worker's first query in the generation), both
// ways round. An answer that depends on what was asked before is wrong
// one way or the other (the bogus signed referral of
// TestSignedReferralFirstQuery made 10 such differences).
func TestWireMatchesGeneralPathCold(t *testing.T) {
	optOut := dnssec.DefaultParams()
	optOut.OptOut = true
	for _, p := range []zonedb.DNSSECParams{dnssec.DefaultParams(), optOut} {
		db := wireStore(t, p)
		s := NewServer(db, Options{}, nil)
		warmWire, warmGeneral := &viewHolder{db: db}, &viewHolder{db: db, noCache: true}
		defer warmWire.release()
		defer warmGeneral.release()
		failed := 0
		for _, name := range wireNames(t) {
			for _, qt := range wireTypes {
				for _, e := range wireEdits {
					in := pack(t, name, qt, e.edit)
					coldWire, coldGeneral := &viewHolder{db: db}, &viewHolder{db: db, noCache: true}
					_, err := compareWire(s, warmWire, coldGeneral, in)
					if err == nil {
						_, err = compareWire(s, coldWire, warmGeneral, in)
					}
					coldWire.release()
					coldGeneral.release()
					if err != nil && failed < 5 {
						failed++
						t.Errorf("opt-out %v, %s %s %s: %v", p.OptOut, name, dns.TypeToString[qt], e.name, err)
					}
				}
			}
		}
	}
}

// TestAnswerIndependentOfEarlierCase: what a worker caches of a zone (its
// negative SOA, NSEC3 proofs) is spelled the same whatever letter case the
// query that filled it wrote, and each answer spells the zone's name as
// its own query did. An answer used to carry an earlier client's spelling:
// its size, and so whether it was truncated, depended on who asked before
// (the fuzz smoke found it: the wire path fitted 768 bytes, the general
// path, caching "sOrG.eXample.", did not).
func TestAnswerIndependentOfEarlierCase(t *testing.T) {
	db := wireStore(t, dnssec.DefaultParams())
	s := NewServer(db, Options{}, nil)
	pack := func(name string) []byte {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeNINFO)
		m.Id = 7
		m.SetEdns0(768, true)
		m.CheckingDisabled = true
		in, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	answer := func(h *viewHolder, name string) []byte {
		return s.handle(h, new(dns.Msg), pack(name), make([]byte, 0, 65535), UDP, netip.MustParseAddrPort("192.0.2.7:53"), nil)
	}
	for _, q := range []string{"0.wild.sorg.example.", "0.WILD.SORG.EXAMPLE.", "nope.sorg.example.", "Nope.Sorg.Example."} {
		fresh := &viewHolder{db: db, noCache: true}
		want := answer(fresh, q)
		fresh.release()
		used := &viewHolder{db: db, noCache: true}
		for _, earlier := range []string{"X.SORG.EXAMPLE.", "sOrG.eXample.", "a.WiLd.sorg.EXAMPLE."} {
			answer(used, earlier)
		}
		if got := answer(used, q); !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes after mixed-case queries, %d from a fresh worker", q, len(got), len(want))
		}
		wire := &viewHolder{db: db}
		if _, err := compareWire(s, wire, used, pack(q)); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		used.release()
		wire.release()
	}
}
