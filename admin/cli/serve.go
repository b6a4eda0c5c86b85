package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/admin/httpapi"
	"dmsdns.org/dms/authserver"
	"dmsdns.org/dms/cluster"
	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// serveOptions are the flags of dms serve.
type serveOptions struct {
	logLevel       string
	metricsListen  string
	resignInterval time.Duration
	refusalFlush   time.Duration
	maxXfrOut      int
	answerCacheMB  int
	nameIndex      bool
	dns            authserver.Options
	// The HTTP API.
	httpListen      string
	tlsCert, tlsKey string
	insecure        bool
	cluster         clusterOptions
}

func newCmdServe(f *Factory) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: hold the store and answer on the control socket",
		Long: `Run dms: answer DNS queries from the store on every --listen address (UDP
and TCP), and hold the store open with the control socket beside it (the store
path plus ".sock"), through which every dms command reaches it. Commits are
answered from the next query on. Stops on SIGINT or SIGTERM.

With --etcd (or DMS_ETCD) the server is a node of a cluster: its store follows
the commit log the nodes share in etcd, its commits are appended there, and
the duties done once (re-signing, rollovers, vacuum, secondary polling) run on
the elected node (see dms cluster status).`,
		Example: "  dms serve --db /var/lib/dms/dms.db --listen [::]:53\n  dms serve --listen 127.0.0.1:5300 --listen [::1]:5300 --workers 2\n  dms serve --etcd https://etcd1:2379,https://etcd2:2379,https://etcd3:2379 --node ns-a --etcd-ca ca.pem",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level: %v", err)}
			}
			log := slog.New(slog.NewTextHandler(f.Err, &slog.HandlerOptions{Level: lvl}))
			if f.Getenv("GOGC") == "" {
				// The server's heap is mostly long-lived (answer caches),
				// and cached answers make no garbage: collecting at 50%
				// growth instead of 100% keeps RSS about 5 MB lower at no
				// measurable QPS cost. GOGC in the environment overrides.
				debug.SetGCPercent(50)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, &o, log)
		},
	}
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringArrayVar(&o.dns.Listen, "listen", []string{"127.0.0.1:5300"}, "address:port to answer DNS on, UDP and TCP (repeatable; production: [::]:53)")
	cmd.Flags().IntVar(&o.dns.Workers, "workers", 0, "answering sockets and goroutines per address (default: the number of cores)")
	cmd.Flags().IntVar(&o.answerCacheMB, "answer-cache-mb", 0, "bound of each worker's cache of packed answers in MiB (0: none; answers come from the store's wire form, as cheaply for common queries)")
	cmd.Flags().BoolVar(&o.nameIndex, "name-index", true, "keep every name of the store in a hash table in memory (about 90 bytes a name, built in the background at start): a query finds its name in one probe instead of a descent of the store's B+tree")
	cmd.Flags().StringVar(&o.dns.Config.Version, "chaos-version", "", "answer CHAOS version.bind with this (default: refuse)")
	cmd.Flags().StringVar(&o.dns.Config.Identity, "chaos-identity", "", "answer CHAOS hostname.bind and id.server with this (default: refuse)")
	cmd.Flags().StringVar(&o.dns.Config.NSID, "nsid", "", "NSID to return to clients that ask (RFC 5001)")
	cmd.Flags().StringVar(&o.metricsListen, "metrics-listen", "127.0.0.1:9153", "address:port for /metrics (Prometheus) and /healthz; empty: none")
	cmd.Flags().IntVar(&o.dns.MaxTCP, "max-tcp", 1024, "most TCP connections at once")
	cmd.Flags().DurationVar(&o.dns.TCPIdle, "tcp-idle", 10*time.Second, "close TCP connections idle this long")
	cmd.Flags().IntVar(&o.maxXfrOut, "max-xfr-out", xfr.DefaultMaxOut, "most zone transfers answered at once (more are refused; secondaries retry)")
	cmd.Flags().IntVar(&o.dns.MaxTCPPerClient, "max-tcp-per-client", 32, "most TCP connections of one client (an IPv4 address, an IPv6 /64)")
	cmd.Flags().DurationVar(&o.refusalFlush, "refusal-log-interval", time.Minute, "refused requests are written to the event log in aggregate this often")
	_ = cmd.Flags().MarkHidden("refusal-log-interval")
	cmd.Flags().DurationVar(&o.resignInterval, "dnssec-check-interval", time.Minute, "how often signatures and key rollovers are checked")
	cmd.Flags().StringVar(&o.httpListen, "http-listen", "", "address:port of the HTTP JSON API for control panels (default: none)")
	cmd.Flags().StringVar(&o.tlsCert, "tls-cert", "", "with --http-listen: serve HTTPS with this certificate (PEM)")
	cmd.Flags().StringVar(&o.tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	cmd.Flags().BoolVar(&o.insecure, "insecure", false, "allow plain HTTP on a non-loopback --http-listen (passwords in clear)")
	o.cluster.flags(cmd)
	return cmd
}

