package zonedb

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Migrations of older schemas, run at Open in the transaction that opens
// the store.

// migrateChains (schema 1 to 2) marks the signed zones whose NSEC3 chain
// has a wrong link. Before schema 2 the chain's wrap-around skipped a last
// record whose hash began with 0xff, so a name added before the first
// owner was linked from the second-to-last record: the proofs that need
// the last record failed validation. A marked zone (RebuildChain) is due
// for the re-signer at once, which signs it whole and rebuilds the chain
// (dms serve has the signer; Open does not).
func migrateChains(tx *bolt.Tx) (marked []string, err error) {
	zb := tx.Bucket(bucketZones)
	c := zb.Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		z := new(Zone)
		if err := json.Unmarshal(val, z); err != nil {
			return marked, fmt.Errorf("zone %x: corrupt metadata: %w", k, err)
		}
		if !z.DNSSEC || z.Params == nil || !z.Params.NSEC3 {
			continue
		}
		whole, err := chainWhole(tx.Bucket(bucketRR).Cursor(), z.ID)
		if err != nil {
			return marked, fmt.Errorf("zone %s: %w", z.Name, err)
		}
		if whole {
			continue
		}
		z.RebuildChain = true
		b, err := json.Marshal(z)
		if err != nil {
			return marked, err
		}
		if err := zb.Put(k, b); err != nil {
			return marked, err
		}
		marked = append(marked, z.Name)
	}
	return marked, nil
}

// chainWhole reports whether the zone's NSEC3 records form one ring: each
// record's next hashed owner is the following record's hash, the last's
// the first's (RFC 5155 section 3.1.7).
func chainWhole(c *bolt.Cursor, zone uint64) (bool, error) {
	lo := append(be64(zone), nsec3Mark...)
	var first, prevNext []byte
	n := 0
	for k, val := c.Seek(lo); k != nil && bytes.HasPrefix(k, lo); k, val = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok || t != dns.TypeNSEC3 || !isNSEC3Key(nk) {
			continue
		}
		h := nk[len(nsec3Mark) : len(nk)-1]
		next, err := nsec3Next(FirstRDATA(val))
		if err != nil {
			return false, err
		}
		if n == 0 {
			first = bytes.Clone(h)
		} else if !bytes.Equal(prevNext, h) {
			return false, nil
		}
		prevNext = bytes.Clone(next)
		n++
	}
	return n == 0 || bytes.Equal(prevNext, first), nil
}

// nsec3Next is the next hashed owner field of NSEC3 RDATA.
func nsec3Next(rd []byte) ([]byte, error) {
	_, next, _, ok := SplitNSEC3(rd)
	if !ok {
		return nil, errBadValue
	}
	return next, nil
}
