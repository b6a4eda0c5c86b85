package authserver

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
)

// The fast denial path must answer exactly as the general path does, or
// leave the query to it. Zones with every kind of name a closest-encloser
// walk can meet: wildcards, empty non-terminals, DNAMEs at the apex and
// below, signed and unsigned delegations with glue, opt-out, a salt and
// iterations, DISABLE records, a child zone served here, upper case.

const denialZone = `$TTL 3600
@	IN SOA ns1 host 1 7200 900 1209600 300
	NS ns1
ns1	A 192.0.2.1
www	A 192.0.2.2
	TXT "w"
*.wild	TXT "wild"
a.b.ent	A 192.0.2.3
dn	DNAME example.net.
alias	CNAME www
sec	NS ns.sec
	DS 12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A3B4F7A1F5E5A96B5D4F2E1
ns.sec	A 192.0.2.4
insec	NS ns.insec
ns.insec	A 192.0.2.5
deep.insec	A 192.0.2.6
x.y.z.deep	TXT "deep"
;!DISABLE
hidden	A 192.0.2.7
child	NS ns1.child
ns1.child	A 192.0.2.8
`

const childZone = `$TTL 3600
@	IN SOA ns1 host 1 7200 900 1209600 300
	NS ns1
ns1	A 192.0.2.8
h	A 192.0.2.9
`

const apexDNAMEZone = `$TTL 3600
@	IN SOA ns1.example.com. host.example.com. 1 7200 900 1209600 300
	NS ns1.example.com.
	DNAME example.org.
`

func signZone(t testing.TB, db *zonedb.DB, zone string, p zonedb.DNSSECParams) {
	t.Helper()
	k, err := dnssec.GenerateKey(dns.Fqdn(zone), dns.ECDSAP256SHA256, true)
	if err != nil {
		t.Fatal(err)
	}
	keys := []zonedb.DNSSECKey{dnssec.NewStoredKey(k, "csk", "active", time.Now())}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: zone, SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
		t.Fatal(err)
	}
}

func TestDenialMatchesGeneralPath(t *testing.T) {
	salted := dnssec.DefaultParams()
	salted.Iterations, salted.Salt = 5, "beef"
	optOut := dnssec.DefaultParams()
	optOut.OptOut = true
	for _, c := range []struct {
		name   string
		params zonedb.DNSSECParams
	}{{"default", dnssec.DefaultParams()}, {"salt and iterations", salted}, {"opt-out", optOut}} {
		t.Run(c.name, func(t *testing.T) {
			db := testStore(t, map[string]string{
				"den.example.":       denialZone,
				"child.den.example.": childZone,
				"redir.example.":     apexDNAMEZone,
			})
			db.SetSigner(dnssec.NewSigner())
			for _, z := range []string{"den.example.", "child.den.example.", "redir.example."} {
				signZone(t, db, z, c.params)
			}
			checkDenial(t, db, c.params.OptOut)
		})
	}
}

