package authserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// wmsg writes a DNS message in wire form, with name compression (RFC 1035
// section 4.1.4), from names and RDATA in wire form: the store's bytes go
// into the answer with no dns.RR in between and no allocation (the buffer
// is the caller's).
//
// Compression is exact (byte for byte, as miekg/dns does it with its
// names as text): a name is replaced by a pointer only to an earlier
// spelling of the same labels, so no letter case the store or the client
// wrote is lost. The candidates are the label starts of every name written
// so far, with the number of labels from each to the root, so a suffix is
// compared only against candidates of its own length.
type wmsg struct {
	b []byte
	// lab are message offsets where a name (a suffix of one written) can
	// be found, cnt the number of labels from there to the root.
	lab [64]uint16
	cnt [64]uint8
	n   int
	// an, ns, ar count the records of each section.
	an, ns, ar int
}

// maxPtr is the highest offset a compression pointer reaches.
const maxPtr = 0x3fff

// wireNameLen returns the length of the uncompressed wire name at the
// start of b, or -1 when b holds none (a bad length, a pointer, a cut).
func wireNameLen(b []byte) int {
	for off := 0; off < len(b); {
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1
		case l > 63:
			return -1
		}
		off += l + 1
		if off > 255 {
			return -1
		}
	}
	return -1
}

// labelsAt counts the labels from the name at off to the root, following
// pointers (the message is ours, so they point backwards; a bound stops
// any loop all the same).
func (m *wmsg) labelsAt(off int) int {
	n := 0
	for hops := 0; hops < 256; hops++ {
		l := m.b[off]
		switch {
		case l == 0:
			return n
		case l&0xc0 == 0xc0:
			off = int(binary.BigEndian.Uint16(m.b[off:]) & maxPtr)
			continue
		}
		n++
		off += int(l) + 1
	}
	return n
}

// note records the label starts of the name written at off (up to the
// first pointer, whose target is recorded already).
func (m *wmsg) note(off int) {
	total := m.labelsAt(off)
	for {
		l := m.b[off]
		if l == 0 || l&0xc0 == 0xc0 || off > maxPtr || m.n == len(m.lab) {
			return
		}
		m.lab[m.n], m.cnt[m.n] = uint16(off), uint8(total)
		m.n++
		total--
		off += int(l) + 1
	}
}

// equalAt says whether the name at off (following pointers) is the
// uncompressed name s, byte for byte.
func (m *wmsg) equalAt(off int, s []byte) bool { return m.sameAt(off, s, false) }

// equalFoldAt is equalAt ignoring the case of ASCII letters.
func (m *wmsg) equalFoldAt(off int, s []byte) bool { return m.sameAt(off, s, true) }

func (m *wmsg) sameAt(off int, s []byte, fold bool) bool {
	for hops := 0; hops < 256; hops++ {
		l := m.b[off]
		if l&0xc0 == 0xc0 {
			off = int(binary.BigEndian.Uint16(m.b[off:]) & maxPtr)
			continue
		}
		if len(s) == 0 || s[0] != l {
			return false
		}
		if l == 0 {
			return true
		}
		if fold {
			if !equalFold(m.b[off+1:off+1+int(l)], s[1:1+int(l)]) {
				return false
			}
		} else if string(m.b[off+1:off+1+int(l)]) != string(s[1:1+int(l)]) {
			return false
		}
		off += int(l) + 1
		s = s[l+1:]
	}
	return false
}

// name writes the uncompressed wire name s (wireNameLen checked),
// compressed, and returns where it starts.
func (m *wmsg) name(s []byte) int {
	start := len(m.b)
	var offs [128]uint8 // a name is at most 255 octets
	nl := 0
	for off := 0; s[off] != 0; off += int(s[off]) + 1 {
		offs[nl] = uint8(off)
		nl++
	}
	for i := 0; i < nl; i++ {
		suffix := s[offs[i]:]
		for j := 0; j < m.n; j++ {
			if int(m.cnt[j]) == nl-i && m.equalAt(int(m.lab[j]), suffix) {
				p := m.lab[j]
				m.b = append(m.b, s[:offs[i]]...)
				m.b = append(m.b, 0xc0|byte(p>>8), byte(p))
				m.note(start)
				return start
			}
		}
	}
	m.b = append(m.b, s...)
	m.note(start)
	return start
}

