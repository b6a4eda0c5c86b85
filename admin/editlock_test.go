package admin

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"dmsdns.org/dms/zonedb"
)

func TestEditLock(t *testing.T) {
	s, admin := newTestService(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.db.SetClock(func() time.Time { return now })
	configure(t, s, admin)
	configure(t, s, admin, [2]string{"edit_lock_timeout", "10m"})
	on := true
	for _, z := range []ZoneCreateRequest{{Name: "locked.example", EditLock: &on}, {Name: "free.example"}} {
		if _, err := s.ZoneCreate(ctx, admin, z); err != nil {
			t.Fatal(err)
		}
	}
	alice := Caller{User: "alice", Host: "h", Sectag: SectagAdmin}
	bob := Caller{User: "bob", Host: "h", Sectag: SectagAdmin}
	text := func() string {
		zt, err := s.ZoneShow(ctx, admin, ZoneRequest{Name: "locked.example"})
		if err != nil {
			t.Fatal(err)
		}
		return zt.Text
	}
	events := func() []zonedb.LogEvent {
		var ev []zonedb.LogEvent
		_ = s.db.View(func(v *zonedb.View) error {
			ev, _ = v.Events(zonedb.EventFilter{Kind: zonedb.EventEditLock})
			return nil
		})
		return ev
	}

	// Alice locks; Bob is told who and since when, and cannot change records.
	la, err := s.ZoneLockTake(ctx, alice, ZoneLockRequest{Name: "locked.example"})
	if err != nil || la.Token == "" {
		t.Fatalf("lock: %+v, %v", la, err)
	}
	_, err = s.ZoneLockTake(ctx, bob, ZoneLockRequest{Name: "locked.example"})
	if !errors.Is(err, ErrZoneLocked) || !strings.Contains(err.Error(), "being edited by alice@h/Admin since 2026-12-01T12:00:00Z") || AsError(err).Code != CodeLocked {
		t.Errorf("second lock: %v", err)
	}
	if _, err := s.RecordAdd(ctx, bob, RecordRequest{Zone: "locked.example", Records: []string{"www A 192.0.2.1"}}); !errors.Is(err, ErrZoneLocked) {
		t.Errorf("record add while locked: %v", err)
	}
	// Alice's commit with the token lands and releases the lock.
	if _, err := s.ZoneReplace(ctx, alice, ZoneReplaceRequest{Name: "locked.example", Text: text() + "a TXT alice\n", LockToken: la.Token}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.ZoneInfo(ctx, admin, ZoneRequest{Name: "locked.example"}); info.LockedAt != nil {
		t.Errorf("lock kept after the commit: %+v", info)
	}
	if _, err := s.RecordAdd(ctx, bob, RecordRequest{Zone: "locked.example", Records: []string{"www A 192.0.2.1"}}); err != nil {
		t.Errorf("record add after the commit: %v", err)
	}

	// An abort releases it.
	la, _ = s.ZoneLockTake(ctx, alice, ZoneLockRequest{Name: "locked.example"})
	if _, err := s.ZoneUnlock(ctx, alice, ZoneLockRequest{Name: "locked.example", Token: la.Token}); err != nil {
		t.Fatal(err)
	}
	// A lock times out: Bob takes it over, Alice's late commit is refused,
	// and the timeout is a failed edit in the event log.
	la, _ = s.ZoneLockTake(ctx, alice, ZoneLockRequest{Name: "locked.example"})
	now = now.Add(11 * time.Minute)
	lb, err := s.ZoneLockTake(ctx, bob, ZoneLockRequest{Name: "locked.example"})
	if err != nil || lb.Token == "" {
		t.Fatalf("lock after the timeout: %v", err)
	}
	if _, err := s.ZoneReplace(ctx, alice, ZoneReplaceRequest{Name: "locked.example", Text: text() + "b TXT alice\n", LockToken: la.Token}); !errors.Is(err, ErrZoneLocked) ||
		!strings.Contains(err.Error(), "your edit lock of locked.example. is gone") {
		t.Errorf("commit with a lost lock: %v", err)
	}
	if ev := events(); len(ev) != 1 || !ev[0].Failed || !strings.Contains(ev[0].Message, "timed out") || ev[0].By != "alice@h/Admin" {
		t.Errorf("events %+v", ev)
	}
	// Bob's lock times out with nobody else around: his commit is refused.
	now = now.Add(11 * time.Minute)
	if _, err := s.ZoneReplace(ctx, bob, ZoneReplaceRequest{Name: "locked.example", Text: text() + "c TXT bob\n", LockToken: lb.Token}); !errors.Is(err, ErrZoneLocked) ||
		!strings.Contains(err.Error(), "timed out at") {
		t.Errorf("late commit: %v", err)
	}
	if ev := events(); len(ev) != 2 {
		t.Errorf("events %+v", ev)
	}
	// Breaking a lock: Admin only, logged.
	lb, _ = s.ZoneLockTake(ctx, bob, ZoneLockRequest{Name: "locked.example"})
	if _, err := s.SectagCreate(ctx, admin, SectagRequest{Name: "cust"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ZoneUnlock(ctx, Caller{User: "c", Sectag: "cust"}, ZoneLockRequest{Name: "locked.example"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer broke a lock: %v", err)
	}
	if _, err := s.ZoneUnlock(ctx, admin, ZoneLockRequest{Name: "locked.example"}); err != nil {
		t.Fatal(err)
	}
	if ev := events(); len(ev) != 3 || !strings.Contains(ev[0].Message, "was broken") {
		t.Errorf("events %+v", ev)
	}
	if _, err := s.ZoneUnlock(ctx, admin, ZoneLockRequest{Name: "locked.example"}); err == nil {
		t.Error("unlocked an unlocked zone")
	}

	// Without edit_lock: no lock, a stale commit is refused, not merged.
	lf, err := s.ZoneLockTake(ctx, alice, ZoneLockRequest{Name: "free.example"})
	if err != nil || lf.Token != "" {
		t.Fatalf("lock of a zone without edit_lock: %+v, %v", lf, err)
	}
	zt, _ := s.ZoneShow(ctx, admin, ZoneRequest{Name: "free.example"})
	if _, err := s.RecordAdd(ctx, bob, RecordRequest{Zone: "free.example", Records: []string{"x TXT bob"}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ZoneReplace(ctx, alice, ZoneReplaceRequest{Name: "free.example", Text: zt.Text + "y TXT alice\n", ExpectZI: zt.ZI})
	if !errors.Is(err, zonedb.ErrStale) || AsError(err).Code != CodeStale {
		t.Errorf("stale commit: %v", err)
	}
}

// TestVacuumTimer: the server's vacuum runs on its timer (each run is in
// the event log).
func TestVacuumTimer(t *testing.T) {
	s, _ := newTestService(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.vacuumEvery(ctx, 10*time.Millisecond, 10*time.Millisecond, slog.New(slog.DiscardHandler))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ev []zonedb.LogEvent
		_ = s.db.View(func(v *zonedb.View) error { ev, _ = v.Events(zonedb.EventFilter{Kind: zonedb.EventVacuum}); return nil })
		if len(ev) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d vacuum runs in 5 s", len(ev))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestDNSSECKeyEvents: key changes are in the event log.
func TestDNSSECKeyEvents(t *testing.T) {
	s, c := newTestService(t)
	ctx := context.Background()
	configure(t, s, c)
	if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "signed.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DNSSECEnable(ctx, c, DNSSECRequest{Name: "signed.example"}); err != nil {
		t.Fatal(err)
	}
	var ev []zonedb.LogEvent
	_ = s.db.View(func(v *zonedb.View) error { ev, _ = v.Events(zonedb.EventFilter{Kind: zonedb.EventDNSSEC}); return nil })
	if len(ev) != 1 || ev[0].Zone != "signed.example." || !strings.Contains(ev[0].Message, "(csk, algorithm 13) added as active") {
		t.Errorf("DNSSEC events: %+v", ev)
	}
	// The nsec3 flag of a signed zone is its chain's: it does not change
	// by the flag alone.
	no := false
	if _, err := s.ZoneSet(ctx, c, ZoneSetRequest{Name: "signed.example", NSEC3: &no}); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "signed with NSEC3") {
		t.Errorf("zone set --no-nsec3 on an NSEC3-signed zone: %v", err)
	}
}
