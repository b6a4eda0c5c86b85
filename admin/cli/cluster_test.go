package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
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
	t.Parallel() // mostly waiting (etcd elections, leases): overlaps the rest
	ms := etcdtest.Start(t, 3)
	eps := etcdtest.Endpoints(ms)
	dir := t.TempDir()
	var dbs []string
	servers := make([]*server, 3)
	apis := make([]string, 3)
	start := func(i int) {
		servers[i] = startServe(t, dbs[i], "--listen", "127.0.0.1:0", "--workers", "1", "--metrics-listen", "127.0.0.1:0",
			"--http-listen", "127.0.0.1:0", "--etcd", eps, "--node", fmt.Sprintf("n%d", i), "--etcd-timeout", "3s")
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m := reHTTPAddr.FindStringSubmatch(servers[i].log.String()); m != nil {
				apis[i] = "http://" + m[1] + "/api/v1"
				break
			}
		}
	}
	for i := range 3 {
		dbs = append(dbs, filepath.Join(dir, fmt.Sprintf("n%d", i), "dms.db"))
		os.MkdirAll(filepath.Dir(dbs[i]), 0o700)
		start(i)
	}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}, {"xfr_allow", "127.0.0.1"},
		{"api_rate_client", "0"}, {"api_rate_login", "0"}} {
		if r := run(t, dbs[0], "", "config", "set", kv[0], kv[1]); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	if r := run(t, dbs[1], "panel-password-1\n", "api", "user", "add", "panel", "--sectag", "Admin"); r.code != 0 {
		t.Fatal(r.err)
	}
	for i := range 3 {
		if r := run(t, dbs[i], "", "zone", "create", fmt.Sprintf("c%d.example", i)); r.code != 0 {
			t.Fatalf("zone create on n%d: %s", i, r.err)
		}
	}
	// 1 000 commits: three CLI writers (one per node's control socket) and
	// an API writer going round the nodes' HTTP APIs; meanwhile node 2 is
	// killed and started again, and an etcd member stopped and started.
	const perCLI, perAPI = 200, 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	ack := func(name string) {
		mu.Lock()
		acked[name] = true
		mu.Unlock()
	}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perCLI {
				switch {
				case w == 2 && i == perCLI/2:
					servers[2].cmd.Process.Signal(syscall.SIGKILL)
					servers[2].cmd.Wait()
					start(2)
				case w == 1 && i == perCLI/4:
					ms[2].Stop()
				case w == 1 && i == perCLI*3/4:
					ms[2].Restart(t)
				}
				zone := fmt.Sprintf("c%d.example", (w+i)%3)
				rec := fmt.Sprintf("w%di%d", w, i)
				if r := run(t, dbs[w], "", "record", "add", zone, rec+" TXT \"x\""); r.code != 0 {
					t.Errorf("commit %s on n%d: %s", rec, w, r.err)
					continue
				}
				ack(rec + "." + zone + ".")
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range perAPI {
			n := i % 3
			zone := fmt.Sprintf("c%d.example", i%3)
			rec := fmt.Sprintf("api%d", i)
			body := fmt.Sprintf(`{"rrsets":[{"name":%q,"type":"TXT","ttl":300,"changetype":"REPLACE","records":[{"content":"\"y\""}]}]}`, rec)
			req, _ := http.NewRequest(http.MethodPatch, apis[n]+"/zones/"+zone+"/rrsets", strings.NewReader(body))
			req.SetBasicAuth("panel", "panel-password-1")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue // node 2 restarting: not acknowledged
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ack(rec + "." + zone + ".")
			} else if n != 2 {
				t.Errorf("API commit %s on n%d: %d", rec, n, resp.StatusCode)
			}
		}
	}()
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
	if len(acked) < 3*perCLI+perAPI*9/10 {
		t.Errorf("%d of %d commits acknowledged", len(acked), 3*perCLI+perAPI)
	}
	t.Logf("%d commits acknowledged, every one on every node once", len(acked))
	if r := run(t, dbs[1], "", "cluster", "status"); r.code != 0 || !strings.Contains(r.out, "duties held by n") || strings.Count(r.out, "healthy") < 3 {
		t.Errorf("cluster status: %s %s", r.out, r.err)
	}

	// A fourth node starts from a backup of node 0, fetched from its API,
	// and catches up with what came after.
	dbs = append(dbs, filepath.Join(dir, "n3", "dms.db"))
	servers, apis = append(servers, nil), append(apis, "")
	if r := runEnv(t, dbs[3], "", []string{"DMS_API_PASSWORD=panel-password-1"}, "cluster", "join", "--from", strings.TrimSuffix(apis[0], "/api/v1"), "--user", "panel"); r.code != 0 ||
		!strings.Contains(r.out, "holds the cluster's commit log up to entry") {
		t.Fatalf("cluster join: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, dbs[1], "", "record", "add", "c1.example", "late TXT \"after the backup\""); r.code != 0 {
		t.Fatal(r.err)
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

// startNodes runs n dms serve processes as nodes of the etcd cluster at
// eps; start(i) starts node i (again).
func startNodes(t *testing.T, eps string, n int) (dbs []string, servers []*server, start func(int)) {
	dir := t.TempDir()
	servers = make([]*server, n)
	start = func(i int) {
		servers[i] = startServe(t, dbs[i], "--listen", "127.0.0.1:0", "--workers", "1", "--metrics-listen", "127.0.0.1:0",
			"--etcd", eps, "--node", fmt.Sprintf("n%d", i), "--etcd-timeout", "3s")
	}
	for i := range n {
		dbs = append(dbs, filepath.Join(dir, fmt.Sprintf("n%d", i), "dms.db"))
		os.MkdirAll(filepath.Dir(dbs[i]), 0o700)
		start(i)
	}
	return dbs, servers, start
}

// TestClusterBINDSecondary: a BIND secondary with the three nodes as its
// primaries (from dms server config) follows a change made on one node
// after the node it transferred from is killed: the other nodes notify it
// and it transfers from one of them.
func TestClusterBINDSecondary(t *testing.T) {
	t.Parallel() // mostly waiting (etcd elections, leases): overlaps the rest
	named := tool(t, "named", "bind9")
	ms := etcdtest.Start(t, 3)
	dbs, servers, _ := startNodes(t, etcdtest.Endpoints(ms), 3)
	dir := t.TempDir()
	namedPort := freeDNSPort(t)
	namedAt := fmt.Sprintf("127.0.0.1:%d", namedPort)
	cli := func(i int, args ...string) {
		t.Helper()
		if r := run(t, dbs[i], "", args...); r.code != 0 {
			t.Fatalf("dms %v on n%d: %s", args, i, r.err)
		}
	}
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."},
		{"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."},
		// Hours: only NOTIFY explains the secondary following at once.
		{"config", "set", "soa_refresh", "10h"},
		{"config", "set", "soa_retry", "1h"},
		{"sg", "create", "ext", "--master-address", servers[0].dns, "--master-address", servers[1].dns, "--master-address", servers[2].dns},
		{"tsig", "import", "xfr-key", interopSecret},
		{"server", "create", "bind", namedAt, "--sg", "ext", "--type", "bind9", "--tsig", "xfr-key"},
		{"zone", "create", "example.com", "--sg", "ext"},
	} {
		cli(0, c...)
	}
	r := run(t, dbs[1], "", "server", "config", "bind")
	bindConf := strings.ReplaceAll(r.out, "/var/lib/bind", dir)
	for _, s := range servers {
		if !strings.Contains(bindConf, strings.Replace(s.dns, ":", " port ", 1)) {
			t.Fatalf("dms server config does not name every node as a primary:\n%s", bindConf)
		}
	}
	conf := namedConf(t, dir, namedPort, bindConf, "")
	writeFile(t, dir, "named.conf", conf)
	startDaemon(t, "named", named, "-g", "-d", "1", "-c", filepath.Join(dir, "named.conf"))
	serialOn := func(i int) uint32 {
		return soaSerial(servers[i].dns, "example.com")
	}
	waitFor(t, "BIND to load example.com", 20*time.Second, func() bool { return soaSerial(namedAt, "example.com") == serialOn(1) && serialOn(1) != 0 })

	servers[0].cmd.Process.Signal(syscall.SIGKILL)
	servers[0].cmd.Wait()
	cli(1, "record", "add", "example.com", "after A 192.0.2.7")
	want := serialOn(1) // the node that committed has it
	took := waitFor(t, "BIND to follow with its first primary dead", 20*time.Second, func() bool {
		return soaSerial(namedAt, "example.com") == want
	})
	t.Logf("BIND followed the change in %v with n0 dead", took.Round(10*time.Millisecond))
	if m := query(namedAt, "after.example.com.", dns.TypeA); m == nil || len(m.Answer) != 1 {
		t.Errorf("BIND does not answer the new record: %v", m)
	}
}

// TestClusterNodeWithoutQuorum: a node whose etcd lost its quorum goes on
// answering DNS, refuses commits within --etcd-timeout saying why, and
// shows it in /healthz and dms_cluster_log_up; when the quorum is back it
// takes commits again by itself.
func TestClusterNodeWithoutQuorum(t *testing.T) {
	t.Parallel() // mostly waiting (etcd elections, leases): overlaps the rest
	ms := etcdtest.Start(t, 3)
	dbs, servers, _ := startNodes(t, etcdtest.Endpoints(ms), 1)
	for _, c := range [][]string{
		{"config", "set", "soa_mname", "ns1.example.net."},
		{"config", "set", "soa_rname", "hostmaster.example.net."},
		{"config", "set", "apex_ns", "ns1.example.net."},
		{"zone", "create", "q.example"},
	} {
		if r := run(t, dbs[0], "", c...); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	health := func() int {
		resp, err := http.Get("http://" + servers[0].metrics + "/healthz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if h := health(); h != 200 {
		t.Fatalf("healthz with etcd up: %d", h)
	}
	ms[1].Stop()
	ms[2].Stop()
	waitFor(t, "/healthz to fail without quorum", 20*time.Second, func() bool { return health() == http.StatusServiceUnavailable })
	if m := httpGet(t, "http://"+servers[0].metrics+"/metrics"); !strings.Contains(m, "dms_cluster_log_up 0") {
		t.Errorf("metrics without quorum: %s", grepLines(m, "dms_cluster"))
	}
	if soaSerial(servers[0].dns, "q.example") == 0 {
		t.Error("no DNS answer without quorum")
	}
	start := time.Now()
	r := run(t, dbs[0], "", "record", "add", "q.example", "lost A 192.0.2.1")
	if r.code == 0 || !strings.Contains(r.err, "commit log") || time.Since(start) > 15*time.Second {
		t.Fatalf("commit without quorum: %d after %v: %s", r.code, time.Since(start), r.err)
	}
	ms[1].Restart(t)
	ms[2].Restart(t)
	waitFor(t, "commits to come back with the quorum", 30*time.Second, func() bool {
		return run(t, dbs[0], "", "record", "add", "q.example", "back A 192.0.2.2").code == 0
	})
	waitFor(t, "/healthz to recover", 20*time.Second, func() bool { return health() == 200 })
}
