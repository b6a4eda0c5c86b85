package zonedb

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// waitNodeIndex waits until the name index holds the store's generation.
func waitNodeIndex(t testing.TB, db *DB) {
	t.Helper()
	if !db.WaitNodeIndex(10 * time.Second) {
		t.Fatalf("the name index never reached generation %d", db.Generation())
	}
}

func checkNodeIndex(t testing.TB, db *DB, what string) {
	t.Helper()
	waitNodeIndex(t, db)
	diff, err := NodeIndexDiff(db)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if diff != "" {
		t.Errorf("%s: the name index and the B+tree differ:\n%s", what, diff)
	}
}

func commitOps(t testing.TB, db *DB, zone string, ops ...RecordOp) {
	t.Helper()
	if _, err := db.Commit(&ChangeSet{ChangeBy: "test@host/Admin", Zones: []ZoneChange{{Zone: zone, Ops: ops}}}); err != nil {
		t.Fatal(err)
	}
}

func addOp(t testing.TB, line string, f Flags) RecordOp {
	r := recs(t, line)[0]
	r.Flags = f
	return RecordOp{Kind: OpAdd, Record: r}
}

// TestNodeIndexFollowsCommits: the name index gives the node the B+tree
// gives for every name (and its ancestors, and names that do not exist)
// after each kind of commit: records added and removed deep below the
// apex (empty non-terminals appear and go), records flagged DISABLE (not
// published: a name with only those is missing, or an empty non-terminal
// above published names), a wildcard, a whole replace, NSEC3 chain keys
// (not names, but they make an apex without data an empty non-terminal,
// as the B+tree says), a zone destroyed and one too large to list (both
// build the index anew). Commits that change a few names are applied in
// place: no build.
func TestNodeIndexFollowsCommits(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", append(append([]string{}, baseZone...),
		"a.b.c.example.org. 300 IN A 192.0.2.7", "*.w.example.org. 300 IN TXT wild", "x.*.w.example.org. 300 IN A 192.0.2.8"))
	createZone(t, db, "example.net.", []string{"example.net. 3600 IN SOA ns1.example.net. h.example.net. 1 600 600 604800 600",
		"example.net. 3600 IN NS ns1.example.net.", "ns1.example.net. 300 IN A 192.0.2.53"})
	var builds atomic.Int32
	if err := db.EnableNodeIndex(func(NodeIndexStats) { builds.Add(1) }); err != nil {
		t.Fatal(err)
	}
	checkNodeIndex(t, db, "first build")
	if st, _ := db.NodeIndexStats(); st.Names < 10 {
		t.Fatalf("the index holds %d names", st.Names)
	}

	inPlace := []struct {
		what string
		ops  []RecordOp
	}{
		{"a deep name added", []RecordOp{addOp(t, "p.q.r.s.example.org. 300 IN A 192.0.2.9", 0)}},
		{"a record at an empty non-terminal", []RecordOp{addOp(t, "r.s.example.org. 300 IN AAAA 2001:db8::9", 0)}},
		{"the deep name deleted", []RecordOp{{Kind: OpDeleteRRset, Name: "p.q.r.s.example.org.", Type: dns.TypeA}}},
		{"the last record below the ENT deleted", []RecordOp{{Kind: OpDeleteRRset, Name: "r.s.example.org.", Type: dns.TypeAAAA}}},
		{"a name with only a DISABLE record", []RecordOp{addOp(t, "off.example.org. 300 IN A 192.0.2.10", FlagDisable)}},
		{"a DISABLE record above a published one", []RecordOp{addOp(t, "y.z.example.org. 300 IN A 192.0.2.11", FlagDisable), addOp(t, "x.y.z.example.org. 300 IN A 192.0.2.12", 0)}},
		{"a published record beside a DISABLE one", []RecordOp{addOp(t, "off.example.org. 300 IN TXT on", 0)}},
		{"the published record below the DISABLE one gone", []RecordOp{{Kind: OpDeleteRRset, Name: "x.y.z.example.org.", Type: dns.TypeA}}},
		{"the wildcard's records", []RecordOp{addOp(t, "*.w.example.org. 300 IN A 192.0.2.13", 0), {Kind: OpDeleteRRset, Name: "x.*.w.example.org.", Type: dns.TypeA}}},
		{"a name with escaped octets", []RecordOp{addOp(t, `a\000b.example.org. 300 IN A 192.0.2.14`, 0), addOp(t, `\001.example.org. 300 IN A 192.0.2.15`, 0)}},
		{"an apex RRset", []RecordOp{addOp(t, "example.org. 300 IN MX 10 mail.example.org.", 0)}},
	}
	for _, st := range inPlace {
		before := builds.Load()
		commitOps(t, db, "example.org", st.ops...)
		checkNodeIndex(t, db, st.what)
		if builds.Load() != before {
			t.Errorf("%s: the index was built anew, not changed in place", st.what)
		}
	}

	// A whole replace of a small zone is applied in place too.
	before := builds.Load()
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.net", Replace: true, Records: recs(t,
		"example.net. 3600 IN SOA ns1.example.net. h.example.net. 1 600 600 604800 600", "example.net. 3600 IN NS ns1.example.net.",
		"ns1.example.net. 300 IN A 192.0.2.53", "deep.er.example.net. 300 IN A 192.0.2.54")}}}); err != nil {
		t.Fatal(err)
	}
	checkNodeIndex(t, db, "a zone replaced")
	if builds.Load() != before {
		t.Errorf("a small replace built the index anew")
	}

	// NSEC3 chain keys, written as the signer does (through the door),
	// with a 0x00 inside the hash: that ends no label, so the key adds no
	// name to the index, by a commit or by a build.
	names0, _ := db.NodeIndexStats()
	var netID uint64
	if _, err := db.Change("test", func(tx *Txn) error {
		z, err := tx.View().Zone("example.net.")
		if err != nil {
			return err
		}
		netID = z.ID
		key := append(be64(z.ID), 1, 0xFF, 0xAB, 0x00, 0xCD, 0, 0, byte(dns.TypeNSEC3>>8), byte(dns.TypeNSEC3))
		val := tx.rrb.Get(append(be64(z.ID), 0, 0, byte(dns.TypeA)))
		if val == nil {
			val = tx.rrb.Get(soaKeyOf(z))
		}
		return tx.putRRset(z, key, val)
	}); err != nil {
		t.Fatal(err)
	}
	checkNodeIndex(t, db, "an NSEC3 chain key")
	var n Node
	if err := db.View(func(v *View) error {
		v.key = append(be64(netID), 1, 0xFF, 0xAB, 0x00, 0xCD, 0)
		n = Node{}
		v.nodeAt(&n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n.State != NodeMissing {
		t.Errorf("an NSEC3 chain key is a name in the index: %v", n.State)
	}
	if st, _ := db.NodeIndexStats(); st.Names != names0.Names {
		t.Errorf("an NSEC3 chain key with 0x00 in its hash: %d names in the index, %d before", st.Names, names0.Names)
	}
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		built, err := buildNodeTable(tx, new(atomic.Bool))
		if err == nil && built.used != names0.Names {
			err = fmt.Errorf("a build with the chain key holds %d names, the index before it %d", built.used, names0.Names)
		}
		return err
	}); err != nil {
		t.Error(err)
	}

	// A zone destroyed, and a commit too large to list: built anew.
	before = builds.Load()
	if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.net", Destroy: true}}}); err != nil {
		t.Fatal(err)
	}
	checkNodeIndex(t, db, "a zone destroyed")
	if builds.Load() == before {
		t.Errorf("destroying a zone did not build the index anew")
	}
	old := ixMaxTouched
	ixMaxTouched = 20
	defer func() { ixMaxTouched = old }()
	big := []string{"big.example. 3600 IN SOA ns1.big.example. h.big.example. 1 600 600 604800 600", "big.example. 3600 IN NS ns1.big.example."}
	for i := range 50 {
		big = append(big, fmt.Sprintf("h%d.s%d.big.example. 300 IN A 192.0.2.%d", i, i%3, i))
	}
	before = builds.Load()
	createZone(t, db, "big.example.", big)
	checkNodeIndex(t, db, "a commit of 50 names")
	if builds.Load() == before {
		t.Errorf("a commit past ixMaxTouched did not build the index anew")
	}
}

