package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/cluster"
	"dmsdns.org/dms/cluster/etcdtest"
)

// clusterStatus reads dms cluster status -o json through db's server.
func clusterStatus(t *testing.T, db string) (*cluster.Status, bool) {
	t.Helper()
	r := run(t, db, "", "-o", "json", "cluster", "status")
	if r.code != 0 {
		return nil, false
	}
	var st cluster.Status
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatalf("cluster status: %v\n%s", err, r.out)
	}
	return &st, true
}

// zoneAXFR is a zone's transfer from addr as sorted text (the SOA twice).
func zoneAXFR(t *testing.T, addr, zone string) string {
	t.Helper()
	m := new(dns.Msg)
	m.SetAxfr(dns.Fqdn(zone))
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Fatalf("AXFR %s from %s: %v", zone, addr, err)
	}
	var lines []string
	for env := range ch {
		if env.Error != nil {
			t.Fatalf("AXFR %s from %s: %v", zone, addr, env.Error)
		}
		for _, rr := range env.RR {
			lines = append(lines, rr.String())
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestClusterNodes: three dms serve processes on a three-member etcd
// cluster. Commits made through the three control sockets at once, while
// one node is killed (SIGKILL) and started again, all land once on every
// node, and every node's AXFR of every zone is the same; dms cluster
// status shows the nodes and the one holding the duties, and when that
// node is killed another takes them over.
func TestClusterNodes(t *testing.T) {
	ms := etcdtest.Start(t, 3)
	eps := etcdtest.Endpoints(ms)
	dir := t.TempDir()
	var dbs []string
	servers := make([]*server, 3)
	start := func(i int) {
		servers[i] = startServe(t, dbs[i], "--listen", "127.0.0.1:0", "--workers", "1", "--metrics-listen", "127.0.0.1:0",
			"--etcd", eps, "--node", fmt.Sprintf("n%d", i), "--etcd-timeout", "3s")
	}
	for i := range 3 {
		dbs = append(dbs, filepath.Join(dir, fmt.Sprintf("n%d", i), "dms.db"))
		os.MkdirAll(filepath.Dir(dbs[i]), 0o700)
		start(i)
	}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}, {"xfr_allow", "127.0.0.1"}} {
		if r := run(t, dbs[0], "", "config", "set", kv[0], kv[1]); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	for i := range 3 {
		if r := run(t, dbs[i], "", "zone", "create", fmt.Sprintf("c%d.example", i)); r.code != 0 {
			t.Fatalf("zone create on n%d: %s", i, r.err)
		}
	}
	const per = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if w == 2 && i == per/2 {
					servers[2].cmd.Process.Signal(syscall.SIGKILL)
					servers[2].cmd.Wait()
					start(2)
				}
				zone := fmt.Sprintf("c%d.example", (w+i)%3)
				rec := fmt.Sprintf("w%di%d", w, i)
				if r := run(t, dbs[w], "", "record", "add", zone, rec+" TXT \"x\""); r.code != 0 {
					t.Errorf("commit %s on n%d: %s", rec, w, r.err)
					continue
				}
				mu.Lock()
				acked[rec+"."+zone+"."] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Every node catches up with the log's head.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, ok := clusterStatus(t, dbs[0])
		done := ok && len(st.Nodes) == 3 && st.Leader != ""
		for _, n := range st.Nodes {
			done = done && n.Applied == st.Head
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes did not catch up: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The same zones from every node, with every acknowledged record once.
	for z := range 3 {
		zone := fmt.Sprintf("c%d.example", z)
		want := zoneAXFR(t, servers[0].dns, zone)
		for i := 1; i < 3; i++ {
			if got := zoneAXFR(t, servers[i].dns, zone); got != want {
				t.Errorf("%s from n%d differs from n0:\n%s\n---\n%s", zone, i, got, want)
			}
		}
		for name := range acked {
			if strings.HasSuffix(name, zone+".") && strings.Count(want, name+"\t") != 1 {
				t.Errorf("%s: %s is in the zone %d times", zone, name, strings.Count(want, name+"\t"))
			}
		}
	}
	if len(acked) != 3*per {
		t.Errorf("%d of %d commits acknowledged", len(acked), 3*per)
	}
	if r := run(t, dbs[1], "", "cluster", "status"); r.code != 0 || !strings.Contains(r.out, "duties held by n") || strings.Count(r.out, "healthy") < 3 {
		t.Errorf("cluster status: %s %s", r.out, r.err)
	}

	// A fourth node starts from a backup of one of them and catches up.
	bk := filepath.Join(dir, "n0-backup.db")
	if r := run(t, dbs[0], "", "backup", bk); r.code != 0 {
		t.Fatal(r.err)
	}
	if r := run(t, dbs[1], "", "record", "add", "c1.example", "late TXT \"after the backup\""); r.code != 0 {
		t.Fatal(r.err)
	}
	dbs = append(dbs, filepath.Join(dir, "n3", "dms.db"))
	servers = append(servers, nil)
	if r := run(t, dbs[3], "", "cluster", "join", "--from", bk); r.code != 0 || !strings.Contains(r.out, "holds the cluster's commit log up to entry") {
		t.Fatalf("cluster join: %d %s %s", r.code, r.out, r.err)
	}
	start(3)
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, ok := clusterStatus(t, dbs[3])
		if ok && st.Applied == st.Head && len(st.Nodes) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the joined node did not catch up: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for z := range 3 {
		zone := fmt.Sprintf("c%d.example", z)
		if a, b := zoneAXFR(t, servers[0].dns, zone), zoneAXFR(t, servers[3].dns, zone); a != b || !strings.Contains(zoneAXFR(t, servers[3].dns, "c1.example"), "after the backup") {
			t.Errorf("%s on the joined node differs", zone)
		}
	}

	// The duties move when their node dies.
	st, _ := clusterStatus(t, dbs[0])
	var leader int
	fmt.Sscanf(st.Leader, "n%d", &leader)
	killed := time.Now()
	servers[leader].cmd.Process.Signal(syscall.SIGKILL)
	servers[leader].cmd.Wait()
	other := dbs[(leader+1)%4]
	for {
		st, ok := clusterStatus(t, other)
		if ok && st.Leader != "" && st.Leader != fmt.Sprintf("n%d", leader) {
			t.Logf("duties moved from n%d to %s in %v", leader, st.Leader, time.Since(killed).Round(10*time.Millisecond))
			break
		}
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("the duties did not move from n%d: %+v", leader, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
