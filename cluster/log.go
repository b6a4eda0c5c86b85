// Package cluster keeps dms's commit log in etcd, so that several dms
// nodes share one history: each node serves DNS, transfers and its API
// from its own bbolt store, which is the log applied in order. A commit
// made on any node is worked out on that node's store as of the log's
// head and appended as the next entry in one etcd transaction guarded by
// a compare on the head; when another node appended first, the node
// catches up and works the commit out again (zonedb.DB.Change). Entries
// carry the commit's logical record (zonedb.CommitLog: records, instance,
// serial, signatures), so applying one re-decides nothing and every
// node's store ends byte for byte the same. etcd does the consensus; this
// package only orders dms's commits in it.
//
// Keys, under the prefix (default /dms):
//
//	head            the sequence number of the newest entry (decimal)
//	log/%020d       entry N: {"log": CommitLog} or, when larger than
//	                maxValue, {"chunks": K, "id": ID, "size": S}
//	chunk/ID/%06d   the parts of a large entry, written before it
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"dmsdns.org/dms/zonedb"
)

// maxValue bounds one value written to etcd (its default request limit is
// 1.5 MiB); a larger entry goes in chunks of this size.
const maxValue = 1 << 20

// Options configure a node's log.
type Options struct {
	// Prefix is where the log lives in etcd (default /dms).
	Prefix string
	// Node names this node (default: the host name).
	Node string
	// Timeout bounds each etcd request of a commit (default 5 s): past it
	// the commit is refused, so a cluster without quorum fails commits
	// instead of hanging them.
	Timeout time.Duration
	Log     *slog.Logger
}

// Log is a node's view of the shared commit log; it is the store's
// zonedb.Replicator.
type Log struct {
	cli  *clientv3.Client
	db   *zonedb.DB
	o    Options
	log  *slog.Logger
	mu   sync.Mutex // one catch-up at a time
	head string

	// What the metrics and /healthz read without asking etcd: the head as
	// last seen, whether this node holds the duties, when etcd last
	// answered (Unix nanoseconds).
	lastHead atomic.Uint64
	leader   atomic.Bool
	lastOK   atomic.Int64
}

// entry is one value under log/.
type entry struct {
	Log    *zonedb.CommitLog `json:"log,omitempty"`
	Chunks int               `json:"chunks,omitempty"`
	ID     string            `json:"id,omitempty"`
	Size   int               `json:"size,omitempty"`
	// Time is a chunked entry's commit time (for compaction).
	Time time.Time `json:"time,omitzero"`
}

// New makes db follow the log in etcd through cli: its commits become
// entries (db.SetReplicator). Run applies the other nodes' entries.
func New(cli *clientv3.Client, db *zonedb.DB, o Options) *Log {
	if o.Prefix == "" {
		o.Prefix = "/dms"
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Log{cli: cli, db: db, o: o, log: o.Log.With("component", "cluster"), head: o.Prefix + "/head"}
	db.SetReplicator(l)
	return l
}

func (l *Log) entryKey(seq uint64) string { return fmt.Sprintf("%s/log/%020d", l.o.Prefix, seq) }
func (l *Log) chunkKey(id string, n int) string {
	return fmt.Sprintf("%s/chunk/%s/%06d", l.o.Prefix, id, n)
}

// Unreachable wraps the errors of a log that cannot be reached.
var Unreachable = zonedb.ErrLogUnavailable

// ErrUnknownOutcome: etcd took the commit's append but did not confirm it
// in time (it lost its quorum meanwhile): the entry may still land when
// the quorum is back, and every node, this one too, then applies it.
var ErrUnknownOutcome = zonedb.ErrLogUnknownOutcome

// Append implements zonedb.Replicator: entry applied+1, if the head is
// still applied.
func (l *Log) Append(c *zonedb.CommitLog, applied uint64) error {
	data, err := json.Marshal(entry{Log: c})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.o.Timeout)
	defer cancel()
	// A linearizable read first: without a quorum it fails before anything
	// is sent, so the commit is refused for certain.
	if _, err := l.cli.Get(ctx, l.head); err != nil {
		return fmt.Errorf("%w: %v; nothing committed", Unreachable, err)
	}
	next := applied + 1
	value := string(data)
	var chunkID string
	if len(data) > maxValue {
		if value, chunkID, err = l.putChunks(ctx, data, c.Time); err != nil {
			return fmt.Errorf("%w: %v; nothing committed", Unreachable, err)
		}
	}
	cmp := clientv3.Compare(clientv3.Value(l.head), "=", strconv.FormatUint(applied, 10))
	if applied == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(l.head), "=", 0)
	}
	resp, err := l.cli.Txn(ctx).If(cmp).Then(
		clientv3.OpPut(l.head, strconv.FormatUint(next, 10)),
		clientv3.OpPut(l.entryKey(next), value),
	).Commit()
	if err != nil {
		return fmt.Errorf("%w (%v)", ErrUnknownOutcome, err)
	}
	if !resp.Succeeded {
		if chunkID != "" {
			l.dropChunks(chunkID)
		}
		return zonedb.ErrBehind
	}
	return nil
}

