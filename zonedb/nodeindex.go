package zonedb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The name index: every name of the rr bucket that a query can find (a
// node with published RRsets, or an empty non-terminal), in a hash table
// in memory, so that the query path finds a node in one probe instead of a
// B+tree descent through the mmap.
//
// Why: at 1 000 000 names a bbolt Seek touches about four pages and a
// dozen keys spread over them; its cache and TLB misses were half of what
// dms spends per query above the socket path (bench/run.sh, perf). The
// index costs one slot load and one entry read, both in memory that the
// query path keeps warm.
//
// What it holds: for each name key (zone id | name key, as in rr) the
// node's state and its published RRsets as stored (type and encoded
// value, in rr's order), copied out of the store, so that the index does
// not depend on where bbolt keeps its pages. A name not in a complete
// index is missing. NSEC3 chain keys (0x01 0xFF | hash) are not names and
// are left out, but they do make the apex an empty non-terminal as they do
// for the B+tree lookup (View.nodeAt), so both give the same node.
//
// Consistency: a table says which store generation it holds (gen). A View
// uses it only when that is the generation the View sees, read before and
// after the lookup (a seqlock: a table being changed says 0); otherwise it
// reads the B+tree. Every commit that bumps the generation works out,
// inside its write transaction, the new state of each name it touched and
// of their ancestors, and hands that to the index once the commit is
// durable; commits may arrive out of order and wait their turn (pending).
// A commit that touched too many names, or destroyed a zone, has the index
// built anew from a read transaction in the background, and the commits
// that land meanwhile are queued for the new table. Until a table is
// ready the B+tree answers: correct, only slower.
//
// Memory: the table is two flat allocations kinds, slots (8 bytes each,
// at most half full) and 4 MiB chunks of entry bytes; neither holds Go
// pointers, so the garbage collector never scans them. A changed entry is
// written anew at the end of the last chunk; the table is rebuilt when
// the dead bytes outgrow the live ones.

const (
	ixChunkBits = 24 // offsets within a chunk: 16 MiB at most
	ixChunkSize = 4 << 20
	ixTombstone = 1
	ixLocMask   = 1<<48 - 1
	ixStateData = 1
	ixStateENT  = 2
	ixMinSlots  = 1024
)

// ixMaxTouched: a commit that touches more names has the index built
// anew (a variable for tests).
var ixMaxTouched = 20000

// ixGarbageSlop: the table is rebuilt once the space of replaced entries
// passes that of live ones by this much (a variable for tests).
var ixGarbageSlop int64 = 16 << 20

// ixBuildHook, when set (tests), runs while a build holds its read
// transaction, before the table is installed.
var ixBuildHook func()

// nodeIndex is a store's name index and the bookkeeping that keeps it in
// step with the commits.
type nodeIndex struct {
	db   *DB
	live atomic.Pointer[nodeTable]
	// closing stops a build under way (DB.Close).
	closing atomic.Bool

	mu sync.Mutex
	// applied is the last generation whose changes are in the live table
	// or in queue (the updates for the table being built).
	applied  uint64
	pending  map[uint64]*nodeUpdate
	building bool
	restart  bool
	queue    []*nodeUpdate
	// built, when set, is called after each table is installed (tests,
	// and serve's log line).
	built func(NodeIndexStats)
}

// nodeUpdate is what one commit did to the names: each touched name and
// ancestor with its new entry (nil: the name is missing now). rebuild says
// the commit changed too much to list.
type nodeUpdate struct {
	gen     uint64
	rebuild bool
	keys    [][]byte
	entries [][]byte
}

// NodeIndexStats describes an installed name index.
type NodeIndexStats struct {
	Generation uint64
	Names      int   // names held (nodes and empty non-terminals)
	Bytes      int64 // memory held: slots and entry chunks
	Millis     int64 // time the build took
}

// EnableNodeIndex builds the store's name index in the background and from
// then on keeps it in step with every commit (dms serve). built, if not
// nil, is called once each time a table is installed. Until the first is
// ready, lookups read the B+tree.
func (db *DB) EnableNodeIndex(built func(NodeIndexStats)) error {
	ix := &nodeIndex{db: db, pending: map[uint64]*nodeUpdate{}, built: built}
	// Set under the write lock: a commit sees the index from its start
	// (and hands over what it changed), or is durable before the build
	// reads the store.
	return db.bolt.Update(func(tx *bolt.Tx) error {
		ix.mu.Lock()
		defer ix.mu.Unlock()
		ix.applied = u64(tx.Bucket(bucketMeta).Get(keyGeneration))
		db.ix.Store(ix)
		ix.startBuild()
		return nil
	})
}

// NodeIndexStats describes the installed name index; false when there is
// none (not enabled, or being built).
func (db *DB) NodeIndexStats() (NodeIndexStats, bool) {
	ix := db.nodeIndexOf()
	if ix == nil {
		return NodeIndexStats{}, false
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	t := ix.live.Load()
	if t == nil {
		return NodeIndexStats{}, false
	}
	return t.stats(), true
}

// nodeIndexOf is the index commits must keep in step (nil: none).
func (db *DB) nodeIndexOf() *nodeIndex { return db.ix.Load() }

// nodeIndexReady reports whether the name index holds the store's current
// generation.
func (db *DB) nodeIndexReady() bool {
	ix := db.nodeIndexOf()
	if ix == nil {
		return false
	}
	t := ix.live.Load()
	return t != nil && t.gen.Load() == db.gen.Load()
}

// WaitNodeIndex waits up to timeout for the name index to hold the
// store's current generation (tests and tools that measure it); false
// when it did not.
func (db *DB) WaitNodeIndex(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !db.nodeIndexReady() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// startBuild starts a build unless one is under way (then it starts
// again when done). ix.mu is held.
func (ix *nodeIndex) startBuild() {
	ix.live.Store(nil)
	if ix.building {
		ix.restart = true
		return
	}
	ix.building, ix.restart, ix.queue = true, false, nil
	go ix.buildLoop()
}

func (ix *nodeIndex) buildLoop() {
	for {
		start := time.Now()
		var t *nodeTable
		var gen uint64
		err := ix.db.bolt.View(func(tx *bolt.Tx) error {
			gen = u64(tx.Bucket(bucketMeta).Get(keyGeneration))
			var err error
			t, err = buildNodeTable(tx, &ix.closing)
			if ixBuildHook != nil {
				ixBuildHook()
			}
			if err == nil {
				// The walk mapped the whole store; queries need little of
				// it now.
				ix.db.dropMapped(tx)
			}
			return err
		})
		ix.mu.Lock()
		if err != nil || ix.closing.Load() {
			// The store is closing (or unreadable: the B+tree answers).
			ix.building = false
			ix.mu.Unlock()
			return
		}
		if ix.restart {
			ix.restart, ix.queue = false, nil
			ix.mu.Unlock()
			continue
		}
		// The commits that landed since the table was read (too many
		// names for it: read again).
		fits := true
		for _, u := range ix.queue {
			if u.gen > gen {
				if fits = t.fits(len(u.keys)); !fits {
					break
				}
				t.apply(u)
			}
		}
		if !fits {
			ix.queue = nil
			ix.mu.Unlock()
			continue
		}
		if ix.applied < gen {
			// Commits up to gen are in the table; those whose turn has
			// not come yet are skipped when it does.
			ix.applied = gen
			for g := range ix.pending {
				if g <= gen {
					delete(ix.pending, g)
				}
			}
		}
		t.gen.Store(ix.applied)
		ix.queue, ix.building = nil, false
		ix.live.Store(t)
		st := t.stats()
		// Commits that came in out of order while the table was read
		// may be next now.
		ix.drain()
		st.Millis = time.Since(start).Milliseconds()
		built := ix.built
		ix.mu.Unlock()
		if built != nil {
			built(st)
		}
		return
	}
}

// committed takes the update of a durable commit and applies those whose
// turn has come.
func (ix *nodeIndex) committed(gen uint64, u *nodeUpdate) {
	u.gen = gen
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if gen > ix.applied { // else in the table already (a build read it)
		ix.pending[gen] = u
	}
	ix.drain()
}

// drain applies the pending updates whose turn has come, in generation
// order. ix.mu is held.
func (ix *nodeIndex) drain() {
	for {
		next, ok := ix.pending[ix.applied+1]
		if !ok {
			return
		}
		delete(ix.pending, ix.applied+1)
		ix.applied++
		switch {
		case next.rebuild:
			ix.startBuild()
		case ix.building:
			ix.queue = append(ix.queue, next)
		default:
			t := ix.live.Load()
			if t == nil || !t.fits(len(next.keys)) {
				ix.startBuild()
				continue
			}
			t.gen.Store(0) // readers go to the B+tree while it changes
			t.apply(next)
			if t.needsRebuild() {
				ix.startBuild()
				continue
			}
			t.gen.Store(next.gen)
		}
	}
}

// close stops a build under way.
func (ix *nodeIndex) close() { ix.closing.Store(true) }

// nodeTable is one hash table of names. Readers use slots and chunks
// with atomic loads only; one writer at a time (under nodeIndex.mu, or
// the builder before the table is installed).
type nodeTable struct {
	gen    atomic.Uint64
	seed   maphash.Seed
	mask   uint64
	slots  []atomic.Uint64
	chunks atomic.Pointer[[][]byte]

	// The writer's: the chunk being filled, and counts for deciding
	// when to build anew.
	cur                []byte
	used, dead         int // slots holding an entry, tombstones
	liveBytes, garbage int64
	chunkBytes         int64
}

func (t *nodeTable) stats() NodeIndexStats {
	return NodeIndexStats{Generation: t.gen.Load(), Names: t.used, Bytes: int64(len(t.slots))*8 + t.chunkBytes}
}

// needsRebuild: more than half full, or too much dead entry space.
func (t *nodeTable) needsRebuild() bool {
	return (t.used+t.dead)*2 > len(t.slots) || t.garbage > t.liveBytes+ixGarbageSlop
}

// hashKey returns the key's hash and its tag: the top 16 bits with the
// high bit set, so that a slot holding an entry is never 0 (empty) or a
// tombstone.
func (t *nodeTable) hashKey(key []byte) (uint64, uint64) {
	h := maphash.Bytes(t.seed, key)
	return h, (h>>48 | 0x8000) << 48
}

// entryAt returns the entry a slot points to: its key and what follows
// it. In the chunk an entry is the key's length (2 bytes), the length of
// what follows (4), the key, then what follows.
func entryAt(chunks [][]byte, s uint64) (key, rest []byte) {
	loc := s & ixLocMask
	c := chunks[loc>>ixChunkBits]
	e := c[loc&(1<<ixChunkBits-1):]
	kl, rl := int(binary.LittleEndian.Uint16(e)), int(binary.LittleEndian.Uint32(e[2:]))
	return e[6 : 6+kl], e[6+kl : 6+kl+rl : 6+kl+rl]
}

// find returns what follows key in its entry (nil: no entry).
func (t *nodeTable) find(key []byte) []byte {
	h, tag := t.hashKey(key)
	chunks := *t.chunks.Load()
	// A table is never more than three quarters full (fits), so an
	// empty slot ends every probe; the bound is only a guard.
	for i, n := h&t.mask, 0; n <= int(t.mask); i, n = (i+1)&t.mask, n+1 {
		s := t.slots[i].Load()
		if s == 0 {
			return nil
		}
		if s&^ixLocMask != tag {
			continue
		}
		if k, rest := entryAt(chunks, s); string(k) == string(key) {
			return rest
		}
	}
	return nil
}

// fits says whether n more names can be set without the table passing
// three quarters full (tombstones count: probes pass them).
func (t *nodeTable) fits(n int) bool { return (t.used+t.dead+n)*4 <= len(t.slots)*3 }

// set makes entry (state and RRsets, as appendEntry writes them) key's,
// or with entry nil removes key. Writer only; the caller has checked
// that it fits.
func (t *nodeTable) set(key, entry []byte) {
	h, tag := t.hashKey(key)
	chunks := *t.chunks.Load()
	free := -1
	i := h & t.mask
	for ; ; i = (i + 1) & t.mask {
		s := t.slots[i].Load()
		if s == 0 {
			break
		}
		if s == ixTombstone {
			if free < 0 {
				free = int(i)
			}
			continue
		}
		if s&^ixLocMask != tag {
			continue
		}
		if k, rest := entryAt(chunks, s); string(k) == string(key) {
			size := int64(6 + len(k) + len(rest))
			t.garbage += size
			t.liveBytes -= size
			if entry == nil {
				t.slots[i].Store(ixTombstone)
				t.used--
				t.dead++
				return
			}
			t.slots[i].Store(tag | t.write(key, entry))
			return
		}
	}
	if entry == nil {
		return
	}
	if free >= 0 {
		t.dead--
		i = uint64(free)
	}
	t.used++
	t.slots[i].Store(tag | t.write(key, entry))
}

// write appends an entry to the chunks and returns where it is.
func (t *nodeTable) write(key, entry []byte) uint64 {
	size := 6 + len(key) + len(entry)
	if len(t.cur)+size > cap(t.cur) {
		// Chunks double from 64 KiB up to ixChunkSize: a store of a few
		// zones holds a few KiB, not 4 MiB.
		n := min(max(64<<10, int(t.chunkBytes)), ixChunkSize)
		if size > n {
			n = size
		}
		t.cur = make([]byte, 0, n)
		t.chunkBytes += int64(n)
		old := *t.chunks.Load()
		grown := make([][]byte, len(old)+1)
		copy(grown, old)
		grown[len(old)] = t.cur[:cap(t.cur)]
		t.chunks.Store(&grown)
	}
	chunk := uint64(len(*t.chunks.Load()) - 1)
	off := len(t.cur)
	t.cur = binary.LittleEndian.AppendUint16(t.cur, uint16(len(key)))
	t.cur = binary.LittleEndian.AppendUint32(t.cur, uint32(len(entry)))
	t.cur = append(t.cur, key...)
	t.cur = append(t.cur, entry...)
	t.liveBytes += int64(size)
	return chunk<<ixChunkBits | uint64(off)
}

// apply makes a commit's changes. Writer only.
func (t *nodeTable) apply(u *nodeUpdate) {
	for i, k := range u.keys {
		t.set(k, u.entries[i])
	}
}

// An entry after its key: state (1 byte), the number of RRsets (2), then
// each RRset's type (2), value length (4) and value, little-endian.

// appendEntry appends the entry of a node with the RRsets in types and
// vals, or an empty non-terminal when there are none.
func appendEntry(dst []byte, types []uint16, vals [][]byte) []byte {
	if len(types) == 0 {
		return append(dst, ixStateENT, 0, 0)
	}
	dst = append(dst, ixStateData)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(types)))
	for i, t := range types {
		dst = binary.LittleEndian.AppendUint16(dst, t)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vals[i])))
		dst = append(dst, vals[i]...)
	}
	return dst
}

