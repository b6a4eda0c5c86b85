package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func newCmdZone(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zone",
		Short: "Create, load, show, edit and delete zones",
	}
	cmd.AddCommand(
		newCmdZoneCreate(f), newCmdZoneLoad(f), newCmdZoneShow(f), newCmdZoneLs(f), newCmdZoneInfo(f), newCmdZoneCheck(f), newCmdZoneNotify(f), newCmdZoneUpdate(f), newCmdZoneNuke(f), newCmdZoneCopy(f), newCmdZoneDropHistory(f), newCmdZoneTTL(f),
		newCmdZoneHistory(f), newCmdZoneDiff(f), newCmdZoneRollback(f), newCmdZoneEdit(f), newCmdZoneSet(f),
		newCmdZoneDelete(f), newCmdZoneUndelete(f), newCmdZoneDestroy(f), newCmdZoneSerial(f), newCmdZoneSetRef(f),
		newCmdZoneSetSG(f), newCmdZoneAltSG(f), newCmdZoneSectag(f), newCmdZoneUnlock(f),
	)
	return cmd
}

// boolPair registers --name and --no-name and returns the choice (nil when
// neither was given).
type boolPair struct {
	on, off bool
	name    string
}

func addBoolPair(cmd *cobra.Command, name, help string) *boolPair {
	b := &boolPair{name: name}
	cmd.Flags().BoolVar(&b.on, name, false, help)
	cmd.Flags().BoolVar(&b.off, "no-"+name, false, "the opposite of --"+name)
	return b
}

func (b *boolPair) value() (*bool, error) {
	switch {
	case b.on && b.off:
		return nil, usageError{fmt.Errorf("--%s and --no-%s contradict each other", b.name, b.name)}
	case b.on:
		t := true
		return &t, nil
	case b.off:
		f := false
		return &f, nil
	}
	return nil, nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), what, len(args))}
		}
		return nil
	}
}

func rangeArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError{fmt.Errorf("%s takes %s (got %d arguments)", cmd.CommandPath(), what, len(args))}
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%s takes %s", cmd.CommandPath(), what)}
		}
		return nil
	}
}

func newCmdZoneCreate(f *Factory) *cobra.Command {
	var req admin.ZoneCreateRequest
	var nsec, nsec3, inc, lock, sec bool
	cmd := &cobra.Command{
		Use:   "create ZONE",
		Short: "Create a zone with an SOA and apex NS records from the config",
		Long: `Create a zone. Its SOA is made from the config keys soa_mname, soa_rname,
soa_refresh, soa_retry, soa_expire, soa_minimum and zone_ttl, and its apex NS
records from its server group (use_apex_ns) or the config key apex_ns.`,
		Example: `  dms zone create example.org
  dms zone create example.org --ref cust42@ISP-NET --inc-updates`,
		Args: exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if nsec && nsec3 {
				return usageError{errors.New("--nsec and --nsec3 contradict each other")}
			}
			set := func(p **bool, v bool) {
				if v {
					*p = &v
				}
			}
			set(&req.IncUpdates, inc)
			set(&req.EditLock, lock)
			set(&req.DNSSEC, sec)
			set(&req.NSEC3, nsec3)
			if nsec {
				no := false
				req.NSEC3 = &no
			}
			return run(cmd.Context(), f, true, "zone.create", req, f.printCommits)
		},
	}
	cmd.Flags().StringVar(&req.Ref, "ref", "", "reference (customer id) of the zone; created when new (default: config default_ref)")
	cmd.Flags().StringVar(&req.SG, "sg", "", "server group (default: config default_sg)")
	cmd.Flags().BoolVar(&inc, "inc-updates", false, "take incremental updates (auto-PTR, dynamic DNS)")
	cmd.Flags().BoolVar(&lock, "edit-lock", false, "lock the zone while someone edits it")
	cmd.Flags().BoolVar(&sec, "dnssec", false, "sign the zone (default: config auto_dnssec)")
	cmd.Flags().BoolVar(&nsec3, "nsec3", false, "deny existence with NSEC3 (default: config nsec3)")
	cmd.Flags().BoolVar(&nsec, "nsec", false, "deny existence with NSEC")
	return cmd
}

