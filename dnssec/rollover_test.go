package dnssec

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// rolloverStore is a signed example.org with keys of the given roles
// (all active, DS seen) and a settable clock.
func rolloverStore(t *testing.T, alg uint8, roles ...string) (*zonedb.DB, *time.Time) {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC().Truncate(time.Hour)
	db.SetClock(func() time.Time { return now })
	db.SetSigner(NewSigner())
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Create: &zonedb.Zone{}, Replace: true, Records: records(t, signZone)}}}); err != nil {
		t.Fatal(err)
	}
	var keys []zonedb.DNSSECKey
	for _, role := range roles {
		k, err := GenerateKey("example.org.", alg, role != "zsk")
		if err != nil {
			t.Fatal(err)
		}
		dk := NewStoredKey(k, role, "active", now)
		dk.DSSeen = now
		keys = append(keys, dk)
	}
	p := DefaultParams()
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	return db, &now
}

func keysOf(t *testing.T, db *zonedb.DB) []zonedb.DNSSECKey {
	t.Helper()
	var keys []zonedb.DNSSECKey
	db.View(func(v *zonedb.View) error {
		z, err := v.Zone("example.org")
		if err != nil {
			t.Fatal(err)
		}
		keys, err = v.DNSSECKeys(z)
		return err
	})
	return keys
}

func states(keys []zonedb.DNSSECKey) string {
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s/%d/%s", k.Role, k.Algorithm, k.State))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// apexTags returns the tags in the apex RRset of type t (DNSKEY: the keys;
// CDS: the keys a DS is asked for).
func apexTags(t *testing.T, db *zonedb.DB, rrtype uint16) []uint16 {
	t.Helper()
	var tags []uint16
	db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("example.org")
		recs, _ := v.RRset(z, "example.org.", rrtype)
		for _, r := range recs {
			switch rr := r.RR.(type) {
			case *dns.DNSKEY:
				tags = append(tags, rr.KeyTag())
			case *dns.CDS:
				tags = append(tags, rr.KeyTag)
			}
		}
		return nil
	})
	slices.Sort(tags)
	return tags
}

// runClock advances the clock an hour at a time for hours hours, running
// the re-signer and checking the zone with ldns-verify-zone every day; it
// returns the sequence of key states seen.
func runClock(t *testing.T, db *zonedb.DB, now *time.Time, hours int) []string {
	t.Helper()
	r := NewResigner(db, nil)
	var seen []string
	start := *now
	for h := 1; h <= hours; h++ {
		*now = start.Add(time.Duration(h) * time.Hour)
		r.Once(context.Background())
		st := states(keysOf(t, db))
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
			t.Logf("+%dh (day %.1f): %s", h, float64(h)/24, st)
			verifyAt(t, db, *now, fmt.Sprintf("+%dh, keys %s", h, st))
		} else if h%24 == 0 {
			verifyAt(t, db, *now, fmt.Sprintf("+%dh", h))
		}
	}
	return seen
}

