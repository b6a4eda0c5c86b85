package zonedb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// RRset values in the rr bucket:
//
//	ttl (4) | count (2) | count × [ flags (1) | reflen (1) | ref | rdlen (2) | rdata ]
//
// RDATA is uncompressed wire format; the RRs are sorted by RDATA bytes and
// unique, so two equal RRsets always encode to equal bytes and a commit can
// compare values instead of records.
//
// The RRSIGs at an owner are stored as one value, but they cover RRsets of
// different TTLs, and each RRSIG's TTL must be the TTL of the RRset it
// covers (RFC 4034 section 3, RFC 4035 section 2.2). So the ttl field of an
// RRSIG value is not read: every RRSIG's TTL is its own Original TTL field,
// which the signer sets to the covered RRset's TTL (and a TTL change is a
// change of that RRset, so it is signed again). RRTTL is the one place
// that rule lives; every reader of stored records goes through it.

var errBadValue = errors.New("corrupt rrset value")

// rdataOf returns the uncompressed wire RDATA of rr. scratch is a buffer
// to pack into; the result is a fresh slice.
func rdataOf(scratch []byte, rr dns.RR) ([]byte, []byte, error) {
	if need := dns.Len(rr) + 512; cap(scratch) < need {
		scratch = make([]byte, need)
	}
	scratch = scratch[:cap(scratch)]
	off, err := dns.PackRR(rr, scratch, 0, nil, false)
	if err != nil {
		return nil, scratch, err
	}
	hl := headerLen(scratch)
	return bytes.Clone(scratch[hl:off]), scratch, nil
}

// headerLen is the length of the packed RR header at the start of msg.
func headerLen(msg []byte) int {
	off := 0
	for msg[off] != 0 {
		off += int(msg[off]) + 1
	}
	return off + 1 + 10
}

// encRR is one RR of an RRset in encoded form.
type encRR struct {
	flags Flags
	ref   string
	rdata []byte
}

// encodeRRset encodes RRs that share owner, type and class. The TTL is the
// lowest of them (RFC 2181 section 5.2 wants one; Check warns). Duplicate
// RDATA is kept once, with its flags merged.
func encodeRRset(recs []Record) ([]byte, error) {
	var scratch []byte
	return encodeRRsetScratch(recs, &scratch)
}

// encodeRRsetScratch is encodeRRset with a packing buffer the caller keeps
// across calls (bulk loads).
func encodeRRsetScratch(recs []Record, scratch *[]byte) ([]byte, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	ttl := recs[0].RR.Header().Ttl
	ers := make([]encRR, 0, len(recs))
	for _, r := range recs {
		if t := r.RR.Header().Ttl; t < ttl {
			ttl = t
		}
		rd, sc, err := rdataOf(*scratch, r.RR)
		*scratch = sc
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.RR.Header().Name, err)
		}
		if len(r.Ref) > 255 {
			return nil, fmt.Errorf("%w: reference longer than 255 characters", ErrBadInput)
		}
		ers = append(ers, encRR{flags: r.Flags, ref: r.Ref, rdata: rd})
	}
	slices.SortStableFunc(ers, func(a, b encRR) int { return bytes.Compare(a.rdata, b.rdata) })
	out := ers[:1]
	for _, e := range ers[1:] {
		last := &out[len(out)-1]
		if bytes.Equal(last.rdata, e.rdata) {
			last.flags |= e.flags
			if last.ref == "" {
				last.ref = e.ref
			}
			continue
		}
		out = append(out, e)
	}
	if len(out) > 0xffff {
		return nil, fmt.Errorf("%w: more than 65535 records in one RRset", ErrBadInput)
	}
	return appendEncoded(nil, ttl, out), nil
}

func appendEncoded(b []byte, ttl uint32, ers []encRR) []byte {
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ers)))
	for _, e := range ers {
		b = append(b, byte(e.flags), byte(len(e.ref)))
		b = append(b, e.ref...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.rdata)))
		b = append(b, e.rdata...)
	}
	return b
}

// countRRs is the number of RRs in an encoded RRset.
func countRRs(val []byte) (int, error) {
	it := newRRIter(val)
	return it.n, it.err
}

// decodeEnc splits an encoded RRset into its parts, sharing val's memory.
func decodeEnc(val []byte) (uint32, []encRR, error) {
	it := newRRIter(val)
	ers := make([]encRR, 0, it.n)
	for it.next() {
		ers = append(ers, encRR{flags: it.flags, ref: string(it.ref), rdata: it.rdata})
	}
	if it.err != nil {
		return 0, nil, it.err
	}
	return it.ttl, ers, nil
}

// decodeRRset turns an encoded RRset back into records of owner name and
// type rrtype, appending them to dst.
func decodeRRset(dst []Record, name string, rrtype uint16, val []byte) ([]Record, error) {
	ttl, ers, err := decodeEnc(val)
	if err != nil {
		return dst, err
	}
	for _, e := range ers {
		rr, err := rrFromRdata(name, rrtype, ttl, e.rdata)
		if err != nil {
			return dst, err
		}
		dst = append(dst, Record{RR: rr, Flags: e.flags, Ref: e.ref})
	}
	return dst, nil
}

// RRTTL is the TTL of one stored RR of type rrtype whose RRset value
// carries ttl: ttl itself, except for an RRSIG, whose TTL is its Original
// TTL field (see the encoding above).
func RRTTL(rrtype uint16, ttl uint32, rdata []byte) uint32 {
	// RRSIG RDATA (RFC 4034 section 3.1): type covered (2), algorithm (1),
	// labels (1), original TTL (4), ...
	if rrtype == dns.TypeRRSIG && len(rdata) >= 8 {
		return binary.BigEndian.Uint32(rdata[4:8])
	}
	return ttl
}

func rrFromRdata(name string, rrtype uint16, ttl uint32, rdata []byte) (dns.RR, error) {
	ttl = RRTTL(rrtype, ttl, rdata)
	hdr := dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl, Rdlength: uint16(len(rdata))}
	rr, _, err := dns.UnpackRRWithHeader(hdr, rdata, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %v", errBadValue, name, dns.TypeToString[rrtype], err)
	}
	return rr, nil
}

// SameRdata reports whether a and b are the same record apart from TTL:
// dns.IsDuplicate (which ignores the case of names) or equal RDATA on the
// wire (hex and base64 fields, whose text case IsDuplicate compares).
func SameRdata(a, b dns.RR) bool {
	if dns.IsDuplicate(a, b) {
		return true
	}
	ha, hb := a.Header(), b.Header()
	if ha.Rrtype != hb.Rrtype || ha.Class != hb.Class || !strings.EqualFold(ha.Name, hb.Name) {
		return false
	}
	ra, _, err1 := rdataOf(nil, a)
	rb, _, err2 := rdataOf(nil, b)
	return err1 == nil && err2 == nil && bytes.Equal(ra, rb)
}
