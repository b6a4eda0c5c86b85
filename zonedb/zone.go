package zonedb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Zone is a zone's metadata (not its records).
type Zone struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"` // absolute, lower case
	// View is the zone's view (DefaultView for zones made without one,
	// and those made before views; views.go), ViewID
	// its id, part of the zone's key in the name index.
	View   string `json:"view,omitempty"`
	ViewID uint16 `json:"view_id,omitempty"`
	// RefID points into the reference table; Ref is filled in on reads.
	RefID uint64 `json:"ref_id,omitempty"`
	Ref   string `json:"-"`
	SG    string `json:"sg,omitempty"`
	AltSG string `json:"alt_sg,omitempty"`
	// Sectags are the zone's security tags (Admin is implied).
	Sectags []string `json:"sectags,omitempty"`
	// CatalogOf is set on a catalog zone: the server group it lists.
	CatalogOf string `json:"catalog_of,omitempty"`

	Deleted   bool       `json:"deleted,omitempty"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	Disabled  bool       `json:"disabled,omitempty"`

	IncUpdates bool `json:"inc_updates,omitempty"`
	EditLock   bool `json:"edit_lock,omitempty"`
	DNSSEC     bool `json:"dnssec,omitempty"`
	NSEC3      bool `json:"nsec3,omitempty"`
	// Params are a signed zone's DNSSEC settings (nil when unsigned).
	Params *DNSSECParams `json:"dnssec_params,omitempty"`
	// SigExpiry is when the zone's soonest signature expires.
	SigExpiry time.Time `json:"sig_expiry,omitzero"`
	// StaleSigs counts signatures made by keys that no longer sign (after
	// a key changed state), as of the last renewal; -1 when unknown.
	StaleSigs int  `json:"stale_sigs,omitempty"`
	UseApexNS bool `json:"use_apex_ns,omitempty"`
	// RebuildChain marks a signed zone to be signed whole and its NSEC3
	// chain rebuilt by the re-signer (set by a migration that found the
	// chain broken; cleared by the commit that signs it whole).
	RebuildChain bool `json:"rebuild_chain,omitempty"`

	// The edit lock (zones with EditLock): who holds it, since when, and
	// the token that releases it with a commit or an abort.
	LockToken string     `json:"lock_token,omitempty"`
	LockedBy  string     `json:"locked_by,omitempty"`
	LockedAt  *time.Time `json:"locked_at,omitempty"`

	CTime time.Time `json:"ctime"`
	MTime time.Time `json:"mtime"`
	// ZI is the current (published) zone instance; Serial its SOA serial.
	ZI     uint64 `json:"zi"`
	Serial uint32 `json:"serial"`
}

// ResignAt is when a signed zone's signatures are due for renewal: its
// Refresh before the soonest expiry, or at once (the zero time) while
// signatures by keys that stopped signing may remain (StaleSigs).
func (z *Zone) ResignAt() time.Time {
	if z.StaleSigs != 0 || z.RebuildChain || z.Params == nil || z.SigExpiry.IsZero() {
		return time.Time{}
	}
	return z.SigExpiry.Add(-z.Params.Refresh)
}

// State is the zone's state as the admin sees it.
func (z *Zone) State() string {
	switch {
	case z.Deleted:
		return "DELETED"
	case z.Disabled:
		return "DISABLED"
	}
	return "PUBLISHED"
}

// ZI is a zone instance: one committed version of a zone.
type ZI struct {
	ID       uint64    `json:"id"`
	Zone     uint64    `json:"zone_id"`
	Serial   uint32    `json:"serial"`
	ChangeBy string    `json:"change_by"`
	CTime    time.Time `json:"ctime"`
	PTime    time.Time `json:"ptime"`
	// Base marks the first instance of a zone (its creation or load): it has
	// no diff, as there is nothing before it.
	Base    bool   `json:"base,omitempty"`
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
	Comment string `json:"comment,omitempty"`
}

// Diff is what one or more zone instances changed, each side in canonical
// order with the SOA first, the way IXFR (RFC 1995) sends it.
type Diff struct {
	Removed []Record
	Added   []Record
}

// CanonicalZoneName returns name as an absolute, lower-case zone name, or an
// error for a malformed one. A trailing dot is optional.
func CanonicalZoneName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: empty zone name", ErrBadInput)
	}
	if name != "." && strings.HasSuffix(name, "..") || strings.HasPrefix(name, ".") && name != "." {
		return "", fmt.Errorf("%w: zone name %q has an empty label", ErrBadInput, name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("\"();@$", r)
	}); i >= 0 {
		return "", fmt.Errorf("%w: zone name %q contains %q, which no zone name should", ErrBadInput, name, name[i:i+1])
	}
	fq := dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(fq); !ok {
		return "", fmt.Errorf("%w: %q is not a valid domain name", ErrBadInput, name)
	}
	if _, err := NameKey(fq, ""); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	return fq, nil
}

// View is a read transaction on the store. A View must not be used from
// more than one goroutine at a time and must be closed.
type View struct {
	tx *bolt.Tx
	// ix is the store's name index (nil: none) and gen the generation
	// this view sees, for which the index may answer.
	ix  *nodeIndex
	gen uint64
	// key is scratch space for building keys.
	key []byte
	// node and rrc serve Node (the query path) without allocating; apex
	// serves ApexNode, so that reading a zone's apex parts does not
	// overwrite a Node the caller is still reading.
	node Node
	apex Node
	rrc  *bolt.Cursor
	znc  *bolt.Cursor
	// catalogs makes FindZone find catalog zones too (ServeCatalogs);
	// passed is the catalog zone the last FindZone skipped (0: none).
	catalogs bool
	passed   uint64
	// zprefix is the name-index prefix of the view whose zones the
	// lookups find (UseView), zviewID its id.
	zprefix []byte
	zpbuf   [4]byte
	zviewID uint16
	// zmemo is the last zone FindZoneWire found that has no zone at all
	// below it in its view: a name under it is in it, without a seek
	// (most queries are for names of a few zones). A View is one
	// snapshot, so the memo never outlives what it says.
	zmemo struct {
		ok       bool
		view     uint16
		catalogs bool
		wire     []byte // the zone's name in wire form, as the lookup that found it had it (lower case)
		id       uint64
		labels   int
	}

	// Scratch is the caller's, for data derived from this snapshot (the
	// query path keeps decoded answer parts there for the generation the
	// view sees); zonedb never reads it.
	Scratch any
}

// ServeCatalogs makes FindZone find catalog zones (for a client that may
// transfer them) until it is turned off again.
func (v *View) ServeCatalogs(on bool) { v.catalogs = on }

func (v *View) rrCursor() *bolt.Cursor {
	if v.rrc == nil {
		v.rrc = v.tx.Bucket(bucketRR).Cursor()
	}
	return v.rrc
}

// zoneCursor is the view's cursor on the zone name index.
func (v *View) zoneCursor() *bolt.Cursor {
	if v.znc == nil {
		v.znc = v.tx.Bucket(bucketZoneNames).Cursor()
	}
	return v.znc
}

// get reads key with one of the view's cursors: a bbolt Get makes a new
// cursor (an allocation) each time, and the query path reads a lot.
func get(c *bolt.Cursor, key []byte) []byte {
	k, val := c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return val
}

// View runs fn in a read transaction.
func (db *DB) View(fn func(v *View) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(db.newView(tx)) })
}

// newView is a View of a read transaction, with the name index when the
// store keeps one.
func (db *DB) newView(tx *bolt.Tx) *View {
	v := &View{tx: tx}
	if ix := db.nodeIndexOf(); ix != nil {
		v.ix, v.gen = ix, u64(tx.Bucket(bucketMeta).Get(keyGeneration))
	}
	return v
}

// BeginView starts a read transaction that the caller holds (per query
// worker; see DESIGN.md "A query") and must Close.
func (db *DB) BeginView() (*View, error) {
	tx, err := db.bolt.Begin(false)
	if err != nil {
		return nil, err
	}
	return db.newView(tx), nil
}

// Close ends the read transaction.
func (v *View) Close() error { return v.tx.Rollback() }

// Generation is the commit generation this view sees.
func (v *View) Generation() uint64 { return u64(v.tx.Bucket(bucketMeta).Get(keyGeneration)) }

// Zone returns the zone called name (deleted zones included) in the
// view's view (UseView; the default view unless set).
func (v *View) Zone(name string) (*Zone, error) { return v.zoneInView(v.zviewID, name) }

// ZoneByID returns a zone by its id.
func (v *View) ZoneByID(id uint64) (*Zone, error) {
	return getZone(v.tx, id, true)
}

func getZone(tx *bolt.Tx, id uint64, withRef bool) (*Zone, error) {
	val := tx.Bucket(bucketZones).Get(be64(id))
	if val == nil {
		return nil, fmt.Errorf("%w: id %d", ErrZoneNotFound, id)
	}
	z := new(Zone)
	if err := json.Unmarshal(val, z); err != nil {
		return nil, fmt.Errorf("zone %d: corrupt metadata: %w", id, err)
	}
	if z.View == "" {
		z.View = DefaultView // a zone made before views
	}
	if withRef && z.RefID != 0 {
		if r, err := getRef(tx, z.RefID); err == nil {
			z.Ref = r.Name
		}
	}
	return z, nil
}

// ZoneID looks a zone up in the name index without decoding its metadata:
// the id, and whether it is served (not deleted or disabled). This is the
// query path's lookup.
func (v *View) ZoneID(name string) (id uint64, served, ok bool) {
	var err error
	v.key, err = AppendNameKey(append(v.key[:0], v.zprefix...), name, "")
	if err != nil {
		return 0, false, false
	}
	v.key = append(v.key, 0)
	val := get(v.zoneCursor(), v.key)
	if len(val) < 9 {
		return 0, false, false
	}
	return binary.BigEndian.Uint64(val), val[8] == 0, true
}

// Zones calls fn for every zone in canonical name order, until fn returns
// false.
func (v *View) Zones(fn func(z *Zone) bool) error {
	c := v.tx.Bucket(bucketZoneNames).Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		z, err := getZone(v.tx, u64(val[:8]), true)
		if err != nil {
			return err
		}
		if !fn(z) {
			break
		}
	}
	return nil
}

// ZonesBelow calls fn for every zone whose name is below parent (not
// parent itself), in canonical order, until fn returns false: one prefix
// scan of the name index.
func (v *View) ZonesBelow(parent string, fn func(z *Zone) bool) error {
	prefix, err := AppendNameKey(slices.Clone(v.zprefix), parent, "")
	if err != nil {
		return err
	}
	c := v.tx.Bucket(bucketZoneNames).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		if len(k) == len(prefix)+1 || v.zviewID == 0 && isViewKey(k) {
			continue // parent's own key, or another view's zone
		}
		z, err := getZone(v.tx, u64(val[:8]), true)
		if err != nil {
			return err
		}
		if !fn(z) {
			break
		}
	}
	return nil
}

// NumZones is the number of zones in the store (deleted ones included).
func (v *View) NumZones() int { return v.tx.Bucket(bucketZoneNames).Stats().KeyN }

// RRsets calls fn for every RRset of the zone in canonical order (apex
// first), with the records decoded, until fn returns false. This is one
// cursor scan (AXFR, show, edit).
func (v *View) RRsets(z *Zone, fn func(name string, rrtype uint16, recs []Record) bool) error {
	prefix := be64(z.ID)
	c := v.tx.Bucket(bucketRR).Cursor()
	var recs []Record
	var lastName []byte
	var owner string
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok {
			return fmt.Errorf("zone %s: corrupt rr key %x", z.Name, k)
		}
		if owner == "" || !bytes.Equal(nk, lastName) {
			n, err := DecodeNameKey(nk, z.Name)
			if err != nil {
				return err
			}
			owner, lastName = n, append(lastName[:0], nk...)
		}
		var err error
		recs, err = decodeRRset(recs[:0], owner, t, val)
		if err != nil {
			return fmt.Errorf("zone %s: %w", z.Name, err)
		}
		if !fn(owner, t, recs) {
			break
		}
	}
	return nil
}

// Records returns every record of the zone, in canonical order.
func (v *View) Records(z *Zone) ([]Record, error) {
	var out []Record
	err := v.RRsets(z, func(_ string, _ uint16, recs []Record) bool {
		out = append(out, recs...)
		return true
	})
	return out, err
}

// RRset returns the records of one RRset (nil when there is none).
func (v *View) RRset(z *Zone, name string, rrtype uint16) ([]Record, error) {
	var err error
	v.key, err = AppendRRsetKey(v.key[:0], z.ID, name, z.Name, rrtype)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	val := v.tx.Bucket(bucketRR).Get(v.key)
	if val == nil {
		return nil, nil
	}
	return decodeRRset(nil, dns.CanonicalName(name), rrtype, val)
}

// NumRRsets counts the zone's RRsets.
func (v *View) NumRRsets(z *Zone) int {
	prefix := be64(z.ID)
	n := 0
	c := v.tx.Bucket(bucketRR).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// ZIs returns the zone's instances, oldest first.
func (v *View) ZIs(z *Zone) ([]ZI, error) {
	prefix := be64(z.ID)
	var out []ZI
	c := v.tx.Bucket(bucketZI).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		var zi ZI
		if err := json.Unmarshal(val, &zi); err != nil {
			return nil, fmt.Errorf("zone %s: corrupt zone instance %x: %w", z.Name, k, err)
		}
		out = append(out, zi)
	}
	return out, nil
}

// ZI returns one instance of the zone.
func (v *View) ZI(z *Zone, id uint64) (*ZI, error) {
	val := v.tx.Bucket(bucketZI).Get(ziKey(z.ID, id))
	if val == nil {
		return nil, fmt.Errorf("%w: %s has no zone instance %d", ErrZINotFound, z.Name, id)
	}
	zi := new(ZI)
	if err := json.Unmarshal(val, zi); err != nil {
		return nil, err
	}
	return zi, nil
}

func ziKey(zone, zi uint64) []byte {
	return binary.BigEndian.AppendUint64(be64(zone), zi)
}

// History walks the instances of z after instance after, up to and with
// instance upto, calling fn with each and the changes it made: oldest
// first, or newest first when newestFirst (to undo them from the current
// content). fn returns false to stop. An instance that starts the zone
// anew (Base: a creation or a reload) cannot be crossed: the walk ends
// there with ErrHistoryGone. The one reader of the zone's history (the
// admin's past contents, IXFR, ...).
func (v *View) History(z *Zone, after, upto uint64, newestFirst bool, fn func(zi ZI, d *Diff) (bool, error)) error {
	zis, err := v.ZIs(z)
	if err != nil {
		return err
	}
	var walk []ZI
	for _, zi := range zis {
		if zi.ID > after && zi.ID <= upto {
			walk = append(walk, zi)
		}
	}
	if newestFirst {
		slices.Reverse(walk)
	}
	for _, zi := range walk {
		if zi.Base {
			return fmt.Errorf("%w: instance %d of %s starts the zone anew", ErrHistoryGone, zi.ID, z.Name)
		}
		d, err := v.ZIDiff(z, zi.ID)
		if err != nil {
			return err
		}
		if more, err := fn(zi, d); err != nil || !more {
			return err
		}
	}
	return nil
}

// ZIDiff returns the changes made by instance zi (relative to the one
// before it).
func (v *View) ZIDiff(z *Zone, zi uint64) (*Diff, error) {
	prefix := ziKey(z.ID, zi)
	d := new(Diff)
	c := v.tx.Bucket(bucketZIDiff).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		if err := decodeDiffChunk(d, val); err != nil {
			return nil, fmt.Errorf("zone %s instance %d: %w", z.Name, zi, err)
		}
	}
	return d, nil
}

// Config returns the stored configuration values (keys never set are
// absent; the admin layer knows their defaults).
func (v *View) Config() map[string]string {
	out := map[string]string{}
	_ = v.tx.Bucket(bucketConfig).ForEach(func(k, val []byte) error {
		out[string(k)] = string(val)
		return nil
	})
	return out
}

// SGExists reports whether a server group called name exists.
func (v *View) SGExists(name string) bool {
	return v.tx.Bucket(bucketSGs).Get([]byte(strings.ToLower(name))) != nil
}

// ZoneStates returns the state of every zone (PUBLISHED, DELETED or
// DISABLED) from the name index alone.
func (v *View) ZoneStates() []string {
	var out []string
	_ = v.tx.Bucket(bucketZoneNames).ForEach(func(_, val []byte) error {
		switch {
		case len(val) < 9:
		case val[8]&zoneStateDeleted != 0:
			out = append(out, "DELETED")
		case val[8]&zoneStateDisabled != 0:
			out = append(out, "DISABLED")
		default:
			out = append(out, "PUBLISHED")
		}
		return nil
	})
	return out
}
