package admin

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// FuzzDynamicUpdate: any UPDATE message (RFC 2136) that unpacks, signed
// with a key that may change most of example.org, gets an answer that
// packs, with an rcode UPDATE defines, and never panics the server.
func FuzzDynamicUpdate(f *testing.F) {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	msgs := []func(m *dns.Msg){
		func(m *dns.Msg) {
			m.Insert([]dns.RR{rr("new.example.org. 300 IN A 192.0.2.7"), rr("new.example.org. 300 IN AAAA 2001:db8::7")})
		},
		func(m *dns.Msg) { m.Insert([]dns.RR{rr("alias.example.org. 300 IN CNAME www.example.org.")}) },
		func(m *dns.Msg) { m.Insert([]dns.RR{rr(`_acme-challenge.example.org. 60 IN TXT "token"`)}) },
		func(m *dns.Msg) { m.RemoveRRset([]dns.RR{rr("www.example.org. 0 IN A 0.0.0.0")}) },
		func(m *dns.Msg) { m.Remove([]dns.RR{rr("www.example.org. 0 IN A 192.0.2.1")}) },
		func(m *dns.Msg) { m.RemoveName([]dns.RR{rr("www.example.org. 0 IN A 0.0.0.0")}) },
		func(m *dns.Msg) {
			m.NameUsed([]dns.RR{rr("www.example.org. 0 IN A 0.0.0.0")})
			m.RRsetNotUsed([]dns.RR{rr("mail.example.org. 0 IN MX 0 .")})
			m.Insert([]dns.RR{rr("mail.example.org. 300 IN MX 10 www.example.org.")})
		},
		func(m *dns.Msg) {
			m.Used([]dns.RR{rr("www.example.org. 0 IN A 192.0.2.1")})
			m.NameNotUsed([]dns.RR{rr("free.example.org. 0 IN A 0.0.0.0")})
			m.RRsetUsed([]dns.RR{rr("www.example.org. 0 IN A 0.0.0.0")})
		},
		func(m *dns.Msg) { m.Insert([]dns.RR{rr("example.org. 300 IN NS ns2.example.net.")}) },
		func(m *dns.Msg) { m.Insert([]dns.RR{rr("*.wild.example.org. 300 IN SRV 0 0 443 www.example.org.")}) },
	}
	for _, build := range msgs {
		m := new(dns.Msg)
		m.SetUpdate("example.org.")
		build(m)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s := fuzzService(f)
	ctx, c := f.Context(), Caller{User: "setup", Sectag: SectagAdmin}
	if _, err := s.ZoneSet(ctx, c, ZoneSetRequest{Name: "example.org", IncUpdates: new(true)}); err != nil {
		f.Fatal(err)
	}
	if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "2001:db8::/48", IncUpdates: new(true)}); err != nil {
		f.Fatal(err)
	}
	if _, err := s.TSIGUpdatePolicy(ctx, c, TSIGPolicyRequest{Name: "k1", Rules: []string{"example.org *", "example.org * NS"}}); err != nil {
		f.Fatal(err)
	}
	var key *zonedb.TSIGKey
	if err := s.db.View(func(v *zonedb.View) (err error) { key, err = v.TSIGKey("k1"); return err }); err != nil {
		f.Fatal(err)
	}
	client := netip.MustParseAddrPort("192.0.2.53:5353")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req := new(dns.Msg)
		if req.Unpack(pkt) != nil {
			return
		}
		resp := s.DynamicUpdate(req, client, key)
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("answer does not pack: %v\n%s", err, resp)
		}
		switch resp.Rcode {
		case dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError, dns.RcodeRefused,
			dns.RcodeYXDomain, dns.RcodeYXRrset, dns.RcodeNXRrset, dns.RcodeNotAuth, dns.RcodeNotZone:
		default:
			t.Fatalf("rcode %s is not an UPDATE rcode", dns.RcodeToString[resp.Rcode])
		}
	})
}
