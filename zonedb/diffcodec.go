package zonedb

import (
	"encoding/binary"
	"fmt"

	"github.com/miekg/dns"
)

// Zone instance diffs in the zidiff bucket, keyed
//
//	zoneID (8) | ziID (8) | chunk (4)
//
// Each chunk is a run of entries
//
//	op (1: 0 removed, 1 added) | flags (1) | reflen (1) | ref | type (2) |
//	ttl (4) | owner (uncompressed wire name) | rdlen (2) | rdata
//
// Chunks stay below diffChunkSize so one huge change does not make one huge
// value.

const diffChunkSize = 64 << 10

type diffWriter struct {
	put func(seq uint32, val []byte) error
	// log notes each RR in the commit's logical record (nil: none kept).
	log   func(LogDiffRR)
	seq   uint32
	buf   []byte
	wire  [256]byte
	count int
}

func (w *diffWriter) add(added bool, name string, rrtype uint16, ttl uint32, e encRR) error {
	n, err := dns.PackDomainName(name, w.wire[:], 0, nil, false)
	if err != nil {
		return err
	}
	op := byte(0)
	if added {
		op = 1
	}
	w.buf = append(w.buf, op, byte(e.flags), byte(len(e.ref)))
	w.buf = append(w.buf, e.ref...)
	w.buf = binary.BigEndian.AppendUint16(w.buf, rrtype)
	w.buf = binary.BigEndian.AppendUint32(w.buf, ttl)
	w.buf = append(w.buf, w.wire[:n]...)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(e.rdata)))
	w.buf = append(w.buf, e.rdata...)
	w.count++
	if w.log != nil {
		w.log(logDiffOf(added, name, rrtype, ttl, e))
	}
	if len(w.buf) >= diffChunkSize {
		return w.flush()
	}
	return nil
}

func (w *diffWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.put(w.seq, w.buf); err != nil {
		return err
	}
	w.seq++
	w.buf = nil
	return nil
}

func decodeDiffChunk(d *Diff, val []byte) error {
	for len(val) > 0 {
		if len(val) < 3 {
			return errBadValue
		}
		op, f, rl := val[0], Flags(val[1]), int(val[2])
		val = val[3:]
		if len(val) < rl+6 {
			return errBadValue
		}
		ref := string(val[:rl])
		val = val[rl:]
		t := binary.BigEndian.Uint16(val)
		ttl := binary.BigEndian.Uint32(val[2:])
		val = val[6:]
		name, off, err := dns.UnpackDomainName(val, 0)
		if err != nil {
			return fmt.Errorf("%w: %v", errBadValue, err)
		}
		val = val[off:]
		if len(val) < 2 {
			return errBadValue
		}
		dl := int(binary.BigEndian.Uint16(val))
		val = val[2:]
		if len(val) < dl {
			return errBadValue
		}
		rr, err := rrFromRdata(name, t, ttl, val[:dl])
		if err != nil {
			return err
		}
		val = val[dl:]
		r := Record{RR: rr, Flags: f, Ref: ref}
		if op == 1 {
			d.Added = append(d.Added, r)
		} else {
			d.Removed = append(d.Removed, r)
		}
	}
	return nil
}
