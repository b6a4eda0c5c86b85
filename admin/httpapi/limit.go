package httpapi

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

// The API bounds the work any one party can ask of it: requests per
// second per client address and per login (the api_rate_* keys), and,
// for logins, the failed-login limits and back-off below and the password
// gate in admin.Authenticate.

// rateLimiter is a token bucket per key, kept the way GCRA does: one time
// per key, the "theoretical arrival time" (TAT) at which the key's next
// request would come if it sent at exactly its rate. A request is
// admitted when that time is no more than the burst ahead of now, and
// moves it on by one interval. A key whose TAT has passed has a full
// bucket, the same as an absent key: those are what a full table drops.
type rateLimiter struct {
	mu       sync.Mutex
	interval time.Duration // 1/rate; 0: no limit
	burst    time.Duration // how far ahead of now the TAT may run
	tat      map[string]time.Time
}

// maxLimiterKeys bounds each limiter's table (some 100 bytes a key).
const maxLimiterKeys = 100000

// set changes the rate (requests per second, 0: none) and the burst (in
// seconds of the rate), keeping what each key has spent.
func (l *rateLimiter) set(perSecond, burstSeconds int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.interval = 0
	if perSecond > 0 {
		l.interval = time.Second / time.Duration(perSecond)
	}
	// A burst shorter than one interval would admit nothing.
	l.burst = max(time.Duration(burstSeconds)*time.Second, l.interval)
}

// allow admits a request of key at now, or says how long until it would
// be admitted.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.interval == 0 {
		return true, 0
	}
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	if ahead := next.Sub(now); ahead > l.burst {
		return false, ahead - l.burst
	}
	if l.tat == nil || len(l.tat) >= maxLimiterKeys {
		l.prune(now)
	}
	l.tat[key] = next
	return true, 0
}

// prune drops the keys with full buckets; when every key is busy (a spray
// of sources), it forgets them all: memory stays bounded, and a forgotten
// key only gets its burst back.
func (l *rateLimiter) prune(now time.Time) {
	for k, t := range l.tat {
		if !t.After(now) {
			delete(l.tat, k)
		}
	}
	if l.tat == nil || len(l.tat) >= maxLimiterKeys {
		l.tat = map[string]time.Time{}
	}
}

// setLimits reads the rate limits (api_rate_*) from v; admin.WatchConfig
// calls it again after every commit, so a dms config set takes effect at
// once.
func (a *API) setLimits(v *zonedb.View) {
	cfg := admin.EffectiveConfig(v.Config())
	burst := cfg.Int("api_rate_burst")
	a.perClient.set(cfg.Int("api_rate_client"), burst)
	a.perLogin.set(cfg.Int("api_rate_login"), burst)
}

// retryAfter sets Retry-After to d in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}

// admitClient applies the per-client rate; false: it answered 429.
func (a *API) admitClient(w http.ResponseWriter, client netip.Addr, now time.Time) (int, bool) {
	if ok, wait := a.perClient.allow(source(client).String(), now); !ok {
		retryAfter(w, wait)
		return writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests from "+client.String()+"; try again after the Retry-After seconds", nil), false
	}
	return 0, true
}

// admitLogin applies the per-login rate, after the login is proven (a
// guesser's requests must not spend a real login's rate); false: it
// answered 429.
func (a *API) admitLogin(w http.ResponseWriter, c admin.Caller, now time.Time) (int, bool) {
	if ok, wait := a.perLogin.allow(strings.ToLower(c.User), now); !ok {
		retryAfter(w, wait)
		return writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests for login "+c.User+"; try again after the Retry-After seconds", nil), false
	}
	return 0, true
}
