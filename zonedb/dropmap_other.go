//go:build !linux

package zonedb

import bolt "go.etcd.io/bbolt"

// dropMapped does nothing where madvise is not at hand.
func (db *DB) dropMapped(*bolt.Tx) {}
