package httpapi

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"dmsdns.org/dms/admin"
)

// from sends a request to the API's handler as if from remote (an
// address), as user with password pw ("" user: no login).
func (w *world) from(remote, user, pw, path string) *httptest.ResponseRecorder {
	w.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = remote
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	rec := httptest.NewRecorder()
	w.api.ServeHTTP(rec, r)
	return rec
}

func (w *world) config(kv ...string) {
	w.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if _, err := w.svc.ConfigSet(w.t.Context(), admin.Caller{User: "setup", Sectag: admin.SectagAdmin}, admin.ConfigSetRequest{Key: kv[i], Value: kv[i+1]}); err != nil {
			w.t.Fatal(err)
		}
	}
}

// want checks a recorded answer's status, and for 429 and 503 that it
// says when to come back.
func want(t *testing.T, what string, rec *httptest.ResponseRecorder, code int, retry string) {
	t.Helper()
	if rec.Code != code {
		t.Errorf("%s: %d %s, want %d", what, rec.Code, rec.Body, code)
	}
	if got := rec.Header().Get("Retry-After"); got != retry {
		t.Errorf("%s: Retry-After %q, want %q", what, got, retry)
	}
}

// TestLoginRate: a login over its request rate gets 429 with Retry-After;
// other logins from the same address are unaffected; the rate comes back
// with time; a guesser's failed logins do not spend it.
func TestLoginRate(t *testing.T) {
	w := newWorld(t)
	w.config("api_rate_login", "2", "api_rate_burst", "1")
	clock := w.fakeClock()
	const zones, here = "/api/v1/zones", "192.0.2.10:4000"
	want(t, "guesser", w.from("198.51.100.7:1", "alice", "wrong-password", zones), 401, "")
	for i := range 2 {
		want(t, "alice within her rate", w.from(here, "alice", custPW, zones), 200, "")
		if i == 0 {
			want(t, "bob", w.from(here, "bob", custPW, zones), 200, "")
		}
	}
	want(t, "alice over her rate", w.from(here, "alice", custPW, zones), 429, "1")
	want(t, "bob from the same address", w.from(here, "bob", custPW, zones), 200, "")
	want(t, "root", w.from(here, "root", adminPW, zones), 200, "")
	clock.add(500 * time.Millisecond)
	want(t, "alice half a second later", w.from(here, "alice", custPW, zones), 200, "")
	want(t, "alice again", w.from(here, "alice", custPW, zones), 429, "1")

	w.config("api_rate_login", "0") // in force at once (admin.WatchConfig)
	for range 10 {
		want(t, "alice with no login rate", w.from(here, "alice", custPW, zones), 200, "")
	}
}

// TestClientRate: an address over its request rate gets 429 with
// Retry-After, on open routes too and whatever the login; other
// addresses are unaffected; an IPv6 client's /64 is one client.
func TestClientRate(t *testing.T) {
	w := newWorld(t)
	w.config("api_rate_client", "3", "api_rate_burst", "1")
	clock := w.fakeClock()
	const spec = "/api/v1/openapi.json"
	for range 2 {
		want(t, "open route", w.from("192.0.2.1:1", "", "", spec), 200, "")
	}
	want(t, "a login", w.from("192.0.2.1:1", "alice", custPW, "/api/v1/zones"), 200, "")
	want(t, "over the rate", w.from("192.0.2.1:1", "", "", spec), 429, "1")
	want(t, "over the rate, another login", w.from("192.0.2.1:2", "bob", custPW, "/api/v1/zones"), 429, "1")
	want(t, "another address", w.from("192.0.2.2:1", "", "", spec), 200, "")
	for i, a := range []string{"[2001:db8::1]:1", "[2001:db8::2]:1", "[2001:db8::3]:1", "[2001:db8::4]:1"} {
		code := 200
		if i == 3 {
			code = 429
		}
		want(t, "IPv6 "+a, w.from(a, "", "", spec), code, map[int]string{200: "", 429: "1"}[code])
	}
	want(t, "another /64", w.from("[2001:db8:0:1::1]:1", "", "", spec), 200, "")
	clock.add(time.Second)
	want(t, "a second later", w.from("192.0.2.1:1", "", "", spec), 200, "")
}

// TestLoginBackoff: after a failed login, that login from that source
// waits 1 s, then 2 s after a second failure, even with the right
// password; other logins from the source and the login from elsewhere do
// not wait; the failure limit per source still holds.
func TestLoginBackoff(t *testing.T) {
	w := newWorld(t) // LoginFailures 3 a minute
	clock := w.fakeClock()
	const zones, here, there = "/api/v1/zones", "192.0.2.20:1", "192.0.2.21:1"
	want(t, "wrong password", w.from(here, "alice", "wrong-password", zones), 401, "")
	want(t, "right one at once", w.from(here, "alice", custPW, zones), 429, "1")
	want(t, "bob from the same address", w.from(here, "bob", custPW, zones), 200, "")
	want(t, "alice from elsewhere", w.from(there, "alice", custPW, zones), 200, "")
	clock.add(time.Second)
	want(t, "right one after 1 s", w.from(here, "alice", custPW, zones), 200, "")
	want(t, "second wrong password", w.from(here, "alice", "wrong-password", zones), 401, "")
	clock.add(time.Second)
	want(t, "1 s after the second", w.from(here, "alice", custPW, zones), 429, "1")
	clock.add(time.Second)
	want(t, "2 s after the second", w.from(here, "alice", custPW, zones), 200, "")
	want(t, "third failure from the address", w.from(here, "bob", "wrong-password", zones), 401, "")
	clock.add(10 * time.Second)
	want(t, "the address is blocked", w.from(here, "root", adminPW, zones), 429, "47")
	want(t, "not another address", w.from(there, "root", adminPW, zones), 200, "")
	clock.add(47 * time.Second)
	want(t, "after the window", w.from(here, "root", adminPW, zones), 200, "")
}

// TestRateLimiter: the bucket admits its burst at once, then one request
// an interval, and says how long to wait; keys are apart; a full table
// drops the idle keys first.
func TestRateLimiter(t *testing.T) {
	var l rateLimiter
	l.set(10, 1) // 10 a second, 10 at once
	now := time.Unix(1e9, 0)
	for i := range 10 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if ok, wait := l.allow("a", now); ok || wait != 100*time.Millisecond {
		t.Errorf("over the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Error("another key refused")
	}
	if ok, _ := l.allow("a", now.Add(100*time.Millisecond)); !ok {
		t.Error("refused after an interval")
	}
	for i := range maxLimiterKeys - len(l.tat) {
		l.allow(strconv.Itoa(i), now.Add(-time.Hour))
	}
	if ok, _ := l.allow("c", now); !ok || len(l.tat) != 3 {
		t.Errorf("a full table: %v, %d keys kept, want the 2 busy ones and the new one", ok, len(l.tat))
	}
	if ok, _ := l.allow("a", now.Add(100*time.Millisecond)); ok {
		t.Error("a busy key forgot what it spent when the table was full")
	}
	l.set(0, 1)
	for range 100 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatal("refused with no limit")
		}
	}
}