func newCmdZoneLoad(f *Factory) *cobra.Command {
	var ref, sg, name string
	var inc bool
	cmd := &cobra.Command{
		Use:   "load FILE...",
		Short: "Create zones from zone files, one file per zone",
		Long: `Load zone files as new zones, one zone per file. The zone's name is what
the file says (an $ORIGIN before its first record, or the SOA's owner written
with its final dot), else the file's name, read by the usual conventions
(db.ZONE, ZONE.zone, ZONE.db, or ZONE itself); --name gives it. Every good file
is loaded; every bad one is reported with its line numbers, and the command
exits non-zero if any failed. A ;!REF: flag on the SOA sets the zone's
reference. The serial of the file is kept.`,
		Example: `  dms zone load example.org example.net
  dms zone load /etc/bind/db.example.org
  dms zone load --name example.org db.example
  dms zone load --ref cust42@ISP-NET zones/*`,
		Args: minArgs(1, "one or more zone files"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name != "" && len(args) > 1 {
				return usageError{errors.New("--name works with one file only")}
			}
			c, err := f.Client(true)
			if err != nil {
				return err
			}
			defer c.Close()
			var failed int
			var all admin.CommitResult
			var errs []map[string]any
			for _, file := range args {
				text, err := os.ReadFile(file)
				if err != nil {
					failed++
					fmt.Fprintf(f.Err, "*** %s: %v\n", file, err)
					errs = append(errs, map[string]any{"file": file, "error": admin.AsError(err)})
					continue
				}
				abs, _ := filepath.Abs(file)
				req := admin.ZoneLoadRequest{Name: name, File: file, Text: string(text), Ref: ref, SG: sg,
					AllowInclude: true, IncludeDir: filepath.Dir(abs)}
				if inc {
					req.IncUpdates = &inc
				}
				var res admin.CommitResult
				if err := c.Call(cmd.Context(), "zone.load", req, &res); err != nil {
					failed++
					ae := admin.AsError(err)
					if strings.HasPrefix(ae.Message, file+":") {
						fmt.Fprintf(f.Err, "*** %s\n", ae.Message)
					} else {
						fmt.Fprintf(f.Err, "*** %s: %s\n", file, ae.Message)
					}
					printProblems(f.Err, "      ", ae)
					if name == "" && outsideZone(ae) {
						zn, from := admin.ZoneNameFor(file, string(text))
						fmt.Fprintf(f.Err, "      the zone's name %s came from %s; to load the file as another zone, give --name ZONE\n", strings.TrimSuffix(zn, ".")+".", from)
					}
					errs = append(errs, map[string]any{"file": file, "error": ae})
					continue
				}
				all.Commits = append(all.Commits, res.Commits...)
				if !f.json() {
					f.printCommits(f.Out, &res)
				}
			}
			if f.json() {
				if err := f.printJSON(map[string]any{"commits": all.Commits, "failed": errs}); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &admin.Error{Code: admin.CodeParse, Message: fmt.Sprintf("%d of %d zone files failed to load", failed, len(args)),
					Hint: "fix the files listed above and load them again; the others are loaded"}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ref, "ref", "", "reference of the loaded zones (a ;!REF: on the SOA wins)")
	cmd.Flags().StringVar(&sg, "sg", "", "server group of the loaded zones")
	cmd.Flags().StringVar(&name, "name", "", "zone name, when the file's name is not the zone's")
	cmd.Flags().BoolVar(&inc, "inc-updates", false, "the loaded zones take incremental updates")
	return cmd
}

// outsideZone says whether a zone text was refused for names outside the
// zone: the sign of a file loaded under the wrong zone name.
func outsideZone(ae *admin.Error) bool {
	if strings.Contains(ae.Message, "is outside the zone") {
		return true
	}
	for _, p := range ae.Problems {
		if strings.Contains(p.Message, "is outside the zone") {
			return true
		}
	}
	return false
}

func newCmdZoneShow(f *Factory) *cobra.Command {
	var zi uint64
	cmd := &cobra.Command{
		Use:     "show ZONE",
		Short:   "Print a zone as zone text",
		Example: "  dms zone show example.org\n  dms zone show example.org --zi 12 > old.zone",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "zone.show", admin.ZoneRequest{Name: args[0], ZI: zi}, func(w io.Writer, res *admin.ZoneText) {
				io.WriteString(w, res.Text)
			})
		},
	}
	cmd.Flags().Uint64Var(&zi, "zi", 0, "show this zone instance instead of the current one")
	return cmd
}

func newCmdZoneLs(f *Factory) *cobra.Command {
	var req admin.ZoneListRequest
	var long bool
	cmd := &cobra.Command{
		Use:     "ls [PATTERN...]",
		Aliases: []string{"list"},
		Short:   "List zones",
		Example: "  dms zone ls\n  dms zone ls '*.example.org'\n  dms zone ls --ref cust42@ISP-NET -l",
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Patterns = args
			return run(cmd.Context(), f, false, "zone.list", req, func(w io.Writer, res *[]admin.ZoneInfo) { printZoneList(w, *res, long) })
		},
	}
	cmd.Flags().StringVar(&req.Ref, "ref", "", "only zones of this reference")
	cmd.Flags().StringVar(&req.SG, "sg", "", "only zones of this server group (primary or alternate)")
	cmd.Flags().BoolVar(&req.Deleted, "deleted", false, "list deleted zones instead")
	cmd.Flags().BoolVarP(&long, "long", "l", false, "show reference, serial, state and flags")
	return cmd
}

