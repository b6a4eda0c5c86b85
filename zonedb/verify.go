package zonedb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Verification of a store or a backup of one (dms backup --verify, dms
// check, dms restore): bbolt's own consistency check, then what dms needs
// to serve it: the schema, every bucket, every zone's name and metadata,
// every RRset readable, each zone's SOA and current instance, and each
// signed zone's NSEC3 or NSEC chain whole.

// VerifyReport is what a verification found.
type VerifyReport struct {
	Path      string   `json:"path,omitempty"`
	Bytes     int64    `json:"bytes"`
	Schema    int      `json:"schema"`
	Zones     int      `json:"zones"`
	Signed    int      `json:"signed_zones"`
	Instances int      `json:"instances"`
	RRsets    int      `json:"rrsets"`
	Records   int      `json:"records"`
	Problems  []string `json:"problems,omitempty"`
	// More counts the problems past the first maxProblems.
	More int `json:"more_problems,omitempty"`
}

// maxProblems bounds the problems a report lists.
const maxProblems = 50

// OK says whether nothing is wrong.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verdict is the report in one line.
func (r *VerifyReport) Verdict() string {
	what := "store"
	if r.Path != "" {
		what = r.Path
	}
	counts := fmt.Sprintf("%d bytes, schema %d, %d zones (%d signed), %d instances, %d RRsets, %d records",
		r.Bytes, r.Schema, r.Zones, r.Signed, r.Instances, r.RRsets, r.Records)
	if r.OK() {
		return fmt.Sprintf("%s: OK: %s", what, counts)
	}
	if r.Schema == 0 {
		counts = fmt.Sprintf("%d bytes", r.Bytes)
	}
	return fmt.Sprintf("%s: BROKEN: %d problem(s), first: %s (%s)", what, len(r.Problems)+r.More, r.Problems[0], counts)
}

func (r *VerifyReport) problem(format string, args ...any) {
	if len(r.Problems) >= maxProblems {
		r.More++
		return
	}
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks the store as of one read transaction (safe while it
// serves; it reads every page).
func (db *DB) Verify() (*VerifyReport, error) {
	r := &VerifyReport{Path: db.path}
	err := db.View(func(v *View) error { v.verify(r); return nil })
	return r, err
}

// VerifyFile opens the store (or backup) at path read-only and verifies
// it. A file that is no bbolt store at all is a report with that problem,
// not an error; err is for what keeps it from being read (missing, or
// locked by a running server for longer than lockWait).
func VerifyFile(path string, lockWait time.Duration) (*VerifyReport, error) {
	r := &VerifyReport{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", path)
	}
	r.Bytes = fi.Size()
	if err := checkFile(path, fi.Size()); err != nil {
		// bbolt maps the file and trusts its pages: see pagecheck.go.
		r.problem("%v", err)
		return r, nil
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockWait})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s is open in a running dms (it holds the lock); check it through that server: dms check", path)
		}
		r.problem("not a readable bbolt store: %v", err)
		return r, nil
	}
	defer b.Close()
	err = b.View(func(tx *bolt.Tx) error {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if p := recover(); p != nil {
				r.problem("damaged: %v", p)
			}
		}()
		if tx.Bucket(bucketMeta) == nil {
			r.problem("not a dms store (no %s bucket)", bucketMeta)
			return nil
		}
		(&View{tx: tx}).verify(r)
		return nil
	})
	return r, err
}

// verify fills r from the view's transaction. A damaged file makes bbolt
// panic (a page that is not what it should be) or fault (a page number
// past the mapping): both are caught here and reported, and every page is
// read here first, so that bbolt's own check (which runs in a goroutine of
// its own, where a fault cannot be caught) only runs on a tree that reads.
func (v *View) verify(r *VerifyReport) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			r.problem("damaged: %v", p)
		}
	}()
	tx := v.tx
	if r.Bytes == 0 {
		r.Bytes = tx.Size()
	}
	if err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return b.ForEach(func(k, val []byte) error { return nil })
	}); err != nil {
		r.problem("bbolt: %v", err)
	}
	for err := range tx.Check() {
		r.problem("bbolt: %v", err)
	}
	for _, b := range allBuckets {
		if tx.Bucket(b) == nil && !(bytes.Equal(b, bucketViews) && schemaOf(tx) < 3) {
			r.problem("bucket %s missing", b)
		}
	}
	if !r.OK() {
		return // the rest reads those buckets
	}
	schema, err := strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchema)))
	r.Schema = schema
	switch {
	case err != nil:
		r.problem("no schema version")
	case schema > SchemaVersion:
		r.problem("schema %d is newer than this dms knows (%d)", schema, SchemaVersion)
	}
	zones := v.verifyZones(r)
	v.verifyRRsets(r, zones)
}

