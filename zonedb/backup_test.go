package zonedb_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func backupWorld(t *testing.T) (*admin.Service, admin.Caller, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := zonedb.Open(filepath.Join(dir, "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := admin.New(db, nil)
	c := admin.Caller{User: "alice", Host: "master", Sectag: admin.SectagAdmin}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := s.ConfigSet(context.Background(), c, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	return s, c, dir
}

func writeBackup(t *testing.T, s *admin.Service, c admin.Caller, path string) zonedb.BackupInfo {
	t.Helper()
	var buf bytes.Buffer
	info, err := s.Backup(context.Background(), c, &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return info
}

// TestVerifyBackup: a backup of a store with a signed (NSEC3) and an NSEC
// zone verifies; truncated, garbage and damaged copies are reported
// broken with what is wrong, never a crash.
func TestVerifyBackup(t *testing.T) {
	s, c, dir := backupWorld(t)
	ctx := context.Background()
	yes := true
	for _, z := range []string{"a.example", "b.example"} {
		if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: z, DNSSEC: &yes}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DNSSECDisable(ctx, c, admin.DNSSECRequest{Name: "b.example"}); err == nil {
		// (disable waits for the parent; re-enable as NSEC instead)
		t.Log("disabled")
	}
	if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "nsec.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DNSSECEnable(ctx, c, admin.DNSSECRequest{Name: "nsec.example", NSEC: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "a.example", Records: []string{fmt.Sprintf("h%d A 192.0.2.%d", i, i)}}); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.db")
	info := writeBackup(t, s, c, good)
	rep, err := zonedb.VerifyFile(good, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Zones != 3 || rep.Signed < 2 || rep.Bytes != info.Bytes || rep.Instances < 20 || !strings.Contains(rep.Verdict(), ": OK: ") {
		t.Fatalf("good backup: %+v", rep)
	}
	// The live store verifies the same.
	if live, err := s.DB().Verify(); err != nil || !live.OK() || live.Zones != 3 {
		t.Fatalf("live store: %+v %v", live, err)
	}

	data, _ := os.ReadFile(good)
	broken := func(name string, b []byte, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := zonedb.VerifyFile(p, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), want) || !strings.Contains(rep.Verdict(), "BROKEN") {
			t.Errorf("%s: %s; problems %q, want one with %q", name, rep.Verdict(), rep.Problems, want)
		}
	}
	broken("truncated.db", data[:len(data)/2], "truncated")
	broken("empty.db", nil, "no valid meta page")
	broken("garbage.db", bytes.Repeat([]byte("dms "), 8192), "no valid meta page")
	// Damage inside: zero every data page after the metas and the root:
	// bbolt's check or the bucket reads find it.
	damaged := bytes.Clone(data)
	for off := 4 * 4096; off < len(damaged); off++ {
		damaged[off] ^= 0x5a
	}
	broken("damaged.db", damaged, "")
}

// TestRestore: a broken backup and a store in use are refused with
// nothing replaced; a good one replaces the store, keeps the old one, and
// gives zones whose served instance differs a serial above the served one.
func TestRestore(t *testing.T) {
	s, c, dir := backupWorld(t)
	ctx := context.Background()
	for _, z := range []string{"kept.example", "changed.example"} {
		if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: z}); err != nil {
			t.Fatal(err)
		}
	}
	bk := filepath.Join(dir, "backup.db")
	writeBackup(t, s, c, bk)
	// After the backup: changed.example moves on, new.example is made.
	if _, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "changed.example", Records: []string{"late A 192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "new.example"}); err != nil {
		t.Fatal(err)
	}
	var served uint32
	_ = s.DB().View(func(v *zonedb.View) error { z, _ := v.Zone("changed.example"); served = z.Serial; return nil })
	dst := s.DB().Path()

	// The store is open (this process holds its lock): refused.
	if _, err := zonedb.Restore(bk, dst, "test", time.Now(), nil); !errors.Is(err, zonedb.ErrStoreBusy) {
		t.Fatalf("restore onto an open store: %v", err)
	}
	s.DB().Close()
	before, _ := os.ReadFile(dst)
	// A broken backup: refused, nothing replaced.
	trunc := filepath.Join(dir, "trunc.db")
	data, _ := os.ReadFile(bk)
	os.WriteFile(trunc, data[:len(data)/3], 0o600)
	if _, err := zonedb.Restore(trunc, dst, "test", time.Now(), nil); err == nil || !strings.Contains(err.Error(), "nothing replaced") {
		t.Fatalf("restore of a truncated backup: %v", err)
	}
	if _, err := zonedb.Restore(filepath.Join(dir, "none.db"), dst, "test", time.Now(), nil); err == nil {
		t.Fatal("restore of a missing file")
	}
	if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
		t.Fatal("a refused restore changed the store")
	}
	if m, _ := filepath.Glob(dst + ".before-restore-*"); len(m) != 0 {
		t.Fatalf("a refused restore moved the store: %v", m)
	}

	rep, err := zonedb.Restore(bk, dst, "alice@master/Admin", time.Now(), func(db *zonedb.DB) { admin.New(db, nil) })
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := os.ReadFile(rep.Kept); err != nil || !bytes.Equal(kept, before) {
		t.Fatalf("the replaced store is not kept as %s: %v", rep.Kept, err)
	}
	if len(rep.Bumped) != 1 || rep.Bumped[0].Zone != "changed.example." || rep.Bumped[0].Served != served || !zonedb.SerialLess(served, rep.Bumped[0].Serial) {
		t.Errorf("bumped %+v (served %d)", rep.Bumped, served)
	}
	if len(rep.Missing) != 1 || rep.Missing[0] != "new.example." {
		t.Errorf("missing %v", rep.Missing)
	}
	db, err := zonedb.Open(dst, zonedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Verify(); err != nil || !v.OK() || v.Zones != 2 {
		t.Fatalf("restored store: %+v %v", v, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Errorf("restored store mode %v", fi.Mode())
	}
	_ = db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("changed.example")
		if z.Serial != rep.Bumped[0].Serial {
			t.Errorf("changed.example serial %d, report %d", z.Serial, rep.Bumped[0].Serial)
		}
		if rr, _ := v.RRset(z, "late.changed.example.", 1); len(rr) != 0 {
			t.Error("the restored zone has a record made after the backup")
		}
		return nil
	})
}