func newCmdZoneInfo(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "info ZONE",
		Short:   "Show a zone's settings, state and current instance",
		Example: "  dms zone info example.org\n  dms zone info example.org -o json",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "zone.info", admin.ZoneRequest{Name: args[0]}, printZoneInfo)
		},
	}
}

func newCmdZoneHistory(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "history ZONE",
		Short:   "List a zone's instances (ZIs), newest first",
		Example: "  dms zone history example.org",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, false, "zone.history", admin.ZoneRequest{Name: args[0]}, func(w io.Writer, res *[]zonedb.ZI) { printHistory(w, *res) })
		},
	}
}

func parseZI(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, usageError{fmt.Errorf("%q is not a zone instance id (see dms zone history)", s)}
	}
	return n, nil
}

func newCmdZoneDiff(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "diff ZONE ZI1 [ZI2] | diff ZONE OTHER-ZONE",
		Short:   "Show what changed between two zone instances (ZI2: the current one), or how two zones differ",
		Example: "  dms zone diff example.org 12 15\n  dms zone diff example.org example.net",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 || len(args) > 3 {
				return usageError{errors.New("zone diff takes a zone and one or two zone instance ids")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ZoneDiffRequest{Name: args[0]}
			var err error
			if len(args) == 2 && !isZI(args[1]) {
				req.With = args[1] // two zones
				return run(cmd.Context(), f, false, "zone.diff", req, printDiff)
			}
			if req.From, err = parseZI(args[1]); err != nil {
				return err
			}
			if len(args) == 3 {
				if req.To, err = parseZI(args[2]); err != nil {
					return err
				}
			}
			return run(cmd.Context(), f, false, "zone.diff", req, printDiff)
		},
	}
}

func newCmdZoneRollback(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback ZONE ZI",
		Short: "Make a new zone instance with the content of an older one",
		Long: `Roll a zone back to the content of an older instance. This makes a new
instance with a higher serial (secondaries follow), it does not rewind history.`,
		Example: "  dms zone rollback example.org 12",
		Args:    exactArgs(2, "a zone and a zone instance id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			zi, err := parseZI(args[1])
			if err != nil {
				return err
			}
			return f.commitCmd(cmd.Context(), "zone.rollback", admin.ZoneRequest{Name: args[0], ZI: zi})
		},
	}
}

// commitCmd runs a changing operation and prints its commit result.
func (f *Factory) commitCmd(ctx context.Context, op string, req any) error {
	return run(ctx, f, true, op, req, f.printCommits)
}

var ziHeader = regexp.MustCompile(`(?m)^;\s*zi_id:\s*([0-9]+)\s*$`)

func newCmdZoneEdit(f *Factory) *cobra.Command {
	var file string
	var force bool
	cmd := &cobra.Command{
		Use:   "edit ZONE",
		Short: "Edit a zone in $VISUAL or $EDITOR, or replace it from a file",
		Long: `Open the zone text in $VISUAL (or $EDITOR, or vi). When the editor exits, the
text is checked; on an error you may edit again or abort, and nothing is
committed until the text is valid. If someone else committed to the zone
meanwhile, the edit is refused rather than overwriting their change.

With --file, the file replaces the zone's content without an editor. If the
file carries the zi_id header that dms zone show prints, and the zone has moved
on since that instance, the replacement is refused (--force overrides).`,
		Example: `  dms zone edit example.org
  dms zone show example.org > f; $EDITOR f; dms zone edit example.org --file f`,
		Args: exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if file != "" {
				text, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				req := admin.ZoneReplaceRequest{Name: args[0], File: file, Text: string(text)}
				if m := ziHeader.FindSubmatch(text); m != nil && !force {
					req.ExpectZI, _ = strconv.ParseUint(string(m[1]), 10, 64)
				}
				// On a zone with edit_lock the replace is refused while
				// someone else holds the lock (it needs none of its own: it
				// is one commit).
				return f.commitCmd(ctx, "zone.replace", req)
			}
			return f.editInteractive(ctx, args[0])
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "replace the zone's content with this file, without an editor")
	cmd.Flags().BoolVar(&force, "force", false, "with --file: replace even if the zone changed since the file's zi_id")
	return cmd
}

func (f *Factory) editor() string {
	for _, k := range []string{"VISUAL", "EDITOR"} {
		if v := f.Getenv(k); v != "" {
			return v
		}
	}
	return "vi"
}

