package cli_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestServeTransferBadInput: malformed and hostile transfer requests get
// the answers the RFCs ask for, and none of them disturbs serving.
func TestServeTransferBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	var b strings.Builder
	b.WriteString("$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 600 600 604800 600\n@ IN NS ns1.example.net.\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "h%d IN A 10.0.%d.%d\n", i, i/256, i%256)
	}
	writeFile(t, dir, "big.example", b.String())
	for _, args := range [][]string{
		{"zone", "load", filepath.Join(dir, "big.example")},
		{"config", "set", "xfr_allow", "127.0.0.1/32"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	srv := startServe(t, db)
	serial := soaSerial(srv.dns, "big.example")
	if serial == 0 {
		t.Fatal("zone not served")
	}
	stillServing := func(what string) {
		t.Helper()
		if r := query(srv.dns, "h7.big.example", dns.TypeA); r == nil || len(r.Answer) != 1 {
			t.Fatalf("after %s the server does not answer: %v", what, r)
		}
	}

	ask := func(net string, m *dns.Msg) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: net, Timeout: 3 * time.Second}
		r, _, err := c.Exchange(m, srv.dns)
		if err != nil {
			t.Fatalf("%v", err)
		}
		return r
	}
	m := new(dns.Msg)
	m.SetAxfr("big.example.")
	if r := ask("udp", m); r.Rcode != dns.RcodeFormatError || len(r.Answer) != 0 {
		t.Errorf("AXFR over UDP: %s, %d records; want FORMERR", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	m.SetAxfr("not-served.example.")
	if r := ask("tcp", m); r.Rcode != dns.RcodeNotAuth {
		t.Errorf("AXFR of a zone not served: %s, want NOTAUTH", dns.RcodeToString[r.Rcode])
	}
	m.SetIxfr("big.example.", serial+100, "ns1.example.net.", "hostmaster.example.net.")
	if r := ask("tcp", m); r.Rcode != 0 || len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != serial {
		t.Errorf("IXFR from a serial from the future: %v; want our SOA alone", r)
	}
	m.SetIxfr("big.example.", serial, "ns1.example.net.", "hostmaster.example.net.")
	m.Ns = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "big.example.", Rrtype: dns.TypeNS, Class: dns.ClassINET}, Ns: "x.example."}}
	if r := ask("tcp", m); r.Rcode != dns.RcodeFormatError {
		t.Errorf("IXFR with an NS in the authority section: %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	n := new(dns.Msg)
	n.SetNotify("big.example.")
	if r := ask("udp", n); r.Rcode != dns.RcodeRefused || r.Opcode != dns.OpcodeNotify {
		t.Errorf("NOTIFY from a stranger: %s opcode %d, want REFUSED", dns.RcodeToString[r.Rcode], r.Opcode)
	}
	stillServing("the malformed requests")

	// Secondaries that reset the connection in the middle of a transfer.
	axfrWire, _ := func() ([]byte, error) { m := new(dns.Msg); m.SetAxfr("big.example."); return m.Pack() }()
	for i := range 5 {
		c, err := net.Dial("tcp", srv.dns)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(axfrWire))))
		c.Write(axfrWire)
		buf := make([]byte, 1000*(i+1))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("reading the transfer: %v", err)
		}
		c.(*net.TCPConn).SetLinger(0) // close with RST
		c.Close()
	}
	// A secondary that stops reading: commits and queries go on.
	stalled, err := net.Dial("tcp", srv.dns)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.Write(binary.BigEndian.AppendUint16(nil, uint16(len(axfrWire))))
	stalled.Write(axfrWire)
	if r := run(t, db, "", "record", "add", "big.example", "during A 192.0.2.1"); r.code != 0 {
		t.Fatalf("commit during a stalled transfer: %s", r.err)
	}
	if r := query(srv.dns, "during.big.example", dns.TypeA); r == nil || len(r.Answer) != 1 {
		t.Errorf("the commit made during a stalled transfer is not served: %v", r)
	}
	stillServing("the reset and stalled transfers")
	// And a whole transfer still works.
	recs, err := axfr(t, srv.dns, "big.example", "", "", nil)
	if err != nil || len(recs) != 20003 { // SOA, NS, 20 000 A, the one added; the closing SOA dropped
		t.Errorf("AXFR after the resets: %d records, %v", len(recs), err)
	}
	if !strings.Contains(srv.log.String(), "result=failed") {
		t.Errorf("the reset transfers were not logged as failed:\n%s", grepLines(srv.log.String(), "transfer"))
	}
}

