package zonedb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// APIUser is a login of the HTTP API: a control panel or a person, with
// the sectag that confines it and a role. Hash is the password's bcrypt
// hash; the password itself is never stored.
type APIUser struct {
	Name   string    `json:"name"`
	Sectag string    `json:"sectag"`
	Role   string    `json:"role"`
	Hash   string    `json:"hash"`
	CTime  time.Time `json:"ctime"`
	MTime  time.Time `json:"mtime"`
}

func apiUserKey(name string) []byte { return []byte(strings.ToLower(name)) }

// APIUser returns a login (ErrUserNotFound when there is none).
func (v *View) APIUser(name string) (*APIUser, error) {
	b := v.tx.Bucket(bucketAPIUsers)
	if b == nil { // an older store opened read-only
		return nil, fmt.Errorf("%w: %s", ErrUserNotFound, name)
	}
	u, ok, err := getJSON[APIUser](b, apiUserKey(name), "API user")
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrUserNotFound, name)
	}
	return u, err
}

// APIUsers lists the logins in name order.
func (v *View) APIUsers() ([]APIUser, error) {
	b := v.tx.Bucket(bucketAPIUsers)
	if b == nil {
		return nil, nil
	}
	return allJSON[APIUser](b, "API user")
}

// PutAPIUser creates a login (create) or replaces an existing one's
// sectag, role or hash.
func (db *DB) PutAPIUser(u *APIUser, create bool) error {
	_, err := db.Change("", func(t *Txn) error { return t.PutAPIUser(u, create) })
	return err
}

// PutAPIUser creates a login (create) or replaces an existing one's
// sectag, role or hash.
func (t *Txn) PutAPIUser(u *APIUser, create bool) error {
	if !ValidReference(u.Name) || len(u.Name) > 64 {
		return fmt.Errorf("%w: %q is not a valid login name (up to 64 letters, digits and -_.@)", ErrBadInput, u.Name)
	}
	now, tx := t.now.UTC(), t.tx
	st, err := getSectag(tx, u.Sectag)
	if err != nil {
		return fmt.Errorf("%w (create it with dms sectag create %s)", err, u.Sectag)
	}
	u.Sectag = st.Name
	b := tx.Bucket(bucketAPIUsers)
	old := b.Get(apiUserKey(u.Name))
	switch {
	case create && old != nil:
		return fmt.Errorf("%w: %s", ErrUserExists, u.Name)
	case !create && old == nil:
		return fmt.Errorf("%w: %s", ErrUserNotFound, u.Name)
	case old != nil:
		var o APIUser
		if err := json.Unmarshal(old, &o); err == nil {
			u.CTime = o.CTime
		}
	default:
		u.CTime = now
	}
	u.MTime = now
	what := "changed"
	if old == nil {
		what = "created"
	}
	t.Event(LogEvent{Kind: EventAPIUser, Message: fmt.Sprintf("API login %s %s: sectag %s, role %s", u.Name, what, u.Sectag, u.Role)})
	return t.putObjectJSON(objAPIUser, apiUserKey(u.Name), u)
}

// DeleteAPIUser removes a login.
func (t *Txn) DeleteAPIUser(name string) error {
	b := t.tx.Bucket(bucketAPIUsers)
	if b.Get(apiUserKey(name)) == nil {
		return fmt.Errorf("%w: %s", ErrUserNotFound, name)
	}
	t.Event(LogEvent{Kind: EventAPIUser, Message: "API login " + name + " deleted"})
	return t.putObject(objAPIUser, apiUserKey(name), nil)
}

// DeleteAPIUser is Txn.DeleteAPIUser in a commit of its own.
func (db *DB) DeleteAPIUser(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteAPIUser(name) })
	return err
}
