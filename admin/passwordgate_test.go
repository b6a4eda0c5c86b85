package admin_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/admin/httpapi"
	"dmsdns.org/dms/zonedb"
)

// TestPasswordChecksBounded: 50 concurrent wrong-password requests to the
// HTTP API, each from its own address (so no per-source limit stops them
// first), run at most admin.PasswordSlots bcrypt comparisons at once; the
// rest wait in the short queue or get 503 with Retry-After at once, and a
// 503 is not a failed login (the password was never checked). Afterwards
// a right password gets in.
func TestPasswordChecksBounded(t *testing.T) {
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := admin.New(db, nil)
	root := admin.Caller{User: "setup", Sectag: admin.SectagAdmin}
	if _, err := svc.APIUserAdd(t.Context(), root, admin.APIUserRequest{Name: "alice", Sectag: "Admin", Password: "alice-password-1"}); err != nil {
		t.Fatal(err)
	}
	var running, peak, checks atomic.Int32
	admin.SetPasswordCompare(svc, func(hash, pw []byte) error {
		n := running.Add(1)
		defer running.Add(-1)
		checks.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		return bcrypt.CompareHashAndPassword(hash, pw)
	})
	api, err := httpapi.New(svc, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(remote, pw string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/zones", nil)
		r.RemoteAddr = remote
		r.SetBasicAuth("alice", pw)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec
	}
	const n = 50
	recs := make([]*httptest.ResponseRecorder, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			recs[i] = get(fmt.Sprintf("192.0.2.%d:1", i+1), "wrong-password")
		})
	}
	close(start)
	wg.Wait()
	codes := map[int]int{}
	busy := ""
	for i, rec := range recs {
		codes[rec.Code]++
		if rec.Code == 503 {
			busy = fmt.Sprintf("192.0.2.%d:1", i+1)
			if rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}
	}
	t.Logf("%d requests: %v; %d bcrypt comparisons, at most %d at once (slots %d, queue %d)", n, codes, checks.Load(), peak.Load(), admin.PasswordSlots, admin.PasswordQueue)
	if p := peak.Load(); p > int32(admin.PasswordSlots) {
		t.Errorf("%d bcrypt comparisons ran at once, want at most %d", p, admin.PasswordSlots)
	}
	if codes[401]+codes[503] != n || codes[503] == 0 || int32(codes[401]) != checks.Load() {
		t.Errorf("answers %v to %d checks: want only 401 (one a check) and 503", codes, checks.Load())
	}
	if rec := get(busy, "alice-password-1"); rec.Code != 200 {
		t.Errorf("right password from an address that got 503: %d %s", rec.Code, rec.Body)
	}
}
