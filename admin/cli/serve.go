package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"dms/admin"
	"dms/zonedb"
)

func newCmdServe(f *Factory) *cobra.Command {
	var logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: hold the store and answer on the control socket",
		Long: `Run dms: it holds the store open and listens on the control socket beside it
(the store path plus ".sock"), through which every dms command reaches it.
Stops on SIGINT or SIGTERM.`,
		Example: "  dms serve --db /var/lib/dms/dms.db",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level: %v", err)}
			}
			log := slog.New(slog.NewTextHandler(f.Err, &slog.HandlerOptions{Level: lvl}))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f, log)
		},
	}
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

func serve(ctx context.Context, f *Factory, log *slog.Logger) error {
	db, err := zonedb.Open(f.DBPath, zonedb.Options{Create: true})
	if err != nil {
		if sock := admin.SocketPath(f.DBPath); isServing(sock) {
			return &admin.Error{Code: admin.CodeStore, Message: fmt.Sprintf("a dms serve already runs on %s", f.DBPath),
				Hint: "stop it first, or give another --db"}
		}
		return err
	}
	defer db.Close()
	svc := admin.New(db, log)
	ctl, err := admin.ListenControl(svc, admin.SocketPath(f.DBPath))
	if err != nil {
		return err
	}
	log.Info("serving", "db", f.DBPath, "control", admin.SocketPath(f.DBPath))
	err = ctl.Serve(ctx)
	log.Info("stopped")
	return err
}

func isServing(sock string) bool {
	c, err := admin.DialControl(sock)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
