package zonedb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// The query path's reads: zone by longest suffix and one node (all RRsets
// at one name) per cursor seek. Values point into the mmap and are valid
// until the View ends.

// ZoneHandle is a served zone found for a query name.
type ZoneHandle struct {
	ID     uint64
	Origin string // the zone's name as the query wrote it (its suffix)
}

// FindZone returns the served zone with the longest name that is a suffix
// of qname: one index Get per label of qname, whatever the number of zones.
// Deleted and disabled zones are skipped (a served parent answers instead),
// and so are catalog zones unless ServeCatalogs is on.
func (v *View) FindZone(qname string) (ZoneHandle, bool) {
	var err error
	v.key, err = AppendNameKey(v.key[:0], qname, "")
	if err != nil {
		return ZoneHandle{}, false
	}
	id, labels, ok := v.findZoneKey(v.key)
	if !ok {
		return ZoneHandle{}, false
	}
	// The origin is the last labels of qname.
	return ZoneHandle{ID: id, Origin: suffixLabels(qname, labels)}, true
}

// FindZoneWire is FindZone for a query name in lower-case wire form
// (uncompressed): the zone's id and how many labels its name has.
func (v *View) FindZoneWire(wire []byte) (id uint64, labels int, ok bool) {
	// The name key: labels from the root down, escaped, each ending in
	// 0x00 (AppendNameKey).
	var offs [maxLabels + 1]uint8 // small: the stack is zeroed on every call
	n, off := 0, 0
	for ; off < len(wire) && wire[off] != 0; off += int(wire[off]) + 1 {
		if n == maxLabels || off > 255 || off+1+int(wire[off]) > len(wire) {
			return 0, 0, false
		}
		offs[n] = uint8(off)
		n++
	}
	if off >= len(wire) || off > 255 {
		return 0, 0, false
	}
	offs[n] = uint8(off) // the root label
	// The memo first, on the wire name itself: its last labels are the
	// remembered zone's name.
	if m := &v.zmemo; m.ok && m.view == v.zviewID && m.catalogs == v.catalogs && m.labels <= n &&
		string(wire[offs[n-m.labels]:off+1]) == string(m.wire) {
		v.passed = 0 // no zone below it: none was passed over
		return m.id, m.labels, true
	}
	key := v.key[:0]
	for i := n - 1; i >= 0; i-- {
		o := int(offs[i])
		key = appendKeyLabel(key, wire[o+1:o+1+int(wire[o])])
	}
	v.key = key
	id, labels, ok = v.findZoneKey(key)
	if ok {
		v.memoZone(key, wire[offs[n-labels]:off+1], id, labels)
	}
	return id, labels, ok
}

// memoZone notes the zone found for the name key full (its first labels
// labels are the zone's name; wire is that name as the query wrote it)
// when no zone lies below it.
func (v *View) memoZone(full, wire []byte, id uint64, labels int) {
	end, n := 0, 0
	for n < labels && end < len(full) {
		if full[end] == 0 {
			n++
		}
		end++
	}
	var kb [300]byte
	prefix := append(append(kb[:0], v.zprefix...), full[:end]...)
	c := v.zoneCursor()
	below := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if below++; below > 1 {
			v.zmemo.ok = false // the zone itself and another below it
			return
		}
	}
	m := &v.zmemo
	m.ok, m.view, m.catalogs, m.wire, m.id, m.labels = true, v.zviewID, v.catalogs, append(m.wire[:0], wire...), id, labels
}

// findZoneKey finds the zone for a full name key: one index Get per label,
// longest suffix first.
func (v *View) findZoneKey(full []byte) (id uint64, labels int, ok bool) {
	idx := v.zoneCursor()
	// Label ends in the key: every 0x00 ends a label (an escape's second
	// byte is 1 or 2).
	var ends [maxLabels + 1]uint16
	n := 1
	for i, c := range full {
		if c == 0 {
			if n == len(ends) {
				return 0, 0, false
			}
			ends[n] = uint16(i + 1)
			n++
		}
	}
	// Try the longest prefix first. Key of a zone = name key | 0x00.
	var kb [300]byte
	v.passed = 0
	for j := n - 1; j >= 0; j-- {
		k := append(append(append(kb[:0], v.zprefix...), full[:ends[j]]...), 0)
		val := get(idx, k)
		if len(val) >= 9 && val[8] == zoneStateCatalog && !v.catalogs && v.passed == 0 {
			v.passed = binary.BigEndian.Uint64(val)
		}
		if len(val) < 9 || val[8] != 0 && !(v.catalogs && val[8] == zoneStateCatalog) {
			continue
		}
		return binary.BigEndian.Uint64(val), j, true
	}
	return 0, 0, false
}

