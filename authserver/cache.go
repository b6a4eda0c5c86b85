package authserver

import (
	"encoding/binary"
	"hash/maphash"
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
	// acl is the allow-query list the answer depends on (access.go): a
	// hit is for the clients it allows only; 0 for everyone.
	acl uint32
}

// answerCache is one worker's cache: the entries live in one byte arena
// and an open-addressing table of arena offsets finds them, so the cache
// holds no pointers for the garbage collector to scan and costs little
// more than the answers themselves. Arena entry layout:
//
//	keylen (2) | key | rcode (1) | truncated (1) | acl (4) | wirelen (2) | wire
type answerCache struct {
	// max is the arena's bound in bytes; 0: the default.
	max   int
	gen   uint64
	seed  maphash.Seed
	arena []byte
	table []uint32 // arena offset + 1; 0 is empty
	n     int
}

// Bounds of one worker's cache: past them it starts again empty. The
// arena grows as answers come (an unsigned 100 000-name zone's answers
// take about 20 MB, signed ones several times more). The byte bound is the
// operator's (dms serve --answer-cache-mb, Options.AnswerCacheBytes), and
// the cache is off unless asked for: with the wire-form path
// (wireanswer.go) it no longer pays for its memory (make bench, 100 000
// names, one worker: unsigned 5.97 us of CPU per query with a 64 MB cache,
// 5.87 without; signed mixed 1.24x the floor with it, 1.23x without, and
// 38 MB against 6 MB of anonymous memory). It still saves the general
// path's work for answers the wire path leaves to it (DNAME,
// NSEC-signed zones with DO), should a workload be made of those.
const (
	cacheMaxEntries      = 1 << 18
	cacheTableSize       = 2 * cacheMaxEntries // load factor at most 1/2
	DefaultAnswerCacheMB = 64
)

func (c *answerCache) reset(gen uint64) {
	c.gen, c.n = gen, 0
	c.arena = c.arena[:0]
	clear(c.table)
}

// drop empties the cache (entries name lists of an allow-query table
// that is being replaced).
func (c *answerCache) drop() {
	if c.n > 0 {
		c.reset(c.gen)
	}
}

func (c *answerCache) slot(key []byte) uint32 {
	return uint32(maphash.Bytes(c.seed, key)) & (cacheTableSize - 1)
}

func (c *answerCache) get(gen uint64, key []byte) (cacheEntry, bool) {
	if c.gen != gen {
		c.reset(gen)
		return cacheEntry{}, false
	}
	if c.table == nil {
		return cacheEntry{}, false
	}
	for i := c.slot(key); ; i = (i + 1) & (cacheTableSize - 1) {
		off := c.table[i]
		if off == 0 {
			return cacheEntry{}, false
		}
		e := c.arena[off-1:]
		kl := int(binary.BigEndian.Uint16(e))
		if string(e[2:2+kl]) != string(key) {
			continue
		}
		e = e[2+kl:]
		wl := int(binary.BigEndian.Uint16(e[6:]))
		return cacheEntry{wire: e[8 : 8+wl], rcode: int(e[0]), truncated: e[1] != 0, acl: binary.BigEndian.Uint32(e[2:])}, true
	}
}

func (c *answerCache) put(gen uint64, key []byte, e cacheEntry) {
	if c.table == nil {
		c.table = make([]uint32, cacheTableSize)
		c.seed = maphash.MakeSeed()
	}
	if c.gen != gen {
		c.reset(gen)
	}
	size := 2 + len(key) + 8 + len(e.wire)
	maxBytes := c.max
	if maxBytes == 0 {
		maxBytes = DefaultAnswerCacheMB << 20
	}
	if c.n >= cacheMaxEntries || len(c.arena)+size > maxBytes {
		c.reset(gen)
	}
	off := len(c.arena)
	c.arena = binary.BigEndian.AppendUint16(c.arena, uint16(len(key)))
	c.arena = append(c.arena, key...)
	t := byte(0)
	if e.truncated {
		t = 1
	}
	c.arena = append(c.arena, byte(e.rcode), t)
	c.arena = binary.BigEndian.AppendUint32(c.arena, e.acl)
	c.arena = binary.BigEndian.AppendUint16(c.arena, uint16(len(e.wire)))
	c.arena = append(c.arena, e.wire...)
	i := c.slot(key)
	for c.table[i] != 0 {
		i = (i + 1) & (cacheTableSize - 1)
	}
	c.table[i] = uint32(off + 1)
	c.n++
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
