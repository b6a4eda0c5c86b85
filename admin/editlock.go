package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"dmsdns.org/dms/zonedb"
)

// The edit lock of zones with edit_lock on (the reference system's
// EDIT_LOCK state): dms zone edit (or a panel) takes it with a token,
// the commit carrying the token releases it, an abort releases it, and it
// times out after edit_lock_timeout (a failed edit in the event log).
// Meanwhile nobody else changes the zone's records. Zones without
// edit_lock rely on the instance check instead: a commit based on a stale
// read is refused.

// ErrZoneLocked marks a change refused because someone holds the zone's
// edit lock.
var ErrZoneLocked = errors.New("zone is locked for editing")

// ZoneLockRequest takes or releases a zone's edit lock.
type ZoneLockRequest struct {
	Name string `json:"name"`
	// Token releases the lock it names (an abort); without one, unlock
	// breaks anyone's lock (Admin only).
	Token string `json:"token,omitempty"`
}

// ZoneLock is a zone's lock state.
type ZoneLock struct {
	Zone     string     `json:"zone"`
	EditLock bool       `json:"edit_lock"`
	Token    string     `json:"token,omitempty"`
	LockedBy string     `json:"locked_by,omitempty"`
	LockedAt *time.Time `json:"locked_at,omitempty"`
	Expires  *time.Time `json:"expires,omitempty"`
	ZI       uint64     `json:"zi_id"`
}

func (s *Service) lockTimeout() time.Duration {
	var cfg Config
	_ = s.db.View(func(v *zonedb.View) error { cfg = s.config(v); return nil })
	return lockTimeout(cfg)
}

// lockTimeout is the config's edit_lock_timeout.
func lockTimeout(cfg Config) time.Duration {
	return time.Duration(cfg.TTL("edit_lock_timeout")) * time.Second
}

// lockHeld says whether z's lock is held and not timed out at now.
func lockHeld(z *zonedb.Zone, now time.Time, timeout time.Duration) bool {
	return z.LockToken != "" && z.LockedAt != nil && now.Before(z.LockedAt.Add(timeout))
}

func lockedError(z *zonedb.Zone, timeout time.Duration) error {
	return fmt.Errorf("%w: %s is being edited by %s since %s (the lock times out at %s; dms zone unlock %s breaks it)",
		ErrZoneLocked, z.Name, z.LockedBy, z.LockedAt.Format(time.RFC3339), z.LockedAt.Add(timeout).Format(time.RFC3339), z.Name)
}

// timedOut logs a lock that timed out as a failed edit.
func (s *Service) timedOut(zone, by string, at time.Time, what string) {
	_ = s.db.AddEvent(zonedb.LogEvent{Kind: zonedb.EventEditLock, Zone: zone, By: by, Failed: true,
		Message: fmt.Sprintf("the edit lock taken at %s timed out: %s", at.Format(time.RFC3339), what)})
}

// ZoneLockTake takes a zone's edit lock. A zone without edit_lock needs
// none: the answer then has no token.
func (s *Service) ZoneLockTake(ctx context.Context, c Caller, req ZoneLockRequest) (*ZoneLock, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	timeout := s.lockTimeout()
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	out := &ZoneLock{Zone: name}
	var expired *zonedb.Zone
	now := s.db.Now()
	_, err = s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		out.EditLock, out.ZI = z.EditLock, z.ZI
		if !z.EditLock {
			return errNoChange
		}
		if lockHeld(z, now, timeout) {
			return lockedError(z, timeout)
		}
		if z.LockToken != "" {
			cp := *z
			expired = &cp
		}
		t := now
		z.LockToken, z.LockedBy, z.LockedAt = hex.EncodeToString(tok), c.ChangeBy(), &t
		exp := t.Add(timeout)
		out.Token, out.LockedBy, out.LockedAt, out.Expires = z.LockToken, z.LockedBy, z.LockedAt, &exp
		return nil
	}})
	if errors.Is(err, errNoChange) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if expired != nil {
		s.timedOut(name, expired.LockedBy, *expired.LockedAt, "the zone was locked again by "+c.ChangeBy())
	}
	return out, nil
}

