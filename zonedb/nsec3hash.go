package zonedb

import (
	"crypto/sha1"

	"github.com/miekg/dns"
)

// NSEC3Hash is the NSEC3 hash of a name (RFC 5155 section 5: SHA-1 of
// the lower-case wire name and the salt, then iterations more times of
// the hash and the salt). wire must already be lower case. The one
// implementation the signer and the query path share; it does not
// allocate.
func NSEC3Hash(wire, salt []byte, iterations uint16) [20]byte {
	var buf [255 + 255]byte
	sum := sha1.Sum(append(append(buf[:0], wire...), salt...))
	for range iterations {
		sum = sha1.Sum(append(append(buf[:0], sum[:]...), salt...))
	}
	return sum
}

// NSEC3HashName is NSEC3Hash of a name in text form; false for a name
// that does not pack.
func NSEC3HashName(name string, salt []byte, iterations uint16) ([20]byte, bool) {
	var buf [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
	if err != nil {
		return [20]byte{}, false
	}
	// Length octets are below 64, never letters: lower-casing the whole
	// wire form only touches label bytes.
	for i, c := range buf[:n] {
		if c >= 'A' && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return NSEC3Hash(buf[:n], salt, iterations), true
}

// SplitNSEC3 returns the flags, the next hashed owner and the type bitmap
// of NSEC3 RDATA (RFC 5155 section 3.2: hash algorithm, flags,
// iterations (2), salt length, salt, hash length, next hashed owner, type
// bitmap), pointing into rd; false when rd is cut short.
func SplitNSEC3(rd []byte) (flags byte, next, bitmap []byte, ok bool) {
	if len(rd) < 5 {
		return 0, nil, nil, false
	}
	off := 5 + int(rd[4])
	if off >= len(rd) || off+1+int(rd[off]) > len(rd) {
		return 0, nil, nil, false
	}
	end := off + 1 + int(rd[off])
	return rd[1], rd[off+1 : end], rd[end:], true
}
