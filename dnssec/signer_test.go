package dnssec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"

	"dmsdns.org/dms/zonedb"
)

const signZone = `example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 300
example.org. 3600 IN NS ns1.example.org.
example.org. 3600 IN NS ns2.example.net.
example.org. 3600 IN MX 10 mail.example.org.
ns1.example.org. 3600 IN A 192.0.2.53
mail.example.org. 3600 IN A 192.0.2.25
www.example.org. 3600 IN A 192.0.2.80
www.example.org. 3600 IN AAAA 2001:db8::80
*.wild.example.org. 3600 IN TXT "wild"
a.b.c.example.org. 3600 IN A 192.0.2.9
sub.example.org. 3600 IN NS ns.sub.example.org.
ns.sub.example.org. 3600 IN A 192.0.2.99
secure.example.org. 3600 IN NS ns.example.net.
secure.example.org. 3600 IN DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
alias.example.org. 3600 IN CNAME www.example.org.
`

func records(t testing.TB, text string) []zonedb.Record {
	t.Helper()
	var out []zonedb.Record
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, zonedb.Record{RR: rr})
	}
	return out
}

// signedStore makes a store with example.org signed by a new CSK.
func signedStore(t testing.TB, params zonedb.DNSSECParams, alg uint8) (*zonedb.DB, *time.Time) {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC()
	db.SetClock(func() time.Time { return now })
	db.SetSigner(NewSigner())
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{}, Replace: true, Records: records(t, signZone)}}}); err != nil {
		t.Fatal(err)
	}
	k, err := GenerateKey("example.org.", alg, true)
	if err != nil {
		t.Fatal(err)
	}
	keys := []zonedb.DNSSECKey{{Tag: k.Tag(), Algorithm: k.Algorithm(), Role: "csk", State: "active", DNSKEY: k.DNSKEY.String(), Private: k.MarshalPrivate(), Created: now}}
	_, err = db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &params; return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	return db, &now
}

// zoneText is the zone as AXFR would give it, in master file format.
func zoneText(t testing.TB, db *zonedb.DB) string {
	t.Helper()
	var b strings.Builder
	err := db.View(func(v *zonedb.View) error {
		z, err := v.Zone("example.org")
		if err != nil {
			return err
		}
		recs, err := v.Records(z)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Flags&zonedb.FlagDisable != 0 {
				continue // not published (AXFR leaves them out too)
			}
			b.WriteString(r.RR.String())
			b.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// verify runs ldns-verify-zone and dnssec-verify on the zone.
func verify(t *testing.T, db *zonedb.DB, what string) {
	t.Helper()
	text := zoneText(t, db)
	f := filepath.Join(t.TempDir(), "example.org.zone")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"ldns-verify-zone", f},
		{"dnssec-verify", "-z", "-o", "example.org", f}, // -z: a CSK (KSK flag) signs everything
	} {
		pkg := map[string]string{"ldns-verify-zone": "ldnsutils", "dnssec-verify": "bind9-utils"}[c[0]]
		if _, err := exec.LookPath(c[0]); err != nil {
			t.Fatalf("%s not found: install the Debian package %s (make test does)", c[0], pkg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: %s rejects the zone: %v\n%s\nzone:\n%s", what, c[0], err, out, text)
		}
	}
}

func commitOps(t *testing.T, db *zonedb.DB, ops ...zonedb.RecordOp) zonedb.ZoneCommit {
	t.Helper()
	res, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Ops: ops}}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func op(t *testing.T, kind zonedb.OpKind, line string) zonedb.RecordOp {
	return zonedb.RecordOp{Kind: kind, Record: records(t, line)[0]}
}

// TestSigningPacksPages: signing a whole zone writes its RRSIG and NSEC3
// records into full pages (FillPercent must still hold when the
// transaction commits, which is when bbolt splits pages), so the store and
// the memory mapping it stay small.
func TestSigningPacksPages(t *testing.T) {
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetSigner(NewSigner())
	text := "example.org. 3600 IN SOA ns1.example.org. host.example.org. 1 7200 900 1209600 300\nexample.org. 3600 IN NS ns1.example.org.\n"
	for i := range 5000 {
		text += fmt.Sprintf("h%d.example.org. 3600 IN A 192.0.2.%d\nh%d.example.org. 3600 IN AAAA 2001:db8::%x\n", i, i%256, i, i)
	}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{}, Replace: true, Records: records(t, text)}}}); err != nil {
		t.Fatal(err)
	}
	k, err := GenerateKey("example.org.", dns.ECDSAP256SHA256, true)
	if err != nil {
		t.Fatal(err)
	}
	keys := []zonedb.DNSSECKey{NewStoredKey(k, "csk", "active", time.Now())}
	params := DefaultParams()
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &params; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	if f := db.RecordFill(); f < 0.7 {
		t.Errorf("record pages %.0f%% full after signing the zone, want at least 70%%", 100*f)
	}
}

