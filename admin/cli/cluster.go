package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/term"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/cluster"
	"dmsdns.org/dms/zonedb"
)

// clusterOptions are dms serve's cluster flags.
type clusterOptions struct {
	etcd, prefix, node string
	timeout, keep      time.Duration
	cert, key, ca      string
}

func (o *clusterOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.etcd, "etcd", "", "etcd endpoints (URL,URL,...; env DMS_ETCD): be a node of a dms cluster sharing its commit log there")
	cmd.Flags().StringVar(&o.prefix, "etcd-prefix", "/dms", "the cluster's keys in etcd")
	cmd.Flags().StringVar(&o.node, "node", "", "this node's name in the cluster (default: the host name)")
	cmd.Flags().DurationVar(&o.timeout, "etcd-timeout", 5*time.Second, "past this without etcd, a commit is refused (DNS goes on)")
	cmd.Flags().DurationVar(&o.keep, "etcd-log-keep", 24*time.Hour, "log entries every node applied are dropped this long after their commit")
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

// compactEvery drops the log entries every node applied, older than keep,
// once a minute while ctx lasts (the elected node's duty).
func (c clusterNode) compactEvery(ctx context.Context, keep time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := c.Compact(ctx, keep); err != nil {
				log.Warn("compacting the cluster's commit log", "err", err)
			} else if n > 0 {
				log.Info("cluster commit log compacted", "entries", n)
			}
		}
	}
}

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
	cmd.AddCommand(newCmdClusterJoin(f))
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

func newCmdClusterJoin(f *Factory) *cobra.Command {
	var from, user string
	cmd := &cobra.Command{
		Use:   "join --from NODE-API-URL|BACKUP-FILE",
		Short: "Make this machine's store a copy of a cluster node's, to start a new node from",
		Long: `Join fetches a backup of a running node (GET /api/v1/backup of its HTTP API,
as an Admin login: --user, the password from DMS_API_PASSWORD or a prompt)
or takes a backup file, verifies it and makes it the store (--db), as dms
restore does. Then start dms serve --etcd ... --node NAME on it: it catches up
from the log entry the backup holds. If the log was compacted past that
entry, the server says so: take a fresher backup.`,
		Example: "  dms cluster join --from https://ns-a.example.net:8443 --user root\n  dms cluster join --from /var/backups/dms/dms-2026-12-03.db",
		Args:    exactArgs(0, "no arguments (the source is --from)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				return usageError{fmt.Errorf("give the node's API URL or a backup file with --from")}
			}
			src := from
			if strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://") {
				tmp, err := fetchBackup(cmd.Context(), f, from, user)
				if err != nil {
					return err
				}
				defer os.Remove(tmp)
				src = tmp
			}
			rep, err := zonedb.Restore(src, f.DBPath, admin.LocalCaller().ChangeBy(), time.Now(), func(db *zonedb.DB) { admin.New(db, nil) })
			if err != nil {
				return err
			}
			if f.json() {
				return f.printJSON(rep)
			}
			fmt.Fprintf(f.Out, "the store %s is a copy of %s: %s\n", f.DBPath, from, rep.Backup.Verdict())
			if rep.Applied == 0 {
				fmt.Fprintln(f.Out, "it is not a cluster node's store (no log entry applied): the new node will apply the whole log")
			} else {
				fmt.Fprintf(f.Out, "it holds the cluster's commit log up to entry %d; start dms serve --etcd ... --node NAME to catch up\n", rep.Applied)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the node's HTTP API URL, or a backup file")
	cmd.Flags().StringVar(&user, "user", "", "an Admin login of the node's API")
	return cmd
}

// fetchBackup downloads a node's backup into a temporary file beside the
// store and returns its path.
func fetchBackup(ctx context.Context, f *Factory, base, user string) (string, error) {
	pw := f.Getenv("DMS_API_PASSWORD")
	if pw == "" {
		p, err := f.loginPassword("password of " + user + ": ")
		if err != nil {
			return "", err
		}
		pw = p
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(base, "/")+"/api/v1/backup", nil)
	if err != nil {
		return "", usageError{err}
	}
	req.SetBasicAuth(user, pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return "", fmt.Errorf("%s: %s: %s", base, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := os.MkdirAll(filepath.Dir(f.DBPath), 0o750); err != nil {
		return "", err
	}
	tmp := f.DBPath + ".join.tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(out, resp.Body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("%s sent %d of %d bytes", base, n, resp.ContentLength)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// loginPassword reads a login's password once: prompted without echo on a
// terminal, else the first line of standard input.
func (f *Factory) loginPassword(prompt string) (string, error) {
	if in, ok := f.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		fmt.Fprint(f.Err, prompt)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(f.Err)
		return string(b), err
	}
	line, err := bufio.NewReader(f.In).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