// readEntry fills n from an entry. The values point into the entry, which
// is never written again.
func readEntry(n *Node, e []byte) {
	if e[0] == ixStateENT {
		n.State = NodeENT
		return
	}
	n.State = NodeData
	cnt := int(binary.LittleEndian.Uint16(e[1:]))
	e = e[3:]
	for range cnt {
		t := binary.LittleEndian.Uint16(e)
		l := int(binary.LittleEndian.Uint32(e[2:]))
		n.Types = append(n.Types, t)
		n.Vals = append(n.Vals, e[6:6+l:6+l])
		e = e[6+l:]
	}
}

// indexedNode fills n from the name index for the name key in v.key when
// the index holds the view's generation; false sends the caller to the
// B+tree.
func (v *View) indexedNode(n *Node) bool {
	t := v.ix.live.Load()
	if t == nil || t.gen.Load() != v.gen {
		return false
	}
	e := t.find(v.key)
	if t.gen.Load() != v.gen {
		return false // changed meanwhile: what was read may be newer
	}
	if e != nil {
		readEntry(n, e)
	}
	return true
}

// SkipNodeIndex makes the view read every node from the B+tree (tests
// hold the two lookups to the same answers).
func (v *View) SkipNodeIndex() { v.ix = nil }

// eachAncestor calls fn with the key of each ancestor of a name key (zone
// id | name key) within its zone, from the apex (the zone id alone) down
// to its parent. Every 0x00 of a name key ends a label, except in an NSEC3
// chain key (0x01 0xFF | raw hash | 0x00), whose hash may hold 0x00 bytes:
// its only ancestor is the apex.
func eachAncestor(name []byte, fn func(a []byte)) {
	if isNSEC3Key(name[8:]) {
		fn(name[:8:8])
		return
	}
	for end := 8; end < len(name); end++ {
		if end == 8 || name[end-1] == 0 {
			fn(name[:end:end])
		}
	}
}