// suffixLabels returns the last n labels of name (absolute), "." for 0.
func suffixLabels(name string, n int) string {
	if n == 0 {
		return "."
	}
	idx := dns.Split(name)
	if n >= len(idx) {
		return name
	}
	return name[idx[len(idx)-n]:]
}

// NodeState says what is at a name.
type NodeState int

const (
	// NodeMissing: no RRsets at the name and none below it.
	NodeMissing NodeState = iota
	// NodeENT: an empty non-terminal: nothing at the name, something below.
	NodeENT
	// NodeData: RRsets at the name.
	NodeData
)

// Node is the RRsets at one name of a zone.
type Node struct {
	State NodeState
	Types []uint16
	Vals  [][]byte
}

// Get returns the encoded RRset of type t, or nil.
func (n *Node) Get(t uint16) []byte {
	for i, x := range n.Types {
		if x == t {
			return n.Vals[i]
		}
	}
	return nil
}

// Node reads every RRset at name (in zone z) with one seek. name must be
// at or below the zone's origin; the Node is reused by the next call.
func (v *View) Node(z ZoneHandle, name string) *Node {
	n := &v.node
	n.State, n.Types, n.Vals = NodeMissing, n.Types[:0], n.Vals[:0]
	var err error
	v.key = binary.BigEndian.AppendUint64(v.key[:0], z.ID)
	v.key, err = AppendNameKey(v.key, name, z.Origin)
	if err != nil {
		return n
	}
	return v.nodeAt(&v.node)
}

// NodeWire is Node for a name in wire form (uncompressed, any letter
// case) in the zone with id whose name has zoneLabels labels: the name's
// labels above those are the key. A name that is not whole is missing.
func (v *View) NodeWire(id uint64, name []byte, zoneLabels int) *Node {
	n := &v.node
	n.State, n.Types, n.Vals = NodeMissing, n.Types[:0], n.Vals[:0]
	var offs [maxLabels]uint8 // a name is at most 255 octets (zeroed per call: small)
	nl := 0
	for off := 0; ; off += int(name[off]) + 1 {
		if off >= len(name) || off > 255 || name[off] > 63 || nl == maxLabels {
			return n
		}
		if name[off] == 0 {
			break
		}
		offs[nl] = uint8(off)
		nl++
	}
	if zoneLabels > nl {
		return n
	}
	key := binary.BigEndian.AppendUint64(v.key[:0], id)
	for i := nl - 1 - zoneLabels; i >= 0; i-- {
		off := int(offs[i])
		if off+1+int(name[off]) > len(name) {
			return n
		}
		key = appendKeyLabel(key, name[off+1:off+1+int(name[off])])
	}
	v.key = key
	return v.nodeAt(&v.node)
}

// ApexNode is Node for the zone's apex, read into a Node of its own: what
// a query's answer needs from the apex (the SOA, the DNSSEC parameters)
// can be read while a Node of the query's names is in use.
func (v *View) ApexNode(z ZoneHandle) *Node {
	n := &v.apex
	n.State, n.Types, n.Vals = NodeMissing, n.Types[:0], n.Vals[:0]
	var err error
	v.key = binary.BigEndian.AppendUint64(v.key[:0], z.ID)
	if v.key, err = AppendNameKey(v.key, z.Origin, z.Origin); err != nil {
		return n
	}
	return v.nodeAt(n)
}

// nodeAt fills n from the name key in v.key (zone id | name key): from
// the name index when it holds the view's generation (nodeindex.go), else
// from the B+tree.
func (v *View) nodeAt(n *Node) *Node {
	if v.ix != nil && v.indexedNode(n) {
		return n
	}
	nodeFromCursor(v.rrCursor(), v.key, n)
	return n
}

