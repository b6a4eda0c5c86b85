package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/cluster"
	"dmsdns.org/dms/zonedb"
)

// clusterOptions are dms serve's cluster flags.
type clusterOptions struct {
	etcd, prefix, node string
	timeout            time.Duration
	cert, key, ca      string
}

func (o *clusterOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.etcd, "etcd", "", "etcd endpoints (URL,URL,...; env DMS_ETCD): be a node of a dms cluster sharing its commit log there")
	cmd.Flags().StringVar(&o.prefix, "etcd-prefix", "/dms", "the cluster's keys in etcd")
	cmd.Flags().StringVar(&o.node, "node", "", "this node's name in the cluster (default: the host name)")
	cmd.Flags().DurationVar(&o.timeout, "etcd-timeout", 5*time.Second, "past this without etcd, a commit is refused (DNS goes on)")
	cmd.Flags().StringVar(&o.cert, "etcd-cert", "", "client certificate (PEM) for etcd")
	cmd.Flags().StringVar(&o.key, "etcd-key", "", "its private key (PEM)")
	cmd.Flags().StringVar(&o.ca, "etcd-ca", "", "the CA that signed etcd's certificates (PEM)")
}

// clusterNode adapts a cluster.Log to admin.Cluster.
type clusterNode struct {
	*cluster.Log
	name string
}

func (c clusterNode) Status(ctx context.Context) any { return c.Log.Status(ctx, c.name) }

// joinCluster makes db follow the cluster's log (nil when no --etcd):
// caught up before the server starts answering, then followed.
func joinCluster(ctx context.Context, f *Factory, o *clusterOptions, db *zonedb.DB, log *slog.Logger) (*clusterNode, error) {
	if o.etcd == "" {
		o.etcd = f.Getenv("DMS_ETCD")
	}
	if o.etcd == "" {
		return nil, nil
	}
	if o.node == "" {
		o.node = admin.Hostname()
	}
	cfg := clientv3.Config{Endpoints: strings.Split(o.etcd, ","), DialTimeout: o.timeout, Logger: nil}
	if o.cert != "" || o.ca != "" {
		tc, err := etcdTLS(o)
		if err != nil {
			return nil, usageError{err}
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", o.etcd, err)
	}
	l := cluster.New(cli, db, cluster.Options{Prefix: o.prefix, Node: o.node, Timeout: o.timeout, Log: log})
	if err := l.CatchUp(); err != nil {
		log.Warn("the cluster's commit log cannot be read now; serving what this store has", "err", err)
	}
	go func() {
		<-ctx.Done()
		cli.Close()
	}()
	go l.Run(ctx)
	return &clusterNode{Log: l, name: o.node}, nil
}

func etcdTLS(o *clusterOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.cert != "" {
		c, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("--etcd-ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-ca %s: no certificate in it", o.ca)
		}
	}
	return tc, nil
}

func newCmdCluster(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "A cluster of dms nodes sharing one commit log in etcd",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Every node, how far it applied the log, who holds the duties, etcd's health",
		Long: `Status asks the running dms serve --etcd ... (through its control socket) for
the cluster as it sees it: the commit log's head and this node's applied
entry, every node with its applied entry and lag, the node that holds the
cluster's duties (re-signing, rollovers, vacuum, secondary polling), and each
etcd endpoint's health.`,
		Example: "  dms cluster status\n  dms cluster status -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "cluster.status", struct{}{}, func(w io.Writer, raw *json.RawMessage) {
				var st cluster.Status
				if err := json.Unmarshal(*raw, &st); err != nil {
					fmt.Fprintln(w, string(*raw))
					return
				}
				fmt.Fprint(w, st.String())
			})
		},
	})
	return cmd
}