func serve(ctx context.Context, f *Factory, o *serveOptions, log *slog.Logger) error {
	switch {
	case o.answerCacheMB < 0:
		return &admin.Error{Code: admin.CodeBadInput, Message: fmt.Sprintf("--answer-cache-mb %d: give 0 (no answer cache) or a size in MiB", o.answerCacheMB)}
	default:
		o.dns.AnswerCacheBytes = o.answerCacheMB << 20
	}
	db, err := zonedb.Open(f.DBPath, zonedb.Options{Create: true})
	if err != nil {
		if sock := admin.SocketPath(f.DBPath); isServing(sock) {
			return &admin.Error{Code: admin.CodeStore, Message: fmt.Sprintf("a dms serve already runs on %s", f.DBPath),
				Hint: "stop it first, or give another --db"}
		}
		return err
	}
	defer db.Close()
	for _, z := range db.Migrated {
		log.Warn("an older dms left this zone's NSEC3 chain with a wrong link; the re-signer signs it whole now", "zone", z)
	}
	if o.nameIndex {
		if err := db.EnableNodeIndex(func(st zonedb.NodeIndexStats) {
			// What the build read through is garbage now: give it back
			// (RSS is what operators watch).
			debug.FreeOSMemory()
			log.Info("name index ready", "names", st.Names, "mib", st.Bytes>>20, "ms", st.Millis, "generation", st.Generation)
		}); err != nil {
			return err
		}
	}
	svc := admin.New(db, log)
	node, err := joinCluster(ctx, f, &o.cluster, db, log)
	if err != nil {
		return err
	}
	if node != nil {
		svc.SetCluster(node)
	}
	ctl, err := admin.ListenControl(svc, admin.SocketPath(f.DBPath))
	if err != nil {
		return err
	}
	xs := xfr.NewServer(db, log)
	xs.SetMaxOut(o.maxXfrOut)
	o.dns.Transfer = xs.Serve
	o.dns.Update = svc.DynamicUpdate
	o.dns.Notify = svc.NotifyReceived
	go func() {
		if err := db.FlushRefusalsEvery(ctx, o.refusalFlush); err != nil {
			log.Error("writing refusals to the event log", "err", err)
		}
	}()
	var cfg admin.Config
	if err := db.View(func(v *zonedb.View) error { cfg = admin.EffectiveConfig(v.Config()); return nil }); err != nil {
		ctl.Close()
		return err
	}
	sec := func(k string) time.Duration { return time.Duration(cfg.TTL(k)) * time.Second }
	mopts := xfr.MonitorOptions{Interval: sec("status_interval"), LagThreshold: sec("status_lag_threshold"),
		BrokenAfter: sec("status_broken_after"), Sample: cfg.Int("status_sample")}
	monitor := xfr.NewMonitor(db, mopts, log)
	resigner := dnssec.NewResigner(db, log)
	if o.resignInterval > 0 {
		resigner.Interval = o.resignInterval
	}
	resigner.ChangeBy = "dms-resigner@" + admin.Hostname() + "/" + admin.SectagAdmin
	onNotify := []func(xfr.NotifyEvent){monitor.NotifyFailed}
	metricsAddr := "none"
	var reg prometheus.Registerer
	var m *admin.Metrics
	if o.metricsListen != "" {
		m = admin.NewMetrics(db)
		reg = m.Registry
		o.dns.Observe = m.Observe
		xs.Observe = m.ObserveTransfer
		onNotify = append(onNotify, m.ObserveNotify)
		m.WatchSecondaries(monitor)
		m.WatchDNSSEC(svc.Signer(), resigner)
		if metricsAddr, err = admin.ServeMetrics(ctx, o.metricsListen, m, db); err != nil {
			ctl.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	notifier := xfr.NewNotifier(db, xfr.NotifyOptions{OnResult: func(ev xfr.NotifyEvent) {
		for _, f := range onNotify {
			f(ev)
		}
	}}, log)
	db.Subscribe(notifier.OnCommit)
	srv := authserver.NewServer(db, o.dns, log)
	admin.WatchRRL(db, srv, log)
	if m != nil {
		m.WatchServer(srv, svc)
		m.WatchBackups(db)
		m.WatchZoneChecks(svc)
		if node != nil {
			m.WatchCluster(node)
		}
	}
	if err := srv.Start(ctx); err != nil {
		ctl.Close()
		return err
	}
	defer srv.Close()
	// What scans every zone (NOTIFY owed from while no server ran, due
	// signatures and rollovers, secondaries' serials) starts once the
	// server answers, a moment later: start-up must not grow with the
	// number of zones.
	go func() {
		if !sleepCtx(ctx, startDelay) {
			return
		}
		if n, err := notifier.Startup(); err != nil {
			log.Error("finding zones to notify at start", "err", err)
		} else if n > 0 {
			log.Info("notifying zones changed while no server ran", "zones", n)
		}
		// Duties done once: by this server, or by the cluster's elected
		// node. NOTIFY goes out from every node.
		duties := func(ctx context.Context) {
			go monitor.Run(ctx)
			go resigner.Run(ctx)
			go svc.VacuumDaily(ctx, log)
			if node != nil {
				go node.compactEvery(ctx, o.cluster.keep, log)
			}
		}
		if node != nil {
			go node.Serve(ctx, cluster.NodeInfo{Name: node.name, DNS: srv.Addrs()}, duties)
		} else {
			duties(ctx)
		}
		notifier.Run(ctx)
	}()
	httpAddr := "none"
	if o.httpListen != "" {
		api, err := httpapi.New(svc, httpapi.Options{MaxBody: int64(cfg.Int("api_max_body")), Registerer: reg, Log: log})
		if err != nil {
			ctl.Close()
			return err
		}
		if httpAddr, err = httpapi.Serve(ctx, o.httpListen, o.tlsCert, o.tlsKey, o.insecure, api, log); err != nil {
			ctl.Close()
			return usageError{err}
		}
	} else if o.tlsCert != "" || o.tlsKey != "" || o.insecure {
		ctl.Close()
		return usageError{fmt.Errorf("--tls-cert, --tls-key and --insecure go with --http-listen")}
	}
	svc.SetLive(&admin.Live{Started: time.Now(), DNS: srv.Addrs(), Metrics: metricsAddr, Notifier: notifier, Monitor: monitor})
	log.Info("serving", "db", f.DBPath, "control", admin.SocketPath(f.DBPath), "dns", strings.Join(srv.Addrs(), " "), "metrics", metricsAddr, "http", httpAddr)
	err = ctl.Serve(ctx)
	log.Info("stopped")
	return err
}

// startDelay is how long after start-up the background work begins.
const startDelay = 500 * time.Millisecond

// sleepCtx waits d, or less when ctx ends; it reports whether it waited.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func isServing(sock string) bool {
	c, err := admin.DialControl(sock)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