// TestSignedZoneVerifies: a zone signed at enable, and after each kind of
// change, passes both validators' zone checks.
func TestSignedZoneVerifies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params zonedb.DNSSECParams
		alg    uint8
	}{
		{"nsec3", DefaultParams(), dns.ECDSAP256SHA256},
		{"nsec3-salt-iter-optout", zonedb.DNSSECParams{NSEC3: true, Iterations: 5, Salt: "ABCDEF01", OptOut: true, Validity: DefaultValidity}, dns.ED25519},
		{"nsec", zonedb.DNSSECParams{NSEC3: false, Validity: DefaultValidity, Refresh: DefaultRefresh}, dns.ECDSAP256SHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := signedStore(t, tc.params, tc.alg)
			verify(t, db, "after enable")
			steps := []struct {
				what string
				ops  []zonedb.RecordOp
			}{
				{"a new name", []zonedb.RecordOp{op(t, zonedb.OpAdd, "new.example.org. 3600 IN A 192.0.2.1")}},
				{"a new type at a name", []zonedb.RecordOp{op(t, zonedb.OpAdd, "www.example.org. 3600 IN TXT \"hello\"")}},
				{"a name with new empty non-terminals", []zonedb.RecordOp{op(t, zonedb.OpAdd, "x.y.z.example.org. 3600 IN A 192.0.2.2")}},
				{"a deleted name and its non-terminals", []zonedb.RecordOp{op(t, zonedb.OpDelete, "x.y.z.example.org. 3600 IN A 192.0.2.2")}},
				{"a deleted name", []zonedb.RecordOp{op(t, zonedb.OpDelete, "mail.example.org. 3600 IN A 192.0.2.25")}},
				{"a disabled record under a new name", []zonedb.RecordOp{disabled(t, "x.hidden.example.org. 3600 IN A 192.0.2.7")}},
				{"a new delegation", []zonedb.RecordOp{op(t, zonedb.OpAdd, "deleg.example.org. 3600 IN NS ns.example.net.")}},
				{"a DS at a delegation", []zonedb.RecordOp{op(t, zonedb.OpAdd, "sub.example.org. 3600 IN DS 1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")}},
				{"a removed delegation", []zonedb.RecordOp{op(t, zonedb.OpDelete, "sub.example.org. 3600 IN NS ns.sub.example.org."),
					op(t, zonedb.OpDelete, "sub.example.org. 3600 IN DS 1 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")}},
			}
			for _, s := range steps {
				commitOps(t, db, s.ops...)
				verify(t, db, "after "+s.what)
			}
		})
	}
}

// TestSignedCommitIsSmall: one added record changes only its RRset, its
// RRSIG, the SOA and its RRSIG, and two NSEC3 records with their RRSIGs.
func TestSignedCommitIsSmall(t *testing.T) {
	db, _ := signedStore(t, DefaultParams(), dns.ECDSAP256SHA256)
	res := commitOps(t, db, op(t, zonedb.OpAdd, "new.example.org. 3600 IN A 192.0.2.1"))
	var d *zonedb.Diff
	db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("example.org")
		var err error
		d, err = v.ZIDiff(z, res.ZI)
		return err
	})
	count := func(rs []zonedb.Record) map[string]int {
		m := map[string]int{}
		for _, r := range rs {
			m[dns.TypeToString[r.RR.Header().Rrtype]]++
		}
		return m
	}
	rem, add := count(d.Removed), count(d.Added)
	// Removed: SOA, RRSIG(SOA), the new name's predecessor NSEC3 and its
	// RRSIG. Added: those again plus the A, its RRSIG, and the new NSEC3
	// with its RRSIG.
	if fmt.Sprint(rem) != "map[NSEC3:1 RRSIG:2 SOA:1]" || fmt.Sprint(add) != "map[A:1 NSEC3:2 RRSIG:4 SOA:1]" {
		t.Errorf("diff removed %v added %v", rem, add)
	}
}

