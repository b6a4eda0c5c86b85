package zonedb

import (
	"bytes"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// DNSSEC in the store (DESIGN.md, "DNSSEC: online signing with NSEC3").
// zonedb does no cryptography: a Signer (package dnssec) is called inside
// Commit for a signed zone and writes the RRSIGs, the NSEC3 chain and the
// DNSKEY RRset through a SignContext, in the same transaction, so they land
// in the zone instance's diff (IXFR) like any change.
//
// NSEC3 records live in the rr bucket under a name key no owner name can
// have: 0x01 0xFF | raw hash | 0x00 (an escaped label byte after 0x01 is
// only 0x01 or 0x02). Queries never reach them; a proof is a seek in hash
// order; zone scans (AXFR) see them with their owner HASH.zone.

// SignerType reports whether records of type t in a signed zone belong to
// the signer, not to the zone's editors.
func SignerType(t uint16) bool {
	switch t {
	case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
		return true
	}
	return false
}

var nsec3Mark = []byte{1, 0xff}

var b32hex = base32.HexEncoding.WithPadding(base32.NoPadding)

// isNSEC3Key reports whether a relative name key is an NSEC3 owner's.
func isNSEC3Key(nk []byte) bool { return bytes.HasPrefix(nk, nsec3Mark) }

// AppendNSEC3RRsetKey appends the key of the NSEC3 RRset (or its RRSIG
// RRset, rrtype RRSIG) whose owner hashes to hash, in zone id.
func AppendNSEC3RRsetKey(dst []byte, id uint64, hash []byte, rrtype uint16) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst = append(dst, nsec3Mark...)
	dst = append(dst, hash...)
	dst = append(dst, 0, 0)
	return append(dst, byte(rrtype>>8), byte(rrtype))
}

// nsec3Label is the owner label of an NSEC3 name key (base32hex, lower
// case).
func nsec3Label(nk []byte) string {
	return strings.ToLower(b32hex.EncodeToString(nk[len(nsec3Mark) : len(nk)-1]))
}

// DNSSECKey is one key of a signed zone as stored: its DNSKEY record and
// private key as text (dnssec parses them), its role and its timeline.
type DNSSECKey struct {
	ID        uint64 `json:"id"`
	Tag       uint16 `json:"tag"`
	Algorithm uint8  `json:"algorithm"`
	// Role: "csk", "ksk" or "zsk".
	Role string `json:"role"`
	// State: "published" (in the DNSKEY RRset, not signing), "active"
	// (signing), "retired" (published, no longer signing), "removed".
	State   string    `json:"state"`
	DNSKEY  string    `json:"dnskey"`
	Private string    `json:"private"`
	Created time.Time `json:"created"`
	// Published, Activated, Retired: when the key entered those states.
	Published time.Time `json:"published,omitempty"`
	Activated time.Time `json:"activated,omitempty"`
	Retired   time.Time `json:"retired,omitempty"`
	// DSSeen is when the admin confirmed the parent's DS (dms dnssec
	// ds-seen).
	DSSeen time.Time `json:"ds_seen,omitempty"`
}

// DNSSECParams are a signed zone's denial-of-existence and signature
// settings.
type DNSSECParams struct {
	NSEC3      bool   `json:"nsec3"`
	Iterations uint16 `json:"iterations"`
	Salt       string `json:"salt,omitempty"` // hex, "" for none
	OptOut     bool   `json:"opt_out,omitempty"`
	// Validity is how long signatures are valid; Refresh how long before
	// their expiry they are made anew.
	Validity time.Duration `json:"validity"`
	Refresh  time.Duration `json:"refresh"`
}

func dkeyPrefix(zone uint64) []byte { return be64(zone) }

// DNSSECKeys returns the zone's keys, oldest first.
func (v *View) DNSSECKeys(z *Zone) ([]DNSSECKey, error) { return zoneKeys(v.tx, z.ID) }

func zoneKeys(tx *bolt.Tx, zone uint64) ([]DNSSECKey, error) {
	var out []DNSSECKey
	c := tx.Bucket(bucketDNSSECKeys).Cursor()
	p := dkeyPrefix(zone)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		var dk DNSSECKey
		if err := json.Unmarshal(v, &dk); err != nil {
			return nil, fmt.Errorf("zone %d: corrupt DNSSEC key %x: %w", zone, k, err)
		}
		out = append(out, dk)
	}
	return out, nil
}

