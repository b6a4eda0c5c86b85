package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func newCmdBackup(f *Factory) *cobra.Command {
	var verify bool
	cmd := &cobra.Command{
		Use:   "backup FILE|-",
		Short: "Write a consistent copy of the whole store (or check one with --verify)",
		Long: `Backup writes a consistent copy of the store: every zone with its history,
the config, the TSIG secrets and the DNSSEC private keys (the file is made
mode 0600). With dms serve running it comes through the control socket from
one read transaction while the server goes on serving and committing;
otherwise the store is opened directly. The copy goes to FILE.tmp, is synced
to disk and renamed to FILE, so FILE is never a partial backup; - writes to
standard output.

With --verify, FILE is not written but checked: bbolt's own consistency
check, the schema, every zone's RRsets, SOA and current instance, every
signed zone's NSEC3 or NSEC chain. One line says OK or BROKEN; a broken
file exits 1.

Restore a backup with dms restore FILE.`,
		Example: "  dms backup /var/backups/dms/dms-$(date +%F).db\n  dms backup --verify /var/backups/dms/dms-2026-12-03.db\n  dms backup - | ssh vault 'cat > dms.db'",
		Args:    exactArgs(1, "the file to write (or - for standard output)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if verify {
				return verifyBackup(f, args[0])
			}
			return backup(cmd.Context(), f, args[0])
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "check FILE instead of writing it")
	return cmd
}

func verifyBackup(f *Factory, path string) error {
	rep, err := zonedb.VerifyFile(path, time.Second)
	if err != nil {
		return err
	}
	return printVerify(f, rep)
}

func printVerify(f *Factory, rep *zonedb.VerifyReport) error {
	if f.json() {
		if err := f.printJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(f.Out, rep.Verdict())
		if !rep.OK() {
			for _, p := range rep.Problems {
				fmt.Fprintf(f.Out, "  %s\n", p)
			}
			if rep.More > 0 {
				fmt.Fprintf(f.Out, "  ... and %d more\n", rep.More)
			}
		}
	}
	if !rep.OK() {
		return &admin.Error{Code: admin.CodeCheck, Message: "the store is broken", Hint: "restore the last good backup (dms restore FILE)"}
	}
	return nil
}

// backup streams the store into path (or standard output).
func backup(ctx context.Context, f *Factory, path string) error {
	c, err := f.backupClient()
	if err != nil {
		return err
	}
	defer c.Close()
	b := c.(admin.Backuper)
	var info zonedb.BackupInfo
	stream := func(out io.Writer) error {
		pw := &progressWriter{w: out}
		stop := f.progress(pw)
		defer stop()
		var err error
		info, err = b.Backup(ctx, pw, func(info zonedb.BackupInfo) error { pw.total.Store(info.Bytes); return nil })
		return err
	}
	if path == "-" {
		err = stream(f.Out)
	} else {
		// Never a partial backup, under any name; mode 0600: the store
		// holds private keys.
		err = zonedb.WriteFileSync(path, 0o600, stream)
	}
	if err != nil {
		return err
	}
	if f.json() && path != "-" {
		return f.printJSON(info)
	}
	w := f.Out
	if path == "-" {
		w = f.Err
	}
	fmt.Fprintf(w, "backup %s: %d bytes, %d zones, %d zone instances, generation %d\n", path, info.Bytes, info.Zones, info.Instances, info.Generation)
	return nil
}

// backupClient is the running server, or the store opened directly (never
// created: there is nothing to back up then).
func (f *Factory) backupClient() (admin.Client, error) {
	if _, err := os.Stat(f.DBPath); errors.Is(err, os.ErrNotExist) {
		return nil, &admin.Error{Code: admin.CodeStore, Message: fmt.Sprintf("no store at %s", f.DBPath), Hint: "give the store with --db PATH or DMS_DB"}
	}
	return f.Client(true)
}

// progressWriter counts what passes.
type progressWriter struct {
	w     io.Writer
	n     atomic.Int64
	total atomic.Int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n.Add(int64(n))
	return n, err
}

