package zonedb

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A store can follow a shared, ordered log of commits (package cluster
// keeps it in etcd): each commit is worked out here, against this store
// as of the log entry it has applied last, and appended as the next entry
// before the store's own transaction commits; if another node appended
// first, the transaction is rolled back, the store catches up and the
// commit is worked out again. Entries made by other nodes are applied
// with ApplyEntry. The entry applied last is kept in the meta bucket, in
// the transaction that applies it, so a node that stops resumes from it.

// Replicator is the shared log.
type Replicator interface {
	// Append adds l as entry applied+1 and returns once the log holds it;
	// ErrBehind when that entry exists already (another node's).
	Append(l *CommitLog, applied uint64) error
	// CatchUp applies (with ApplyEntry) the entries after the one this
	// store applied last, up to the log's head.
	CatchUp() error
}

// ErrBehind is Append's answer when the store has not applied the log's
// newest entry.
var ErrBehind = errors.New("the store is behind the shared commit log")

// maxCatchUps bounds how often one commit is worked out again because
// other nodes kept appending first.
const maxCatchUps = 50

// SetReplicator makes every commit an entry of r's log (nil: none).
func (db *DB) SetReplicator(r Replicator) { db.repl = r }

// Sync brings the store up to the shared log's head, if it follows one:
// what a request reads before it commits (the config, the zone it edits)
// is then the cluster's newest, not this node's last. Without a log it
// does nothing.
func (db *DB) Sync() error {
	if db.repl == nil {
		return nil
	}
	return db.repl.CatchUp()
}

// Applied is the last log entry this store applied (0: none).
func (v *View) Applied() uint64 { return u64(v.tx.Bucket(bucketMeta).Get(keyApplied)) }

// appendToLog appends the commit being made in tx to the shared log and
// records it as applied, in tx.
func (db *DB) appendToLog(tx *bolt.Tx, l *CommitLog) error {
	m := tx.Bucket(bucketMeta)
	applied := u64(m.Get(keyApplied))
	if err := db.repl.Append(l, applied); err != nil {
		return err
	}
	return m.Put(keyApplied, be64(applied+1))
}

// ErrLogUnavailable and ErrLogUnknownOutcome are the shared log's
// failures (package cluster wraps them): the log cannot be reached,
// nothing committed; or it took the commit without confirming it in time.
var (
	ErrLogUnavailable    = errors.New("the cluster's commit log (etcd) cannot be reached")
	ErrLogUnknownOutcome = errors.New("the cluster's commit log did not confirm the commit in time; it may still land when etcd recovers (the nodes then apply it): look before doing it again")
)

// ErrClusterStore refuses a commit made directly on a cluster node's
// store: it would not be in the cluster's log.
var ErrClusterStore = errors.New("this store is a cluster node's: its commits go through the cluster's log")

// changeReplicated is Change's loop when a replicator is set: a commit
// that lost the race for the next entry is worked out again after the
// store caught up.
func (db *DB) changeReplicated(run func() ([]ZoneCommit, error)) ([]ZoneCommit, error) {
	for range maxCatchUps {
		res, err := run()
		if !errors.Is(err, ErrBehind) {
			return res, err
		}
		if err := db.repl.CatchUp(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: other nodes appended first %d times in a row; try again", ErrBehind, maxCatchUps)
}

// ApplyEntry applies entry seq of the shared log, made by another node (or
// by this one before it stopped): in one transaction with the record that
// it is applied. An entry applied already is skipped (false); one past the
// next is an error (a gap: the caller must apply those before it).
func (db *DB) ApplyEntry(seq uint64, l *CommitLog) (bool, error) {
	applied := false
	_, err := db.update(func(tx *bolt.Tx, _ time.Time) ([]ZoneCommit, error) {
		m := tx.Bucket(bucketMeta)
		have := u64(m.Get(keyApplied))
		switch {
		case seq <= have:
			return nil, nil
		case seq != have+1:
			return nil, fmt.Errorf("log entry %d comes after %d, but this store applied %d", seq, seq-1, have)
		}
		res, err := replayTx(db, tx, l)
		if err != nil {
			return nil, err
		}
		applied = true
		return res, m.Put(keyApplied, be64(seq))
	})
	return applied, err
}
