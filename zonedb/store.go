package zonedb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DB is an open dms store.
type DB struct {
	bolt *bolt.DB
	path string

	// gen is the commit generation: it moves on every commit that changed
	// anything a reader may cache (zone data or zone state).
	gen atomic.Uint64

	subMu sync.Mutex
	subs  []func(Event)

	// now is the clock (tests replace it).
	now func() time.Time

	// signer signs signed zones' commits (SetSigner).
	signer Signer
	// reverser works out auto-PTR changes (SetReverser).
	reverser Reverser
	// keepLog: commits keep their logical record and hand it to onLog
	// (KeepLog).
	keepLog bool
	onLog   func(*CommitLog)
	// repl is the shared commit log this store follows (nil: none).
	repl Replicator

	// refused counts refused requests until they are flushed to the
	// event log (refusals.go).
	refused refusals

	// ix is the name index (nodeindex.go; nil until EnableNodeIndex, set
	// once); track collects the names the write transaction under way
	// touched (only while ix is set).
	ix    atomic.Pointer[nodeIndex]
	track *nodeTracker

	// Migrated names the zones a schema migration at Open marked for
	// work (a chain rebuild), for the opener to report.
	Migrated []string
}

// Options tune Open.
type Options struct {
	// ReadOnly opens the store with a shared lock and no writes.
	ReadOnly bool
	// Create makes a new store when the file does not exist.
	Create bool
	// LockTimeout is how long to wait for another process's lock; 0 means
	// fail at once.
	LockTimeout time.Duration
	// InitialMmapSize sizes the first mmap (DESIGN.md, "A query": growth must
	// not remap under readers). 0 means 1 GiB; the file does not grow with it.
	InitialMmapSize int
	// NoSync turns off fsync per commit (tests and bulk benchmarks only).
	NoSync bool
}

// Open opens (or with Create, creates) the store at path. It refuses files
// that are not dms stores and stores of a newer schema, and migrates older
// ones.
func Open(path string, opts Options) (*DB, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !opts.Create || opts.ReadOnly {
			return nil, fmt.Errorf("%w at %s", ErrNoStore, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	} else if err := sniff(path); err != nil {
		return nil, err
	}
	mmap := opts.InitialMmapSize
	if mmap == 0 {
		mmap = 1 << 30
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         timeout,
		ReadOnly:        opts.ReadOnly,
		InitialMmapSize: mmap,
		FreelistType:    bolt.FreelistMapType,
		NoSync:          opts.NoSync,
	})
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("%w: %s (is a dms serve running on it?)", ErrLocked, path)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
			errors.Is(err, bolterrors.ErrChecksum):
			return nil, fmt.Errorf("%w: %s: %v", ErrNotStore, path, err)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{bolt: bdb, path: path, now: time.Now}
	if err := db.init(opts.ReadOnly); err != nil {
		bdb.Close()
		return nil, err
	}
	return db, nil
}

// sniff checks the bbolt magic before bbolt sees the file, so that any
// other file gets a clear message instead of a checksum error.
func sniff(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open store %s: %w", path, err)
	}
	defer f.Close()
	var hdr [32]byte
	n, err := io.ReadFull(f, hdr[:])
	if n == 0 && (err == io.EOF) {
		return nil // empty file: bbolt initializes it
	}
	// bbolt meta page: page header (16 bytes) then magic 0xED0CDAED.
	if err != nil || binary.LittleEndian.Uint32(hdr[16:20]) != 0xED0CDAED {
		return fmt.Errorf("%w: %s is not a bbolt file (move it away or give another --db path)", ErrNotStore, path)
	}
	return nil
}

func (db *DB) init(readOnly bool) error {
	if readOnly {
		return db.bolt.View(func(tx *bolt.Tx) error {
			m := tx.Bucket(bucketMeta)
			if m == nil {
				return fmt.Errorf("%w: %s has no dms data (a bbolt file of another program?)", ErrNotStore, db.path)
			}
			if err := checkSchema(m, db.path); err != nil {
				return err
			}
			db.gen.Store(u64(m.Get(keyGeneration)))
			return nil
		})
	}
	// A store that is set up and current needs no write: opening must not
	// change the file.
	ready := false
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		if err := checkSchema(m, db.path); err != nil {
			return err
		}
		ready = string(m.Get(keySchema)) == strconv.Itoa(SchemaVersion)
		for _, b := range allBuckets {
			ready = ready && tx.Bucket(b) != nil
		}
		db.gen.Store(u64(m.Get(keyGeneration)))
		return nil
	}); err != nil || ready {
		return err
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			// A new store, or a bbolt file of some other program.
			if c := tx.Cursor(); func() bool { k, _ := c.First(); return k != nil }() {
				return fmt.Errorf("%w: %s is a bbolt file of another program", ErrNotStore, db.path)
			}
			for _, b := range allBuckets {
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
			m = tx.Bucket(bucketMeta)
			if err := m.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
				return err
			}
			if err := m.Put(keyCreated, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		if err := checkSchema(m, db.path); err != nil {
			return err
		}
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if v, _ := strconv.Atoi(string(m.Get(keySchema))); v < SchemaVersion {
			if v < 2 {
				var err error
				if db.Migrated, err = migrateChains(tx); err != nil {
					return fmt.Errorf("migrate %s to schema 2: %w", db.path, err)
				}
			}
			if err := m.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
				return err
			}
		}
		db.gen.Store(u64(m.Get(keyGeneration)))
		return nil
	})
}