// TestBackupDuringCommits: a backup taken while commits go on holds every
// commit acknowledged before it started and none that began after it
// ended, and verifies.
func TestBackupDuringCommits(t *testing.T) {
	s, c, dir := backupWorld(t)
	ctx := context.Background()
	if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "storm.example"}); err != nil {
		t.Fatal(err)
	}
	type ack struct {
		n          int
		start, end time.Time
	}
	var mu sync.Mutex
	var acks []ack
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				n := w*100000 + i
				st := time.Now()
				_, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "storm.example", Records: []string{fmt.Sprintf("h%d TXT \"x\"", n)}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acks = append(acks, ack{n, st, time.Now()})
				mu.Unlock()
			}
		}()
	}
	// Wait for commits before the backup and after it (a loaded machine
	// commits slowly: count, do not sleep a fixed time).
	waitFor := func(what string, ok func([]ack) bool) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			done := ok(acks)
			mu.Unlock()
			if done {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within a minute", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("10 commits", func(a []ack) bool { return len(a) >= 10 })
	bk := filepath.Join(dir, "storm.db")
	t0 := time.Now()
	writeBackup(t, s, c, bk)
	t1 := time.Now()
	waitFor("5 commits after the backup", func(a []ack) bool {
		n := 0
		for _, x := range a {
			if x.start.After(t1) {
				n++
			}
		}
		return n >= 5
	})
	stop.Store(true)
	wg.Wait()

	rep, err := zonedb.VerifyFile(bk, 0)
	if err != nil || !rep.OK() {
		t.Fatalf("backup during commits: %+v %v", rep, err)
	}
	b, err := zonedb.Open(bk, zonedb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	before, after := 0, 0
	_ = b.View(func(v *zonedb.View) error {
		z, err := v.Zone("storm.example")
		if err != nil {
			return err
		}
		for _, a := range acks {
			rr, _ := v.RRset(z, fmt.Sprintf("h%d.storm.example.", a.n), 16)
			switch {
			case a.end.Before(t0):
				before++
				if len(rr) == 0 {
					t.Errorf("h%d, acknowledged before the backup began, is not in it", a.n)
				}
			case a.start.After(t1):
				after++
				if len(rr) != 0 {
					t.Errorf("h%d, begun after the backup ended, is in it", a.n)
				}
			}
		}
		return nil
	})
	if before < 10 || after < 5 {
		t.Errorf("the storm was too weak to show anything: %d commits before the backup, %d after", before, after)
	}
}

// TestVerifyNeverCrashes: random damage anywhere in a backup is reported
// (or, in bytes nothing reads, harmless), never a crash of the verifier.
func TestVerifyNeverCrashes(t *testing.T) {
	s, c, dir := backupWorld(t)
	ctx := context.Background()
	yes := true
	if _, err := s.ZoneCreate(ctx, c, admin.ZoneCreateRequest{Name: "a.example", DNSSEC: &yes}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := s.RecordAdd(ctx, c, admin.RecordRequest{Zone: "a.example", Records: []string{fmt.Sprintf("h%d A 192.0.2.%d", i, i)}}); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.db")
	writeBackup(t, s, c, good)
	data, _ := os.ReadFile(good)
	rng := rand.New(rand.NewPCG(1, 2))
	p := filepath.Join(dir, "damaged.db")
	broken := 0
	for i := range 300 {
		d := bytes.Clone(data)
		// A run of random bytes at a random place, past the meta pages.
		off := 2*4096 + rng.IntN(len(d)-2*4096-64)
		for j := range 1 + rng.IntN(64) {
			d[off+j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := zonedb.VerifyFile(p, 0)
		if err != nil {
			t.Fatalf("damage %d at %d: %v", i, off, err)
		}
		if !rep.OK() {
			broken++
		}
	}
	// Damage that bbolt itself cannot survive, in every page it can hit:
	// a branch page whose child is an ancestor (a cycle: bbolt's cursor
	// and its Check descend for ever), an element count past the page end
	// (reads outside the mapping), a freelist count past its page.
	const ps = 4096
	live, err := zonedb.LivePages(good)
	if err != nil {
		t.Fatal(err)
	}
	structural := 0
	for id := 2; (id+1)*ps <= len(data); id++ {
		pg := data[id*ps:]
		if !live[uint64(id)] || binary.LittleEndian.Uint64(pg) != uint64(id) {
			continue // free, or an overflow page
		}
		var damages []func(d []byte)
		switch binary.LittleEndian.Uint16(pg[8:]) {
		case 0x01: // branch: its first child is itself, then its count
			damages = append(damages, func(d []byte) { binary.LittleEndian.PutUint64(d[id*ps+16+8:], uint64(id)) })
			damages = append(damages, func(d []byte) { binary.LittleEndian.PutUint16(d[id*ps+10:], 0xFFF0) })
		case 0x02: // leaf
			damages = append(damages, func(d []byte) { binary.LittleEndian.PutUint16(d[id*ps+10:], 0xFFF0) })
		case 0x10: // freelist
			damages = append(damages, func(d []byte) { binary.LittleEndian.PutUint16(d[id*ps+10:], 0xFFFE) })
		}
		for _, damage := range damages {
			d := bytes.Clone(data)
			damage(d)
			if err := os.WriteFile(p, d, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := zonedb.VerifyFile(p, 0)
			if err != nil {
				t.Fatalf("damaged page %d: %v", id, err)
			}
			if rep.OK() {
				t.Errorf("damaged page %d: reported OK", id)
			}
			structural++
		}
	}
	if structural < 5 {
		t.Errorf("only %d pages to damage: the store is too small to test this", structural)
	}
	// Most of a store that has seen many commits is free pages, where
	// damage harms nothing and shows nowhere (bbolt keeps no checksums of
	// pages): about one in eight copies here has damage that matters.
	t.Logf("%d of 300 damaged copies reported broken", broken)
	if broken < 30 {
		t.Errorf("only %d of 300 damaged copies reported broken", broken)
	}
}