// buildNodeTable reads every name of the rr bucket into a new table:
// the entries go to the chunks as the walk finds them, and into slots
// once their number is known.
func buildNodeTable(tx *bolt.Tx, stop *atomic.Bool) (*nodeTable, error) {
	t := &nodeTable{seed: maphash.MakeSeed()}
	t.chunks.Store(&[][]byte{})
	var locs []uint64
	ent := []byte{ixStateENT, 0, 0}
	// path: the names written that are ancestors of the last one (or
	// it), shortest first; each is a prefix of the next.
	var path [][]byte
	emitAncestors := func(name []byte) {
		for len(path) > 0 && !bytes.HasPrefix(name, path[len(path)-1]) {
			path = path[:len(path)-1]
		}
		eachAncestor(name, func(a []byte) {
			// path holds every ancestor of its last name: a name no
			// longer than that one is on it already.
			if len(path) == 0 || len(a) > len(path[len(path)-1]) {
				path = append(path, a)
				locs = append(locs, t.write(a, ent))
			}
		})
	}
	var types []uint16
	var vals [][]byte
	var entry []byte
	c := tx.Bucket(bucketRR).Cursor()
	k, val := c.First()
	for k != nil {
		if stop.Load() {
			return nil, errClosing
		}
		if len(k) < 11 {
			k, val = c.Next()
			continue
		}
		// Keys of a read transaction stay where they are until it ends:
		// path may keep them.
		name := k[: len(k)-3 : len(k)-3]
		types, vals = types[:0], vals[:0]
		for ; k != nil && len(k) == len(name)+3 && bytes.Equal(k[:len(name)], name); k, val = c.Next() {
			if published(val) {
				types = append(types, binary.BigEndian.Uint16(k[len(k)-2:]))
				vals = append(vals, val)
			}
		}
		if len(types) == 0 {
			continue
		}
		emitAncestors(name)
		if isNSEC3Key(name[8:]) {
			continue
		}
		entry = appendEntry(entry[:0], types, vals)
		locs = append(locs, t.write(name, entry))
		path = append(path, name)
	}
	n := ixMinSlots
	for n < 2*len(locs)+2 {
		n *= 2
	}
	t.mask, t.slots = uint64(n-1), make([]atomic.Uint64, n)
	chunks := *t.chunks.Load()
	for _, loc := range locs {
		key, _ := entryAt(chunks, loc)
		h, tag := t.hashKey(key)
		i := h & t.mask
		for t.slots[i].Load() != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i].Store(tag | loc)
	}
	t.used = len(locs)
	return t, nil
}

