package authserver

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
)

// FuzzHandle: any packet gets no answer or an answer that unpacks, fits a
// UDP client's size, and never panics the server.
func FuzzHandle(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"www.example.org.", dns.TypeA}, {"a.wild.example.org.", dns.TypeTXT}, {"www.old.example.org.", dns.TypeA},
		{"x.sub.example.org.", dns.TypeA}, {"example.org.", dns.TypeANY}, {"nope.example.org.", dns.TypeMX}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		b, _ := m.Pack()
		f.Add(b)
		m.SetEdns0(4096, true)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"}, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
		b, _ = m.Pack()
		f.Add(b)
	}
	// Signed requests (the store has no such key: BADKEY), a transfer and
	// a NOTIFY.
	for _, m := range []*dns.Msg{new(dns.Msg).SetQuestion("example.org.", dns.TypeSOA), new(dns.Msg).SetAxfr("example.org."),
		new(dns.Msg).SetIxfr("example.org.", 1, "ns.example.org.", "h.example.org."), new(dns.Msg).SetNotify("example.org.")} {
		m.SetTsig("k.", dns.HmacSHA256, 300, 1700000000)
		b, _, err := dns.TsigGenerate(m, "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "", false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Random names under a signed zone: the fast denial path.
	for _, name := range []string{"nx.den.example.", "A.b.NX.den.example.", "x.child.den.example."} {
		f.Add(pack(f, name, dns.TypeA, func(m *dns.Msg) { m.SetEdns0(1232, true) }))
	}
	db := testStore(f, map[string]string{"example.org.": exampleOrg, "example.net.": exampleNet,
		"den.example.": denialZone, "child.den.example.": childZone})
	db.SetSigner(dnssec.NewSigner())
	signZone(f, db, "den.example.", dnssec.DefaultParams())
	s := NewServer(db, Options{Config: Config{NSID: "dms-1", Version: "dms"}}, nil)
	h := &viewHolder{db: db}
	f.Cleanup(h.release)
	out := make([]byte, 0, 65535)
	client := netip.MustParseAddrPort("192.0.2.7:5300")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req := new(dns.Msg)
		b := s.handle(h, req, pkt, out, UDP, client, nil)
		if b == nil {
			return
		}
		var r dns.Msg
		if err := r.Unpack(b); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		if !r.Response {
			t.Fatalf("answer without QR")
		}
		if len(b) > OurUDPSize {
			t.Fatalf("UDP answer of %d bytes", len(b))
		}
	})
}