// progress prints how far a large copy is, once a second, when standard
// error is a terminal; the returned function stops it.
func (f *Factory) progress(p *progressWriter) func() {
	errf, ok := f.Err.(*os.File)
	if !ok || !term.IsTerminal(int(errf.Fd())) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(errf, "\r\033[K")
				return
			case <-t.C:
				if total := p.total.Load(); total > 0 {
					fmt.Fprintf(errf, "\r%d of %d MB (%d%%)", p.n.Load()>>20, total>>20, p.n.Load()*100/total)
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func newCmdRestore(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the store with a backup (checked first; the old store is kept)",
		Long: `Restore replaces the store (--db) with the backup FILE. FILE is verified first
(as dms backup --verify) and refused if broken; a store open in a running
dms serve is refused too: stop the server first. Nothing is replaced then.
The replaced store is kept beside it as STORE.before-restore-TIMESTAMP.

Secondaries hold the serials the replaced store served. A restored zone
whose instance is not the one served gets a new serial above the served one,
so secondaries transfer the restored content instead of ignoring an older
serial; restore lists those zones, and zones the backup does not have. Start
dms serve afterwards: it notifies the secondaries.`,
		Example: "  systemctl stop dms\n  dms restore /var/backups/dms/dms-2026-12-03.db\n  systemctl start dms",
		Args:    exactArgs(1, "the backup file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := admin.DialControl(admin.SocketPath(f.DBPath)); err == nil {
				return &admin.Error{Code: admin.CodeInUse, Message: fmt.Sprintf("dms serve is running on %s; nothing replaced", f.DBPath),
					Hint: "stop it first (systemctl stop dms), restore, then start it"}
			}
			rep, err := zonedb.Restore(args[0], f.DBPath, admin.LocalCaller().ChangeBy(), time.Now(), func(db *zonedb.DB) { admin.New(db, nil) })
			if err != nil {
				if rep != nil && rep.Backup != nil && !rep.Backup.OK() && !f.json() {
					fmt.Fprintln(f.Out, rep.Backup.Verdict())
				}
				if errors.Is(err, zonedb.ErrStoreBusy) {
					return &admin.Error{Code: admin.CodeInUse, Message: err.Error(), Hint: "stop dms serve (or the dms command holding it) first"}
				}
				return err
			}
			if f.json() {
				return f.printJSON(rep)
			}
			printRestore(f.Out, rep)
			return nil
		},
	}
}

func printRestore(w io.Writer, rep *zonedb.RestoreReport) {
	fmt.Fprintf(w, "restored %s to %s: %s\n", rep.From, rep.To, rep.Backup.Verdict())
	if rep.Kept != "" {
		fmt.Fprintf(w, "the replaced store is kept as %s\n", rep.Kept)
	}
	if rep.Applied > 0 {
		fmt.Fprintf(w, "a cluster node's store, at entry %d of the cluster's commit log: dms serve --etcd ... catches it up\n", rep.Applied)
	}
	if len(rep.Bumped) > 0 {
		fmt.Fprintf(w, "%d zone(s) get a serial above what their secondaries were served:\n", len(rep.Bumped))
		for _, b := range rep.Bumped {
			if b.Note != "" {
				fmt.Fprintf(w, "  %s: %s\n", b.Zone, b.Note)
				continue
			}
			fmt.Fprintf(w, "  %s: backup %d, served %d, now %d\n", b.Zone, b.Backup, b.Served, b.Serial)
		}
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "%d zone(s) of the replaced store are not in the backup (gone):\n", len(rep.Missing))
		for _, z := range rep.Missing {
			fmt.Fprintf(w, "  %s\n", z)
		}
	}
}

func newCmdCheck(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the live store (read-only, safe while serving)",
		Long: `Check verifies the store as dms backup --verify checks a backup: bbolt's own
consistency check, the schema, every zone's RRsets, SOA and current instance,
every signed zone's NSEC3 or NSEC chain. With dms serve running it runs in
the server, from one read transaction. A broken store exits 1.`,
		Example: "  dms check\n  dms check -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rep zonedb.VerifyReport
			if err := f.call(cmd.Context(), false, "store.check", struct{}{}, &rep); err != nil {
				return err
			}
			return printVerify(f, &rep)
		},
	}
}