// owner writes a pointer to the name at off (the root as itself).
func (m *wmsg) owner(off int) {
	if m.b[off] == 0 {
		m.b = append(m.b, 0)
		return
	}
	m.b = append(m.b, 0xc0|byte(off>>8), byte(off))
}

// rr writes one record of class IN owned by the name at owner and returns
// where the name in its RDATA starts (NS, CNAME, PTR, MX, SRV; -1 for
// other types), or ok false for RDATA that does not hold what its type
// says. The names of NS, CNAME, PTR, MX and SOA RDATA are compressed (RFC
// 3597 section 4: only those of RFC 1035's types may be).
func (m *wmsg) rr(owner int, t uint16, ttl uint32, rd []byte) (target int, ok bool) {
	m.owner(owner)
	m.b = append(m.b, byte(t>>8), byte(t), 0, 1)
	m.b = binary.BigEndian.AppendUint32(m.b, ttl)
	lenAt := len(m.b)
	m.b = append(m.b, 0, 0)
	target = -1
	switch t {
	case dns.TypeNS, dns.TypeCNAME, dns.TypePTR:
		if wireNameLen(rd) != len(rd) {
			return -1, false
		}
		target = m.name(rd)
	case dns.TypeMX:
		if len(rd) < 3 || 2+wireNameLen(rd[2:]) != len(rd) {
			return -1, false
		}
		m.b = append(m.b, rd[:2]...)
		target = m.name(rd[2:])
	case dns.TypeSOA:
		n1 := wireNameLen(rd)
		if n1 < 0 {
			return -1, false
		}
		n2 := wireNameLen(rd[n1:])
		if n2 < 0 || n1+n2+20 != len(rd) {
			return -1, false
		}
		m.name(rd[:n1])
		m.name(rd[n1 : n1+n2])
		m.b = append(m.b, rd[n1+n2:]...)
	case dns.TypeSRV:
		if len(rd) < 7 || 6+wireNameLen(rd[6:]) != len(rd) {
			return -1, false
		}
		m.b = append(m.b, rd...)
		target = lenAt + 2 + 6
	default:
		m.b = append(m.b, rd...)
	}
	binary.BigEndian.PutUint16(m.b[lenAt:], uint16(len(m.b)-lenAt-2))
	return target, true
}

// expand copies the name at off (following pointers) into dst as an
// uncompressed wire name, in lower case when lower is set.
func (m *wmsg) expand(dst []byte, off int, lower bool) []byte {
	for hops := 0; hops < 256; hops++ {
		l := m.b[off]
		if l&0xc0 == 0xc0 {
			off = int(binary.BigEndian.Uint16(m.b[off:]) & maxPtr)
			continue
		}
		dst = append(dst, l)
		if l == 0 {
			return dst
		}
		for _, c := range m.b[off+1 : off+1+int(l)] {
			if lower && c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		off += int(l) + 1
	}
	return dst
}

// labelOffsets appends where each label of the name at off starts in the
// message (each a pointer target for that suffix), following pointers.
func (m *wmsg) labelOffsets(dst []uint16, off int) []uint16 {
	for hops := 0; hops < 256; hops++ {
		l := m.b[off]
		if l&0xc0 == 0xc0 {
			off = int(binary.BigEndian.Uint16(m.b[off:]) & maxPtr)
			continue
		}
		dst = append(dst, uint16(off))
		if l == 0 {
			return dst
		}
		off += int(l) + 1
	}
	return dst
}

func equalFold(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