// TestSigningIsReproducible: the same commit time gives byte-identical
// zones.
func TestSigningIsReproducible(t *testing.T) {
	a, _ := signedStore(t, DefaultParams(), dns.ECDSAP256SHA256)
	text := zoneText(t, a)
	// Re-sign the same zone at the same time: the same signatures.
	if _, err := a.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SignAll: true, Serial: zonedb.SerialKeep}}}); err != nil {
		t.Fatal(err)
	}
	again := zoneText(t, a)
	if text != again {
		t.Errorf("re-signing at the same time changed the zone")
	}
}

// verifyAt runs ldns-verify-zone with the validation time at.
func verifyAt(t *testing.T, db *zonedb.DB, at time.Time, what string) {
	t.Helper()
	text := zoneText(t, db)
	f := filepath.Join(t.TempDir(), "example.org.zone")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldns-verify-zone", "-t", at.UTC().Format("20060102150405"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: ldns-verify-zone at %s: %v\n%s", what, at.Format(time.RFC3339), err, out)
	}
}

// TestResignerKeepsSignaturesFresh: with the clock run forward an hour at
// a time over 40 days, the re-signer renews signatures in small commits
// before they age, and the zone verifies at every step.
func TestResignerKeepsSignaturesFresh(t *testing.T) {
	db, now := signedStore(t, DefaultParams(), dns.ECDSAP256SHA256)
	start := *now
	r := NewResigner(db, nil)
	if n := r.Once(context.Background()); n != 0 {
		t.Fatalf("right after signing, %d zones renewed", n)
	}
	var zone zonedb.Zone
	read := func() {
		db.View(func(v *zonedb.View) error {
			z, err := v.Zone("example.org")
			if err == nil {
				zone = *z
			}
			return err
		})
	}
	read()
	if zone.SigExpiry.Before(start.Add(DefaultValidity*8/10)) || !zone.ResignAt().Equal(zone.SigExpiry.Add(-DefaultRefresh)) {
		t.Fatalf("after signing: expiry %v, resign at %v", zone.SigExpiry, zone.ResignAt())
	}
	commits := 0
	for h := 1; h <= 40*24; h++ {
		*now = start.Add(time.Duration(h) * time.Hour)
		if n := r.Once(context.Background()); n > 0 {
			commits += n
			read()
			if !zone.SigExpiry.After(now.Add(DefaultRefresh - time.Hour)) {
				t.Fatalf("at +%dh after renewal: soonest expiry %v", h, zone.SigExpiry)
			}
		}
		if h%24 == 0 || h == 1 {
			verifyAt(t, db, *now, fmt.Sprintf("+%dh", h))
		}
	}
	// Every signature was renewed several times over 40 days, spread over
	// more than one commit (the jitter), not one storm per period.
	if commits < 5 {
		t.Errorf("%d renewal commits in 40 days", commits)
	}
	if st := r.Stats(); st.Earliest.Before(now.Add(DefaultRefresh-time.Hour)) || st.Renewed == 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d renewal commits over 40 days", commits)
}

// BenchmarkSignAll signs a 20 000-name zone (40 000 RRsets) at enable.
func BenchmarkSignAll(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(signZone)
	for i := range 20000 {
		fmt.Fprintf(&sb, "h%d.example.org. 3600 IN A 10.0.%d.%d\nh%d.example.org. 3600 IN AAAA 2001:db8::%x\n", i, i/256%256, i%256, i, i)
	}
	recs := records(b, sb.String())
	for range b.N {
		b.StopTimer()
		db, err := zonedb.Open(filepath.Join(b.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		db.SetSigner(NewSigner())
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{}, Replace: true, Records: recs}}}); err != nil {
			b.Fatal(err)
		}
		k, _ := GenerateKey("example.org.", dns.ECDSAP256SHA256, true)
		keys := []zonedb.DNSSECKey{NewStoredKey(k, "csk", "active", time.Now())}
		p := DefaultParams()
		b.StartTimer()
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true,
			Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}