// putChunks writes a large entry's parts and returns the entry naming
// them.
func (l *Log) putChunks(ctx context.Context, data []byte, at time.Time) (string, string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	id := l.o.Node + "-" + hex.EncodeToString(rnd[:])
	n := 0
	for off := 0; off < len(data); off += maxValue {
		end := min(off+maxValue, len(data))
		if _, err := l.cli.Put(ctx, l.chunkKey(id, n), string(data[off:end])); err != nil {
			l.dropChunks(id)
			return "", "", err
		}
		n++
	}
	e, _ := json.Marshal(entry{Chunks: n, ID: id, Size: len(data), Time: at})
	return string(e), id, nil
}

func (l *Log) dropChunks(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), l.o.Timeout)
	defer cancel()
	_, _ = l.cli.Delete(ctx, l.o.Prefix+"/chunk/"+id+"/", clientv3.WithPrefix())
}

// decode reads an entry's value, fetching its chunks.
func (l *Log) decode(ctx context.Context, value []byte) (*zonedb.CommitLog, error) {
	var e entry
	if err := json.Unmarshal(value, &e); err != nil {
		return nil, err
	}
	if e.Chunks == 0 {
		if e.Log == nil {
			return nil, errors.New("an entry without its commit")
		}
		return e.Log, nil
	}
	resp, err := l.cli.Get(ctx, l.o.Prefix+"/chunk/"+e.ID+"/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) != e.Chunks {
		return nil, fmt.Errorf("entry in %d chunks, %d found", e.Chunks, len(resp.Kvs))
	}
	data := make([]byte, 0, e.Size)
	for _, kv := range resp.Kvs {
		data = append(data, kv.Value...)
	}
	var whole entry
	if err := json.Unmarshal(data, &whole); err != nil || whole.Log == nil {
		return nil, fmt.Errorf("chunked entry: %v", err)
	}
	return whole.Log, nil
}

// CatchUp implements zonedb.Replicator: it applies every entry after the
// store's last, up to the head.
func (l *Log) CatchUp() error {
	_, err := l.catchUp(context.Background())
	return err
}

// catchUp applies the entries after the store's last and returns the etcd
// revision it read them at (a watch goes on from there).
func (l *Log) catchUp(ctx context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := l.o.Prefix + "/log0" // just past every log/ key
	for {
		var applied uint64
		_ = l.db.View(func(v *zonedb.View) error { applied = v.Applied(); return nil })
		if err := l.checkNotCompacted(ctx, applied); err != nil {
			return 0, err
		}
		rctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
		resp, err := l.cli.Get(rctx, l.entryKey(applied+1), clientv3.WithRange(end), clientv3.WithLimit(64),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			cancel()
			return 0, fmt.Errorf("%w: %v", Unreachable, err)
		}
		for _, kv := range resp.Kvs {
			seq, err := strconv.ParseUint(string(kv.Key[len(l.o.Prefix)+len("/log/"):]), 10, 64)
			if err != nil {
				cancel()
				return 0, fmt.Errorf("log key %q: %v", kv.Key, err)
			}
			c, err := l.decode(rctx, kv.Value)
			if err != nil {
				cancel()
				return 0, fmt.Errorf("log entry %d: %w", seq, err)
			}
			if _, err := l.db.ApplyEntry(seq, c); err != nil {
				cancel()
				return 0, fmt.Errorf("log entry %d: %w", seq, err)
			}
		}
		cancel()
		l.lastOK.Store(time.Now().UnixNano())
		if !resp.More {
			return resp.Header.Revision, nil
		}
	}
}

// ErrCompacted is returned to a node whose next entry the log no longer
// holds: it must start again from a fresher backup of a peer.
var ErrCompacted = errors.New("the cluster's commit log no longer holds the entries this store needs")