func (f *Factory) editInteractive(ctx context.Context, zone string) error {
	c, err := f.Client(true)
	if err != nil {
		return err
	}
	defer c.Close()
	// A zone with edit_lock is locked while the editor runs: the commit
	// releases the lock, anything else (no change, abort, error) here.
	var lock admin.ZoneLock
	if err := c.Call(ctx, "zone.lock", admin.ZoneLockRequest{Name: zone}, &lock); err != nil {
		return err
	}
	committed := false
	if lock.Token != "" {
		defer func() {
			if !committed {
				// On the same client: without a server it holds the store.
				var res admin.ZoneLock
				_ = c.Call(ctx, "zone.unlock", admin.ZoneLockRequest{Name: zone, Token: lock.Token}, &res)
			}
		}()
	}
	var cur admin.ZoneText
	if err := c.Call(ctx, "zone.show", admin.ZoneRequest{Name: zone}, &cur); err != nil {
		return err
	}
	in := bufio.NewReader(f.In)
	kept := f.keptEditPath(cur.Zone)
	start, err := f.offerResume(in, kept, &cur)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "dms-edit-*.zone")
	if err != nil {
		return err
	}
	path := tmp.Name()
	defer os.Remove(path)
	if _, err := tmp.WriteString(start); err != nil {
		tmp.Close()
		return err
	}
	tmp.Close()
	// keep saves the edited text where the next edit finds it (mode
	// 0600: a zone may hold what its owner shows no one) and says where.
	keep := func(text []byte) string {
		if kept == "" {
			return path // no state directory: the temporary file stays
		}
		if err := os.MkdirAll(filepath.Dir(kept), 0o700); err == nil {
			if err := zonedb.WriteFileSync(kept, 0o600, func(w io.Writer) error { _, err := w.Write(text); return err }); err == nil {
				return kept
			}
		}
		return path
	}
	done := func() { // the edit ended well: a kept text is history now
		if kept != "" {
			os.Remove(kept)
		}
	}
	for {
		ed := exec.CommandContext(ctx, "sh", "-c", f.editor()+` "$1"`, "sh", path)
		ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := ed.Run(); err != nil {
			text, rerr := os.ReadFile(path)
			if rerr != nil || bytes.Equal(text, []byte(cur.Text)) {
				return fmt.Errorf("editor %s failed: %w", f.editor(), err)
			}
			where := keep(text)
			if where == path {
				defer func() { _ = os.WriteFile(path, text, 0o600) }() // outlive the deferred Remove
			}
			return fmt.Errorf("editor %s failed: %w (your text is kept in %s)", f.editor(), err, where)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Equal(text, []byte(cur.Text)) {
			fmt.Fprintf(f.Out, "zone %s: no changes\n", cur.Zone)
			done()
			return nil
		}
		var res admin.CommitResult
		err = c.Call(ctx, "zone.replace", admin.ZoneReplaceRequest{Name: zone, File: path, Text: string(text), ExpectZI: cur.ZI, LockToken: lock.Token}, &res)
		if err == nil {
			committed = true
			done()
			if f.json() {
				return f.printJSON(res)
			}
			f.printCommits(f.Out, &res)
			return nil
		}
		ae := admin.AsError(err)
		if ae.Code != admin.CodeParse && ae.Code != admin.CodeCheck && ae.Code != admin.CodeBadInput {
			return fmt.Errorf("%w (your text is kept in %s; dms zone edit %s offers to resume from it)", err, keep(text), strings.TrimSuffix(cur.Zone, "."))
		}
		Report(f.Err, err)
		fmt.Fprint(f.Err, "Edit again (e) or abort (a)? [e] ")
		ans, rerr := in.ReadString('\n')
		ans = strings.TrimSpace(strings.ToLower(ans))
		if rerr != nil && ans == "" || strings.HasPrefix(ans, "a") || strings.HasPrefix(ans, "q") || strings.HasPrefix(ans, "n") {
			where := keep(text)
			return &admin.Error{Code: ae.Code, Message: fmt.Sprintf("edit of %s aborted, nothing committed; your edited text is kept in %s", cur.Zone, where),
				Hint: fmt.Sprintf("dms zone edit %s offers to resume from it", strings.TrimSuffix(cur.Zone, "."))}
		}
	}
}

