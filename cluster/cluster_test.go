package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/cluster/etcdtest"
	"dmsdns.org/dms/zonedb"
)

// testNode is a dms store following the log.
type testNode struct {
	db  *zonedb.DB
	svc *admin.Service
	log *Log
}

func startNodes(t *testing.T, ms []*etcdtest.Member, n int, timeout time.Duration) []*testNode {
	t.Helper()
	eps := strings.Split(etcdtest.Endpoints(ms), ",")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var nodes []*testNode
	for i := range n {
		db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cli.Close(); db.Close() })
		svc := admin.New(db, nil)
		l := New(cli, db, Options{Node: fmt.Sprintf("n%d", i), Timeout: timeout})
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx) }()
		nodes = append(nodes, &testNode{db: db, svc: svc, log: l})
	}
	return nodes
}

var alice = admin.Caller{User: "alice", Host: "master", Sectag: admin.SectagAdmin}

// converge waits until every node applied the log's head and returns
// their digests.
func converge(t *testing.T, nodes []*testNode) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := nodes[0].log.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var applied []uint64
		var digests []string
		for _, n := range nodes {
			_ = n.db.View(func(v *zonedb.View) error {
				applied = append(applied, v.Applied())
				digests = append(digests, v.Digest())
				return nil
			})
		}
		same := true
		for i := range nodes {
			same = same && applied[i] == head && digests[i] == digests[0]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged: head %d, applied %v, digests %v", head, applied, digests)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addOnce adds a TXT record at rec in zone through node n, as a careful
// client does: a commit whose outcome is unknown (etcd took the append but
// did not confirm it in time, as when a member stops under load) is looked
// for before it is made again, once the log has had time to settle.
func addOnce(ctx context.Context, n *testNode, zone, rec string) error {
	for try := 0; ; try++ {
		_, err := n.svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: zone, Records: []string{rec + " TXT \"x\""}})
		if !errors.Is(err, ErrUnknownOutcome) || try == 2 {
			return err
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if hasRecord(n, zone, rec+"."+zone+".") {
				return nil // it landed after all
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func hasRecord(n *testNode, zone, owner string) bool {
	found := false
	_ = n.db.View(func(v *zonedb.View) error {
		z, err := v.Zone(zone)
		if err != nil {
			return nil
		}
		recs, _ := v.Records(z)
		for _, r := range recs {
			found = found || r.RR.Header().Name == owner && r.RR.Header().Rrtype == 16
		}
		return nil
	})
	return found
}

// TestClusterCommits: three dms stores on a three-member etcd cluster;
// commits made on all of them at once (many racing for the same log
// entry) all land once, in one order, and every store ends with the same
// contents byte for byte; an etcd member stopped and started meanwhile
// changes nothing.
func TestClusterCommits(t *testing.T) {
	ms := etcdtest.Start(t, 3)
	nodes := startNodes(t, ms, 3, 5*time.Second)
	ctx := context.Background()
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := nodes[0].svc.ConfigSet(ctx, alice, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, nodes)
	for i, n := range nodes {
		if _, err := n.svc.ZoneCreate(ctx, alice, admin.ZoneCreateRequest{Name: fmt.Sprintf("z%d.example", i)}); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, nodes)
	const perWriter = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[w%3]
			for i := range perWriter {
				if w == 0 && i == perWriter/2 {
					ms[2].Stop() // a member goes away mid-storm: 2 of 3 keep quorum
				}
				zone := fmt.Sprintf("z%d.example", (w+i)%3) // zones edited from every node
				rec := fmt.Sprintf("w%di%d", w, i)
				if err := addOnce(ctx, n, zone, rec); err != nil {
					t.Errorf("commit %s on node %d: %v", rec, w%3, err)
					continue
				}
				mu.Lock()
				acked[rec+"."+zone+"."] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ms[2].Restart(t)
	converge(t, nodes)
	// Every acknowledged commit on every node, each once.
	for i, n := range nodes {
		count := 0
		_ = n.db.View(func(v *zonedb.View) error {
			for z := range 3 {
				zone, _ := v.Zone(fmt.Sprintf("z%d.example", z))
				recs, _ := v.Records(zone)
				for _, r := range recs {
					if r.RR.Header().Rrtype == 16 {
						if !acked[r.RR.Header().Name] {
							t.Errorf("node %d: %s was never acknowledged", i, r.RR.Header().Name)
						}
						count++
					}
				}
			}
			return nil
		})
		if count != len(acked) || len(acked) != 6*perWriter {
			t.Errorf("node %d: %d records, %d acknowledged", i, count, len(acked))
		}
	}
	// The event log follows too.
	var evs []int
	for _, n := range nodes {
		_ = n.db.View(func(v *zonedb.View) error {
			e, _ := v.Events(zonedb.EventFilter{Limit: 100000})
			evs = append(evs, len(e))
			return nil
		})
	}
	if evs[0] != evs[1] || evs[0] != evs[2] || evs[0] < 6*perWriter {
		t.Errorf("events per node %v", evs)
	}
}

// TestClusterQuorumLoss: without etcd's quorum, a commit is refused
// within the timeout, saying why, and reads go on; when quorum comes
// back, commits go through and the stores agree.
func TestClusterQuorumLoss(t *testing.T) {
	ms := etcdtest.Start(t, 3)
	nodes := startNodes(t, ms, 2, 2*time.Second)
	ctx := context.Background()
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := nodes[0].svc.ConfigSet(ctx, alice, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	// A request through the operations table reads the cluster's newest
	// state (Sync): node 1 sees the config node 0 just set.
	var res admin.CommitResult
	if err := (&admin.LocalClient{S: nodes[1].svc, Caller: alice}).Call(ctx, "zone.create", admin.ZoneCreateRequest{Name: "q.example"}, &res); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)
	ms[1].Stop()
	ms[2].Stop()
	// Past the election timeout the remaining member knows it has no
	// quorum: a commit is then refused for certain (a commit sent in the
	// moment before may end either way: ErrUnknownOutcome says so).
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	_, err := nodes[0].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "q.example", Records: []string{"lost A 192.0.2.1"}})
	took := time.Since(start)
	if !errors.Is(err, Unreachable) || !strings.Contains(err.Error(), "nothing committed") || took > 10*time.Second {
		t.Fatalf("commit without quorum: %v after %v", err, took)
	}
	// Reads still answer, from the node's own store.
	if _, err := nodes[0].svc.ZoneShow(ctx, alice, admin.ZoneRequest{Name: "q.example"}); err != nil {
		t.Errorf("read without quorum: %v", err)
	}
	ms[1].Restart(t)
	ms[2].Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := nodes[0].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "q.example", Records: []string{"back A 192.0.2.2"}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("commits did not come back with quorum: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	converge(t, nodes)
	_ = nodes[1].db.View(func(v *zonedb.View) error {
		z, _ := v.Zone("q.example")
		if rr, _ := v.RRset(z, "lost.q.example.", 1); len(rr) != 0 {
			t.Error("the refused commit landed")
		}
		if rr, _ := v.RRset(z, "back.q.example.", 1); len(rr) != 1 {
			t.Error("the commit after quorum came back is not on the other node")
		}
		return nil
	})
}

// TestClusterCompactionAndJoin: once every node applied them, old entries
// go (chunks too); a new, empty store can then not start from the log and
// is told so, while a store restored from a node's backup catches up from
// the entry it holds and ends equal to the others. A commit larger than
// one etcd value goes in chunks and applies the same.
func TestClusterCompactionAndJoin(t *testing.T) {
	ms := etcdtest.Start(t, 3)
	nodes := startNodes(t, ms, 2, 5*time.Second)
	ctx := context.Background()
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := nodes[0].svc.ConfigSet(ctx, alice, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	// A zone of 30 000 records: its entry is some 4 MB, in chunks.
	var text strings.Builder
	text.WriteString("$TTL 3600\n@ IN SOA ns1.example.net. h.example.net. 1 600 600 604800 600\n  IN NS ns1.example.net.\n")
	for i := range 30000 {
		fmt.Fprintf(&text, "h%d IN A 10.0.%d.%d\n", i, i/256%256, i%256)
	}
	if _, err := nodes[1].svc.ZoneLoad(ctx, alice, admin.ZoneLoadRequest{Name: "big.example", Text: text.String()}); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)
	for i := range 10 {
		if _, err := nodes[i%2].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "big.example", Records: []string{fmt.Sprintf("r%d TXT x", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	converge(t, nodes)
	if r, err := nodes[0].log.cli.Get(ctx, "/dms/chunk/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || r.Count < 3 {
		t.Fatalf("the 30 000-record load is not in chunks: %v %v", r, err)
	}
	// A backup of node 0 now, for a node that joins later.
	bk := filepath.Join(t.TempDir(), "n0.db")
	var buf bytes.Buffer
	if _, err := nodes[0].svc.Backup(ctx, alice, &buf, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bk, buf.Bytes(), 0o600)
	// Both nodes register their applied entry; then the old entries go.
	ctxS, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, n := range nodes {
		go n.log.Serve(ctxS, NodeInfo{Name: fmt.Sprintf("n%d", i)}, func(context.Context) {})
	}
	time.Sleep(1500 * time.Millisecond)
	gone, err := nodes[0].log.Compact(ctx, 0)
	if err != nil || gone < 10 {
		t.Fatalf("compaction: %d entries, %v", gone, err)
	}
	if _, err := nodes[1].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "big.example", Records: []string{"after TXT x"}}); err != nil {
		t.Fatal(err)
	}
	converge(t, nodes)

	eps := strings.Split(etcdtest.Endpoints(ms), ",")
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// The load's chunks went with its entry.
	if r, err := cli.Get(ctx, "/dms/chunk/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil || r.Count != 0 {
		t.Errorf("chunks left after compaction: %v %v", r, err)
	}
	// An empty store cannot start from the compacted log.
	empty, err := zonedb.Open(filepath.Join(t.TempDir(), "empty.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	if err := New(cli, empty, Options{Node: "late"}).CatchUp(); !errors.Is(err, ErrCompacted) || !strings.Contains(err.Error(), "fresher backup") {
		t.Fatalf("an empty store on a compacted log: %v", err)
	}
	// A store restored from the backup catches up and matches.
	dst := filepath.Join(t.TempDir(), "n2.db")
	rep, err := zonedb.Restore(bk, dst, "test", time.Now(), nil)
	if err != nil || rep.Applied == 0 || len(rep.Bumped) != 0 {
		t.Fatalf("restore of a node's backup: %+v %v", rep, err)
	}
	joined, err := zonedb.Open(dst, zonedb.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer joined.Close()
	admin.New(joined, nil)
	jl := New(cli, joined, Options{Node: "n2"})
	if err := jl.CatchUp(); err != nil {
		t.Fatal(err)
	}
	converge(t, append(nodes, &testNode{db: joined, log: jl}))
}
