package authserver

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestWireSignerChain: messages signed on the wire verify with miekg/dns's
// TSIG code as a secondary checks them: the first against the request's
// MAC with all variables, the rest against the previous MAC, timers only.
func TestWireSignerChain(t *testing.T) {
	for _, alg := range []string{dns.HmacSHA256, dns.HmacSHA512, dns.HmacSHA1} {
		key := &zonedb.TSIGKey{Name: "xfr-key.", Algorithm: alg, Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}
		req := new(dns.Msg)
		req.SetAxfr("example.org.")
		req.SetTsig(key.Name, alg, 300, time.Now().Unix())
		reqWire, reqMAC, err := dns.TsigGenerate(req, key.Secret, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := dns.TsigVerify(reqWire, key.Secret, "", false); err != nil {
			t.Fatal(err)
		}
		w, err := newWireSigner(key)
		if err != nil {
			t.Fatal(err)
		}
		prev := reqMAC
		for i := range 4 {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Extra = nil
			if i > 0 {
				m.Question = nil
			}
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "www.example.org.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, byte(i)}}}
			plain, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			signed, mac, err := w.sign(plain, prev, i > 0, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			signed = append([]byte(nil), signed...)
			u := new(dns.Msg)
			if err := u.Unpack(signed); err != nil || u.IsTsig() == nil || u.IsTsig().MAC != mac || len(u.Answer) != 1 {
				t.Fatalf("%s message %d unpacks as %v, %v", alg, i, u, err)
			}
			// TsigVerify rewrites the header it is given: a copy each time.
			if err := dns.TsigVerify(append([]byte(nil), signed...), key.Secret, prev, i > 0); err != nil {
				t.Fatalf("%s message %d: %v", alg, i, err)
			}
			// A changed byte must not verify.
			signed[len(plain)-1] ^= 1
			if err := dns.TsigVerify(signed, key.Secret, prev, i > 0); err == nil {
				t.Fatalf("%s message %d: a corrupted message verified", alg, i)
			}
			prev = mac
		}
	}
}
