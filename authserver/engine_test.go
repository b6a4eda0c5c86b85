package authserver

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

func answer(t *testing.T, e *Engine, db *zonedb.DB, m *dns.Msg, proto Proto) *dns.Msg {
	t.Helper()
	var r *dns.Msg
	db.View(func(v *zonedb.View) error {
		r = e.Answer(v, m, proto, netip.MustParseAddr("192.0.2.1"))
		return nil
	})
	return r
}

func TestChaosAndNSID(t *testing.T) {
	db := testStore(t, map[string]string{"example.org.": exampleOrg})
	e := NewEngine(Config{Version: "dms 1", Identity: "master-1", NSID: "ns-a"}, nil)
	for name, want := range map[string]string{"version.bind.": "dms 1", "VERSION.SERVER.": "dms 1", "hostname.bind.": "master-1", "id.server.": "master-1"} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		m.Question[0].Qclass = dns.ClassCHAOS
		r := answer(t, e, db, m, UDP)
		if len(r.Answer) != 1 || r.Answer[0].(*dns.TXT).Txt[0] != want || r.Answer[0].Header().Class != dns.ClassCHAOS {
			t.Errorf("%s: %v", name, r)
		}
	}
	m := new(dns.Msg)
	m.SetQuestion("other.bind.", dns.TypeTXT)
	m.Question[0].Qclass = dns.ClassCHAOS
	if r := answer(t, e, db, m, UDP); r.Rcode != dns.RcodeRefused {
		t.Errorf("other.bind: %v", r)
	}
	m = new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	r := answer(t, e, db, m, UDP)
	var nsid string
	for _, o := range r.IsEdns0().Option {
		if n, ok := o.(*dns.EDNS0_NSID); ok {
			nsid = n.Nsid
		}
	}
	if nsid != "6e732d61" { // "ns-a" in hex
		t.Errorf("NSID %q", nsid)
	}
	// Without NSID configured, none is sent.
	if r := answer(t, NewEngine(Config{}, nil), db, m, UDP); len(r.IsEdns0().Option) != 0 {
		t.Errorf("NSID sent without one configured: %v", r.IsEdns0())
	}
}

// TestTruncationRules: additional records are dropped without TC; a
// referral that loses its glue, or an answer that does not fit, sets TC.
func TestTruncationRules(t *testing.T) {
	zone := exampleOrg
	for i := range 50 {
		zone += "mx" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " A 192.0.2.1\n@ MX 10 mx" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\n"
	}
	db := testStore(t, map[string]string{"example.org.": zone})
	e := NewEngine(Config{}, nil)
	m := new(dns.Msg)
	m.SetQuestion("example.org.", dns.TypeMX)
	m.SetEdns0(1232, false)
	r := answer(t, e, db, m, UDP)
	if r.Truncated || len(r.Answer) != 51 || len(r.Extra) >= 1+52 {
		t.Errorf("MX with additional: tc=%v answer=%d extra=%d", r.Truncated, len(r.Answer), len(r.Extra))
	}
	if b, _ := r.Pack(); len(b) > 1232 {
		t.Errorf("answer of %d bytes", len(b))
	}
	m.IsEdns0().SetUDPSize(512)
	r = answer(t, e, db, m, UDP)
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("MX in 512 bytes: tc=%v answer=%d", r.Truncated, len(r.Answer))
	}
	r = answer(t, e, db, m, TCP)
	if r.Truncated || len(r.Answer) != 51 || len(r.Extra) != 1+52 {
		t.Errorf("MX over TCP: tc=%v answer=%d extra=%d", r.Truncated, len(r.Answer), len(r.Extra))
	}
}

// TestTruncationLeavesRoomForTSIG: the answer to a signed UDP request
// fits in the client's size with the TSIG record that signs it: an answer
// that would fit only unsigned is truncated.
func TestTruncationLeavesRoomForTSIG(t *testing.T) {
	zone := exampleOrg
	for i := range 25 {
		zone += "many TXT \"" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "\"\n"
	}
	db := testStore(t, map[string]string{"example.org.": zone})
	e := NewEngine(Config{}, nil)
	m := new(dns.Msg)
	m.SetQuestion("many.example.org.", dns.TypeTXT)
	unsigned := answer(t, e, db, m, UDP)
	b, _ := unsigned.Pack()
	if unsigned.Truncated || len(unsigned.Answer) != 25 || len(b) > 512 {
		t.Fatalf("unsigned: tc=%v answer=%d, %d bytes", unsigned.Truncated, len(unsigned.Answer), len(b))
	}
	key := "a-rather-long-key-name.example.org."
	m.SetTsig(key, dns.HmacSHA512, 300, 1700000000)
	m.Extra[len(m.Extra)-1].(*dns.TSIG).MAC = strings.Repeat("00", 64)
	signed := answer(t, e, db, m, UDP)
	if len(b)+tsigLen(m.IsTsig()) <= 512 {
		t.Fatalf("the answer (%d bytes) fits with its TSIG: make it larger", len(b))
	}
	if !signed.Truncated || len(signed.Answer) != 0 {
		t.Errorf("signed, %d bytes before the TSIG: tc=%v answer=%d", len(b), signed.Truncated, len(signed.Answer))
	}
	// Over TCP nothing is cut.
	if r := answer(t, e, db, m, TCP); r.Truncated || len(r.Answer) != 25 {
		t.Errorf("signed over TCP: tc=%v answer=%d", r.Truncated, len(r.Answer))
	}
}

// TestTruncationReferralGlue: a referral whose glue does not fit sets TC
// (RFC 9471), the resolver then asks over TCP.
func TestTruncationReferralGlue(t *testing.T) {
	zone := exampleOrg
	for i := range 8 {
		n := "nameserver-number-" + string(rune('a'+i)) + ".big"
		zone += "big NS " + n + "\n" + n + " A 192.0.2.1\n" + n + " AAAA 2001:db8::1\n"
	}
	db := testStore(t, map[string]string{"example.org.": zone})
	e := NewEngine(Config{}, nil)
	m := new(dns.Msg)
	m.SetQuestion("www.big.example.org.", dns.TypeA)
	r := answer(t, e, db, m, UDP)
	if !r.Truncated || r.Authoritative || len(r.Ns) != 8 {
		t.Errorf("referral in 512 bytes: tc=%v aa=%v ns=%d extra=%d", r.Truncated, r.Authoritative, len(r.Ns), len(r.Extra))
	}
	if r = answer(t, e, db, m, TCP); r.Truncated || len(r.Extra) != 16 {
		t.Errorf("referral over TCP: tc=%v extra=%d", r.Truncated, len(r.Extra))
	}
}