// Signer signs a signed zone's changes inside Commit.
type Signer interface {
	// Sign is called after a signed zone's changed RRsets (SOA included)
	// are in the transaction; it writes the signatures, NSEC3 records and
	// DNSKEY RRset they need through sc.
	Sign(sc *SignContext) error
}

// SetSigner sets the signer Commit calls for signed zones. Without one, a
// commit to a signed zone fails (it would publish unsigned data).
func (db *DB) SetSigner(s Signer) { db.signer = s }

// ChangedRRset is one RRset a commit changed.
type ChangedRRset struct {
	Name    string // absolute, lower case
	Type    uint16
	Deleted bool
}

// SignContext is a signed zone's view of one commit, for the Signer.
type SignContext struct {
	Zone *Zone
	Keys []DNSSECKey
	// Changed are the RRsets the commit changed; with Full, every RRset
	// of the zone must be (re)signed and the chain rebuilt.
	Changed []ChangedRRset
	Full    bool
	// Resign asks for the signatures that are due to be renewed; the
	// signer reports in Resigned how many RRsets it renewed.
	Resign   bool
	Resigned int
	Now      time.Time

	// t writes through the door; rrb is its rr bucket, read here.
	t       *Txn
	rrb     *bolt.Bucket
	extra   []rrsetChange
	extraIx map[string]int
	scratch []byte
}

// RRset reads the RRset name/rrtype as the commit leaves it (nil when
// absent). name must be in the zone.
func (sc *SignContext) RRset(name string, rrtype uint16) ([]dns.RR, error) {
	key, err := AppendRRsetKey(sc.scratch[:0], sc.Zone.ID, name, sc.Zone.Name, rrtype)
	if err != nil {
		return nil, err
	}
	sc.scratch = key
	return sc.decode(name, rrtype, sc.rrb.Get(key))
}

func (sc *SignContext) decode(name string, rrtype uint16, val []byte) ([]dns.RR, error) {
	if val == nil {
		return nil, nil
	}
	recs, err := decodeRRset(nil, name, rrtype, val)
	if err != nil {
		return nil, err
	}
	out := make([]dns.RR, 0, len(recs))
	for _, r := range recs {
		if r.Flags&FlagDisable == 0 {
			out = append(out, r.RR)
		}
	}
	return out, nil
}

// Types returns the types of the RRsets at name (published ones), in
// order.
func (sc *SignContext) Types(name string) ([]uint16, error) {
	nk, err := AppendNameKey(be64(sc.Zone.ID), name, sc.Zone.Name)
	if err != nil {
		return nil, err
	}
	prefix := append(nk, 0)
	var out []uint16
	c := sc.rrb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+2; k, v = c.Next() {
		if published(v) {
			out = append(out, uint16(k[len(k)-2])<<8|uint16(k[len(k)-1]))
		}
	}
	return out, nil
}

// HasDescendants reports whether any name below name holds an RRset.
func (sc *SignContext) HasDescendants(name string) (bool, error) {
	if dns.CanonicalName(name) == sc.Zone.Name {
		// The apex: its key is the zone's prefix, which the NSEC3 key
		// space extends; never scan that.
		return true, nil
	}
	nk, err := AppendNameKey(be64(sc.Zone.ID), name, sc.Zone.Name)
	if err != nil {
		return false, err
	}
	c := sc.rrb.Cursor()
	// Children's keys extend name's key and sort after its own RRsets
	// (name key | 0x00 | type).
	for k, v := c.Seek(append(slices.Clone(nk), 1)); k != nil && bytes.HasPrefix(k, nk); k, v = c.Next() {
		if _, ck, t, ok := SplitRRsetKey(k); ok && !isNSEC3Key(ck) && !SignerType(t) && published(v) {
			return true, nil
		}
	}
	return false, nil
}

