// Package etcdtest runs real etcd members in the test process (etcd's
// server/v3/embed) on free loopback ports, for the cluster's tests. Only
// tests import it.
package etcdtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Member is one etcd member.
type Member struct {
	Name         string
	dir, initial string
	peer, client url.URL
	e            *embed.Etcd
}

// Endpoint is the member's client URL.
func (m *Member) Endpoint() string { return m.client.String() }

// Ports for members come from below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default). A port
// there is never handed to an outgoing connection or to a listener on port
// 0, so a stopped member finds its ports free when it restarts: with ports
// from ":0", a peer's reconnect or another test's listener could take one
// in between (CI saw "bind: address already in use" on a restart).
const portLow, portHigh = 20000, 32768

var (
	portsMu sync.Mutex
	ports   = map[int]bool{} // handed out in this process
)

func freePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := portLow + rand.IntN(portHigh-portLow)
		if ports[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // another process has it
		}
		ln.Close()
		ports[p] = true
		return p
	}
	t.Fatalf("no free port in 127.0.0.1:%d-%d", portLow, portHigh-1)
	return 0
}

// Start runs a cluster of n members; they stop when the test ends.
func Start(t testing.TB, n int) []*Member {
	t.Helper()
	var ms []*Member
	var initial []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), dir: filepath.Join(t.TempDir(), "etcd")}
		m.peer = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		m.client = url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
		initial = append(initial, m.Name+"="+m.peer.String())
		ms = append(ms, m)
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		m.initial = strings.Join(initial, ",")
		wg.Add(1)
		go func() { defer wg.Done(); m.start(t, "new") }()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, m := range ms {
			m.Stop()
		}
	})
	return ms
}

// Endpoints is every member's client URL, comma-separated.
func Endpoints(ms []*Member) string {
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.Endpoint())
	}
	return strings.Join(eps, ",")
}

func (m *Member) start(t testing.TB, state string) {
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = m.Name, m.dir
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{m.peer}, []url.URL{m.peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{m.client}, []url.URL{m.client}
	cfg.InitialCluster, cfg.ClusterState = m.initial, state
	cfg.LogLevel = "error"
	cfg.TickMs, cfg.ElectionMs = 50, 500
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Errorf("etcd %s: %v", m.Name, err)
		return
	}
	select {
	case <-e.Server.ReadyNotify():
		m.e = e
	case <-time.After(30 * time.Second):
		e.Close()
		t.Errorf("etcd %s did not start", m.Name)
	}
}

// Stop stops the member (its data stays for Restart).
func (m *Member) Stop() {
	if m.e != nil {
		m.e.Close()
		m.e = nil
	}
}

// Restart starts a stopped member again, as a member of its cluster.
func (m *Member) Restart(t testing.TB) { m.start(t, "existing") }