// nodeFromCursor fills n (reset by the caller) with the node at key (zone
// id | name key) read with c.
func nodeFromCursor(c *bolt.Cursor, key []byte, n *Node) {
	k, val := c.Seek(key)
	if k == nil || !bytes.HasPrefix(k, key) {
		return
	}
	// The name's own RRsets; those whose records are all DISABLE are not
	// published and do not count.
	for ; k != nil && len(k) == len(key)+3 && bytes.HasPrefix(k, key) && k[len(key)] == 0; k, val = c.Next() {
		if !published(val) {
			continue
		}
		n.Types = append(n.Types, binary.BigEndian.Uint16(k[len(k)-2:]))
		n.Vals = append(n.Vals, val)
	}
	if len(n.Types) > 0 {
		n.State = NodeData
		return
	}
	// Nothing published here: an empty non-terminal when something below
	// is published, else nothing at all.
	for ; k != nil && bytes.HasPrefix(k, key); k, val = c.Next() {
		if published(val) {
			n.State = NodeENT
			return
		}
	}
}

// published reports whether an encoded RRset has a record without
// DISABLE, without decoding it.
func published(val []byte) bool {
	it := newRRIter(val)
	for it.next() {
		if it.published() {
			return true
		}
	}
	return false
}

// RRs decodes an encoded RRset into RRs of owner name, leaving out
// records flagged DISABLE. It appends to dst.
func RRs(dst []dns.RR, name string, rrtype uint16, val []byte) ([]dns.RR, error) {
	it := newRRIter(val)
	for it.next() {
		if !it.published() {
			continue
		}
		rr, err := rrFromRdata(name, rrtype, it.ttl, it.rdata)
		if err != nil {
			return dst, err
		}
		dst = append(dst, rr)
	}
	return dst, it.err
}

// PassedCatalog returns the catalog zone the last FindZone passed over
// (the closest catalog zone enclosing its name, skipped because catalogs
// are only for their SG's servers), if any.
func (v *View) PassedCatalog() (*Zone, bool) {
	if v.passed == 0 {
		return nil, false
	}
	z, err := v.ZoneByID(v.passed)
	if err != nil || z.CatalogOf == "" {
		return nil, false
	}
	return z, true
}

// RawRRs appends the published RRs of an encoded RRset with their RDATA as
// stored (dns.PrivateRR holding the bytes): for RRSIG and NSEC3 in
// answers, which need no name compression, packing is a copy, with no
// field decoded and encoded again. keep, when set, picks RRs by their
// RDATA. The RDATA points into the store (valid while the View is open)
// unless copyRdata is set.
func RawRRs(dst []dns.RR, name string, rrtype uint16, val []byte, keep func(rdata []byte) bool, copyRdata bool) ([]dns.RR, error) {
	it := newRRIter(val)
	for it.next() {
		rd := it.rdata
		if !it.published() || keep != nil && !keep(rd) {
			continue
		}
		ttl := it.rrTTL(rrtype)
		if copyRdata {
			rd = bytes.Clone(rd)
		}
		dst = append(dst, &dns.PrivateRR{Hdr: dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl, Rdlength: uint16(len(rd))},
			Data: &rawRdata{b: rd}})
	}
	return dst, it.err
}

// rawRdata is RDATA kept in wire form (dns.PrivateRdata).
type rawRdata struct{ b []byte }

func (r *rawRdata) String() string {
	return `\# ` + strconv.Itoa(len(r.b)) + " " + hex.EncodeToString(r.b)
}

func (r *rawRdata) Parse([]string) error { return errors.New("raw RDATA is not parsed from text") }

func (r *rawRdata) Pack(buf []byte) (int, error) {
	if len(buf) < len(r.b) {
		return 0, dns.ErrBuf
	}
	return copy(buf, r.b), nil
}

func (r *rawRdata) Unpack(b []byte) (int, error) {
	r.b = append(r.b[:0], b...)
	return len(b), nil
}

func (r *rawRdata) Copy(dst dns.PrivateRdata) error {
	d, ok := dst.(*rawRdata)
	if !ok {
		return errors.New("raw RDATA copied into another type")
	}
	d.b = bytes.Clone(r.b)
	return nil
}

func (r *rawRdata) Len() int { return len(r.b) }