// TestServeCatalogAccess: a catalog zone lists every zone of its SG, so
// only the SG's servers (with their TSIG key) may read it; TSIG errors are
// answered as RFC 8945 says.
func TestServeCatalogAccess(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	secret := "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, args := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."},
		{"config", "set", "soa_rname", "hostmaster.example.net."},
		{"sg", "create", "ext", "--apex-ns", "ns1.example.net"},
		{"tsig", "import", "k", secret},
		{"server", "create", "s", "127.0.0.1", "--sg", "ext", "--tsig", "k"},
		{"zone", "create", "example.com", "--sg", "ext"},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	srv := startServe(t, db)
	ask := func(name string, qtype uint16, signed bool, local string, fudgeSkew int64) *dns.Msg {
		t.Helper()
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		c := &dns.Client{Timeout: 2 * time.Second}
		if signed {
			fudge := uint16(300)
			if fudgeSkew != 0 {
				fudge = 77
			}
			m.SetTsig("k.", dns.HmacSHA256, fudge, time.Now().Unix()+fudgeSkew)
			c.TsigSecret = map[string]string{"k.": secret}
		}
		if local != "" {
			c.Dialer = &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
		}
		// Unsigned twice: the second may come from a worker's answer
		// cache. (Signing takes the TSIG out of m: signed once.)
		var r *dns.Msg
		tries := 2
		if signed {
			tries = 1
		}
		for range tries {
			var err error
			r, _, err = c.Exchange(m, srv.dns)
			if r == nil {
				t.Fatalf("%s %s: %v", name, dns.TypeToString[qtype], err)
			}
		}
		return r
	}
	cat := "ext.catalog.invalid."
	if r := ask(cat, dns.TypeSOA, false, "", 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("catalog SOA unsigned from the server's address: %v, want REFUSED (the server has a key)", r)
	}
	if r := ask(cat, dns.TypeSOA, true, "", 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || !r.Authoritative {
		t.Errorf("catalog SOA signed by the SG's server: %v", r)
	}
	if r := ask(cat, dns.TypeSOA, true, "127.0.0.2", 0); r.Rcode != dns.RcodeRefused {
		t.Errorf("catalog SOA from another address: %v, want REFUSED", r)
	}
	for _, signed := range []bool{false, true} {
		r := ask("z1.zones."+cat, dns.TypePTR, signed, "127.0.0.3", 0)
		if r.Rcode != dns.RcodeRefused {
			t.Errorf("a catalog member from a stranger (signed %v): %v", signed, r)
		}
	}
	// Ordinary zones are answered to everyone, as before.
	if r := ask("example.com.", dns.TypeSOA, false, "127.0.0.3", 0); r.Rcode != dns.RcodeSuccess {
		t.Errorf("an ordinary zone: %v", r)
	}
	// A clock an hour off: BADTIME with the client's time and fudge (RFC
	// 8945 section 5.2.3), signed.
	r := ask("example.com.", dns.TypeSOA, true, "", -3600)
	ts := r.IsTsig()
	if r.Rcode != dns.RcodeNotAuth || ts == nil || ts.Error != dns.RcodeBadTime || ts.Fudge != 77 ||
		int64(ts.TimeSigned) > time.Now().Unix()-3500 || ts.MACSize == 0 || ts.OtherLen != 6 {
		t.Errorf("skewed clock: %v", r)
	}
}