// BenchmarkSignedCommit commits one record into a signed 100 000-name zone.
func BenchmarkSignedCommit(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(signZone)
	for i := range 100000 {
		fmt.Fprintf(&sb, "h%d.example.org. 3600 IN A 10.%d.%d.%d\n", i, i/65536, i/256%256, i%256)
	}
	db, err := zonedb.Open(filepath.Join(b.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetSigner(NewSigner())
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{}, Replace: true, Records: records(b, sb.String())}}}); err != nil {
		b.Fatal(err)
	}
	k, _ := GenerateKey("example.org.", dns.ECDSAP256SHA256, true)
	keys := []zonedb.DNSSECKey{NewStoredKey(k, "csk", "active", time.Now())}
	p := DefaultParams()
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		rr, _ := dns.NewRR(fmt.Sprintf("new%d.example.org. 3600 IN A 192.0.2.1", i))
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Ops: []zonedb.RecordOp{{Kind: zonedb.OpAdd, Record: zonedb.Record{RR: rr}}}}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// disabled is an add of a record flagged DISABLE (kept, not published).
func disabled(t *testing.T, line string) zonedb.RecordOp {
	o := op(t, zonedb.OpAdd, line)
	o.Record.Flags = zonedb.FlagDisable
	return o
}

// TestRRSIGTTLsInEveryReader: each RRSIG carries the TTL of the RRset it
// covers (RFC 4034 section 3) wherever the store is read (records, the
// wire scan AXFR uses, the history IXFR uses), also at an owner whose
// RRsets have different TTLs and at the apex beside NSEC3PARAM (TTL 0);
// NSEC3 records keep min(SOA TTL, MINIMUM) (RFC 9077) when a commit moves
// the SOA's TTL or MINIMUM.
func TestRRSIGTTLsInEveryReader(t *testing.T) {
	nsec := DefaultParams()
	nsec.NSEC3 = false
	for name, p := range map[string]zonedb.DNSSECParams{"NSEC3": DefaultParams(), "NSEC": nsec} {
		t.Run(name, func(t *testing.T) { rrsigTTLsInEveryReader(t, p) })
	}
}

