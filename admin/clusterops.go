package admin

import (
	"context"
	"encoding/json"

	"github.com/prometheus/client_golang/prometheus"
)

// Cluster is what the service knows of the cluster it is a node of (set by
// dms serve --etcd; admin does not import package cluster).
type Cluster interface {
	// Status is the cluster as this node sees it (cluster.Status).
	Status(ctx context.Context) any
	// Health is nil while the shared log answers.
	Health() error
	Applied() uint64
	LastHead() uint64
	Leader() bool
}

// SetCluster makes the service a cluster node's.
func (s *Service) SetCluster(c Cluster) { s.cluster = c }

// ClusterStatus reports the cluster (dms cluster status); a server that
// is not a cluster node says so.
func (s *Service) ClusterStatus(ctx context.Context, c Caller, _ struct{}) (json.RawMessage, error) {
	if err := adminOnly(c, "read the cluster's status"); err != nil {
		return nil, err
	}
	if s.cluster == nil {
		return nil, usagef("this dms is not a cluster node (dms serve --etcd URL,... makes one)")
	}
	return json.Marshal(s.cluster.Status(ctx))
}

// WatchCluster exports the node's place in the cluster: the log entry it
// applied, the head, whether it holds the cluster's duties, whether the
// log answers.
func (m *Metrics) WatchCluster(c Cluster) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dms_cluster_applied_entry", Help: "The last entry of the cluster's commit log this node applied."},
			func() float64 { return float64(c.Applied()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dms_cluster_lag_entries", Help: "Entries of the commit log this node has not applied yet (as of the head it last saw)."},
			func() float64 { return float64(max(c.LastHead(), c.Applied()) - c.Applied()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dms_cluster_leader", Help: "1 while this node holds the cluster's duties (re-signing, rollovers, vacuum, secondary polling)."},
			func() float64 { return b(c.Leader()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dms_cluster_log_up", Help: "1 while the cluster's commit log (etcd) answers this node; 0: commits are refused, DNS goes on."},
			func() float64 { return b(c.Health() == nil) }),
	)
	m.health = append(m.health, c.Health)
}