func checkSchema(m *bolt.Bucket, path string) error {
	v, err := strconv.Atoi(string(m.Get(keySchema)))
	if err != nil {
		return fmt.Errorf("%w: %s has no schema version", ErrNotStore, path)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s has schema %d, this dms knows up to %d (run a newer dms, or restore a backup made by this version)",
			ErrSchemaTooNew, path, v, SchemaVersion)
	}
	return nil
}

// Close closes the store.
func (db *DB) Close() error {
	if ix := db.nodeIndexOf(); ix != nil {
		ix.close()
	}
	if err := db.FlushRefusals(); err != nil && !db.bolt.IsReadOnly() {
		db.bolt.Close()
		return err
	}
	return db.bolt.Close()
}

// PageWrites counts the pages written to the store file since it was
// opened (bbolt's own count): what requests cost the disk.
func (db *DB) PageWrites() int64 { st := db.bolt.Stats(); return st.TxStats.GetWrite() }

// OpenReadTxns is the number of read transactions open now (Views and
// snapshots): an idle server holds none.
func (db *DB) OpenReadTxns() int { return db.bolt.Stats().OpenTxN }

// Path is the store's file name.
func (db *DB) Path() string { return db.path }

// Generation is the commit generation: it changes after every commit that
// changed zone data or zone state. Readers that hold a read transaction
// renew it when the generation moves.
func (db *DB) Generation() uint64 { return db.gen.Load() }

// Size is the store's file size in bytes.
func (db *DB) Size() int64 {
	var n int64
	_ = db.bolt.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// RecordFill is how full the record bucket's leaf pages are (bytes in use
// over bytes allocated, 0..1): bulk writes pack pages to 90%, scattered
// edits leave them about half full. The rest is space the store's file
// and the memory that maps it carry for nothing.
func (db *DB) RecordFill() float64 {
	var f float64
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if s := tx.Bucket(bucketRR).Stats(); s.LeafAlloc > 0 {
			f = float64(s.LeafInuse) / float64(s.LeafAlloc)
		}
		return nil
	})
	return f
}

// Now is the store's clock (commit times, signature windows).
func (db *DB) Now() time.Time { return db.now().UTC() }

// SetClock replaces the clock used for commit times (tests).
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Event tells subscribers what a commit changed.
type Event struct {
	Generation uint64
	Zones      []ZoneCommit
}

// Subscribe registers fn to run after every commit, once the write
// transaction is finished and its locks released. fn must not block long:
// NOTIFY and cache drops queue their work.
func (db *DB) Subscribe(fn func(Event)) {
	db.subMu.Lock()
	db.subs = append(db.subs, fn)
	db.subMu.Unlock()
}

func (db *DB) publish(ev Event) {
	db.gen.Store(ev.Generation)
	db.subMu.Lock()
	subs := db.subs
	db.subMu.Unlock()
	for _, fn := range subs {
		fn(ev)
	}
}

// WriteTo writes a consistent copy of the store to w (hot backup).
func (db *DB) WriteTo(w io.Writer) (int64, error) {
	info, err := db.Backup(w, nil)
	return info.Bytes, err
}

// NoteBackup records when the last whole backup was written (dms_backup
// metric). Bookkeeping, not store data: the generation does not move.
func (db *DB) NoteBackup(t time.Time) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyBackup, []byte(t.UTC().Format(time.RFC3339)))
	})
}

// LastBackup is when NoteBackup last recorded a backup (zero: never).
func (v *View) LastBackup() time.Time {
	t, _ := time.Parse(time.RFC3339, string(v.tx.Bucket(bucketMeta).Get(keyBackup)))
	return t
}

// BackupInfo says what a backup holds.
type BackupInfo struct {
	Bytes      int64     `json:"bytes"`
	Zones      int       `json:"zones"`
	Instances  int       `json:"instances"`
	Generation uint64    `json:"generation"`
	Time       time.Time `json:"time"`
}

// Backup writes a consistent copy of the store to w from one read
// transaction: commits and queries go on meanwhile (bbolt's readers do not
// block the writer while the file stays within its mapping, InitialMmapSize).
// start, when set, is called with what the copy will hold before its bytes
// are written (a streaming client learns the size first).
func (db *DB) Backup(w io.Writer, start func(BackupInfo) error) (BackupInfo, error) {
	var info BackupInfo
	err := db.bolt.View(func(tx *bolt.Tx) error {
		info = BackupInfo{Bytes: tx.Size(), Zones: tx.Bucket(bucketZones).Stats().KeyN, Instances: tx.Bucket(bucketZI).Stats().KeyN,
			Generation: u64(tx.Bucket(bucketMeta).Get(keyGeneration)), Time: db.now().UTC()}
		if start != nil {
			if err := start(info); err != nil {
				return err
			}
		}
		n, err := tx.WriteTo(w)
		if err == nil && n != info.Bytes {
			err = fmt.Errorf("backup: wrote %d bytes of %d", n, info.Bytes)
		}
		return err
	})
	return info, err
}

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