// TestNodeIndexBuildMeetsCommits: commits that land while the index is
// being built (between its read and its installation) are in the table
// it installs.
func TestNodeIndexBuildMeetsCommits(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	var once sync.Once
	done := make(chan struct{})
	ixBuildHook = func() {
		once.Do(func() {
			for i := range 5 {
				commitOps(t, db, "example.org", addOp(t, fmt.Sprintf("n%d.late.example.org. 300 IN A 192.0.2.%d", i, i), 0))
			}
			commitOps(t, db, "example.org", RecordOp{Kind: OpDeleteRRset, Name: "mail.example.org.", Type: dns.TypeA})
			close(done)
		})
	}
	defer func() { ixBuildHook = nil }()
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	<-done
	checkNodeIndex(t, db, "commits during the build")
	if err := db.View(func(v *View) error {
		for name, want := range map[string]NodeState{"n3.late.example.org.": NodeData, "late.example.org.": NodeENT, "mail.example.org.": NodeMissing} {
			z, _ := v.FindZone(name)
			if got := v.Node(z, name).State; got != want {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNodeIndexInOrder: commits handed over out of order (their
// goroutines race once the write lock is released) are applied in
// generation order; the table says the last generation applied.
func TestNodeIndexInOrder(t *testing.T) {
	ix := &nodeIndex{pending: map[uint64]*nodeUpdate{}, applied: 5}
	tb := &nodeTable{seed: maphash.MakeSeed()}
	tb.mask, tb.slots = ixMinSlots-1, make([]atomic.Uint64, ixMinSlots)
	tb.chunks.Store(&[][]byte{})
	tb.gen.Store(5)
	ix.live.Store(tb)
	key := []byte("\x00\x00\x00\x00\x00\x00\x00\x01www\x00")
	a, b := appendEntry(nil, []uint16{1}, [][]byte{[]byte("A")}), appendEntry(nil, []uint16{1}, [][]byte{[]byte("B")})
	ix.committed(7, &nodeUpdate{keys: [][]byte{key}, entries: [][]byte{b}})
	if tb.gen.Load() != 5 || tb.find(key) != nil {
		t.Fatalf("generation 7 applied before 6")
	}
	ix.committed(6, &nodeUpdate{keys: [][]byte{key}, entries: [][]byte{a}})
	if tb.gen.Load() != 7 || string(tb.find(key)) != string(b) {
		t.Fatalf("after 6 and 7: generation %d, entry %.40q", tb.gen.Load(), tb.find(key))
	}
	ix.committed(6, &nodeUpdate{keys: [][]byte{key}, entries: [][]byte{a}}) // again: ignored
	if string(tb.find(key)) != string(b) {
		t.Errorf("an old generation applied again")
	}
}

// TestNodeIndexReadersDuringCommits: readers on views of every generation
// get from the index what the B+tree of their own view says, while
// commits change the names they read (run with -race).
func TestNodeIndexReadersDuringCommits(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	waitNodeIndex(t, db)
	names := []string{"www.example.org.", "a.b.example.org.", "b.example.org.", "example.org.", "c.b.example.org.", "mail.example.org."}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var compared, indexed atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := db.BeginView()
				if err != nil {
					t.Error(err)
					return
				}
				for range 20 {
					name := names[rng.IntN(len(names))]
					z, ok := v.FindZone(name)
					if !ok {
						t.Errorf("%s: no zone", name)
						break
					}
					var err error
					if v.key, err = AppendNameKey(be64(z.ID), name, z.Origin); err != nil {
						t.Error(err)
						break
					}
					var a, b Node
					if v.indexedNode(&a) {
						indexed.Add(1)
					} else {
						nodeFromCursor(v.rrCursor(), v.key, &a)
					}
					nodeFromCursor(v.rrCursor(), v.key, &b)
					if !sameNode(&a, &b) {
						t.Errorf("%s at generation %d: index %v %v, tree %v %v", name, v.gen, a.State, a.Types, b.State, b.Types)
					}
					compared.Add(1)
				}
				v.Close()
			}
		}()
	}
	for i := range 60 {
		if i%2 == 0 {
			commitOps(t, db, "example.org", addOp(t, fmt.Sprintf("a.b.example.org. 300 IN A 192.0.2.%d", i), 0))
		} else {
			commitOps(t, db, "example.org", RecordOp{Kind: OpDeleteRRset, Name: "a.b.example.org.", Type: dns.TypeA},
				addOp(t, fmt.Sprintf("www.example.org. 300 IN TXT t%d", i), 0))
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if compared.Load() == 0 || indexed.Load() == 0 {
		t.Errorf("%d lookups compared, %d from the index", compared.Load(), indexed.Load())
	}
	checkNodeIndex(t, db, "after the commits")
}

// TestNodeIndexGrows: commits that add more names than the table has room
// for (an empty store's table, then a zone of 1 500 names, then 400 more)
// have it built anew, larger, instead of filling it (a full table would
// never end a probe).
func TestNodeIndexGrows(t *testing.T) {
	db := openTest(t)
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	waitNodeIndex(t, db)
	zone := []string{"grow.example. 3600 IN SOA ns1.grow.example. h.grow.example. 1 600 600 604800 600", "grow.example. 3600 IN NS ns1.grow.example."}
	for i := range 1500 {
		zone = append(zone, fmt.Sprintf("h%d.grow.example. 300 IN A 192.0.2.%d", i, i%250))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		createZone(t, db, "grow.example.", zone)
		var ops []RecordOp
		for i := range 400 {
			ops = append(ops, addOp(t, fmt.Sprintf("n%d.more.grow.example. 300 IN A 192.0.2.1", i), 0))
		}
		commitOps(t, db, "grow.example", ops...)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the commits did not finish")
	}
	checkNodeIndex(t, db, "after the table grew")
	if st, _ := db.NodeIndexStats(); st.Names < 1900 {
		t.Errorf("the index holds %d names", st.Names)
	}
}

// TestNodeIndexRandomCommits: 200 commits of random record additions and
// removals at random depths (records flagged DISABLE among them, wildcard
// and escaped labels), some of them too large to list (ixMaxTouched is 30
// here), a zone destroyed and made again: after each, the index gives
// every node the B+tree gives.
func TestNodeIndexRandomCommits(t *testing.T) {
	db := openTest(t)
	old := ixMaxTouched
	ixMaxTouched = 30
	defer func() { ixMaxTouched = old }()
	apex := []string{"r.example. 3600 IN SOA ns1.r.example. h.r.example. 1 600 600 604800 600", "r.example. 3600 IN NS ns1.r.example."}
	createZone(t, db, "r.example.", apex)
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	labels := []string{"a", "b", "c", "*", `x\000`, "d-e", "A"}
	name := func() string {
		n := ""
		for range 1 + rng.IntN(4) {
			n += labels[rng.IntN(len(labels))] + "."
		}
		return n + "r.example."
	}
	landed := 0
	for i := range 200 {
		var ops []RecordOp
		count, kinds := 1+rng.IntN(4), 4
		if i%25 == 24 {
			count, kinds = 40, 3 // past ixMaxTouched (built anew); additions only, so that it lands
		}
		for range count {
			n := name()
			switch rng.IntN(kinds) {
			case 0, 1:
				f := Flags(0)
				if rng.IntN(5) == 0 {
					f = FlagDisable
				}
				ops = append(ops, addOp(t, fmt.Sprintf("%s 300 IN A 192.0.2.%d", n, rng.IntN(250)), f))
			case 2:
				ops = append(ops, addOp(t, fmt.Sprintf("%s 300 IN TXT t%d", n, rng.IntN(9)), 0))
			default:
				ops = append(ops, RecordOp{Kind: OpDeleteRRset, Name: n, Type: []uint16{dns.TypeA, dns.TypeTXT}[rng.IntN(2)]})
			}
		}
		// Some changes are refused (a name that has nothing to delete,
		// a CNAME conflict...): the index must still match.
		if _, err := db.Commit(&ChangeSet{ChangeBy: "test@host/Admin", Zones: []ZoneChange{{Zone: "r.example.", Ops: ops}}}); err == nil {
			landed++
		}
		if i == 120 {
			if _, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "r.example.", Destroy: true}}}); err != nil {
				t.Fatal(err)
			}
			createZone(t, db, "r.example.", apex)
		}
		checkNodeIndex(t, db, fmt.Sprintf("commit %d", i))
		if t.Failed() {
			return
		}
	}
	st, _ := db.NodeIndexStats()
	if st.Names < 20 || landed < 100 {
		t.Errorf("the index holds %d names at the end, %d of 200 commits landed: too little to show anything", st.Names, landed)
	}
	t.Logf("%d of 200 commits landed; %d names at the end", landed, st.Names)
}

// TestNodeIndexRebuildsOnGarbage: names rewritten in place leave their
// old entries behind; once those outgrow the live ones (by
// ixGarbageSlop, 0 here) the table is built anew, small commits and all,
// and it still gives every node the B+tree gives.
func TestNodeIndexRebuildsOnGarbage(t *testing.T) {
	db := openTest(t)
	old := ixGarbageSlop
	ixGarbageSlop = 0
	defer func() { ixGarbageSlop = old }()
	createZone(t, db, "g.example.", []string{"g.example. 3600 IN SOA ns1.g.example. h.g.example. 1 600 600 604800 600", "g.example. 3600 IN NS ns1.g.example."})
	var builds atomic.Int32
	if err := db.EnableNodeIndex(func(NodeIndexStats) { builds.Add(1) }); err != nil {
		t.Fatal(err)
	}
	waitNodeIndex(t, db)
	first := builds.Load()
	for i := range 12 {
		var ops []RecordOp
		for j := range 8 {
			name := fmt.Sprintf("n%d.g.example.", j)
			if i > 0 {
				ops = append(ops, RecordOp{Kind: OpDeleteRRset, Name: name, Type: dns.TypeTXT})
			}
			ops = append(ops, addOp(t, fmt.Sprintf("%s 300 IN TXT v%d", name, i), 0))
		}
		commitOps(t, db, "g.example.", ops...)
		checkNodeIndex(t, db, fmt.Sprintf("rewrite %d", i))
	}
	if builds.Load() == first {
		t.Errorf("12 rewrites of every name, the index never built anew")
	}
}
