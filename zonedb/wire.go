package zonedb

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// WireRRset is one stored RRset in wire form, for zone transfers that pack
// messages straight from the store (xfr).
type WireRRset struct {
	// Owner is the owner name's labels below the zone apex in wire form
	// (length-prefixed, lower case, no terminating root label); empty for
	// the apex.
	Owner []byte
	// NewOwner is false when Owner is the same as the previous RRset's.
	NewOwner bool
	Type     uint16
	// TTL is the RRset's TTL; for RRSIGs it is not theirs: TTLOf gives
	// each RR's.
	TTL uint32
	// RDATA are the published (not DISABLE) RDATAs, uncompressed.
	RDATA [][]byte
}

// TTLOf is the TTL of the RR with RDATA rd of this RRset (RRTTL).
func (rs *WireRRset) TTLOf(rd []byte) uint32 { return RRTTL(rs.Type, rs.TTL, rd) }

// WireRRsets calls fn for every RRset of z in canonical order (apex
// first) until it returns false. The slices in the WireRRset are valid
// only during the call (they point into the store's memory or are reused).
// This is AXFR's scan: no record is decoded into a dns.RR.
func (v *View) WireRRsets(z *Zone, fn func(rs *WireRRset) bool) error {
	prefix := be64(z.ID)
	c := v.tx.Bucket(bucketRR).Cursor()
	var rs WireRRset
	var lastKey []byte
	first := true
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok {
			return fmt.Errorf("zone %s: corrupt rr key %x", z.Name, k)
		}
		rs.NewOwner = first || !bytes.Equal(nk, lastKey)
		first = false
		if rs.NewOwner {
			var err error
			if rs.Owner, err = appendWireOwner(rs.Owner[:0], nk); err != nil {
				return fmt.Errorf("zone %s: %w", z.Name, err)
			}
			lastKey = append(lastKey[:0], nk...)
		}
		rs.Type = t
		it := newRRIter(val)
		rs.TTL = it.ttl
		rs.RDATA = rs.RDATA[:0]
		for it.next() {
			if it.published() {
				rs.RDATA = append(rs.RDATA, it.rdata)
			}
		}
		if it.err != nil {
			return fmt.Errorf("zone %s: %w", z.Name, it.err)
		}
		if len(rs.RDATA) == 0 {
			continue
		}
		if !fn(&rs) {
			break
		}
	}
	return nil
}

// appendWireOwner turns a relative name key (labels from the apex down,
// escaped, each ending in 0x00) into wire labels from the owner up.
func appendWireOwner(dst, key []byte) ([]byte, error) {
	if isNSEC3Key(key) {
		l := nsec3Label(key)
		return append(append(dst, byte(len(l))), l...), nil
	}
	var ends [maxLabels]int
	n := 0
	for i, c := range key {
		if c == 0 {
			if n == maxLabels {
				return dst, errBadValue
			}
			ends[n] = i
			n++
		}
	}
	for i := n - 1; i >= 0; i-- {
		start := 0
		if i > 0 {
			start = ends[i-1] + 1
		}
		lenAt := len(dst)
		dst = append(dst, 0)
		l := key[start:ends[i]]
		for j := 0; j < len(l); j++ {
			c := l[j]
			if c == 1 && j+1 < len(l) {
				j++
				c = l[j] - 1 // 0x01 0x01 -> 0x00, 0x01 0x02 -> 0x01
			}
			dst = append(dst, c)
		}
		ll := len(dst) - lenAt - 1
		if ll == 0 || ll > 63 {
			return dst, errBadValue
		}
		dst[lenAt] = byte(ll)
	}
	return dst, nil
}

// AppendWireRRs appends the published RRs of an encoded RRset in wire
// form (class IN), each after owner, an owner name already in wire form
// (a compression pointer, say), and returns how many it wrote.
func AppendWireRRs(dst, owner []byte, rrtype uint16, val []byte) ([]byte, int, error) {
	it := newRRIter(val)
	n := 0
	for it.next() {
		if !it.published() {
			continue
		}
		dst = append(dst, owner...)
		dst = append(dst, byte(rrtype>>8), byte(rrtype), 0, 1)
		dst = binary.BigEndian.AppendUint32(dst, it.rrTTL(rrtype))
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(it.rdata)))
		dst = append(dst, it.rdata...)
		n++
	}
	return dst, n, it.err
}

// FirstRDATA returns the RDATA of the first published RR of an encoded
// RRset, or nil.
func FirstRDATA(val []byte) []byte {
	it := newRRIter(val)
	for it.next() {
		if it.published() {
			return it.rdata
		}
	}
	return nil
}
