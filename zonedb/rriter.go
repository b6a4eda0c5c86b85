package zonedb

import "encoding/binary"

// rrIter walks an encoded RRset value (codec.go) record by record without
// copying or allocating: the one reader of the format, used by every
// decoder, the query path's wire writers and AXFR's scan.
//
//	it := newRRIter(val)
//	for it.next() { ... it.flags, it.ref, it.rdata ... }
//	if it.err != nil { ... }
type rrIter struct {
	// ttl is the RRset's TTL (RRTTL gives an RR's).
	ttl  uint32
	n, i int
	rest []byte
	err  error

	// The current record: its flags, reference and RDATA, pointing into
	// the value.
	flags Flags
	ref   []byte
	rdata []byte
}

// newRRIter starts a walk of val; a value too short to hold its header
// ends at once with errBadValue.
func newRRIter(val []byte) rrIter {
	if len(val) < 6 {
		return rrIter{err: errBadValue}
	}
	return rrIter{ttl: binary.BigEndian.Uint32(val), n: int(binary.BigEndian.Uint16(val[4:])), rest: val[6:]}
}

// next moves to the next record; false at the end or on a corrupt value
// (then err is set).
func (it *rrIter) next() bool {
	if it.err != nil || it.i >= it.n {
		if it.err == nil && len(it.rest) != 0 {
			it.err = errBadValue // bytes past the last record
		}
		return false
	}
	v := it.rest
	if len(v) < 2 || len(v) < 2+int(v[1])+2 {
		it.err = errBadValue
		return false
	}
	it.flags, it.ref = Flags(v[0]), v[2:2+int(v[1])]
	v = v[2+int(v[1]):]
	dl := int(binary.BigEndian.Uint16(v))
	if len(v) < 2+dl {
		it.err = errBadValue
		return false
	}
	it.rdata = v[2 : 2+dl : 2+dl]
	it.rest = v[2+dl:]
	it.i++
	return true
}

// published says whether the current record is served (not DISABLE).
func (it *rrIter) published() bool { return it.flags&FlagDisable == 0 }

// rrTTL is the current record's TTL (RRTTL).
func (it *rrIter) rrTTL(rrtype uint16) uint32 { return RRTTL(rrtype, it.ttl, it.rdata) }

// RDATAIter walks the published records of an encoded RRset in place,
// for the query path's wire writer:
//
//	for it := zonedb.RDATAs(val); it.Next(); { ... it.RDATA(), it.TTL(t) ... }
//	if it.Err() != nil { ... }
type RDATAIter struct{ it rrIter }

// RDATAs starts a walk of the published records of val.
func RDATAs(val []byte) RDATAIter { return RDATAIter{newRRIter(val)} }

// Next moves to the next published record; false at the end or on a
// corrupt value (Err says which).
func (r *RDATAIter) Next() bool {
	for r.it.next() {
		if r.it.published() {
			return true
		}
	}
	return false
}

// RDATA is the current record's RDATA, uncompressed, pointing into the
// value.
func (r *RDATAIter) RDATA() []byte { return r.it.rdata }

// TTL is the current record's TTL if it is of type rrtype (RRTTL).
func (r *RDATAIter) TTL(rrtype uint16) uint32 { return r.it.rrTTL(rrtype) }

// Err is the walk's error: nil, or the value is corrupt.
func (r *RDATAIter) Err() error { return r.it.err }