// Names calls fn for every owner name of the zone with its published
// types, in canonical order (NSEC3 owners left out), until fn returns
// false. It is the full-signing scan.
func (sc *SignContext) Names(fn func(name string, types []uint16) bool) error {
	prefix := be64(sc.Zone.ID)
	c := sc.rrb.Cursor()
	var cur []byte
	started := false
	var name string
	var types []uint16
	flush := func() bool {
		if !started || len(types) == 0 {
			return true
		}
		return fn(name, types)
	}
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok {
			return fmt.Errorf("zone %s: corrupt rr key %x", sc.Zone.Name, k)
		}
		if isNSEC3Key(nk) {
			continue
		}
		if !started || !bytes.Equal(nk, cur) {
			if !flush() {
				return nil
			}
			n, err := DecodeNameKey(nk, sc.Zone.Name)
			if err != nil {
				return err
			}
			cur, name, types, started = append(cur[:0], nk...), n, types[:0], true
		}
		if published(v) {
			types = append(types, t)
		}
	}
	flush()
	return nil
}

// Put makes rrs the RRset name/rrtype (nil or empty deletes it). For
// NSEC3 records and their RRSIGs use PutNSEC3.
func (sc *SignContext) Put(name string, rrtype uint16, rrs []dns.RR) error {
	key, err := AppendRRsetKey(nil, sc.Zone.ID, name, sc.Zone.Name, rrtype)
	if err != nil {
		return err
	}
	return sc.put(key, dns.CanonicalName(name), rrtype, rrs)
}

// PutNSEC3 makes rrs the RRset of rrtype (NSEC3 or RRSIG) at the NSEC3
// owner with hash (raw, not base32); nil deletes it.
func (sc *SignContext) PutNSEC3(hash []byte, rrtype uint16, rrs []dns.RR) error {
	key := AppendNSEC3RRsetKey(nil, sc.Zone.ID, hash, rrtype)
	owner := strings.ToLower(b32hex.EncodeToString(hash)) + "." + sc.Zone.Name
	return sc.put(key, owner, rrtype, rrs)
}

func (sc *SignContext) put(key []byte, owner string, rrtype uint16, rrs []dns.RR) error {
	var val []byte
	if len(rrs) > 0 {
		recs := make([]Record, len(rrs))
		for i, rr := range rrs {
			recs[i] = Record{RR: rr}
		}
		var err error
		if val, err = encodeRRsetScratch(recs, &sc.scratch); err != nil {
			return err
		}
	}
	old := sc.rrb.Get(key)
	if bytes.Equal(old, val) && (old == nil) == (val == nil) {
		return nil
	}
	if i, ok := sc.extraIx[string(key)]; ok {
		sc.extra[i].new = val
	} else {
		sc.extraIx[string(key)] = len(sc.extra)
		sc.extra = append(sc.extra, rrsetChange{key: key, name: owner, rrtype: rrtype, old: bytes.Clone(old), new: val})
	}
	return sc.t.putRRset(sc.Zone, key, val)
}

// NSEC3 returns the NSEC3 RRset stored under hash (nil when none).
func (sc *SignContext) NSEC3(hash []byte) ([]dns.RR, error) {
	key := AppendNSEC3RRsetKey(nil, sc.Zone.ID, hash, dns.TypeNSEC3)
	owner := strings.ToLower(b32hex.EncodeToString(hash)) + "." + sc.Zone.Name
	return sc.decode(owner, dns.TypeNSEC3, sc.rrb.Get(key))
}

// NSEC3Neighbours returns the hashes of the NSEC3 records before and after
// hash in hash order, wrapping around the chain (nil when the chain has no
// other record). hash itself need not be in the chain.
func (sc *SignContext) NSEC3Neighbours(hash []byte) (prev, next []byte) {
	return nsec3Neighbours(sc.rrb.Cursor(), sc.Zone.ID, hash)
}

func nsec3Neighbours(c *bolt.Cursor, zone uint64, hash []byte) (prev, next []byte) {
	lo := append(be64(zone), nsec3Mark...)
	hashOf := func(k []byte) []byte {
		if k == nil || !bytes.HasPrefix(k, lo) {
			return nil
		}
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok || t != dns.TypeNSEC3 || !isNSEC3Key(nk) {
			return nil
		}
		return nk[len(nsec3Mark) : len(nk)-1]
	}
	// Next: the first NSEC3 key after hash's own.
	start := AppendNSEC3RRsetKey(nil, zone, hash, 0xffff)
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, lo); k, _ = c.Next() {
		if h := hashOf(k); h != nil && !bytes.Equal(h, hash) {
			next = bytes.Clone(h)
			break
		}
	}
	if next == nil { // wrap: the first
		for k, _ := c.Seek(lo); k != nil && bytes.HasPrefix(k, lo); k, _ = c.Next() {
			if h := hashOf(k); h != nil && !bytes.Equal(h, hash) {
				next = bytes.Clone(h)
				break
			}
		}
	}
	// Prev: the last NSEC3 record before hash's own, wrapping.
	if h, _ := prevNSEC3(c, zone, hash, 0); h != nil && !bytes.Equal(h, hash) {
		prev = bytes.Clone(h)
	}
	return prev, next
}

