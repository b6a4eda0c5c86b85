package zonedb

import (
	"bytes"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// ZoneBucketsDiff compares the zone buckets of two stores, keys, values
// and sequences: "" when they are the same byte for byte, else the first
// differences (for the replay test in zonedb_test).
func ZoneBucketsDiff(a, b *DB) (string, error) {
	var out bytes.Buffer
	err := a.bolt.View(func(ta *bolt.Tx) error {
		return b.bolt.View(func(tb *bolt.Tx) error {
			for _, name := range doorBuckets {
				ba, bb := ta.Bucket(name), tb.Bucket(name)
				if sa, sb := ba.Sequence(), bb.Sequence(); sa != sb {
					fmt.Fprintf(&out, "bucket %s: sequence %d, %d\n", name, sa, sb)
				}
				ca, cb := ba.Cursor(), bb.Cursor()
				ka, va := ca.First()
				kb, vb := cb.First()
				n := 0
				for (ka != nil || kb != nil) && n < 5 {
					switch c := bytes.Compare(ka, kb); {
					case ka != nil && (kb == nil || c < 0):
						fmt.Fprintf(&out, "bucket %s: key %x only in the first\n", name, ka)
						ka, va = ca.Next()
						n++
					case kb != nil && (ka == nil || c > 0):
						fmt.Fprintf(&out, "bucket %s: key %x only in the second\n", name, kb)
						kb, vb = cb.Next()
						n++
					default:
						if !bytes.Equal(va, vb) {
							fmt.Fprintf(&out, "bucket %s: key %x: %q and %q\n", name, ka, va, vb)
							n++
						}
						ka, va = ca.Next()
						kb, vb = cb.Next()
					}
				}
			}
			return nil
		})
	})
	return out.String(), err
}

// ZoneBucketKeys counts the keys of the zone buckets.
func ZoneBucketKeys(db *DB) (n int) {
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		for _, name := range doorBuckets {
			n += tx.Bucket(name).Stats().KeyN
		}
		return nil
	})
	return n
}

// LivePages is the pages of the bbolt file at path that its tree and
// freelist use (for tests that damage them).
func LivePages(path string) (map[uint64]bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	w, err := walkFile(path, fi.Size())
	if err != nil {
		return nil, err
	}
	return w.seen, nil
}

// NodeIndexDiff compares, in one read transaction, the name index with
// the B+tree for every name of the rr bucket, each of their ancestors and
// a few names that do not exist beside and below them: "" when every node
// is the same (state, types and values). It is an error when the index
// does not hold the transaction's generation (nothing would be compared).
func NodeIndexDiff(db *DB) (string, error) {
	var out bytes.Buffer
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := db.newView(tx)
		if v.ix == nil {
			return fmt.Errorf("no name index")
		}
		if t := v.ix.live.Load(); t == nil || t.gen.Load() != v.gen {
			return fmt.Errorf("the name index does not hold generation %d", v.gen)
		}
		names := map[string]bool{}
		c := tx.Bucket(bucketRR).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			name := string(k[:len(k)-3])
			names[name] = true
			eachAncestor([]byte(name), func(a []byte) { names[string(a)] = true })
			names[name+"zz\x00"] = true
			names[name[:len(name)-1]+"q\x00"] = true
			names[name+"\x01\x01\x00"] = true
		}
		names["\x00\x00\x00\x00\x00\x00\x03\xe7"] = true // a zone id no zone has
		var a, b Node
		diffs := 0
		for name := range names {
			if len(name) > 8 && isNSEC3Key([]byte(name[8:])) {
				continue // not a name: no query reads it
			}
			v.key = append(v.key[:0], name...)
			a.State, a.Types, a.Vals = NodeMissing, a.Types[:0], a.Vals[:0]
			if !v.indexedNode(&a) {
				return fmt.Errorf("the name index stopped holding generation %d", v.gen)
			}
			b.State, b.Types, b.Vals = NodeMissing, b.Types[:0], b.Vals[:0]
			nodeFromCursor(tx.Bucket(bucketRR).Cursor(), []byte(name), &b)
			if !sameNode(&a, &b) {
				if diffs++; diffs <= 10 {
					fmt.Fprintf(&out, "%x: index %v %v, tree %v %v\n", name, a.State, a.Types, b.State, b.Types)
				}
			}
		}
		if diffs > 10 {
			fmt.Fprintf(&out, "... %d in all\n", diffs)
		}
		return nil
	})
	return out.String(), err
}

// sameNode says whether two lookups found the same node: state, types and
// values byte for byte.
func sameNode(a, b *Node) bool {
	same := a.State == b.State && len(a.Types) == len(b.Types)
	for i := 0; same && i < len(a.Types); i++ {
		same = a.Types[i] == b.Types[i] && bytes.Equal(a.Vals[i], b.Vals[i])
	}
	return same
}
