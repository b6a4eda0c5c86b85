package admin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"dmsdns.org/dms/zonedb"
)

// authCache remembers logins that passed for a few minutes, keyed by a
// keyed hash of name and password, so a panel's requests do not each pay
// for a bcrypt comparison (tens of milliseconds by design).
type authCache struct {
	mu  sync.Mutex
	key []byte
	m   map[[32]byte]authEntry
	// gate bounds the password checks running at once.
	gate passwordGate
	// compare is bcrypt.CompareHashAndPassword unless a test counts the
	// comparisons.
	compare func(hash, password []byte) error
}

type authEntry struct {
	name  string
	user  zonedb.APIUser
	until time.Time
}

const authCacheTTL = 5 * time.Minute

func (a *authCache) sum(name, password string) [32]byte {
	if a.key == nil {
		a.key = make([]byte, 32)
		_, _ = rand.Read(a.key)
	}
	h := hmac.New(sha256.New, a.key)
	h.Write([]byte(strings.ToLower(name) + "\x00" + password))
	return [32]byte(h.Sum(nil))
}

func (a *authCache) forget(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range a.m {
		if strings.EqualFold(e.name, name) {
			delete(a.m, k)
		}
	}
}

// Authenticate checks an HTTP API login and returns its caller (host is
// the client's address, for change_by). A login not in the cache costs a
// bcrypt comparison, which waits for a slot of the password gate: when
// the gate is full it fails with ErrLoginBusy, the password unchecked.
func (s *Service) Authenticate(ctx context.Context, name, password, host string) (Caller, error) {
	a := &s.authCache
	a.mu.Lock()
	k := a.sum(name, password)
	e, ok := a.m[k]
	a.mu.Unlock()
	now := time.Now()
	if !ok || now.After(e.until) {
		u, err := s.verifyPassword(ctx, name, password)
		if err != nil {
			return Caller{}, err
		}
		e = authEntry{name: u.Name, user: *u, until: now.Add(authCacheTTL)}
		a.mu.Lock()
		if a.m == nil || len(a.m) > 10000 {
			a.m = map[[32]byte]authEntry{}
		}
		a.m[k] = e
		a.mu.Unlock()
	}
	return Caller{User: e.user.Name, Host: host, Sectag: e.user.Sectag, Role: e.user.Role}, nil
}

// verifyPassword compares password with the login's stored hash, through
// the password gate.
func (s *Service) verifyPassword(ctx context.Context, name, password string) (*zonedb.APIUser, error) {
	a := &s.authCache
	if err := a.gate.enter(ctx); err != nil {
		return nil, err
	}
	defer a.gate.leave()
	compare := a.compare
	if compare == nil {
		compare = bcrypt.CompareHashAndPassword
	}
	var u *zonedb.APIUser
	err := s.db.View(func(v *zonedb.View) error { var err error; u, err = v.APIUser(name); return err })
	if err != nil {
		// Spend the time a comparison takes, so unknown names do not
		// answer faster than wrong passwords.
		_ = compare(dummyHash, []byte(password))
		return nil, ErrUnauthorized
	}
	if compare([]byte(u.Hash), []byte(password)) != nil {
		return nil, ErrUnauthorized
	}
	return u, nil
}

// passwordGate bounds the bcrypt comparisons running at once. Each takes
// tens of milliseconds of a core by design, so a flood of wrong passwords
// (from many sources, or from one before its failures are counted) would
// otherwise take every core from answering DNS. A short queue waits its
// turn; beyond it, requests fail at once: refusing is cheaper than
// queueing work the attacker chose.
type passwordGate struct {
	once    sync.Once
	slots   chan struct{}
	waiting atomic.Int32
}

// PasswordSlots is how many password checks run at once: two, and one on
// a machine of two cores or fewer (DNS keeps at least half of them).
var PasswordSlots = max(1, min(2, runtime.NumCPU()/2))

// PasswordQueue is how many password checks may wait for a slot.
const PasswordQueue = 8

func (g *passwordGate) enter(ctx context.Context) error {
	g.once.Do(func() { g.slots = make(chan struct{}, PasswordSlots) })
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	if g.waiting.Add(1) > PasswordQueue {
		g.waiting.Add(-1)
		return ErrLoginBusy
	}
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrLoginBusy
	}
}

func (g *passwordGate) leave() { <-g.slots }

// dummyHash is a bcrypt hash (of "dms-no-such-login", cost
// bcrypt.DefaultCost) that an unknown login's password is compared with,
// so that it takes as long as a known one's. A constant: hashing it at
// package init cost every dms command, --help included, about 90 ms
// (TestDummyHashCost checks it is what it says).
var dummyHash = []byte("$2a$10$Zk10ms63cVMwnF/raGU1VuPT9Cf2YWCoKiZ7gTOgkQYycgmaOA4pG")