func checkDenial(t *testing.T, db *zonedb.DB, optOut bool) {
	s := NewServer(db, Options{}, nil)
	general := &viewHolder{db: db, noCache: true, noIndex: true} // the general path on the B+tree
	defer general.release()
	h := &viewHolder{db: db}
	defer h.release()

	// Names that must take the fast path (a flood's random names, at any
	// depth below names that exist, in any case).
	fast := []string{
		"nx.den.example.", "NX.Den.Example.", "a.b.c.nx.den.example.",
		"nx.www.den.example.", "nx.b.ent.den.example.", "nx.a.b.ent.den.example.",
		"nx.child.den.example.", "q.h.child.den.example.", "hidden.den.example.",
	}
	if !optOut {
		// Without opt-out the unsigned delegation has its NSEC3 and the
		// walk stops there; the name beside it is still provably absent.
		fast = append(fast, "insed.den.example.")
	}
	// Names the fast path must leave alone (they exist, or are below a
	// cut, a DNAME or a wildcard).
	slow := []string{
		"den.example.", "www.den.example.", "b.ent.den.example.", "ent.den.example.",
		"x.wild.den.example.", "a.x.wild.den.example.", "*.wild.den.example.",
		"x.dn.den.example.", "alias.den.example.", "x.sec.den.example.",
		"x.insec.den.example.", "deep.insec.den.example.", "insec.den.example.",
		"x.redir.example.", "redir.example.", "y.z.deep.den.example.",
	}
	// Everything else either way, as long as the answer is the same.
	var all []string
	all = append(all, fast...)
	all = append(all, slow...)
	for i := range 200 {
		all = append(all, fmt.Sprintf("r%d.den.example.", i), fmt.Sprintf("r%d.ent.den.example.", i),
			fmt.Sprintf("r%d.z.deep.den.example.", i), fmt.Sprintf("r%d.child.den.example.", i))
	}
	fastSet := map[string]bool{}
	for _, n := range fast {
		fastSet[n] = true
	}
	slowSet := map[string]bool{}
	for _, n := range slow {
		slowSet[n] = true
	}
	out := make([]byte, 0, 4096)
	hits := 0
	for _, name := range all {
		for _, qt := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeANY, dns.TypeNSEC3, dns.TypeDS, dns.TypeRRSIG} {
			for _, size := range []uint16{1232, 512} {
				in := pack(t, name, qt, func(m *dns.Msg) {
					m.SetEdns0(size, true)
					m.RecursionDesired = true
					m.CheckingDisabled = qt == dns.TypeTXT
				})
				q, key, plain := parsePlain(in, UDP, nil)
				if !plain {
					t.Fatalf("%s: not a plain query", name)
				}
				b := runDenial(s, h, in, q, key[:q.qEnd-12-4], out)
				switch {
				case b == nil && fastSet[name] && qt != dns.TypeDS && size == 1232:
					t.Errorf("%s %s: not answered by the fast path", name, dns.TypeToString[qt])
				case b != nil && slowSet[name]:
					t.Errorf("%s %s: answered by the fast path", name, dns.TypeToString[qt])
				}
				if b == nil {
					continue
				}
				hits++
				got := new(dns.Msg)
				if err := got.Unpack(b); err != nil {
					t.Fatalf("%s %s: fast answer does not unpack: %v", name, dns.TypeToString[qt], err)
				}
				wb := s.handle(general, new(dns.Msg), in, make([]byte, 0, 4096), UDP, netip.AddrPort{}, nil)
				want := new(dns.Msg)
				if err := want.Unpack(wb); err != nil {
					t.Fatal(err)
				}
				// Owner names may differ in case (both paths keep what
				// they decoded first).
				if lowerOwners(got).String() != lowerOwners(want).String() {
					t.Errorf("%s %s size %d: fast path\n%s\ngeneral path\n%s", name, dns.TypeToString[qt], size, got, want)
				}
			}
		}
	}
	if hits < len(fast)*5 {
		t.Errorf("fast path answered %d queries", hits)
	}
	// Without DO the fast path is never taken.
	in := pack(t, "nx.den.example.", dns.TypeA, func(m *dns.Msg) { m.SetEdns0(1232, false) })
	q, key, _ := parsePlain(in, UDP, nil)
	if b := runDenial(s, h, in, q, key[:q.qEnd-12-4], out); b != nil {
		t.Error("answered a query without DO")
	}
}

func lowerOwners(m *dns.Msg) *dns.Msg {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			rr.Header().Name = strings.ToLower(rr.Header().Name)
		}
	}
	return m
}

// runDenial runs the fast denial path on a worker's view, as the wire
// path does.
func runDenial(s *Server, h *viewHolder, in []byte, q plainQuery, name, out []byte) []byte {
	acc := &access{}
	v, _ := h.plainView(acc, time.Now())
	if v == nil {
		return nil
	}
	return s.eng.denial(v, acc, in, q, name, out)
}
