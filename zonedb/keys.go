package zonedb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Name keys.
//
// A name key is the name's labels from the root down, each lowercased,
// escaped and terminated by 0x00. Inside a label 0x00 becomes 0x01 0x01 and
// 0x01 becomes 0x01 0x02, so the terminator sorts below every label octet and
// bytes.Compare on two keys is the canonical DNS name order of RFC 4034
// section 6.1 (a name sorts before its descendants; labels compare as
// lowercase octet strings, a shorter label before a longer one it prefixes).
// Without the escape b.a.x. and a\000b.x. would collide.

const maxLabels = 128

// AppendNameKey appends the key of the labels of name that lie below origin
// (origin's own labels are left out; origin "" or "." keeps them all). name
// must be at or below origin. It returns an error for a malformed name.
func AppendNameKey(dst []byte, name, origin string) ([]byte, error) {
	var wire [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(name), wire[:], 0, nil, false)
	if err != nil {
		return dst, fmt.Errorf("bad name %q: %w", name, err)
	}
	skip := 0
	if origin != "" && origin != "." {
		skip = dns.CountLabel(origin)
	}
	var offs [maxLabels]int
	nl := 0
	for off := 0; off < n && wire[off] != 0; off += int(wire[off]) + 1 {
		if nl == maxLabels {
			return dst, fmt.Errorf("bad name %q: too many labels", name)
		}
		offs[nl] = off
		nl++
	}
	if skip > nl {
		return dst, fmt.Errorf("name %q is not below %q", name, origin)
	}
	for i := nl - 1 - skip; i >= 0; i-- {
		off := offs[i]
		dst = appendKeyLabel(dst, wire[off+1:off+1+int(wire[off])])
	}
	return dst, nil
}

// appendKeyLabel appends one label (its bytes in wire form) to a name key:
// in lower case, 0x00 and 0x01 escaped as 0x01 0x01 and 0x01 0x02, ended
// by 0x00.
func appendKeyLabel(dst, label []byte) []byte {
	for _, c := range label {
		switch {
		case c == 0:
			dst = append(dst, 1, 1)
		case c == 1:
			dst = append(dst, 1, 2)
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, 0)
}

// NameKey returns the key of name relative to origin (see AppendNameKey).
func NameKey(name, origin string) ([]byte, error) { return AppendNameKey(nil, name, origin) }

// DecodeNameKey turns a key made by AppendNameKey back into a presentation
// name, appending origin (an absolute name) to the decoded labels.
func DecodeNameKey(key []byte, origin string) (string, error) {
	if isNSEC3Key(key) {
		if len(key) < len(nsec3Mark)+2 || key[len(key)-1] != 0 {
			return "", fmt.Errorf("bad NSEC3 name key")
		}
		return nsec3Label(key) + "." + dns.Fqdn(origin), nil
	}
	var labels [][]byte
	start := 0
	var cur []byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch c {
		case 0:
			labels = append(labels, cur)
			cur = nil
			start = i + 1
		case 1:
			if i+1 >= len(key) {
				return "", fmt.Errorf("bad name key at %d", i)
			}
			i++
			cur = append(cur, key[i]-1)
		default:
			cur = append(cur, c)
		}
	}
	if start != len(key) {
		return "", fmt.Errorf("bad name key: unterminated label")
	}
	var b strings.Builder
	for i := len(labels) - 1; i >= 0; i-- {
		b.WriteString(escapeLabel(labels[i]))
		b.WriteByte('.')
	}
	if origin != "" && origin != "." {
		b.WriteString(origin)
	}
	if b.Len() == 0 {
		return ".", nil
	}
	return b.String(), nil
}

// escapeLabel writes a label in presentation format (RFC 1035 section 5.1).
func escapeLabel(l []byte) string {
	var b strings.Builder
	for _, c := range l {
		switch {
		case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < '!' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// CompareNames orders two absolute names canonically (RFC 4034 section 6.1).
// Malformed names sort after well-formed ones, by their text.
func CompareNames(a, b string) int {
	var ba, bb [300]byte
	ka, erra := AppendNameKey(ba[:0], a, "")
	kb, errb := AppendNameKey(bb[:0], b, "")
	switch {
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return 1
	case errb != nil:
		return -1
	}
	return bytes.Compare(ka, kb)
}

// Record (RRset) keys in the rr bucket:
//
//	zoneID (8 bytes, big endian) | name key relative to the zone | 0x00 | type (2 bytes)
//
// The 0x00 ends the name: it sorts below the first octet of any child label,
// so a name's RRsets come before its descendants' and one cursor scan over
// the zone's prefix is the zone in canonical order, apex first.

// AppendRRsetKey appends the key of the RRset (name, rrtype) of zone id.
func AppendRRsetKey(dst []byte, id uint64, name, origin string, rrtype uint16) ([]byte, error) {
	dst = binary.BigEndian.AppendUint64(dst, id)
	dst, err := AppendNameKey(dst, name, origin)
	if err != nil {
		return dst, err
	}
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint16(dst, rrtype), nil
}

// SplitRRsetKey returns the relative name key and type of an RRset key.
func SplitRRsetKey(key []byte) (id uint64, name []byte, rrtype uint16, ok bool) {
	if len(key) < 8+3 || key[len(key)-3] != 0 {
		return 0, nil, 0, false
	}
	return binary.BigEndian.Uint64(key), key[8 : len(key)-3], binary.BigEndian.Uint16(key[len(key)-2:]), true
}

// ZoneKey is the key of a zone in the zone name index: its full name key
// followed by 0x00 (so the root zone has a non-empty key).
func ZoneKey(name string) ([]byte, error) {
	k, err := AppendNameKey(nil, name, "")
	if err != nil {
		return nil, err
	}
	return append(k, 0), nil
}
