package zonedb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

// TestReplayByteForByte: the logical record of every commit, taken on one
// store through a varied history (zones with references and comments,
// record edits, auto-PTR into reverse zones, server groups with their
// catalog zones, DNSSEC with NSEC3 and a key rollover, signed edits,
// rollback, serial changes, delete, undelete, destroy, vacuum; servers,
// TSIG keys, sectags, logins, references and config), sent through JSON
// and replayed in order on an empty store, leaves every bucket but the
// meta bookkeeping and the event log identical byte for byte (keys,
// values and sequences). That is what a replicated commit log appends and
// replays.
func TestReplayByteForByte(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *zonedb.DB {
		db, err := zonedb.Open(filepath.Join(dir, name), zonedb.Options{Create: true, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	primary, replica := open("primary.db"), open("replica.db")
	var mu sync.Mutex
	var logs [][]byte
	primary.KeepLog(func(l *zonedb.CommitLog) {
		b, err := json.Marshal(l) // what a replicated log would carry
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		logs = append(logs, b)
		mu.Unlock()
	})
	// Both stores keep the name index (as dms serve does); after every
	// commit of the history it must say what the B+tree says, signed
	// zones, rollovers, destroy and vacuum included.
	for _, db := range []*zonedb.DB{primary, replica} {
		if err := db.EnableNodeIndex(nil); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	primary.Subscribe(func(zonedb.Event) {
		if diff := nodeIndexDiff(t, primary); diff != "" {
			t.Errorf("after commit %d the name index differs from the B+tree:\n%s", checked+1, diff)
		}
		checked++
	})
	s := admin.New(primary, nil)
	c := admin.Caller{User: "alice", Host: "master", Sectag: admin.SectagAdmin}
	history(t, s, c)
	if checked < 30 {
		t.Errorf("the name index was checked after %d commits", checked)
	}

	// Replay in generation order on the replica.
	var recs []*zonedb.CommitLog
	for _, b := range logs {
		l := new(zonedb.CommitLog)
		if err := json.Unmarshal(b, l); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, l)
	}
	slices.SortFunc(recs, func(a, b *zonedb.CommitLog) int { return int(a.Generation) - int(b.Generation) })
	for _, l := range recs {
		if err := replica.Replay(l); err != nil {
			t.Fatal(err)
		}
	}
	if diff := nodeIndexDiff(t, replica); diff != "" {
		t.Errorf("the replica's name index differs from its B+tree:\n%s", diff)
	}
	diff, err := zonedb.ZoneBucketsDiff(primary, replica)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("replica differs from the primary after %d commits:\n%s", len(recs), diff)
	}
	if n := zonedb.ZoneBucketKeys(primary); n < 100 || len(recs) < 30 {
		t.Errorf("history too small to show anything: %d keys, %d commits", n, len(recs))
	}
	// The replica answers the same: its zone text is the primary's, in
	// each view.
	ci := c
	ci.View = "internal"
	for _, cv := range []admin.Caller{c, ci} {
		for _, zone := range []string{"example.org", map[string]string{"": "2.0.192.in-addr.arpa", "internal": "1.1.10.in-addr.arpa"}[cv.View]} {
			a, err := s.ZoneShow(context.Background(), cv, admin.ZoneRequest{Name: zone})
			if err != nil {
				t.Fatal(err)
			}
			b, err := admin.New(replica, nil).ZoneShow(context.Background(), cv, admin.ZoneRequest{Name: zone})
			if err != nil {
				t.Fatal(err)
			}
			if a.Text != b.Text {
				t.Errorf("%s (view %q): replica's text differs", zone, cv.View)
			}
		}
	}
	// Auto-PTR stayed within the view: the internal reverse zone (the
	// only one of 10.1.1.0/24) has the PTR of the internal zone's
	// FORCEREV record, not that of the default view's.
	in, err := s.ZoneShow(context.Background(), ci, admin.ZoneRequest{Name: "1.1.10.in-addr.arpa"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Text, "intra.example.org.") || strings.Contains(in.Text, "leak.example.org.") {
		t.Errorf("auto-PTR across views:\n%s", in.Text)
	}
}

// nodeIndexDiff waits for db's name index to hold its generation and
// compares it with the B+tree (zonedb.NodeIndexDiff).
func nodeIndexDiff(t *testing.T, db *zonedb.DB) string {
	t.Helper()
	if !db.WaitNodeIndex(10 * time.Second) {
		t.Fatalf("the name index never reached generation %d", db.Generation())
	}
	diff, err := zonedb.NodeIndexDiff(db)
	if err != nil {
		t.Fatal(err)
	}
	return diff
}

// TestReplayRefusesUnknownOps: a record with an operation this store does
// not know is refused whole, nothing written.
func TestReplayRefusesUnknownOps(t *testing.T) {
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := &zonedb.CommitLog{Generation: 1, Ops: []*zonedb.LogOp{
		{Op: "object", Kind: "sectag", Key: []byte("x"), Value: []byte(`{"name":"x"}`)},
		{Op: "teleport", Zone: 1},
	}}
	if err := db.Replay(l); err == nil {
		t.Fatal("unknown op replayed")
	}
	if n := zonedb.ZoneBucketKeys(db); n != 0 {
		t.Errorf("%d keys written by a refused replay", n)
	}
}

func history(t *testing.T, s *admin.Service, c admin.Caller) {
	t.Helper()
	ctx := context.Background()
	must := func(what string, _ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."},
		{"zi_max_num", "3"}, {"zone_del_age", "50"}} {
		r, err := s.ConfigSet(ctx, c, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]})
		must("config", r, err)
	}
	yes := true
	ci := c
	ci.View = "internal"
	r1, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "192.0.2.0/24", Ref: "NET-A", IncUpdates: &yes})
	must("reverse zone", r1, err)
	r2, err := s.ZoneLoad(ctx, c, admin.ZoneLoadRequest{Name: "example.org", Ref: "CUST-1", Text: `$TTL 3600
; the customer's zone
@ IN SOA ns1.example.net. h.example.org. 2026010100 600 600 604800 600
  IN NS ns1.example.net.
  IN NS ns2.example.net.
www IN A 192.0.2.1 ; the web server
mail IN A 192.0.2.2
@ IN MX 10 mail
`})
	must("load", r2, err)
	r3, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "example.org", Records: []string{"ftp CNAME www", "www AAAA 2001:db8::1", "shop A 192.0.2.3"}})
	must("record add", r3, err)
	r4, err := s.RecordDelete(ctx, c, admin.RecordRequest{Zone: "example.org", Records: []string{"mail A 192.0.2.2"}})
	must("record delete", r4, err)
	cat := "cat.example"
	r5, err := s.SGCreate(ctx, c, admin.SGRequest{Name: "ext", CatalogZone: &cat})
	must("sg create", r5, err)
	r6, err := s.ZoneSetSG(ctx, c, admin.ZoneSGRequest{Name: "example.org", SG: "ext"})
	must("set sg", r6, err)
	r7, err := s.DNSSECEnable(ctx, c, admin.DNSSECRequest{Name: "example.org", Split: true})
	must("dnssec enable", r7, err)
	var signedZI uint64
	for i, rec := range []string{"a A 192.0.2.10", "b A 192.0.2.11", "c TXT \"signed edit\"", "*.wild A 192.0.2.12", "sub NS ns.sub.example.org.", "ns.sub A 192.0.2.53"} {
		r, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "example.org", Records: []string{rec}})
		must("signed edit "+string(rune('0'+i)), r, err)
		if i == 1 {
			signedZI = r.Commits[0].ZI
		}
	}
	r8, err := s.DNSSECRollover(ctx, c, admin.RolloverRequest{Name: "example.org"})
	must("rollover", r8, err)
	r9, err := s.ZoneRollback(ctx, c, admin.ZoneRequest{Name: "example.org", ZI: signedZI})
	must("rollback", r9, err)
	r10, err := s.ZoneSerial(ctx, c, admin.ZoneSerialRequest{Name: "192.0.2.0/24", Bump: true})
	must("serial bump", r10, err)
	r11, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "gone.example"})
	must("create gone", r11, err)
	r12, err := s.ZoneDelete(ctx, c, admin.ZoneRequest{Name: "gone.example"})
	must("delete", r12, err)
	r13, err := s.ZoneUndelete(ctx, c, admin.ZoneRequest{Name: "gone.example"})
	must("undelete", r13, err)
	r14, err := s.ZoneDelete(ctx, c, admin.ZoneRequest{Name: "gone.example"})
	must("delete again", r14, err)
	r15, err := s.ZoneDestroy(ctx, c, admin.ZoneRequest{Name: "gone.example"})
	must("destroy", r15, err)
	r15, err = s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "old.example"})
	must("create old", r15, err)
	r15, err = s.ZoneDelete(ctx, c, admin.ZoneRequest{Name: "old.example"})
	must("delete old", r15, err)
	r16, err := s.ZoneSetRef(ctx, c, admin.ZoneSetRefRequest{Name: "example.org", Ref: "NET-A"})
	must("set ref", r16, err)
	text, err := s.ZoneShow(ctx, c, admin.ZoneRequest{Name: "example.org"})
	must("show", text, err)
	r17, err := s.ZoneReplace(ctx, c, admin.ZoneReplaceRequest{Name: "example.org", Text: text.Text + "; a new comment\nnew A 192.0.2.99\n"})
	must("replace", r17, err)
	for i := range 12 {
		r, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "example.org", Records: []string{fmt.Sprintf("h%d A 192.0.2.%d", i, 100+i)}})
		must("auto-PTR edit", r, err)
	}
	// The store's other objects: each kind made, changed and taken away.
	apex := []string{"ns1.example.net.", "ns9.example.net."}
	steps := []struct {
		what string
		do   func() (any, error)
	}{
		{"sg set", func() (any, error) { return s.SGSet(ctx, c, admin.SGRequest{Name: "ext", ApexNS: &apex}) }},
		{"tsig import", func() (any, error) {
			return s.TSIGImport(ctx, c, admin.TSIGRequest{Name: "xfr-key", Secret: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"})
		}},
		{"tsig create", func() (any, error) { return s.TSIGCreate(ctx, c, admin.TSIGRequest{Name: "gone-key"}) }},
		{"server create", func() (any, error) {
			key := "xfr-key"
			return s.ServerCreate(ctx, c, admin.ServerRequest{Name: "ns2", Address: "192.0.2.53", SG: "ext", Type: "bind9", TSIGKey: &key})
		}},
		{"server rename", func() (any, error) { return s.ServerRename(ctx, c, admin.ServerRequest{Name: "ns2", NewName: "ns2b"}) }},
		{"tsig delete", func() (any, error) { return s.TSIGDelete(ctx, c, admin.TSIGRequest{Name: "gone-key"}) }},
		{"sectag create", func() (any, error) { return s.SectagCreate(ctx, c, admin.SectagRequest{Name: "PANEL"}) }},
		{"api user add", func() (any, error) {
			return s.APIUserAdd(ctx, c, admin.APIUserRequest{Name: "panel1", Sectag: "PANEL", Password: "a long enough password"})
		}},
		{"api user delete", func() (any, error) { return s.APIUserDelete(ctx, c, admin.APIUserRequest{Name: "panel1"}) }},
		{"ref create", func() (any, error) { return s.RefCreate(ctx, c, admin.RefRequest{Name: "NET-B"}) }},
		{"ref rename", func() (any, error) { return s.RefRename(ctx, c, admin.RefRequest{Name: "NET-B", NewName: "NET-C"}) }},
		{"config set", func() (any, error) { return s.ConfigSet(ctx, c, admin.ConfigSetRequest{Key: "zone_ttl", Value: "2h"}) }},
		{"config unset", func() (any, error) { return s.ConfigSet(ctx, c, admin.ConfigSetRequest{Key: "apex_ns", Value: ""}) }},
		// Views: the same names in view internal, auto-PTR within it.
		{"config set again", func() (any, error) {
			return s.ConfigSet(ctx, c, admin.ConfigSetRequest{Key: "apex_ns", Value: "ns1.example.net."})
		}},
		{"view create", func() (any, error) {
			m := []string{"10.0.0.0/8", "key:xfr-key"}
			return s.ViewCreate(ctx, c, admin.ViewRequest{Name: "internal", Match: &m})
		}},
		{"view set", func() (any, error) {
			m := []string{"10.0.0.0/8", "!10.9.0.0/16", "key:xfr-key"}
			return s.ViewSet(ctx, c, admin.ViewRequest{Name: "internal", Match: &m})
		}},
		{"sg create in view", func() (any, error) { return s.SGCreate(ctx, ci, admin.SGRequest{Name: "int"}) }},
		{"reverse zone in view", func() (any, error) {
			return s.ZoneCreate(ctx, ci, admin.ZoneCreateRequest{Name: "10.1.1.0/24", IncUpdates: &yes, SG: "int"})
		}},
		{"zone in view", func() (any, error) {
			return s.ZoneLoad(ctx, ci, admin.ZoneLoadRequest{Name: "example.org", Text: "$TTL 300\n@ SOA ns1.example.net. h.example.org. 1 600 600 604800 600\n@ NS ns1.example.net.\nwww A 192.0.2.1 ;!FORCEREV\n"})
		}},
		{"record add in view", func() (any, error) {
			return s.RecordAdd(ctx, ci, admin.RecordRequest{Zone: "example.org", Records: []string{"intra A 10.1.1.9 ;!FORCEREV"}})
		}},
		{"record add outside the view", func() (any, error) {
			return s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "example.org", Records: []string{"leak A 10.1.1.10 ;!FORCEREV"}})
		}},
	}
	for _, st := range steps {
		r, err := st.do()
		must(st.what, r, err)
	}
	// 100 days on, vacuum ages the instances and the deleted zone.
	s.DB().SetClock(func() time.Time { return time.Now().Add(100 * 24 * time.Hour) })
	r18, err := s.Vacuum(ctx, c, admin.VacuumRequest{What: "all"})
	must("vacuum", r18, err)
	if r18.ZIs == 0 || len(r18.Destroyed) != 1 {
		t.Errorf("vacuum aged nothing: %+v", r18)
	}
}
