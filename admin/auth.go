package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"dms/zonedb"
)

// ErrUnauthorized marks a login that failed (unknown name or wrong
// password: the caller is not told which).
var ErrUnauthorized = errors.New("unauthorized")

// authCache remembers logins that passed for a few minutes, keyed by a
// keyed hash of name and password, so a panel's requests do not each pay
// for a bcrypt comparison (tens of milliseconds by design).
type authCache struct {
	mu  sync.Mutex
	key []byte
	m   map[[32]byte]authEntry
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
// the client's address, for change_by).
func (s *Service) Authenticate(name, password, host string) (Caller, error) {
	a := &s.authCache
	a.mu.Lock()
	k := a.sum(name, password)
	e, ok := a.m[k]
	a.mu.Unlock()
	now := time.Now()
	if !ok || now.After(e.until) {
		var u *zonedb.APIUser
		err := s.db.View(func(v *zonedb.View) error { var err error; u, err = v.APIUser(name); return err })
		if err != nil {
			// Spend the time a comparison takes, so unknown names do not
			// answer faster than wrong passwords.
			_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
			return Caller{}, ErrUnauthorized
		}
		if bcrypt.CompareHashAndPassword([]byte(u.Hash), []byte(password)) != nil {
			return Caller{}, ErrUnauthorized
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

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dms-no-such-login"), bcrypt.DefaultCost)