// keptEditPath is where an abandoned edit of zone is kept: the user's state
// directory ($XDG_STATE_HOME, else ~/.local/state), dms/edits, one file per
// store, view and zone; "" when there is no home to keep it in.
func (f *Factory) keptEditPath(zone string) string {
	dir := f.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home := f.Getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	db, err := filepath.Abs(f.DBPath)
	if err != nil {
		db = f.DBPath
	}
	sum := sha256.Sum256([]byte(db))
	name := strings.TrimSuffix(zone, ".")
	if f.View != "" {
		name = f.View + "_" + name
	}
	name = strings.NewReplacer("/", "_", "\\", "_").Replace(name)
	return filepath.Join(dir, "dms", "edits", fmt.Sprintf("%s.%x.zone", name, sum[:4]))
}

// offerResume returns the text the editor starts from: the zone's, or an
// abandoned edit's kept at kept when the admin takes it up again.
func (f *Factory) offerResume(in *bufio.Reader, kept string, cur *admin.ZoneText) (string, error) {
	if kept == "" {
		return cur.Text, nil
	}
	text, err := os.ReadFile(kept)
	if err != nil {
		return cur.Text, nil // none kept
	}
	st, _ := os.Stat(kept)
	fmt.Fprintf(f.Err, "An edit of %s abandoned at %s is kept in %s.\n", cur.Zone, fmtTime(st.ModTime()), kept)
	if m := ziHeader.FindSubmatch(text); m != nil {
		if zi, _ := strconv.ParseUint(string(m[1]), 10, 64); zi != 0 && zi != cur.ZI {
			fmt.Fprintf(f.Err, "The zone has changed since (zi %d then, %d now): resuming replaces those changes with the kept text.\n", zi, cur.ZI)
		}
	}
	fmt.Fprint(f.Err, "Resume from it (r), start from the zone as it is (s), or discard it (d)? [r] ")
	ans, rerr := in.ReadString('\n')
	ans = strings.TrimSpace(strings.ToLower(ans))
	switch {
	case ans == "" && rerr != nil:
		return "", &admin.Error{Code: admin.CodeBadInput, Message: "no answer to the resume question: nothing edited",
			Hint: fmt.Sprintf("run dms zone edit %s at a terminal, or use the kept text with dms zone edit %s --file %s", strings.TrimSuffix(cur.Zone, "."), strings.TrimSuffix(cur.Zone, "."), kept)}
	case ans == "" || strings.HasPrefix(ans, "r") || strings.HasPrefix(ans, "y"):
		return string(text), nil
	case strings.HasPrefix(ans, "d"):
		if err := os.Remove(kept); err != nil {
			return "", err
		}
		fmt.Fprintf(f.Err, "discarded %s\n", kept)
		return cur.Text, nil
	default:
		return cur.Text, nil
	}
}

func newCmdZoneUnlock(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock ZONE",
		Short: "Break the edit lock someone holds on a zone",
		Long: `Zones with edit_lock are locked while someone edits them. A lock not released
times out after the config key edit_lock_timeout; dms zone unlock breaks it
at once (the holder's commit is then refused). Both go in the event log.`,
		Example: "  dms zone unlock example.org",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, true, "zone.unlock", admin.ZoneLockRequest{Name: args[0]}, func(w io.Writer, res *admin.ZoneLock) {
				fmt.Fprintf(w, "zone %s: edit lock broken\n", res.Zone)
			})
		},
	}
}

func newCmdZoneSet(f *Factory) *cobra.Command {
	var inc, lock, nsec3, apex, disabled *boolPair
	var sg string
	cmd := &cobra.Command{
		Use:     "set ZONE",
		Short:   "Change a zone's settings",
		Example: "  dms zone set example.org --inc-updates\n  dms zone set example.org --no-edit-lock --disable",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ZoneSetRequest{Name: args[0]}
			var err error
			for _, p := range []struct {
				b   *boolPair
				dst **bool
			}{{inc, &req.IncUpdates}, {lock, &req.EditLock}, {nsec3, &req.NSEC3}, {apex, &req.UseApexNS}, {disabled, &req.Disabled}} {
				if *p.dst, err = p.b.value(); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("sg") {
				req.SG = &sg
			}
			if req == (admin.ZoneSetRequest{Name: args[0]}) {
				return usageError{errors.New("zone set: give at least one setting to change (see --help)")}
			}
			return f.commitCmd(cmd.Context(), "zone.set", req)
		},
	}
	inc = addBoolPair(cmd, "inc-updates", "take incremental updates (auto-PTR, dynamic DNS)")
	lock = addBoolPair(cmd, "edit-lock", "lock the zone while someone edits it")
	nsec3 = addBoolPair(cmd, "nsec3", "deny existence with NSEC3 when signed")
	apex = addBoolPair(cmd, "use-apex-ns", "apex NS come from the server group")
	disabled = addBoolPair(cmd, "disable", "stop serving the zone (kept, not deleted)")
	cmd.Flags().StringVar(&sg, "sg", "", "server group")
	return cmd
}