// errNoChange aborts an Update that has nothing to change.
var errNoChange = errors.New("no change")

// ZoneUnlock releases a zone's edit lock: with the holder's token (an
// aborted edit), or without one by an Admin breaking it.
func (s *Service) ZoneUnlock(ctx context.Context, c Caller, req ZoneLockRequest) (*ZoneLock, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if req.Token == "" {
		if err := adminOnly(c, "break another's edit lock"); err != nil {
			return nil, err
		}
	}
	out := &ZoneLock{Zone: name}
	var broken *zonedb.Zone
	_, err = s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		out.EditLock, out.ZI = z.EditLock, z.ZI
		if z.LockToken == "" {
			return usagef("zone %s is not locked", name)
		}
		if req.Token != "" && req.Token != z.LockToken {
			return fmt.Errorf("%w: that token does not hold the lock of %s (it timed out or was broken; the lock is now %s's)", ErrZoneLocked, name, z.LockedBy)
		}
		if req.Token == "" {
			cp := *z
			broken = &cp
		}
		z.LockToken, z.LockedBy, z.LockedAt = "", "", nil
		return nil
	}})
	if err != nil {
		return nil, err
	}
	if broken != nil {
		_ = s.db.AddEvent(zonedb.LogEvent{Kind: zonedb.EventEditLock, Zone: name, By: c.ChangeBy(), Failed: true,
			Message: fmt.Sprintf("the edit lock of %s (since %s) was broken", broken.LockedBy, broken.LockedAt.Format(time.RFC3339))})
	}
	return out, nil
}

// guardLocks wraps each change that touches records of a zone with
// edit_lock: refused while someone else holds the lock; with the holder's
// token (lockToken, for the zone named lockZone) it must still be valid,
// and the commit releases it. The returned func, called after the commit,
// logs a lock found timed out.
func (s *Service) guardLocks(zcs []zonedb.ZoneChange, lockZone, lockToken string) func() {
	timeout := s.lockTimeout()
	now := s.db.Now()
	var late []zonedb.Zone
	for i := range zcs {
		zc := &zcs[i]
		if !zc.Replace && len(zc.Ops) == 0 || zc.Create != nil {
			continue
		}
		prev := zc.Update
		token := ""
		if zc.Zone == lockZone {
			token = lockToken
		}
		zc.Update = func(z *zonedb.Zone) error {
			if z.EditLock {
				switch {
				case token != "" && token != z.LockToken:
					return fmt.Errorf("%w: your edit lock of %s is gone (timed out or broken%s); nothing was committed: show the zone again and redo the change",
						ErrZoneLocked, z.Name, lockedBy(z))
				case token != "" && !lockHeld(z, now, timeout):
					late = append(late, *z)
					return fmt.Errorf("%w: your edit lock of %s timed out at %s; nothing was committed: show the zone again and redo the change",
						ErrZoneLocked, z.Name, z.LockedAt.Add(timeout).Format(time.RFC3339))
				case token == "" && lockHeld(z, now, timeout):
					return lockedError(z, timeout)
				}
				if token != "" {
					z.LockToken, z.LockedBy, z.LockedAt = "", "", nil // the commit releases it
				}
			}
			if prev != nil {
				return prev(z)
			}
			return nil
		}
	}
	return func() {
		for _, z := range late {
			// The refused commit could not clear the dead lock: clear it
			// now (unless someone took it meanwhile), so it is logged once.
			tok := z.LockToken
			_, err := s.db.Commit(&zonedb.ChangeSet{ChangeBy: z.LockedBy, Zones: []zonedb.ZoneChange{{Zone: z.Name, View: z.View, Update: func(cur *zonedb.Zone) error {
				if cur.LockToken != tok {
					return errNoChange
				}
				cur.LockToken, cur.LockedBy, cur.LockedAt = "", "", nil
				return nil
			}}}})
			if err == nil {
				s.timedOut(z.Name, z.LockedBy, *z.LockedAt, "its holder committed too late")
			}
		}
	}
}

func lockedBy(z *zonedb.Zone) string {
	if z.LockedBy == "" {
		return ""
	}
	return "; it is now held by " + z.LockedBy
}