func rrsigTTLsInEveryReader(t *testing.T, p zonedb.DNSSECParams) {
	db, _ := signedStore(t, p, dns.ECDSAP256SHA256)
	commitOps(t, db,
		op(t, zonedb.OpAdd, "multi.example.org. 60 IN A 192.0.2.2"),
		op(t, zonedb.OpAdd, "multi.example.org. 120 IN TXT \"two\""),
		op(t, zonedb.OpAdd, "multi.example.org. 86400 IN AAAA 2001:db8::2"),
		op(t, zonedb.OpAdd, "example.org. 7200 IN TXT \"apex\""),
	)
	check := func(stage string, negTTL uint32) {
		t.Helper()
		type key struct {
			name string
			t    uint16
		}
		err := db.View(func(v *zonedb.View) error {
			z, err := v.Zone("example.org")
			if err != nil {
				return err
			}
			recs, err := v.Records(z)
			if err != nil {
				return err
			}
			ttl := map[key]uint32{}
			var sigs []*dns.RRSIG
			nsigs := 0
			for _, r := range recs {
				h := r.RR.Header()
				if s, ok := r.RR.(*dns.RRSIG); ok {
					sigs = append(sigs, s)
					continue
				}
				ttl[key{h.Name, h.Rrtype}] = h.Ttl
				if (h.Rrtype == dns.TypeNSEC3 || h.Rrtype == dns.TypeNSEC) && h.Ttl != negTTL {
					t.Errorf("%s: %s %s TTL %d, want %d", stage, dns.TypeToString[h.Rrtype], h.Name, h.Ttl, negTTL)
				}
			}
			for _, s := range sigs {
				nsigs++
				if want := ttl[key{s.Hdr.Name, s.TypeCovered}]; s.Hdr.Ttl != want || s.OrigTtl != want {
					t.Errorf("%s, records: RRSIG %s %s TTL %d (original %d), its RRset's %d", stage, s.Hdr.Name, dns.TypeToString[s.TypeCovered], s.Hdr.Ttl, s.OrigTtl, want)
				}
			}
			// The wire scan of AXFR.
			wired := 0
			err = v.WireRRsets(z, func(rs *zonedb.WireRRset) bool {
				if rs.Type != dns.TypeRRSIG {
					return true
				}
				for _, rd := range rs.RDATA {
					wired++
					covered := uint16(rd[0])<<8 | uint16(rd[1])
					var owner string
					for _, s := range sigs {
						if s.TypeCovered == covered && s.OrigTtl == rs.TTLOf(rd) {
							owner = s.Hdr.Name
						}
					}
					if owner == "" {
						t.Errorf("%s, wire scan: an RRSIG over %s with TTL %d matches no RRset", stage, dns.TypeToString[covered], rs.TTLOf(rd))
					}
				}
				return true
			})
			if wired != nsigs || nsigs < 20 {
				t.Errorf("%s: %d RRSIGs in the wire scan, %d in the records", stage, wired, nsigs)
			}
			// The history of the last commit (IXFR).
			d, err := v.ZIDiff(z, z.ZI)
			if err != nil {
				return err
			}
			for _, r := range d.Added {
				if s, ok := r.RR.(*dns.RRSIG); ok {
					if want := ttl[key{s.Hdr.Name, s.TypeCovered}]; s.Hdr.Ttl != want {
						t.Errorf("%s, history: RRSIG %s %s TTL %d, its RRset's %d", stage, s.Hdr.Name, dns.TypeToString[s.TypeCovered], s.Hdr.Ttl, want)
					}
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after adding RRsets of several TTLs", 300)

	// A new SOA TTL and MINIMUM: every NSEC3 record follows.
	commitOps(t, db, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: records(t, "example.org. 1800 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 900")})
	check("after the SOA TTL and MINIMUM moved", 900)
	commitOps(t, db, zonedb.RecordOp{Kind: zonedb.OpReplaceRRset, Records: records(t, "example.org. 120 IN SOA ns1.example.org. hostmaster.example.org. 1 600 600 604800 900")})
	check("after the SOA TTL went below MINIMUM", 120)
	verify(t, db, "after the SOA changes")
}

// TestMigrationRebuildsBrokenChains: a store of schema 1 whose NSEC3 chain
// has a wrong link (as the wrap-around bug of schema-1 dms left some) is
// marked at open, and the re-signer's next run signs the zone whole: the
// zone verifies again and the mark is gone. A store whose chain is whole
// is migrated without a mark.
func TestMigrationRebuildsBrokenChains(t *testing.T) {
	for _, broken := range []bool{true, false} {
		t.Run(fmt.Sprintf("broken=%v", broken), func(t *testing.T) {
			db, now := signedStore(t, DefaultParams(), dns.ECDSAP256SHA256)
			path := db.Path()
			db.Close()
			bdb, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = bdb.Update(func(tx *bolt.Tx) error {
				if broken {
					c := tx.Bucket([]byte("rr")).Cursor()
					for k, v := c.First(); k != nil; k, v = c.Next() {
						if _, nk, typ, ok := zonedb.SplitRRsetKey(k); ok && typ == dns.TypeNSEC3 && len(nk) > 2 && nk[0] == 1 && nk[1] == 0xff {
							// ttl 4, count 2, flags 1, reflen 1, rdlen 2,
							// then the RDATA: the next hash from byte 6.
							val := bytes.Clone(v)
							val[10+6] ^= 0x01
							return tx.Bucket([]byte("rr")).Put(bytes.Clone(k), val)
						}
					}
					return fmt.Errorf("no NSEC3 record")
				}
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
			})
			if err == nil && broken {
				err = bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")) })
			}
			if err != nil {
				t.Fatal(err)
			}
			bdb.Close()

			db, err = zonedb.Open(path, zonedb.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			db.SetClock(func() time.Time { return *now })
			db.SetSigner(NewSigner())
			if want := map[bool]int{true: 1, false: 0}[broken]; len(db.Migrated) != want {
				t.Fatalf("migration marked %v, want %d zones", db.Migrated, want)
			}
			z := zoneMeta(t, db)
			if z.RebuildChain != broken {
				t.Fatalf("RebuildChain %v after the migration", z.RebuildChain)
			}
			if broken && z.ResignAt().After(*now) {
				t.Errorf("a marked zone is not due at once (due %v)", z.ResignAt())
			}
			if n := NewResigner(db, nil).Once(context.Background()); broken && n != 1 {
				t.Errorf("the re-signer committed %d zones", n)
			}
			if zoneMeta(t, db).RebuildChain {
				t.Error("still marked after the re-signer's run")
			}
			verify(t, db, "after the migration and the re-signer")
			// The schema is current: a second open migrates nothing.
			db.Close()
			if db, err = zonedb.Open(path, zonedb.Options{NoSync: true}); err != nil || len(db.Migrated) != 0 {
				t.Fatalf("second open: %v, marked %v", err, db.Migrated)
			}
		})
	}
}

func zoneMeta(t *testing.T, db *zonedb.DB) *zonedb.Zone {
	t.Helper()
	var z *zonedb.Zone
	if err := db.View(func(v *zonedb.View) (err error) { z, err = v.Zone("example.org"); return err }); err != nil {
		t.Fatal(err)
	}
	return z
}