func zoneOpCmd(f *Factory, use, short, example, op string) *cobra.Command {
	return &cobra.Command{
		Use:     use + " ZONE",
		Short:   short,
		Example: example,
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), op, admin.ZoneRequest{Name: args[0]})
		},
	}
}

func newCmdZoneDelete(f *Factory) *cobra.Command {
	return zoneOpCmd(f, "delete", "Mark a zone deleted: kept in the store, not served", "  dms zone delete example.org", "zone.delete")
}

func newCmdZoneUndelete(f *Factory) *cobra.Command {
	return zoneOpCmd(f, "undelete", "Serve a deleted zone again", "  dms zone undelete example.org", "zone.undelete")
}

func newCmdZoneDestroy(f *Factory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "destroy ZONE",
		Short: "Remove a zone, its records and its history for good",
		Long: `Remove a zone with its records and all its instances. This cannot be undone
(dms zone delete keeps the zone instead). Asks for confirmation unless --force.`,
		Example: "  dms zone destroy example.org\n  dms zone destroy --force example.org",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				fmt.Fprintf(f.Err, "Destroy zone %s with all its history? This cannot be undone. Type the zone name to confirm: ", args[0])
				line, _ := bufio.NewReader(f.In).ReadString('\n')
				line = strings.TrimSpace(line)
				if !strings.EqualFold(strings.TrimSuffix(line, "."), strings.TrimSuffix(args[0], ".")) {
					return &admin.Error{Code: admin.CodeBadInput, Message: "not confirmed; zone not destroyed",
						Hint: "type the zone name at the prompt, or give --force"}
				}
			}
			return f.commitCmd(cmd.Context(), "zone.destroy", admin.ZoneRequest{Name: args[0]})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	return cmd
}

func newCmdZoneSerial(f *Factory) *cobra.Command {
	var set uint32
	var bump, wrap bool
	cmd := &cobra.Command{
		Use:   "serial ZONE (--set N | --bump | --wrap)",
		Short: "Set, bump or wrap a zone's SOA serial",
		Long: `Change a zone's SOA serial administratively. --set only moves it forward
(in RFC 1982 serial arithmetic, by at most 2^31-1); --bump applies the
YYYYMMDDNN policy; --wrap makes one deliberate wrap step, the way to get to a
lower serial: wrap, wait until every secondary has transferred, then set.`,
		Example: "  dms zone serial example.org --set 2026112201\n  dms zone serial example.org --bump\n  dms zone serial example.org --wrap",
		Args:    exactArgs(1, "one zone name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := admin.ZoneSerialRequest{Name: args[0], Bump: bump, Wrap: wrap}
			if cmd.Flags().Changed("set") {
				req.Set = &set
			}
			return run(cmd.Context(), f, true, "zone.serial", req, func(w io.Writer, res *admin.SerialResult) {
				f.printCommits(w, &res.CommitResult)
				if res.Note != "" {
					fmt.Fprintln(w, res.Note)
				}
			})
		},
	}
	cmd.Flags().Uint32Var(&set, "set", 0, "set the serial to N (forward only)")
	cmd.Flags().BoolVar(&bump, "bump", false, "increment the serial by the policy")
	cmd.Flags().BoolVar(&wrap, "wrap", false, "one wrap step: add 2^31-1")
	cmd.MarkFlagsMutuallyExclusive("set", "bump", "wrap")
	return cmd
}

func newCmdZoneSetRef(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "set-ref ZONE REF",
		Short:   "Set the reference a zone belongs to",
		Example: "  dms zone set-ref example.org cust42@ISP-NET",
		Args:    exactArgs(2, "a zone and a reference"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), "zone.set_ref", admin.ZoneSetRefRequest{Name: args[0], Ref: args[1]})
		},
	}
}