// TestZSKRollsItself: a ZSK older than its lifetime is replaced by
// pre-publication, and the zone verifies all along.
func TestZSKRollsItself(t *testing.T) {
	db, now := rolloverStore(t, dns.ECDSAP256SHA256, "ksk", "zsk")
	before := apexTags(t, db, dns.TypeDNSKEY)
	seen := runClock(t, db, now, 95*24)
	want := []string{
		"ksk/13/active zsk/13/active",
		"ksk/13/active zsk/13/active zsk/13/published",
		"ksk/13/active zsk/13/active zsk/13/retired",
		"ksk/13/active zsk/13/active",
	}
	if !slices.Equal(seen, want) {
		t.Errorf("key states over 95 days:\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	after := apexTags(t, db, dns.TypeDNSKEY)
	if len(after) != 2 || slices.Equal(before, after) {
		t.Errorf("DNSKEY tags before %v after %v", before, after)
	}
}

// TestKSKRolloverWaitsForDS: a new KSK is announced by CDS, and takes over
// only after ds-seen; the old one leaves after the DS TTL.
func TestKSKRolloverWaitsForDS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roles []string
		role  string
		alg   uint8
	}{
		{"ksk", []string{"ksk", "zsk"}, "ksk", dns.ECDSAP256SHA256},
		{"csk", []string{"csk"}, "csk", dns.ECDSAP256SHA256},
		{"csk-algorithm-13-to-15", []string{"csk"}, "csk", dns.ED25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, now := rolloverStore(t, dns.ECDSAP256SHA256, tc.roles...)
			old := apexTags(t, db, dns.TypeCDS)
			keys := keysOf(t, db)
			k, err := GenerateKey("example.org.", tc.alg, true)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, NewStoredKey(k, tc.role, "published", *now))
			if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: tc.alg != dns.ECDSAP256SHA256}}}); err != nil {
				t.Fatal(err)
			}
			verifyAt(t, db, *now, "new key published")
			if cds := apexTags(t, db, dns.TypeCDS); len(cds) != 2 || !slices.Contains(cds, k.Tag()) {
				t.Errorf("CDS while rolling: %v, want the old %v and the new %d", cds, old, k.Tag())
			}
			// Without ds-seen, nothing moves for days.
			seen := runClock(t, db, now, 72)
			if len(seen) != 1 || !strings.Contains(seen[0], tc.role+"/"+fmt.Sprint(tc.alg)+"/published") {
				t.Fatalf("before ds-seen: %v", seen)
			}
			keys = keysOf(t, db)
			for i := range keys {
				if keys[i].Tag == k.Tag() {
					keys[i].DSSeen = *now
				}
			}
			if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys}}}); err != nil {
				t.Fatal(err)
			}
			seen = runClock(t, db, now, 72)
			last := seen[len(seen)-1]
			if strings.Count(last, "/") != 2*len(tc.roles) || !strings.Contains(last, tc.role+"/"+fmt.Sprint(tc.alg)+"/active") {
				t.Errorf("after ds-seen: %v", seen)
			}
			if cds := apexTags(t, db, dns.TypeCDS); !slices.Equal(cds, []uint16{k.Tag()}) {
				t.Errorf("CDS after the rollover: %v, want only %d", cds, k.Tag())
			}
			verifyAt(t, db, *now, "after the rollover")
		})
	}
}

// TestAlgorithmRolloverSplitKeys: with a separate KSK and ZSK, both rolled
// to a new algorithm, the old ZSK keeps signing until the old KSK has gone
// (every algorithm in the DNSKEY RRset signs the data, RFC 4035 2.2).
func TestAlgorithmRolloverSplitKeys(t *testing.T) {
	db, now := rolloverStore(t, dns.ECDSAP256SHA256, "ksk", "zsk")
	keys := keysOf(t, db)
	for _, role := range []string{"ksk", "zsk"} {
		k, err := GenerateKey("example.org.", dns.ED25519, role == "ksk")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, NewStoredKey(k, role, "published", *now))
	}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys, SignAll: true}}}); err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		verifyAt(t, db, *now, stage)
		// Data signed by every algorithm in the DNSKEY RRset.
		algs := map[uint8]bool{}
		for _, k := range keysOf(t, db) {
			algs[k.Algorithm] = true
		}
		text := zoneText(t, db)
		for alg := range algs {
			if !strings.Contains(text, fmt.Sprintf("RRSIG\tA %d ", alg)) {
				t.Errorf("%s: no A record signed with algorithm %d, which is in the DNSKEY RRset (keys %s)", stage, alg, states(keysOf(t, db)))
			}
		}
	}
	check("both algorithms published")
	runClock(t, db, now, 30)
	check("new ZSK active, before ds-seen")
	keys = keysOf(t, db)
	for i := range keys {
		if keys[i].Algorithm == dns.ED25519 && keys[i].Role == "ksk" {
			keys[i].DSSeen = *now
		}
	}
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys}}}); err != nil {
		t.Fatal(err)
	}
	for h := 0; h < 96; h += 6 {
		runClock(t, db, now, 6)
		check(fmt.Sprintf("+%dh after ds-seen", h+6))
	}
	if st := states(keysOf(t, db)); st != "ksk/15/active zsk/15/active" {
		t.Errorf("keys at the end: %s", st)
	}
}

