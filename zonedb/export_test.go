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
