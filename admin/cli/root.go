// Package cli is the dms command tree (cobra). Commands parse flags, call
// admin operations through an admin.Client (the control socket of a running
// dms serve, or the store opened directly) and print the results as text or
// JSON. No behaviour lives here that the control socket or the HTTP API
// would lack.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

// DefaultDB is the store's default location.
const DefaultDB = "/var/lib/dms/dms.db"

// Factory carries what every command needs: the store location, the
// streams and the output format. Tests build one with their own streams.
type Factory struct {
	DBPath string
	Output string // "text" or "json"
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	// Getenv reads the environment (tests replace it).
	Getenv func(string) string
	// Direct makes commands open the store even when a server runs (tests
	// of the direct path; never needed by admins).
	Direct bool
	// View is the view of the zones commands name (--view; "" the
	// default view).
	View string
	// Verbose lists what a summary line stands for (-v: every auto-PTR
	// result of a commit).
	Verbose bool
}

// Client connects to the running server's control socket, or opens the
// store itself when no server runs. write says whether the command changes
// the store: read-only commands open it read-only.
func (f *Factory) Client(write bool) (admin.Client, error) {
	if !f.Direct {
		if rc, err := admin.DialControl(admin.SocketPath(f.DBPath)); err == nil {
			rc.View = f.View
			return rc, nil
		}
	}
	// Another command may hold the store for a moment: wait for it.
	db, err := zonedb.Open(f.DBPath, zonedb.Options{ReadOnly: !write, Create: write, LockTimeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, zonedb.ErrNoStore) {
			return nil, &admin.Error{Code: admin.CodeStore, Message: fmt.Sprintf("no store at %s", f.DBPath),
				Hint: "give the store with --db PATH or DMS_DB, or create it with dms zone create or dms zone load"}
		}
		if errors.Is(err, zonedb.ErrLocked) {
			return nil, &admin.Error{Code: admin.CodeStore, Message: err.Error(),
				Hint: fmt.Sprintf("another process holds the store but no server answers on %s; stop that process or wait for it", admin.SocketPath(f.DBPath))}
		}
		return nil, err
	}
	c := admin.LocalCaller()
	c.View = f.View
	return &admin.LocalClient{S: admin.New(db, nil), Caller: c}, nil
}

// call runs one operation with a fresh client.
func (f *Factory) call(ctx context.Context, write bool, op string, args, result any) error {
	c, err := f.Client(write)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, op, args, result)
}

// run calls an operation and prints its result: as JSON with -o json, else
// with text.
func run[T any](ctx context.Context, f *Factory, write bool, op string, req any, text func(io.Writer, *T)) error {
	var res T
	if err := f.call(ctx, write, op, req, &res); err != nil {
		return err
	}
	if f.json() {
		return f.printJSON(res)
	}
	text(f.Out, &res)
	return nil
}

func (f *Factory) json() bool { return f.Output == "json" }

func (f *Factory) printJSON(v any) error {
	enc := json.NewEncoder(f.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// NewRoot builds the dms command tree.
func NewRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "dms",
		Short: "dms: master nameserver and DNS management from one store",
		Long: `dms is the master nameserver of an ISP or hosting provider. It serves zones
from an embedded store, feeds secondaries by AXFR/IXFR and NOTIFY, and edits
the store with these commands. When dms serve runs, commands go through its
control socket; otherwise they open the store themselves.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if f.Output != "text" && f.Output != "json" {
				return usageError{fmt.Errorf("--output must be text or json, not %q", f.Output)}
			}
			if !cmd.Flags().Changed("db") {
				if v := f.Getenv("DMS_DB"); v != "" {
					f.DBPath = v
				}
			}
			return nil
		},
	}
	root.SetIn(f.In)
	root.SetOut(f.Out)
	root.SetErr(f.Err)
	root.PersistentFlags().StringVar(&f.DBPath, "db", DefaultDB, "store file (env DMS_DB)")
	root.PersistentFlags().StringVarP(&f.Output, "output", "o", "text", "output format: text or json")
	root.PersistentFlags().BoolVarP(&f.Verbose, "verbose", "v", false, "list every detail a summary line stands for (auto-PTR results)")
	root.PersistentFlags().StringVar(&f.View, "view", "", "the view of the zones and server groups named (split horizon; see dms view); default: the default view")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newCmdZone(f), newCmdRecord(f), newCmdConfig(f), newCmdRef(f), newCmdSectag(f), newCmdView(f), newCmdImport(f), newCmdPending(f), newCmdEvents(f), newCmdEvent(f), newCmdVacuum(f), newCmdTSIG(f), newCmdSG(f), newCmdServer(f), newCmdStatus(f), newCmdDNSSEC(f), newCmdServe(f), newCmdShell(f), newCmdAPI(f), newCmdBackup(f), newCmdRestore(f), newCmdCheck(f), newCmdCluster(f), newCmdMan(f))
	return root
}

// usageError marks a wrong command line: usage is printed for it.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Report prints err for an admin, with the problems behind it and a hint on
// what to do next, and returns the process exit code. It is the one place
// errors are shown.
func Report(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "dms: %v\nRun 'dms --help' or 'dms COMMAND --help' for usage.\n", ue.error)
		return ExitUsage
	}
	ae := admin.AsError(err)
	msg := ae.Message
	fmt.Fprintf(w, "dms: error: %s\n", msg)
	printProblems(w, "  ", ae)
	if ae.Hint != "" {
		fmt.Fprintf(w, "hint: %s\n", ae.Hint)
	}
	if ae.Code == admin.CodeBadInput && strings.HasPrefix(msg, "unknown config key") {
		return ExitUsage
	}
	return ExitError
}

// printProblems lists the problems behind an error that its message does
// not already show (a parse error's message is its one problem).
func printProblems(w io.Writer, indent string, ae *admin.Error) {
	problems := ae.Problems
	if ae.Code == admin.CodeParse {
		// The first is the message; the others follow it, one a line.
		if len(problems) < 2 {
			return
		}
		problems = problems[1:]
	}
	for _, p := range problems {
		if !strings.Contains(ae.Message, p.String()) {
			fmt.Fprintf(w, "%s%s\n", indent, p)
		}
	}
}

// Main runs dms with args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &Factory{In: stdin, Out: stdout, Err: stderr, Getenv: os.Getenv, Output: "text"}
	root := NewRoot(f)
	root.SetArgs(args)
	return Report(stderr, root.ExecuteContext(ctx))
}
