package zonedb

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// dropMapped lets go of the store's pages in this process's map of it
// (MADV_DONTNEED on bbolt's read-only shared map): they stay in the page
// cache, and a later read maps them again. A build of the name index reads
// every page of the rr bucket once, which would otherwise leave the whole
// store resident in the server's RSS although queries no longer read most
// of it. Called inside a read transaction, so that bbolt cannot remap
// meanwhile; errors are ignored (the advice is only that).
func (db *DB) dropMapped(tx *bolt.Tx) {
	info := db.bolt.Info()
	size := uintptr(tx.Size())
	page := uintptr(syscall.Getpagesize())
	if info.Data%page != 0 || size == 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, info.Data, size-size%page, syscall.MADV_DONTNEED)
}