// Signatures calls fn for every RRSIG RRset of the zone: its owner name,
// and for an NSEC3 owner its hash (nil otherwise), until fn returns false.
func (sc *SignContext) Signatures(fn func(name string, nsec3 []byte, sigs []dns.RR) bool) error {
	prefix := be64(sc.Zone.ID)
	c := sc.rrb.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok || t != dns.TypeRRSIG {
			continue
		}
		name, err := DecodeNameKey(nk, sc.Zone.Name)
		if err != nil {
			return err
		}
		var hash []byte
		if isNSEC3Key(nk) {
			hash = slices.Clone(nk[len(nsec3Mark) : len(nk)-1])
		}
		rrs, err := sc.decode(name, t, v)
		if err != nil {
			return err
		}
		if !fn(name, hash, rrs) {
			return nil
		}
	}
	return nil
}

// NSEC3Hashes calls fn for every NSEC3 hash of the zone in order.
func (sc *SignContext) NSEC3Hashes(fn func(hash []byte) bool) {
	lo := append(be64(sc.Zone.ID), nsec3Mark...)
	c := sc.rrb.Cursor()
	for k, _ := c.Seek(lo); k != nil && bytes.HasPrefix(k, lo); k, _ = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if ok && t == dns.TypeNSEC3 && !fn(nk[len(nsec3Mark):len(nk)-1]) {
			return
		}
	}
}

// ---- the query path's NSEC3 reads ----

// NSEC3Match returns the NSEC3 RRset (and its RRSIGs) whose owner hash is
// hash, for a proof; values point into the store.
func (v *View) NSEC3Match(z ZoneHandle, hash []byte) (nsec3, rrsig []byte) {
	c := v.rrCursor()
	v.key = AppendNSEC3RRsetKey(v.key[:0], z.ID, hash, dns.TypeNSEC3)
	nsec3 = get(c, v.key)
	if nsec3 == nil {
		return nil, nil
	}
	v.key = AppendNSEC3RRsetKey(v.key[:0], z.ID, hash, dns.TypeRRSIG)
	return nsec3, get(c, v.key)
}

// NSEC3Cover returns the hash of the NSEC3 record that covers hash (the
// last one before it in hash order, wrapping to the last of the chain), or
// nil when the zone has no NSEC3 chain.
func (v *View) NSEC3Cover(z ZoneHandle, hash []byte) []byte {
	h, _ := prevNSEC3(v.rrCursor(), z.ID, hash, 0)
	return h
}

// NSEC3Find returns the NSEC3 record that matches hash, or else the one
// that covers it: its hash and its encoded NSEC3 and RRSIG RRsets, all
// pointing into the store; nil when the zone has no NSEC3 chain. One seek
// answers both questions and reads the record.
func (v *View) NSEC3Find(z ZoneHandle, hash []byte) (h, nsec3, rrsig []byte) {
	c := v.rrCursor()
	h, nsec3 = prevNSEC3(c, z.ID, hash, 0xffff)
	if h == nil {
		return nil, nil, nil
	}
	// The RRSIGs (type 46) sort just before the NSEC3 (type 50).
	if k, val := c.Prev(); k != nil {
		if id, nk, t, ok := SplitRRsetKey(k); ok && id == z.ID && t == dns.TypeRRSIG && isNSEC3Key(nk) &&
			bytes.Equal(nk[len(nsec3Mark):len(nk)-1], h) {
			rrsig = val
		}
	}
	return h, nsec3, rrsig
}