func newCmdZoneCheck(f *Factory) *cobra.Command {
	var req admin.ZoneCheckRequest
	cmd := &cobra.Command{
		Use:   "check ZONE | --all",
		Short: "Check delegations and secondaries: apex NS against the servers, lame servers, stale glue",
		Long: `Check a zone (or every zone) the way the old top-ten operator errors list
asks: its apex NS against the servers of its server groups (an NS name's
addresses from the zones served here, or from config check_resolver when it
is set; what cannot be checked is said, nothing is required of the network);
each secondary and each NS address asked for the SOA (no answer, an error, no
AA: lame; a serial behind or ahead of dms's); and each delegation inside the
zone to a child zone served here: the same NS, and glue that is the child's
addresses. Findings go to the event log, dms status and the metrics
(dms_zone_check_findings). Exits 1 when there is an error.`,
		Example: "  dms zone check example.org\n  dms zone check --all -o json",
		Args: func(cmd *cobra.Command, args []string) error {
			if req.All && len(args) > 0 || !req.All && len(args) != 1 {
				return usageError{fmt.Errorf("name one zone, or give --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.Name = args[0]
			}
			var res admin.ZoneCheckResult
			if err := f.call(cmd.Context(), true, "zone.check", req, &res); err != nil {
				return err
			}
			if f.json() {
				if err := f.printJSON(res); err != nil {
					return err
				}
			} else {
				printZoneCheck(f.Out, &res)
			}
			if res.Errors > 0 {
				return &admin.Error{Code: admin.CodeCheck, Message: fmt.Sprintf("zone check: %d error(s)", res.Errors)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&req.All, "all", false, "check every served zone")
	return cmd
}

func printZoneCheck(w io.Writer, res *admin.ZoneCheckResult) {
	for _, z := range res.Zones {
		name := z.Zone
		if z.View != "" {
			name += " (view " + z.View + ")"
		}
		if len(z.Findings) == 0 {
			fmt.Fprintf(w, "%s: OK (serial %d)\n", name, z.Serial)
			continue
		}
		fmt.Fprintf(w, "%s: serial %d\n", name, z.Serial)
		for _, f := range z.Findings {
			fmt.Fprintf(w, "  %-9s %-22s %s\n", f.Severity, f.Code, f.Message)
		}
	}
	fmt.Fprintf(w, "%d zone(s) checked: %d error(s), %d warning(s)\n", len(res.Zones), res.Errors, res.Warnings)
}

func newCmdZoneNotify(f *Factory) *cobra.Command {
	var req admin.ZoneNotifyRequest
	cmd := &cobra.Command{
		Use:   "notify ZONE | --sg SG | --all",
		Short: "Send NOTIFY again to a zone's secondaries (or a server group's, or all)",
		Long: `Queue a NOTIFY for the zone (or every zone of a server group, or every zone)
to its secondaries, as after a commit: they ask for the SOA and transfer what
they lack. zone_tool's refresh_zone, refresh_sg and refresh_all. Needs a
running dms serve (NOTIFY is sent by it).`,
		Example: "  dms zone notify example.org\n  dms zone notify --sg external\n  dms zone notify --all",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 || len(args) == 1 && (req.All || req.SG != "") || len(args) == 0 && !req.All && req.SG == "" {
				return usageError{fmt.Errorf("name one zone, or give --sg SG or --all")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				req.Name = args[0]
			}
			return run(cmd.Context(), f, false, "zone.notify", req, func(w io.Writer, res *admin.ZoneNotifyResult) {
				fmt.Fprintf(w, "NOTIFY queued for %d zone(s); %d pending\n", len(res.Zones), res.Pending)
			})
		},
	}
	cmd.Flags().StringVar(&req.SG, "sg", "", "every zone of this server group")
	cmd.Flags().BoolVar(&req.All, "all", false, "every zone")
	return cmd
}

// isZI says whether s reads as a zone instance id.
func isZI(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func newCmdZoneUpdate(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "update ZONE FILE",
		Short: "Apply an update file (zone_tool's update_rrs: ;!RROP:ADD, DELETE, UPDATE_RRTYPE) in one commit",
		Long: `Apply an incremental update file, zone_tool's update_rrs format: zone text
in which each record follows a ";!RROP:" line saying what to do with it.
ADD adds the record; DELETE removes it, with type ANY every RRset of the
name, with empty rdata ("") every record of the type; UPDATE_RRTYPE makes
the records of that name and type exactly those given (consecutive lines
of one name and type together). Other flags (REF:, LOCKPTR, FORCEREV,
TRACKREV, DISABLE) may stand on the same ;! line. $ORIGIN and $TTL are
read, $UPDATE_TYPE is passed over. FILE - reads standard input.`,
		Example: "  dms zone update example.org changes.upd\n  printf ';!RROP:ADD\\nwww A 192.0.2.9\\n' | dms zone update example.org -",
		Args:    exactArgs(2, "a zone and an update file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b []byte
			var err error
			if args[1] == "-" {
				b, err = io.ReadAll(f.In)
			} else {
				b, err = os.ReadFile(args[1])
			}
			if err != nil {
				return err
			}
			return f.commitCmd(cmd.Context(), "zone.update_rrs", admin.ZoneUpdateRequest{Name: args[0], File: args[1], Text: string(b)})
		},
	}
}

func newCmdZoneNuke(f *Factory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "nuke PATTERN...",
		Short: "Destroy every zone a pattern matches (a wrong import), in one commit",
		Long: `Destroy, with their records and history, every zone whose name matches one
of the shell patterns (zone_tool's nuke_zones): the way to take back an
import that went wrong. Lists the zones and asks for confirmation unless
--force. With --view, that view's zones only.`,
		Example: "  dms zone nuke '*.reseller.example'\n  dms zone nuke --force 'test-*'",
		Args:    minArgs(1, "one or more zone name patterns"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var plan admin.ZoneNukeResult
			if err := f.call(cmd.Context(), false, "zone.nuke", admin.ZoneNukeRequest{Patterns: args, DryRun: true}, &plan); err != nil {
				return err
			}
			if len(plan.Zones) == 0 {
				return &admin.Error{Code: admin.CodeNotFound, Message: "no zone matches " + strings.Join(args, " ")}
			}
			if !force {
				fmt.Fprintf(f.Err, "Destroy these %d zone(s) with all their history? This cannot be undone.\n  %s\nType yes to confirm: ", len(plan.Zones), strings.Join(plan.Zones, "\n  "))
				line, _ := bufio.NewReader(f.In).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					return &admin.Error{Code: admin.CodeBadInput, Message: "not confirmed; nothing destroyed", Hint: "type yes at the prompt, or give --force"}
				}
			}
			return run(cmd.Context(), f, true, "zone.nuke", admin.ZoneNukeRequest{Patterns: args}, func(w io.Writer, res *admin.ZoneNukeResult) {
				fmt.Fprintf(w, "destroyed %d zone(s): %s\n", len(res.Zones), strings.Join(res.Zones, " "))
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "do not ask for confirmation")
	return cmd
}

func newCmdZoneCopy(f *Factory) *cobra.Command {
	var zi uint64
	cmd := &cobra.Command{
		Use:   "copy ZONE NEW-ZONE",
		Short: "Make a new zone with another zone's content (names in it moved to the new zone)",
		Long: `Create NEW-ZONE with ZONE's records (zone_tool's copy_zone): owner names and
names in the data that were ZONE or below it become NEW-ZONE or below it;
flags and references go with the records; the new zone takes ZONE's server
group, reference and settings (not its DNSSEC keys). With --zi, that
instance of ZONE is copied, and into an existing NEW-ZONE it becomes its new
content, a new instance (zone_tool's copy_zi).`,
		Example: "  dms zone copy template.example example.org\n  dms zone copy --zi 1234 example.org example.net",
		Args:    exactArgs(2, "the zone to copy and the new (or, with --zi, an existing) zone"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.commitCmd(cmd.Context(), "zone.copy", admin.ZoneCopyRequest{Name: args[0], To: args[1], ZI: zi})
		},
	}
	cmd.Flags().Uint64Var(&zi, "zi", 0, "copy this instance (see dms zone history) instead of the current content")
	return cmd
}

func newCmdZoneDropHistory(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "drop-history ZONE ZI",
		Short: "Remove a zone instance and every older one (zone_tool's delete_zi)",
		Long: `Remove instance ZI of the zone and every instance older than it; the current
one always stays. dms keeps a zone's history as the changes between its
instances, so one in the middle cannot go alone (the older ones are read
through it): this cuts the history at ZI. IXFR from those serials then falls
back to AXFR.`,
		Example: "  dms zone drop-history example.org 1234",
		Args:    exactArgs(2, "a zone and a zone instance id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			zi, err := parseZI(args[1])
			if err != nil {
				return err
			}
			return run(cmd.Context(), f, true, "zone.drop_history", admin.ZoneDropHistoryRequest{Name: args[0], ZI: zi}, func(w io.Writer, r *admin.ZoneDropHistoryResult) {
				fmt.Fprintf(w, "zone %s: %d instance(s) removed\n", r.Zone, r.Dropped)
			})
		},
	}
}

func newCmdZoneTTL(f *Factory) *cobra.Command {
	var req admin.ZoneTTLRequest
	cmd := &cobra.Command{
		Use:   "set-ttl ZONE [TTL]",
		Short: "Give the records with the zone's default TTL a new one (zone_tool's refresh_zone_ttl)",
		Long: `Set the TTL of every RRset that has the zone's default TTL (its most common
one, what dms zone show prints as $TTL; or --from) to TTL (default: config
zone_ttl), in one commit. Records with a TTL of their own keep it.`,
		Example: "  dms zone set-ttl example.org 1h\n  dms zone set-ttl example.org 300 --from 86400",
		Args:    rangeArgs(1, 2, "a zone and perhaps a TTL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if len(args) == 2 {
				req.TTL = args[1]
			}
			return f.commitCmd(cmd.Context(), "zone.ttl", req)
		},
	}
	cmd.Flags().StringVar(&req.From, "from", "", "the TTL whose records change (default: the zone's most common)")
	return cmd
}