// TestParentDSSeenHere: when the parent zone is served by the same store,
// a new CSK's DS appearing there moves the rollover on without ds-seen.
func TestParentDSSeenHere(t *testing.T) {
	db, now := rolloverStore(t, dns.ECDSAP256SHA256, "csk")
	child := strings.ReplaceAll(signZone, "example.org.", "child.example.org.")
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "child.example.org", Create: &zonedb.Zone{}, Replace: true, Records: records(t, child)}}}); err != nil {
		t.Fatal(err)
	}
	k1, _ := GenerateKey("child.example.org.", dns.ECDSAP256SHA256, true)
	keys := []zonedb.DNSSECKey{NewStoredKey(k1, "csk", "active", *now)}
	p := DefaultParams()
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "child.example.org", SetKeys: &keys, SignAll: true,
		Update: func(z *zonedb.Zone) error { z.DNSSEC, z.Params = true, &p; return nil }}}}); err != nil {
		t.Fatal(err)
	}
	childKeys := func() []zonedb.DNSSECKey {
		var out []zonedb.DNSSECKey
		db.View(func(v *zonedb.View) error {
			z, _ := v.Zone("child.example.org")
			out, _ = v.DNSSECKeys(z)
			return nil
		})
		return out
	}
	addDS := func(k *Key) {
		ds, err := DS(k, dns.SHA256, 3600)
		if err != nil {
			t.Fatal(err)
		}
		ds.Hdr.Name = "child.example.org."
		if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", Ops: []zonedb.RecordOp{
			{Kind: zonedb.OpAdd, Record: zonedb.Record{RR: &dns.NS{Hdr: dns.RR_Header{Name: "child.example.org.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: "ns.example.net."}}},
			{Kind: zonedb.OpAdd, Record: zonedb.Record{RR: ds}}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewResigner(db, nil)
	r.Once(context.Background())
	if st := r.Stats(); st.AwaitingDS != 1 { // the child's CSK; the parent's has its DS seen
		t.Errorf("keys awaiting DS: %d, want 1", st.AwaitingDS)
	}
	addDS(k1)
	r.Once(context.Background())
	if ks := childKeys(); ks[0].DSSeen.IsZero() {
		t.Fatalf("the first CSK's DS in the parent zone was not seen")
	}
	// A CSK rollover: the new key waits for its DS, then takes over.
	k2, _ := GenerateKey("child.example.org.", dns.ECDSAP256SHA256, true)
	keys = append(childKeys(), NewStoredKey(k2, "csk", "published", *now))
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "child.example.org", SetKeys: &keys}}}); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(3 * time.Hour)
	r.Once(context.Background())
	for _, k := range childKeys() {
		if k.Tag == k2.Tag() && k.State != "published" {
			t.Fatalf("the new CSK moved without its DS: %s", k.State)
		}
	}
	addDS(k2)
	r.Once(context.Background())
	r.Once(context.Background())
	var active bool
	for _, k := range childKeys() {
		if k.Tag == k2.Tag() {
			active = k.State == "active" && !k.DSSeen.IsZero()
		}
	}
	if !active {
		t.Errorf("after its DS appeared in the parent zone the new CSK is not active: %s", states(childKeys()))
	}
}

// TestParentDSSeenByResolver: with dnssec_ds_resolver set, the re-signer
// asks it for the DS of a zone whose parent is elsewhere, and a new CSK
// whose DS the answer holds takes over without ds-seen.
func TestParentDSSeenByResolver(t *testing.T) {
	db, now := rolloverStore(t, dns.ECDSAP256SHA256, "csk")
	k2, _ := GenerateKey("example.org.", dns.ECDSAP256SHA256, true)
	keys := append(keysOf(t, db), NewStoredKey(k2, "csk", "published", *now))
	if _, err := db.Commit(&zonedb.ChangeSet{Zones: []zonedb.ZoneChange{{Zone: "example.org", SetKeys: &keys}}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var publish []dns.RR // what the "parent" answers for example.org DS
	asked := 0
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Qtype == dns.TypeDS && r.Question[0].Name == "example.org." {
			m.Answer = publish
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	defer srv.Shutdown()
	if err := db.SetConfig(map[string]string{ConfigDSResolver: pc.LocalAddr().String()}); err != nil {
		t.Fatal(err)
	}
	r := NewResigner(db, nil)
	*now = now.Add(3 * time.Hour)
	r.Once(context.Background())
	if k := states(keysOf(t, db)); !strings.Contains(k, "csk/13/published") {
		t.Fatalf("moved without a DS at the parent: %s", k)
	}
	ds, _ := DS(k2, dns.SHA256, 3600)
	mu.Lock()
	publish, asked = []dns.RR{ds}, 0
	mu.Unlock()
	// Asked again only an hour later.
	*now = now.Add(10 * time.Minute)
	r.Once(context.Background())
	mu.Lock()
	if asked != 0 {
		t.Errorf("the resolver was asked again after 10 minutes")
	}
	mu.Unlock()
	*now = now.Add(time.Hour)
	r.Once(context.Background())
	r.Once(context.Background())
	if k := states(keysOf(t, db)); k != "csk/13/active csk/13/retired" {
		t.Errorf("after the parent published the new DS: %s", k)
	}
}