// checkNotCompacted refuses to go on when the log was compacted past the
// entry after applied (its oldest entry is later), which a plain range
// read would skip silently.
func (l *Log) checkNotCompacted(ctx context.Context, applied uint64) error {
	oldest, err := l.oldest(ctx)
	if err != nil || oldest == 0 || oldest <= applied+1 {
		return err
	}
	return fmt.Errorf("%w: it applied entry %d, the oldest kept is %d; restore a fresher backup of a node (dms cluster join)", ErrCompacted, applied, oldest)
}

// oldest is the sequence number of the oldest entry kept (0: none).
func (l *Log) oldest(ctx context.Context) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
	defer cancel()
	resp, err := l.cli.Get(rctx, l.o.Prefix+"/log/", clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(1),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", Unreachable, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	return strconv.ParseUint(string(resp.Kvs[0].Key[len(l.o.Prefix)+len("/log/"):]), 10, 64)
}

// Compact drops the log entries every registered node has applied and
// that are older than keep, with their chunks, keeping the newest entry
// (the head's), and compacts etcd's history up to then. The elected node
// runs it. It returns how many entries went.
func (l *Log) Compact(ctx context.Context, keep time.Duration) (int, error) {
	st := l.Status(ctx, l.o.Node)
	if st.Error != "" {
		return 0, errors.New(st.Error)
	}
	upTo := st.Head
	for _, n := range st.Nodes {
		upTo = min(upTo, n.Applied)
	}
	if upTo <= 1 {
		return 0, nil
	}
	upTo-- // the newest entry stays
	cutoff := time.Now().Add(-keep)
	rctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
	defer cancel()
	resp, err := l.cli.Get(rctx, l.o.Prefix+"/log/", clientv3.WithRange(l.entryKey(upTo+1)), clientv3.WithLimit(1000),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, kv := range resp.Kvs {
		var e entry
		if json.Unmarshal(kv.Value, &e) != nil {
			continue
		}
		at := e.Time
		if e.Log != nil {
			at = e.Log.Time
		}
		if at.After(cutoff) {
			break // entries are in time order: the rest are younger
		}
		if e.ID != "" {
			l.dropChunks(e.ID)
		}
		if _, err := l.cli.Delete(rctx, string(kv.Key)); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		if _, err := l.cli.Compact(rctx, resp.Header.Revision); err != nil {
			l.log.Warn("compacting etcd's history", "err", err)
		}
	}
	return n, nil
}

// Run applies the entries other nodes append, as they come, until ctx
// ends: a catch-up, then a watch of the log from there; a watch that
// breaks (etcd unreachable, compacted) catches up again.
func (l *Log) Run(ctx context.Context) {
	for ctx.Err() == nil {
		rev, err := l.catchUp(ctx)
		if err != nil {
			l.log.Warn("catching up with the commit log", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		wch := l.cli.Watch(clientv3.WithRequireLeader(ctx), l.o.Prefix+"/log/", clientv3.WithPrefix(), clientv3.WithRev(rev+1))
		for wr := range wch {
			if err := wr.Err(); err != nil {
				l.log.Warn("watching the commit log", "err", err)
				break
			}
			if len(wr.Events) == 0 {
				continue
			}
			if _, err := l.catchUp(ctx); err != nil {
				l.log.Warn("applying the commit log", "err", err)
				break
			}
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Head is the sequence number of the log's newest entry.
func (l *Log) Head(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
	defer cancel()
	resp, err := l.cli.Get(ctx, l.head)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", Unreachable, err)
	}
	l.lastOK.Store(time.Now().UnixNano())
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	h, err := strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64)
	if err == nil {
		l.lastHead.Store(h)
	}
	return h, err
}

// Health is nil while etcd answered this node within the last 10 s, else
// why not (for /healthz: the node still answers DNS from its store, but
// takes no commits).
func (l *Log) Health() error {
	last := time.Unix(0, l.lastOK.Load())
	if since := time.Since(last); since > 10*time.Second {
		return fmt.Errorf("%w: no answer for %s", Unreachable, since.Round(time.Second))
	}
	return nil
}

// Applied, LastHead and Leader are what the metrics show: the entry this
// store applied last, the head as last seen, whether this node holds the
// cluster's duties.
func (l *Log) Applied() uint64 {
	var a uint64
	_ = l.db.View(func(v *zonedb.View) error { a = v.Applied(); return nil })
	return a
}
func (l *Log) LastHead() uint64 { return l.lastHead.Load() }
func (l *Log) Leader() bool     { return l.leader.Load() }