// verifyZones checks each zone's name entry, metadata, SOA and current
// instance, and returns the zones by id.
func (v *View) verifyZones(r *VerifyReport) map[uint64]*Zone {
	zones := map[uint64]*Zone{}
	c := v.tx.Bucket(bucketZoneNames).Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		if len(val) < 8 {
			r.problem("zone name entry %x: corrupt", k)
			continue
		}
		z, err := getZone(v.tx, u64(val[:8]), false)
		if err != nil {
			r.problem("zone name entry %x: %v", k, err)
			continue
		}
		zones[z.ID] = z
		r.Zones++
		if z.DNSSEC {
			r.Signed++
		}
		zis, err := v.ZIs(z)
		if err != nil {
			r.problem("zone %s: instances: %v", z.Name, err)
		}
		r.Instances += len(zis)
		cur, err := v.ZI(z, z.ZI)
		switch {
		case err != nil:
			r.problem("zone %s: its current instance %d is missing", z.Name, z.ZI)
		case cur.Serial != z.Serial:
			r.problem("zone %s: serial %d, its current instance %d has %d", z.Name, z.Serial, z.ZI, cur.Serial)
		}
		if v.tx.Bucket(bucketRR).Get(soaKeyOf(z)) == nil {
			r.problem("zone %s: no SOA", z.Name)
		}
		if z.DNSSEC {
			v.verifyChain(r, z)
		}
	}
	if n := v.tx.Bucket(bucketZones).Stats().KeyN; n != r.Zones {
		r.problem("%d zones, %d zone names", n, r.Zones)
	}
	return zones
}

// verifyRRsets reads every RRset: its key, its zone, every record.
func (v *View) verifyRRsets(r *VerifyReport, zones map[uint64]*Zone) {
	var buf []byte
	c := v.tx.Bucket(bucketRR).Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		id, _, _, ok := SplitRRsetKey(k)
		if !ok {
			r.problem("rr key %x: corrupt", k)
			continue
		}
		if zones[id] == nil {
			r.problem("rr key %x: of zone id %d, which does not exist", k, id)
			continue
		}
		r.RRsets++
		_, _, t, _ := SplitRRsetKey(k)
		it := newRRIter(val)
		for it.next() {
			r.Records++
			if err := checkRDATA(&buf, t, it.rdata); err != nil {
				r.problem("zone %s: rr key %x: a %s record does not read: %v", zones[id].Name, k, dns.TypeToString[t], err)
			}
		}
		if it.err != nil {
			r.problem("zone %s: rr key %x: %v", zones[id].Name, k, it.err)
		}
	}
}

// checkRDATA unpacks one RR's RDATA as its type: damage that leaves the
// RRset's framing whole but not its records shows here. Unknown types
// (RFC 3597) read as any bytes.
func checkRDATA(buf *[]byte, rrtype uint16, rdata []byte) error {
	b := append((*buf)[:0], 0) // the root as owner
	b = binary.BigEndian.AppendUint16(b, rrtype)
	b = binary.BigEndian.AppendUint16(b, dns.ClassINET)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	b = append(b, rdata...)
	*buf = b
	_, off, err := dns.UnpackRR(b, 0)
	if err == nil && off != len(b) {
		err = fmt.Errorf("%d bytes left over", len(b)-off)
	}
	return err
}

// verifyChain checks a signed zone's denial chain is one ring: NSEC3
// (RFC 5155 section 3.1.7) or NSEC (RFC 4034 section 4.1.1).
func (v *View) verifyChain(r *VerifyReport, z *Zone) {
	if z.Params == nil || z.Params.NSEC3 {
		whole, err := chainWhole(v.tx.Bucket(bucketRR).Cursor(), z.ID)
		if err != nil || !whole {
			r.problem("zone %s: NSEC3 chain broken (%v)", z.Name, err)
		}
		return
	}
	var first, want string
	prefix := be64(z.ID)
	c := v.tx.Bucket(bucketRR).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		_, nk, t, ok := SplitRRsetKey(k)
		if !ok || t != dns.TypeNSEC {
			continue
		}
		owner, err := DecodeNameKey(nk, z.Name)
		if err != nil {
			r.problem("zone %s: NSEC owner %x: %v", z.Name, nk, err)
			return
		}
		next, _, err := dns.UnpackDomainName(FirstRDATA(val), 0)
		if err != nil {
			r.problem("zone %s: NSEC at %s: %v", z.Name, owner, err)
			return
		}
		if first == "" {
			first = owner
		} else if owner != want {
			r.problem("zone %s: NSEC chain broken: the NSEC before %s points to %s", z.Name, owner, want)
			return
		}
		want = dns.CanonicalName(next)
	}
	if first != "" && dns.CanonicalName(want) != first {
		r.problem("zone %s: NSEC chain broken: the last NSEC points to %s, not %s", z.Name, want, first)
	}
}

// Digest is a SHA-256 of everything the commit door writes (every bucket
// but the meta bookkeeping and the event log: keys, values, sequences):
// two stores that applied the same commits have the same digest.
func (v *View) Digest() string {
	h := sha256.New()
	var n [8]byte
	for _, name := range doorBuckets {
		b := v.tx.Bucket(name)
		h.Write(name)
		binary.BigEndian.PutUint64(n[:], b.Sequence())
		h.Write(n[:])
		_ = b.ForEach(func(k, val []byte) error {
			binary.BigEndian.PutUint64(n[:], uint64(len(k)))
			h.Write(n[:])
			h.Write(k)
			binary.BigEndian.PutUint64(n[:], uint64(len(val)))
			h.Write(n[:])
			h.Write(val)
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// schemaOf is the store's schema version (0 when unreadable).
func schemaOf(tx *bolt.Tx) int {
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m.Get(keySchema)))
	return v
}
