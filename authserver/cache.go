package authserver

import (
	"encoding/binary"
)

// The answer cache: packed answers of plain queries, per worker (no locks),
// dropped whole when the commit generation moves, so a commit is seen by
// the next query. A hit costs a map lookup and a copy: the query's id, RD
// and CD bits and question (with the client's letter case) are written
// over the cached answer, whose owner names point at the question.

// plainQuery is a query the cache can answer: one IN question without
// compression, at most an OPT without options, version 0.
type plainQuery struct {
	qEnd   int    // end of the question section
	qtype  uint16 // for metrics
	size   int    // the answer size limit: 512, the EDNS size (max 1232), or 65535 over TCP
	hasOPT bool
	do     bool
}

// parsePlain reads in as a plain query and builds its cache key into key.
// It returns ok false for anything else (the full path handles it).
func parsePlain(in []byte, proto Proto, key []byte) (plainQuery, []byte, bool) {
	var q plainQuery
	if len(in) < 17 || in[2]&0xf8 != 0 { // QR=0, opcode QUERY
		return q, key, false
	}
	if binary.BigEndian.Uint16(in[4:]) != 1 || in[6]|in[7]|in[8]|in[9] != 0 || in[10] != 0 || in[11] > 1 {
		return q, key, false
	}
	key = key[:0]
	off := 12
	for {
		if off >= len(in) {
			return q, key, false
		}
		l := int(in[off])
		if l == 0 {
			key = append(key, 0)
			off++
			break
		}
		if l > 63 || off+1+l > len(in) || off+1+l-12 > 254 {
			return q, key, false
		}
		key = append(key, byte(l))
		for _, c := range in[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			key = append(key, c)
		}
		off += 1 + l
	}
	if off+4 > len(in) {
		return q, key, false
	}
	q.qtype = binary.BigEndian.Uint16(in[off:])
	if binary.BigEndian.Uint16(in[off+2:]) != 1 { // class IN
		return q, key, false
	}
	switch q.qtype {
	case 41, 250, 249, 251, 252, 253, 254: // OPT TSIG TKEY IXFR AXFR MAILB MAILA
		return q, key, false
	}
	key = append(key, in[off:off+4]...)
	off += 4
	q.qEnd = off
	q.size = 512
	if in[11] == 1 {
		// The OPT: root name, type 41, class = size, ttl = ext rcode,
		// version, flags; no options.
		if off+11 != len(in) || in[off] != 0 || binary.BigEndian.Uint16(in[off+1:]) != 41 ||
			in[off+6] != 0 || binary.BigEndian.Uint16(in[off+9:]) != 0 {
			return q, key, false
		}
		q.hasOPT = true
		q.do = in[off+7]&0x80 != 0
		q.size = max(512, min(int(binary.BigEndian.Uint16(in[off+3:])), OurUDPSize))
	} else if off != len(in) {
		return q, key, false
	}
	if proto == TCP {
		q.size = 65535
	}
	var flags byte
	if q.hasOPT {
		flags |= 1
	}
	if q.do {
		flags |= 2
	}
	key = append(key, flags)
	key = binary.BigEndian.AppendUint16(key, uint16(q.size))
	return q, key, true
}

type cacheEntry struct {
	wire      []byte
	rcode     int
	truncated bool
}

// answerCache is one worker's cache.
type answerCache struct {
	gen     uint64
	entries map[string]cacheEntry
	bytes   int
}

// Bounds of one worker's cache: past them it starts again empty.
const (
	cacheMaxEntries = 1 << 18
	cacheMaxBytes   = 32 << 20
)

func (c *answerCache) get(gen uint64, key []byte) (cacheEntry, bool) {
	if c.gen != gen {
		clear(c.entries)
		c.gen, c.bytes = gen, 0
		return cacheEntry{}, false
	}
	e, ok := c.entries[string(key)]
	return e, ok
}

func (c *answerCache) put(gen uint64, key []byte, e cacheEntry) {
	if c.entries == nil {
		c.entries = make(map[string]cacheEntry)
	}
	if c.gen != gen {
		clear(c.entries)
		c.gen, c.bytes = gen, 0
	}
	if len(c.entries) >= cacheMaxEntries || c.bytes+len(e.wire) > cacheMaxBytes {
		clear(c.entries)
		c.bytes = 0
	}
	c.entries[string(key)] = e
	c.bytes += len(e.wire) + len(key)
}

// fromCache writes the cached answer for query in into out.
func fromCache(e cacheEntry, in []byte, q plainQuery, out []byte) []byte {
	out = append(out[:0], e.wire...)
	out[0], out[1] = in[0], in[1]
	out[2] = out[2]&^0x01 | in[2]&0x01 // RD
	out[3] = out[3]&^0x10 | in[3]&0x10 // CD
	copy(out[12:q.qEnd], in[12:q.qEnd])
	return out
}
