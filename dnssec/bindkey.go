package dnssec

import (
	"bytes"
	"fmt"

	"github.com/miekg/dns"
)

// ImportBIND reads a key pair in BIND's files, K<zone>+<alg>+<tag>.key (a
// DNSKEY record, possibly after ';' comment lines) and .private (Private-
// key-format v1.2/v1.3), as dnssec-keygen writes them, so that a zone
// moves from BIND keeping its keys and its DS at the parent. Algorithms 7
// (NSEC3RSASHA1), 8 (RSASHA256), 13 (ECDSAP256SHA256) and 15 (ED25519)
// are accepted. The DNSKEY's owner must be zone.
func ImportBIND(zone string, keyFile, privateFile []byte) (*Key, error) {
	if _, ok := dns.IsDomainName(zone); !ok || zone == "" {
		return nil, fmt.Errorf("import BIND key: bad zone name %q", zone)
	}
	zone = dns.CanonicalName(zone)
	dk, err := readKeyFile(zone, keyFile)
	if err != nil {
		return nil, fmt.Errorf("import BIND key for %s: %w", zone, err)
	}
	if dns.CanonicalName(dk.Hdr.Name) != zone {
		return nil, fmt.Errorf("import BIND key for %s: %w: the .key file is for %s", zone, ErrWrongOwner, dk.Hdr.Name)
	}
	if !supported(dk.Algorithm) {
		return nil, fmt.Errorf("import BIND key for %s: %w: algorithm %s; supported: %s", zone, ErrUnsupportedAlgorithm, algName(dk.Algorithm), SupportedAlgorithms)
	}
	if _, err := decodePublic(dk); err != nil {
		return nil, fmt.Errorf("import BIND key for %s: .key file: %w", zone, err)
	}
	k, err := parsePrivate(dk, privateFile)
	if err != nil {
		return nil, fmt.Errorf("import BIND key for %s: .private file: %w", zone, err)
	}
	return k, nil
}

// readKeyFile returns the one DNSKEY record of a BIND .key file.
func readKeyFile(zone string, keyFile []byte) (*dns.DNSKEY, error) {
	if len(bytes.TrimSpace(keyFile)) == 0 {
		return nil, fmt.Errorf(".key file: %w: the file is empty", ErrNotDNSKEY)
	}
	zp := dns.NewZoneParser(bytes.NewReader(keyFile), zone, ".key")
	zp.SetIncludeAllowed(false)
	var dk *dns.DNSKEY
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if dk != nil {
			return nil, fmt.Errorf(".key file: more than one record")
		}
		var isKey bool
		if dk, isKey = rr.(*dns.DNSKEY); !isKey {
			return nil, fmt.Errorf(".key file: %w: the record is %s", ErrNotDNSKEY, dns.TypeToString[rr.Header().Rrtype])
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the .key file: %w", err)
	}
	if dk == nil {
		return nil, fmt.Errorf(".key file: %w: no record in it", ErrNotDNSKEY)
	}
	return dk, nil
}
