package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"dmsdns.org/dms/zonedb"
)

// The nodes: each keeps a key under nodes/ with what it serves and how far
// it applied the log, on a lease that ends with it; one of them, elected
// (etcd's concurrency election, on the same lease), holds the duties done
// once per cluster: the re-signer and key rollovers, vacuum, polling the
// secondaries. When it dies, its lease ends within LeaseTTL and another
// node takes over.

// LeaseTTL is how long a dead node's keys, and its leadership, outlive it
// (seconds).
const LeaseTTL = 5

// NodeInfo is what a node says of itself in etcd.
type NodeInfo struct {
	Name    string    `json:"name"`
	DNS     []string  `json:"dns,omitempty"`
	API     string    `json:"api,omitempty"`
	Applied uint64    `json:"applied"`
	Seen    time.Time `json:"seen"`
}

// Status is the cluster as one node sees it (dms cluster status).
type Status struct {
	Node    string     `json:"node"`
	Head    uint64     `json:"head"`
	Applied uint64     `json:"applied"`
	Leader  string     `json:"leader,omitempty"`
	Nodes   []NodeInfo `json:"nodes"`
	Etcd    []Member   `json:"etcd"`
	Error   string     `json:"error,omitempty"`
}

// Member is one etcd endpoint's health.
type Member struct {
	Endpoint string `json:"endpoint"`
	Healthy  bool   `json:"healthy"`
	Leader   bool   `json:"leader,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (l *Log) nodeKey(name string) string { return l.o.Prefix + "/nodes/" + name }

// Serve keeps this node's key up to date (every second, with its applied
// entry) and, while this node is the elected one, runs duties with a
// context that ends when it stops being so. It returns when ctx ends.
func (l *Log) Serve(ctx context.Context, info NodeInfo, duties func(ctx context.Context)) {
	for ctx.Err() == nil {
		if err := l.serveSession(ctx, info, duties); err != nil && ctx.Err() == nil {
			l.log.Warn("cluster session", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

// serveSession is one lease's life: registration, campaign, duties.
func (l *Log) serveSession(ctx context.Context, info NodeInfo, duties func(ctx context.Context)) error {
	s, err := concurrency.NewSession(l.cli, concurrency.WithTTL(LeaseTTL), concurrency.WithContext(ctx))
	if err != nil {
		return err
	}
	defer s.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Done():
			cancel() // the lease is gone: no longer registered, nor leader
		case <-sctx.Done():
		}
	}()
	go l.register(sctx, s, info)
	e := concurrency.NewElection(s, l.o.Prefix+"/leader")
	if err := e.Campaign(sctx, info.Name); err != nil {
		return err
	}
	l.log.Info("this node holds the cluster's duties", "node", info.Name)
	l.leader.Store(true)
	defer l.leader.Store(false)
	duties(sctx)
	<-sctx.Done()
	rctx, rcancel := context.WithTimeout(context.Background(), time.Second)
	defer rcancel()
	_ = e.Resign(rctx)
	return nil
}

// register writes this node's key on the session's lease every second.
func (l *Log) register(ctx context.Context, s *concurrency.Session, info NodeInfo) {
	for {
		_ = l.db.View(func(v *zonedb.View) error { info.Applied = v.Applied(); return nil })
		info.Seen = time.Now().UTC()
		val, _ := json.Marshal(info)
		pctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
		_, err := l.cli.Put(pctx, l.nodeKey(info.Name), string(val), clientv3.WithLease(s.Lease()))
		cancel()
		if err != nil && ctx.Err() == nil {
			l.log.Warn("registering the node", "err", err)
		}
		_, _ = l.Head(ctx) // the head the metrics show
		if !sleepOK(ctx, time.Second) {
			return
		}
	}
}

func sleepOK(ctx context.Context, d time.Duration) bool {
	sleep(ctx, d)
	return ctx.Err() == nil
}

// Status reads the cluster's state: the log's head, the nodes, the
// elected one, each etcd endpoint's health.
func (l *Log) Status(ctx context.Context, node string) *Status {
	st := &Status{Node: node}
	_ = l.db.View(func(v *zonedb.View) error { st.Applied = v.Applied(); return nil })
	ctx, cancel := context.WithTimeout(ctx, l.o.Timeout)
	defer cancel()
	for _, ep := range l.cli.Endpoints() {
		m := Member{Endpoint: ep}
		if resp, err := l.cli.Status(ctx, ep); err != nil {
			m.Error = err.Error()
		} else {
			m.Healthy = len(resp.Errors) == 0 && resp.Leader != 0
			m.Leader = resp.Leader == resp.Header.MemberId
			if len(resp.Errors) > 0 {
				m.Error = strings.Join(resp.Errors, "; ")
			}
		}
		st.Etcd = append(st.Etcd, m)
	}
	head, err := l.Head(ctx)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Head = head
	resp, err := l.cli.Get(ctx, l.o.Prefix+"/nodes/", clientv3.WithPrefix())
	if err != nil {
		st.Error = err.Error()
		return st
	}
	for _, kv := range resp.Kvs {
		var n NodeInfo
		if json.Unmarshal(kv.Value, &n) == nil {
			st.Nodes = append(st.Nodes, n)
		}
	}
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Name < st.Nodes[j].Name })
	lr, err := l.cli.Get(ctx, l.o.Prefix+"/leader/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err == nil && len(lr.Kvs) > 0 {
		st.Leader = string(lr.Kvs[0].Value)
	}
	return st
}

// Lag is how many entries this node is behind the head.
func (st *Status) Lag() uint64 {
	if st.Head > st.Applied {
		return st.Head - st.Applied
	}
	return 0
}

// String is the status as dms cluster status prints it.
func (st *Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node %s: applied %d of %d (lag %d); duties held by %s\n", st.Node, st.Applied, st.Head, st.Lag(), orNone(st.Leader))
	if st.Error != "" {
		fmt.Fprintf(&b, "the commit log cannot be read: %s\n", st.Error)
	}
	fmt.Fprintf(&b, "%-16s %-10s %-6s %s\n", "NODE", "APPLIED", "LAG", "DNS")
	for _, n := range st.Nodes {
		lag := "0"
		if st.Head > n.Applied {
			lag = strconv.FormatUint(st.Head-n.Applied, 10)
		}
		fmt.Fprintf(&b, "%-16s %-10d %-6s %s\n", n.Name, n.Applied, lag, strings.Join(n.DNS, " "))
	}
	fmt.Fprintf(&b, "%-28s %s\n", "ETCD", "STATE")
	for _, m := range st.Etcd {
		state := "healthy"
		switch {
		case m.Error != "":
			state = "unreachable: " + m.Error
		case !m.Healthy:
			state = "no leader"
		case m.Leader:
			state = "healthy, raft leader"
		}
		fmt.Fprintf(&b, "%-28s %s\n", m.Endpoint, state)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