// nodeTracker collects, during one write transaction, the names whose
// RRsets it wrote.
type nodeTracker struct {
	names    map[string]struct{}
	overflow bool
}

// touch notes the name of an rr key written.
func (nt *nodeTracker) touch(key []byte) {
	if nt.overflow || len(key) < 11 {
		return
	}
	if len(nt.names) >= ixMaxTouched {
		nt.overflow, nt.names = true, nil
		return
	}
	nt.names[string(key[:len(key)-3])] = struct{}{}
}

// touchAll notes that a whole zone went (or too much to list).
func (nt *nodeTracker) touchAll() { nt.overflow, nt.names = true, nil }

// update works out the new state of each touched name and of its
// ancestors, reading the write transaction (its own writes included).
func (nt *nodeTracker) update(tx *bolt.Tx) *nodeUpdate {
	if nt.overflow {
		return &nodeUpdate{rebuild: true}
	}
	all := map[string]struct{}{}
	for name := range nt.names {
		if !isNSEC3Key([]byte(name[8:])) {
			all[name] = struct{}{}
		}
		eachAncestor([]byte(name), func(a []byte) { all[string(a)] = struct{}{} })
	}
	u := &nodeUpdate{}
	c := tx.Bucket(bucketRR).Cursor()
	var n Node
	for name := range all {
		key := []byte(name)
		n.State, n.Types, n.Vals = NodeMissing, n.Types[:0], n.Vals[:0]
		nodeFromCursor(c, key, &n)
		var entry []byte // nil: missing
		if n.State != NodeMissing {
			entry = appendEntry(nil, n.Types, n.Vals)
		}
		u.keys, u.entries = append(u.keys, key), append(u.entries, entry)
	}
	return u
}

// errClosing stops a build of the name index when the store closes.
var errClosing = errors.New("the store is closing")
