package zonedb

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TSIG keys (RFC 8945): the secrets secondaries and dynamic-update
// clients sign with, and the update policy of each key.

// TSIGAlgorithms maps the short names admins type to the algorithm names
// on the wire.
var TSIGAlgorithms = map[string]string{
	"hmac-sha256": dns.HmacSHA256,
	"hmac-sha512": dns.HmacSHA512,
	"hmac-sha1":   dns.HmacSHA1,
	"hmac-sha384": dns.HmacSHA384,
	"hmac-sha224": dns.HmacSHA224,
}

// TSIGKey is a shared secret for TSIG (RFC 8945).
type TSIGKey struct {
	Name      string    `json:"name"`      // absolute, lower case
	Algorithm string    `json:"algorithm"` // miekg/dns name, e.g. hmac-sha256.
	Secret    string    `json:"secret"`    // base64
	CTime     time.Time `json:"ctime"`
	// Update is what dynamic updates (RFC 2136) signed with the key may
	// change: nothing when empty.
	Update []UpdateRule `json:"update,omitempty"`
}

// UpdateRule grants a key dynamic updates, like a BIND update-policy
// grant: in zones matching Zone, of names matching Name, of the Types
// given. Zone and Name are shell patterns on absolute lower-case names
// ("*" matches across labels); Name may be relative to the zone ("@" its
// apex). No Types: any but SOA, NS and DNSSEC's. Sectag is whose
// privileges the update's auto-PTR has (empty: Admin).
type UpdateRule struct {
	Zone   string   `json:"zone"`
	Name   string   `json:"name"`
	Types  []string `json:"types,omitempty"`
	Sectag string   `json:"sectag,omitempty"`
}

// SetTSIGUpdate replaces a key's update policy.
func (t *Txn) SetTSIGUpdate(name string, rules []UpdateRule) (*TSIGKey, error) {
	name = dns.CanonicalName(name)
	var k TSIGKey
	b := t.tx.Bucket(bucketTSIG)
	val := b.Get([]byte(name))
	if val == nil {
		return nil, fmt.Errorf("%w: %s", ErrKeyNotFound, KeyName(name))
	}
	if err := json.Unmarshal(val, &k); err != nil {
		return nil, err
	}
	for _, r := range rules {
		if r.Sectag != "" {
			if _, err := getSectag(t.tx, r.Sectag); err != nil {
				return nil, err
			}
		}
	}
	k.Update = rules
	t.Event(LogEvent{Kind: EventTSIG, Message: fmt.Sprintf("TSIG key %s: update policy of %d rule(s)", KeyName(name), len(rules))})
	return &k, t.putObjectJSON(objTSIG, []byte(name), &k)
}

// SetTSIGUpdate is Txn.SetTSIGUpdate in a commit of its own.
func (db *DB) SetTSIGUpdate(name string, rules []UpdateRule) (*TSIGKey, error) {
	var k *TSIGKey
	_, err := db.Change("", func(t *Txn) error {
		var err error
		k, err = t.SetTSIGUpdate(name, rules)
		return err
	})
	return k, err
}

// KeyName is how dms prints a TSIG key's name (stored absolute, as the
// wire has it): without the final dot, as tsig-keygen, keymgr and
// nsd-control-setup write it and as BIND, Knot and NSD configurations
// name it. BIND takes "k" and "k." for one key, so two spellings in one
// named.conf would define it twice; NSD matches key names as strings, so
// a configuration must spell a key one way. admin.KeyName is the same.
func KeyName(name string) string {
	if name == "." {
		return name
	}
	return strings.TrimSuffix(name, ".")
}

// ShortAlgorithm is the admin's name of a wire algorithm name
// ("hmac-sha256." -> "hmac-sha256").
func ShortAlgorithm(alg string) string { return strings.TrimSuffix(strings.ToLower(alg), ".") }

// TSIGKey returns the key called name.
func (v *View) TSIGKey(name string) (*TSIGKey, error) {
	k, ok, err := getJSON[TSIGKey](v.tx.Bucket(bucketTSIG), []byte(dns.CanonicalName(name)), "TSIG key")
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrKeyNotFound, KeyName(dns.CanonicalName(name)))
	}
	return k, err
}

// TSIGKeys returns every TSIG key, by name.
func (v *View) TSIGKeys() ([]TSIGKey, error) {
	return allJSON[TSIGKey](v.tx.Bucket(bucketTSIG), "TSIG key")
}

// CheckTSIGKey validates a key: its name, algorithm and base64 secret.
func CheckTSIGKey(k *TSIGKey) error {
	name, err := CanonicalZoneName(k.Name)
	if err != nil || name == "." {
		return fmt.Errorf("%w: TSIG key name %q is not a domain name", ErrBadInput, k.Name)
	}
	k.Name = name
	alg, ok := TSIGAlgorithms[ShortAlgorithm(k.Algorithm)]
	if !ok {
		return fmt.Errorf("%w: TSIG algorithm %q: use hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1", ErrBadInput, k.Algorithm)
	}
	k.Algorithm = alg
	sec, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil || len(sec) == 0 {
		return fmt.Errorf("%w: TSIG secret is not base64", ErrBadInput)
	}
	if len(sec) < 16 {
		return fmt.Errorf("%w: TSIG secret is %d bytes; RFC 8945 section 6 asks for at least as long as the hash (use dms tsig create to make one)", ErrBadInput, len(sec))
	}
	return nil
}

// PutTSIGKey stores a new key (the event log names it, never its secret).
func (t *Txn) PutTSIGKey(k *TSIGKey) error {
	if err := CheckTSIGKey(k); err != nil {
		return err
	}
	b := t.tx.Bucket(bucketTSIG)
	if b.Get([]byte(k.Name)) != nil {
		return fmt.Errorf("%w: %s", ErrKeyExists, KeyName(k.Name))
	}
	k.CTime = t.now
	t.Event(LogEvent{Kind: EventTSIG, Message: fmt.Sprintf("TSIG key %s (%s) added", KeyName(k.Name), ShortAlgorithm(k.Algorithm))})
	return t.putObjectJSON(objTSIG, []byte(k.Name), k)
}

// PutTSIGKey is Txn.PutTSIGKey in a commit of its own.
func (db *DB) PutTSIGKey(k TSIGKey) (*TSIGKey, error) {
	_, err := db.Change("", func(t *Txn) error { return t.PutTSIGKey(&k) })
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteTSIGKey removes a key no server uses.
func (t *Txn) DeleteTSIGKey(name string) error {
	name = dns.CanonicalName(name)
	b := t.tx.Bucket(bucketTSIG)
	if b.Get([]byte(name)) == nil {
		return fmt.Errorf("%w: %s", ErrKeyNotFound, KeyName(name))
	}
	servers, err := t.View().Servers()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if s.TSIGKey == name {
			return fmt.Errorf("%w: server %s uses %s; give it another key first (dms server set %s --tsig OTHER, or --tsig '' for none)", ErrKeyInUse, s.Name, KeyName(name), s.Name)
		}
	}
	t.Event(LogEvent{Kind: EventTSIG, Message: "TSIG key " + KeyName(name) + " deleted"})
	return t.putObject(objTSIG, []byte(name), nil)
}

// DeleteTSIGKey is Txn.DeleteTSIGKey in a commit of its own.
func (db *DB) DeleteTSIGKey(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteTSIGKey(name) })
	return err
}