// chainEnd, after a zone's NSEC3 mark, sorts after every NSEC3 key.
var chainEnd = [32]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// prevNSEC3 finds the last NSEC3 record before hash in zone (from type 0:
// strictly before; from 0xffff: hash's own when it has one), wrapping to
// the chain's last, and returns its hash and value (nil when the zone has
// none), leaving c on it. The results point into the store.
func prevNSEC3(c *bolt.Cursor, zone uint64, hash []byte, from uint16) (h, val []byte) {
	var lb, kb [80]byte
	lo := append(binary.BigEndian.AppendUint64(lb[:0], zone), nsec3Mark...)
	k, _ := c.Seek(AppendNSEC3RRsetKey(kb[:0], zone, hash, from))
	for pass := 0; pass < 2; pass++ {
		if k == nil {
			k, val = c.Last()
		} else {
			k, val = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, lo); k, val = c.Prev() {
			if _, nk, t, ok := SplitRRsetKey(k); ok && t == dns.TypeNSEC3 && isNSEC3Key(nk) {
				return nk[len(nsec3Mark) : len(nk)-1], val
			}
		}
		// Wrap: from past the chain's end. Hashes are binary, so a hash
		// may begin with 0xff: the bound must sort after every key of
		// the chain (20 hash bytes, the label's end, the type), not
		// just after the mark.
		k, _ = c.Seek(append(append(kb[:0], lo...), chainEnd[:]...))
	}
	return nil, nil
}

// NSEC3Owner is the owner name of the NSEC3 record with hash in zone.
func NSEC3Owner(hash []byte, zone string) string {
	return strings.ToLower(b32hex.EncodeToString(hash)) + "." + zone
}

// prevWithType finds, before the name key nk of zone, the last owner
// holding an RRset of type t, wrapping to the zone's last such owner.
func prevWithType(c *bolt.Cursor, zone uint64, nk []byte, t uint16) (owner []byte, ok bool) {
	prefix := be64(zone)
	check := func(k []byte) ([]byte, bool) {
		if _, kn, kt, ok := SplitRRsetKey(k); ok && kt == t && !isNSEC3Key(kn) {
			return kn, true
		}
		return nil, false
	}
	start := append(slices.Clone(prefix), nk...)
	k, _ := c.Seek(start)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if kn, ok := check(k); ok {
			return kn, true
		}
	}
	// Wrap: from the zone's end.
	k, _ = c.Seek(be64(zone + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if kn, ok := check(k); ok {
			return kn, true
		}
	}
	return nil, false
}

// PrevNSEC returns the owner before name (in canonical order, wrapping)
// that holds an NSEC RRset: the signer's predecessor in the NSEC chain.
func (sc *SignContext) PrevNSEC(name string) (string, bool) {
	nk, err := AppendNameKey(nil, name, sc.Zone.Name)
	if err != nil {
		return "", false
	}
	kn, ok := prevWithType(sc.rrb.Cursor(), sc.Zone.ID, nk, dns.TypeNSEC)
	if !ok {
		return "", false
	}
	owner, err := DecodeNameKey(kn, sc.Zone.Name)
	return owner, err == nil
}

// NSECCover returns the NSEC RRset (and RRSIG RRset) of the owner before
// qname in canonical order, the record that covers a name that does not
// exist (RFC 4035 section 3.1.3), with its owner relative to the zone.
func (v *View) NSECCover(z ZoneHandle, qname string) (owner []byte, nsec, rrsig []byte) {
	nk, err := AppendNameKey(nil, qname, z.Origin)
	if err != nil {
		return nil, nil, nil
	}
	// The name's own key sorts after the keys of names before it: seek
	// to it with a 0x00 (its RRsets) and step back.
	kn, ok := prevWithType(v.rrCursor(), z.ID, nk, dns.TypeNSEC)
	if !ok {
		return nil, nil, nil
	}
	c := v.rrCursor()
	kn = bytes.Clone(kn) // the cursor moves on
	k := append(append(be64(z.ID), kn...), 0, byte(dns.TypeNSEC>>8), byte(dns.TypeNSEC))
	nsec = get(c, k)
	k[len(k)-2], k[len(k)-1] = byte(dns.TypeRRSIG>>8), byte(dns.TypeRRSIG)
	return kn, nsec, get(c, k)
}

// OwnerName turns a relative name key from NSECCover into the owner name.
func OwnerName(nk []byte, zone string) string {
	n, err := DecodeNameKey(nk, zone)
	if err != nil {
		return zone
	}
	return n
}
