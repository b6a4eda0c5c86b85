package zonedb

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// The semantic checks of a commit of record operations: the names it
// touched, read with what the commit leaves there.

// checkTouched runs the semantic checks on the names an op commit touched,
// with everything stored at those names, plus the apex SOA and NS. Targets
// that look written without their final dot are read too, with their
// ancestors, so the check knows whether they exist; problems of those
// names themselves are not this commit's and are left out.
func checkTouched(rrb *bolt.Bucket, z *Zone, changes []rrsetChange) (Problems, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	newVals := map[string][]byte{}
	nameKeys := map[string]string{} // name key prefix (with id) -> owner name
	for _, ch := range changes {
		newVals[string(ch.key)] = ch.new
		nameKeys[string(ch.key[:len(ch.key)-2])] = ch.name
	}
	apex := append(be64(z.ID), 0)
	nameKeys[string(apex)] = z.Name
	var recs []Record
	var err error
	for nk, owner := range nameKeys {
		if recs, err = loadName(rrb, z, nk, owner, newVals, recs); err != nil {
			return nil, err
		}
	}
	// The suspect targets and the names above them, up to the apex: their
	// records say whether a target exists or is delegated.
	context := map[string]bool{}
	var targets []string
	for _, r := range recs {
		targets = hostTargets(r.RR, targets[:0])
		for _, t := range targets {
			t, ok := suspectTarget(z.Name, t)
			for ; ok && t != z.Name; t = t[nextLabel(t):] {
				nk, err := AppendRRsetKey(nil, z.ID, t, z.Name, 0)
				if err != nil {
					break
				}
				nk = nk[:len(nk)-2]
				if _, seen := nameKeys[string(nk)]; seen {
					continue
				}
				nameKeys[string(nk)], context[t] = t, true
				if recs, err = loadName(rrb, z, string(nk), t, newVals, recs); err != nil {
					return nil, err
				}
			}
		}
	}
	probs := Check(z.Name, recs, CheckOptions{Partial: true})
	changed := make(map[string]bool, len(changes))
	for _, ch := range changes {
		changed[ch.name+"/"+dns.Type(ch.rrtype).String()] = true
	}
	// A missing dot is this commit's only in an RRset it changed: the
	// other names are read whole, and a stored record would be reported
	// again at every commit.
	probs = slices.DeleteFunc(probs, func(p Problem) bool {
		return context[p.Name] || p.Code == CodeMissingFinalDot && !changed[p.Name+"/"+p.Type]
	})
	return probs, nil
}

// nextLabel is the offset of the label after the first one of name.
func nextLabel(name string) int {
	off, _ := dns.NextLabel(name, 0)
	return off
}

// loadName appends to recs the RRsets stored at one name (nk: the name key
// prefix with the zone id and the 0x00 that ends the name), with the
// commit's new values in place of the stored ones.
func loadName(rrb *bolt.Bucket, z *Zone, nk, owner string, newVals map[string][]byte, recs []Record) ([]Record, error) {
	prefix := []byte(nk)
	c := rrb.Cursor()
	seen := map[string]bool{}
	var err error
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+2; k, v = c.Next() {
		seen[string(k)] = true
		if nv, ok := newVals[string(k)]; ok {
			v = nv
		}
		if v == nil || z.DNSSEC && SignerType(binary.BigEndian.Uint16(k[len(k)-2:])) {
			continue
		}
		if recs, err = decodeRRset(recs, owner, binary.BigEndian.Uint16(k[len(k)-2:]), v); err != nil {
			return nil, err
		}
	}
	for k, v := range newVals {
		if !seen[k] && v != nil && strings.HasPrefix(k, nk) && len(k) == len(nk)+2 {
			if recs, err = decodeRRset(recs, owner, binary.BigEndian.Uint16([]byte(k[len(k)-2:])), v); err != nil {
				return nil, err
			}
		}
	}
	return recs, nil
}
