package zonedb

import (
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Security tags (sectags) decide what a control-panel login may see and
// change, and what auto-PTR may do for whoever commits. A zone carries a
// list of them; the Admin sectag is implied everywhere and always exists.

// SectagAdmin is the sectag of the CLI and of administrative panels.
const SectagAdmin = "Admin"

// Sectag is a security tag.
type Sectag struct {
	Name  string    `json:"name"`
	CTime time.Time `json:"ctime"`
}

func sectagKey(name string) []byte { return []byte(strings.ToLower(name)) }

// ValidSectag reports whether s can name a sectag: letters, digits and
// -_.@, starting with a letter or digit (the reference syntax).
func ValidSectag(s string) bool { return ValidReference(s) && len(s) <= 64 }

func getSectag(tx *bolt.Tx, name string) (*Sectag, error) {
	if strings.EqualFold(name, SectagAdmin) {
		return &Sectag{Name: SectagAdmin}, nil
	}
	b := tx.Bucket(bucketSectags)
	if b == nil { // an older store opened read-only
		return nil, fmt.Errorf("%w: %s", ErrSectagNotFound, name)
	}
	t, ok, err := getJSON[Sectag](b, sectagKey(name), "sectag")
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrSectagNotFound, name)
	}
	return t, err
}

// Sectag returns the sectag called name (case-insensitive).
func (v *View) Sectag(name string) (*Sectag, error) { return getSectag(v.tx, name) }

// Sectags returns every sectag in name order (Admin first), with the
// number of zones carrying each.
func (v *View) Sectags() ([]Sectag, map[string]int, error) {
	out := []Sectag{{Name: SectagAdmin}}
	if b := v.tx.Bucket(bucketSectags); b != nil { // nil: an older store opened read-only
		tags, err := allJSON[Sectag](b, "sectag")
		if err != nil {
			return nil, nil, err
		}
		out = append(out, tags...)
	}
	counts := map[string]int{}
	err := v.Zones(func(z *Zone) bool {
		for _, t := range z.Sectags {
			counts[strings.ToLower(t)]++
		}
		return true
	})
	return out, counts, err
}

// CreateSectag adds a sectag.
func (t *Txn) CreateSectag(name string) (*Sectag, error) {
	if !ValidSectag(name) {
		return nil, fmt.Errorf("%w: %q is not a valid sectag (up to 64 letters, digits and -_.@, starting with a letter or digit)", ErrBadInput, name)
	}
	st := &Sectag{Name: name, CTime: t.now.UTC()}
	if _, err := getSectag(t.tx, name); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrSectagExists, name)
	}
	t.Event(LogEvent{Kind: EventSectag, Message: "sectag " + name + " created"})
	return st, t.putObjectJSON(objSectag, sectagKey(name), st)
}

// CreateSectag is Txn.CreateSectag in a commit of its own.
func (db *DB) CreateSectag(name string) (*Sectag, error) {
	var st *Sectag
	_, err := db.Change("", func(t *Txn) error {
		var err error
		st, err = t.CreateSectag(name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// DeleteSectag is Txn.DeleteSectag in a commit of its own.
func (db *DB) DeleteSectag(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteSectag(name) })
	return err
}

// DeleteSectag deletes a sectag no zone carries (never Admin).
func (t *Txn) DeleteSectag(name string) error {
	if strings.EqualFold(name, SectagAdmin) {
		return fmt.Errorf("%w: the Admin sectag is built in and cannot be deleted", ErrBadInput)
	}
	tx := t.tx
	st, err := getSectag(tx, name)
	if err != nil {
		return err
	}
	var users []string
	if err := (&View{tx: tx}).Zones(func(z *Zone) bool {
		if hasSectag(z.Sectags, st.Name) {
			users = append(users, z.Name)
		}
		return true
	}); err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("%w: %s is on %d zone(s) (%s); take it off them with dms zone sectag delete first",
			ErrSectagInUse, st.Name, len(users), strings.Join(users[:min(len(users), 5)], ", "))
	}
	logins, err := (&View{tx: tx}).APIUsers()
	if err != nil {
		return err
	}
	for _, u := range logins {
		if strings.EqualFold(u.Sectag, st.Name) {
			return fmt.Errorf("%w: API login %s has %s; delete it or give it another first", ErrSectagInUse, u.Name, st.Name)
		}
	}
	t.Event(LogEvent{Kind: EventSectag, Message: "sectag " + st.Name + " deleted"})
	return t.putObject(objSectag, sectagKey(name), nil)
}

func hasSectag(tags []string, name string) bool {
	return slices.ContainsFunc(tags, func(t string) bool { return strings.EqualFold(t, name) })
}

// HasSectag reports whether the zone carries sectag name.
func (z *Zone) HasSectag(name string) bool { return hasSectag(z.Sectags, name) }

// checkZoneSectags makes a zone's sectags exist, spelled as created, each
// once, in order.
func checkZoneSectags(tx *bolt.Tx, z *Zone) error {
	var out []string
	for _, name := range z.Sectags {
		t, err := getSectag(tx, name)
		if err != nil {
			return fmt.Errorf("%w (create it with dms sectag create %s)", err, name)
		}
		if !hasSectag(out, t.Name) {
			out = append(out, t.Name)
		}
	}
	slices.Sort(out)
	z.Sectags = out
	return nil
}
