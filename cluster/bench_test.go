package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/cluster/etcdtest"
	"dmsdns.org/dms/zonedb"
)

// BenchmarkClusterCommit: one record added on a node of a 3-member etcd
// cluster on loopback, worked out, appended and applied; reports p50 and
// p99 latency.
func BenchmarkClusterCommit(b *testing.B) {
	ms := etcdtest.Start(b, 3)
	nodes := benchNodes(b, ms, 2)
	ctx := context.Background()
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := nodes[0].svc.ConfigSet(ctx, alice, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := nodes[0].svc.ZoneCreate(ctx, alice, admin.ZoneCreateRequest{Name: "lat.example"}); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := nodes[0].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "lat.example", Records: []string{fmt.Sprintf("h%d A 192.0.2.1", i)}}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// BenchmarkClusterCatchUp: a new node applies a log of b.N one-record
// commits; reports entries per second.
func BenchmarkClusterCatchUp(b *testing.B) {
	ms := etcdtest.Start(b, 3)
	nodes := benchNodes(b, ms, 1)
	ctx := context.Background()
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if _, err := nodes[0].svc.ConfigSet(ctx, alice, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := nodes[0].svc.ZoneCreate(ctx, alice, admin.ZoneCreateRequest{Name: "cu.example"}); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := nodes[0].svc.RecordAdd(ctx, alice, admin.RecordRequest{Zone: "cu.example", Records: []string{fmt.Sprintf("h%d A 192.0.2.1", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	late := benchNodes(b, ms, 1)[0]
	b.ResetTimer()
	t0 := time.Now()
	if err := late.log.CatchUp(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	var applied uint64
	_ = late.db.View(func(v *zonedb.View) error { applied = v.Applied(); return nil })
	b.ReportMetric(float64(applied)/time.Since(t0).Seconds(), "entries/s")
}

func benchNodes(b *testing.B, ms []*etcdtest.Member, n int) []*testNode {
	eps := strings.Split(etcdtest.Endpoints(ms), ",")
	var nodes []*testNode
	for i := range n {
		db, err := zonedb.Open(filepath.Join(b.TempDir(), "dms.db"), zonedb.Options{Create: true})
		if err != nil {
			b.Fatal(err)
		}
		cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cli.Close(); db.Close() })
		svc := admin.New(db, nil)
		nodes = append(nodes, &testNode{db: db, svc: svc, log: New(cli, db, Options{Node: fmt.Sprintf("b%d", i)})})
	}
	return nodes
}
