package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"dmsdns.org/dms/admin"
)

// dms shell: the old zone_tool's interactive shell. It takes dms's own
// commands ("zone show example.org") and zone_tool's spellings
// ("show_zone example.org"), with history and tab completion on a
// terminal; output longer than the screen goes through $PAGER there, never
// when piped. Reading commands from a pipe, it runs them one by one and
// stops at the first that fails (a script).

func newCmdShell(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "An interactive shell (zone_tool > ) for dms and old zone_tool commands",
		Long: `dms shell reads commands at a "zone_tool > " prompt: dms's own (zone show
example.org) and the old zone_tool spellings (show_zone example.org,
create_zone 192.0.2.0/24 inc_updates, show_zonesm, ls, set_config, vacuum_all,
ls_pending_events, poke_zone_set_serial, ...; "help legacy" lists them). On a
terminal it keeps a history (~/.dms_history) and completes commands and zone
names with tab; long output goes through $PAGER (default less). With commands
on standard input it runs them in order and stops at the first failure.`,
		Example: "  dms shell\n  printf 'show_zonesm example.org\\nls\\n' | dms shell",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.shell(cmd.Context())
		},
	}
}

// legacy maps zone_tool's commands to dms's: the new command words, and
// how the old arguments read (keyword flags like inc_updates, -r REF).
var legacy = map[string][]string{
	"create_zone":                  {"zone", "create"},
	"show_zone":                    {"zone", "show"},
	"edit_zone":                    {"zone", "edit"},
	"show_zonesm":                  {"zone", "info"},
	"show_zi":                      {"zone", "info"},
	"ls_zi":                        {"zone", "history"},
	"ls":                           {"zone", "ls"},
	"ls_zones":                     {"zone", "ls"},
	"ls_deleted":                   {"zone", "ls", "--deleted"},
	"set_zone":                     {"zone", "set"},
	"delete_zone":                  {"zone", "delete"},
	"undelete_zone":                {"zone", "undelete"},
	"destroy_zone":                 {"zone", "destroy"},
	"load_zone":                    {"zone", "load"},
	"load_zones":                   {"zone", "load"},
	"diff_zones":                   {"zone", "diff"},
	"rollback_zone":                {"zone", "rollback"},
	"poke_zone_set_serial":         {"zone", "serial"},
	"poke_zone_wrap_serial":        {"zone", "serial", "--wrap"},
	"set_zone_reference":           {"zone", "set-ref"},
	"set_zone_sg":                  {"zone", "set-sg"},
	"set_zone_alt_sg":              {"zone", "alt-sg", "set"},
	"delete_zone_alt_sg":           {"zone", "alt-sg", "clear"},
	"swap_zone_sg":                 {"zone", "alt-sg", "swap"},
	"unlock_zone":                  {"zone", "unlock"},
	"show_config":                  {"config", "show"},
	"set_config":                   {"config", "set"},
	"create_reference":             {"ref", "create"},
	"delete_reference":             {"ref", "delete"},
	"rename_reference":             {"ref", "rename"},
	"ls_reference":                 {"ref", "ls"},
	"lsref":                        {"ref", "ls"},
	"create_sectag":                {"sectag", "create"},
	"delete_sectag":                {"sectag", "delete"},
	"show_sectags":                 {"sectag", "ls"},
	"add_zone_sectag":              {"zone", "sectag", "add"},
	"delete_zone_sectag":           {"zone", "sectag", "delete"},
	"replace_zone_sectags":         {"zone", "sectag", "replace"},
	"show_zone_sectags":            {"zone", "sectag", "ls"},
	"ls_pending_events":            {"pending"},
	"ls_failed_events":             {"events", "--failed"},
	"vacuum_all":                   {"vacuum", "all"},
	"vacuum_zis":                   {"vacuum", "zis"},
	"vacuum_zones":                 {"vacuum", "zones"},
	"vacuum_pare_deleted_zone_zis": {"vacuum", "zones"},
	"vacuum_event_queue":           {"vacuum", "events"},
	"show_server":                  {"server", "show"},
	"ls_server":                    {"server", "ls"},
	"enable_server":                {"server", "enable"},
	"disable_server":               {"server", "disable"},
	"show_sg":                      {"sg", "show"},
	"ls_sg":                        {"sg", "ls"},
	"show_dms_status":              {"status"},
	"show_master_status":           {"status"},
	"enable_zone":                  {"zone", "set", "--no-disable"},
	"disable_zone":                 {"zone", "set", "--disable"},
	"dupe_zone_alt_sg":             {"zone", "alt-sg", "set"},
	"clear_edit_lock":              {"zone", "unlock"},
	"refresh_zone":                 {"zone", "notify"},
	"refresh_sg":                   {"zone", "notify", "--sg"},
	"refresh_all":                  {"zone", "notify", "--all"},
	"check_zone":                   {"zone", "check"},
	"update_rrs":                   {"zone", "update"},
	"nuke_zones":                   {"zone", "nuke"},
	"copy_zone":                    {"zone", "copy"},
	"rr_query_db":                  {"record", "find"},
	"record_query_db":              {"record", "find"},
	"list_zone":                    {"zone", "ls"},
	"vacuum_zone":                  {"vacuum", "zones"},
	"create_sg":                    {"sg", "create"},
	"delete_sg":                    {"sg", "delete"},
	"rename_sg":                    {"sg", "rename"},
	"delete_zi":                    {"zone", "drop-history"},
	"refresh_zone_ttl":             {"zone", "set-ttl"},
	"set_sg_config":                {"sg", "set"},
	"set_sg_master_address":        {"sg", "set"},
	"show_apex_ns":                 {"sg", "show"},
	"edit_apex_ns":                 {"sg", "set"},
	"show_master_sg":               {"sg", "ls"},
	"create_server":                {"server", "create"},
	"delete_server":                {"server", "delete"},
	"rename_server":                {"server", "rename"},
	"move_server_sg":               {"server", "move"},
	"set_server_address":           {"server", "set-address"},
	"set_server_type":              {"server", "set"},
	"ls_slave":                     {"server", "ls"},
	"show_server_byaddr":           {"server", "ls"},
	"show_event":                   {"event", "show"},
	"ls_events":                    {"events"},
	"list_pending_events":          {"pending"},
	"tsig_key_generate":            {"tsig", "create"},
	"show_sectag":                  {"sectag", "ls"},
	"ls_sectags":                   {"sectag", "ls"},
}

// legacyGone are zone_tool's commands that have no meaning in dms, each
// with what replaces it: the shell answers that in one line.
var legacyGone = map[string]string{
	"reset_zonesm":              "zones have no state machine to reset in dms: a commit publishes at once (dms zone info shows the zone)",
	"reset_server":              "secondaries are polled and notified by dms serve, nothing to reset: dms server disable/enable, dms zone notify --sg",
	"reset_master":              "the master is dms serve itself: restart it (systemctl restart dms)",
	"restore_named_db":          "there is no named database to rebuild: dms serves from its store (dms restore FILE brings a backup back)",
	"rsync_admin_config":        "secondaries are configured once from dms server config and follow the catalog zones: nothing to rsync",
	"rsync_server_admin_config": "secondaries are configured once from dms server config and follow the catalog zones: nothing to rsync",
	"reconfig_all":              "no named to reconfigure: secondaries follow their server group's catalog zone",
	"reconfig_master":           "no named to reconfigure: dms serve answers from the store at once",
	"reconfig_sg":               "secondaries follow their server group's catalog zone: dms zone notify --sg SG makes them look now",
	"reconfig_replica_sg":       "no replica server group: a cluster of dms nodes shares one commit log (dms cluster status)",
	"show_replica_sg":           "no replica server group: a cluster of dms nodes shares one commit log (dms cluster status)",
	"set_sg_replica_sg":         "no replica server group: a cluster of dms nodes shares one commit log (dms cluster status)",
	"set_server_ssh_address":    "dms does not reach secondaries over SSH: they transfer from dms (dms server config)",
	"write_rndc_conf":           "no rndc: dms serve is controlled by the dms commands (its control socket)",
	"fail_event":                "the event log is a record, not a work queue: nothing waits on an event to fail it (dms events --failed lists failures)",
	"vacuum_syslog":             "dms logs to standard error or the journal; its event log is aged by dms vacuum events",
	"hold_sg":                   "no named to hold: a server group's secondaries can be disabled (dms server disable)",
	"load_zone_zi":              "load the file as a zone's new content: dms zone edit ZONE --file FILE (its history keeps the old instance)",
	"set_sg_alt_master_address": "a server group has one list of the addresses its secondaries reach dms at: dms sg set SG --master-address A --master-address B",
}

// legacyKeywords are zone_tool's keyword arguments and their flags.
var legacyKeywords = map[string]string{
	"inc_updates": "--inc-updates", "no_inc_updates": "--no-inc-updates",
	"edit_lock": "--edit-lock", "no_edit_lock": "--no-edit-lock",
	"auto_dnssec": "--dnssec", "nsec3": "--nsec3", "no_nsec3": "--no-nsec3",
	"use_apex_ns": "--use-apex-ns", "no_use_apex_ns": "--no-use-apex-ns",
}

// translate turns a shell line's words into dms arguments.
func translate(words []string) []string {
	if len(words) == 0 {
		return nil
	}
	switch {
	case words[0] == "set_zone" && len(words) == 3 && (words[2] == "auto_dnssec" || words[2] == "no_auto_dnssec"):
		// Signing a zone is dms dnssec enable (keys are made then).
		if words[2] == "auto_dnssec" {
			return []string{"dnssec", "enable", words[1]}
		}
		return []string{"dnssec", "disable", words[1]}
	case words[0] == "set_config" && len(words) >= 5 && words[1] == "-g":
		// A server group's setting: set_config -g SG KEY VALUE.
		return append([]string{"sg", "set", words[2], "--" + strings.ReplaceAll(words[3], "_", "-")}, words[4:]...)
	case words[0] == "show_zone" && len(words) == 3 && isNumber(words[2]):
		return []string{"zone", "show", words[1], "--zi", words[2]}
	case words[0] == "edit_apex_ns" && len(words) > 2:
		return append([]string{"sg", "set", words[1], "--apex-ns"}, strings.Join(words[2:], " "))
	case words[0] == "create_server" && len(words) >= 4 && !strings.HasPrefix(words[3], "-"):
		// create_server NAME ADDRESS SG [TYPE]
		out := []string{"server", "create", words[1], words[2], "--sg", words[3]}
		if len(words) > 4 {
			out = append(out, "--type", words[4])
		}
		return out
	case words[0] == "set_sg_master_address" && len(words) >= 3:
		out := []string{"sg", "set", words[1]}
		for _, a := range words[2:] {
			out = append(out, "--master-address", a)
		}
		return out
	case words[0] == "set_server_type" && len(words) == 3:
		return []string{"server", "set", words[1], "--type", words[2]}
	case words[0] == "copy_zi" && len(words) == 4:
		// copy_zi ZONE ZI OTHER-ZONE: the instance becomes OTHER-ZONE's.
		return []string{"zone", "copy", "--zi", words[2], words[1], words[3]}
	case words[0] == "copy_zi" && len(words) == 3:
		// copy_zi ZONE ZI: the zone takes an old instance back.
		return []string{"zone", "rollback", words[1], words[2]}
	case words[0] == "create_sg" && len(words) > 2:
		// create_sg NAME [CONFIG_DIR] [MASTER_ADDRESS ...]: the addresses.
		out := []string{"sg", "create", words[1]}
		for _, w := range words[2:] {
			if _, err := netip.ParseAddr(w); err == nil {
				out = append(out, "--master-address", w)
			}
		}
		return out
	}
	base, ok := legacy[words[0]]
	if !ok {
		return words
	}
	out := slices.Clone(base)
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case legacyKeywords[w] != "":
			out = append(out, legacyKeywords[w])
		case w == "-f" && (words[0] == "destroy_zone" || words[0] == "nuke_zones"):
			out = append(out, "--force")
		case w == "-v":
			// zone_tool's verbose switch: dms says what it did anyway.
		case (w == "-r" || w == "-g") && i+1 < len(words):
			flag := map[string]string{"-r": "--ref", "-g": "--sg"}[w]
			if base[0] == "zone" && base[1] == "ls" && w == "-r" {
				flag = "--ref"
			}
			out = append(out, flag, words[i+1])
			i++
		case words[0] == "poke_zone_set_serial" && i == 2:
			out = append(out, "--set", w)
		default:
			out = append(out, w)
		}
	}
	if words[0] == "poke_zone_set_serial" && len(words) == 2 {
		out = append(out, "--bump")
	}
	return out
}

// splitWords splits a line like a shell: spaces separate words, single and
// double quotes group, a backslash escapes the next character.
func splitWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in, quote, esc := false, rune(0), false
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc, in = false, true
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if in || esc {
		words = append(words, cur.String())
	}
	return words, nil
}

// exec runs one shell line, its output to out; it reports whether the
// shell is to end.
func (f *Factory) exec(ctx context.Context, line string, out io.Writer) (bool, error) {
	words, err := splitWords(strings.TrimSpace(line))
	if err != nil {
		return false, usageError{err}
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return false, nil
	}
	if why, ok := legacyGone[words[0]]; ok {
		fmt.Fprintf(out, "%s: %s\n", words[0], why)
		return false, nil
	}
	switch words[0] {
	case "exit", "quit", "EOF":
		return true, nil
	case "help":
		if len(words) > 1 && words[1] == "legacy" {
			printLegacy(out)
			return false, nil
		}
	}
	sub := *f
	sub.Out = out
	root := NewRoot(&sub)
	root.SetArgs(append([]string{"--db", f.DBPath, "--output", f.Output}, translate(words)...))
	root.SetContext(ctx)
	return false, root.ExecuteContext(ctx)
}

func printLegacy(w io.Writer) {
	names := make([]string, 0, len(legacy))
	for k := range legacy {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "%-30s dms %s\n", n, strings.Join(legacy[n], " "))
	}
	gone := make([]string, 0, len(legacyGone))
	for k := range legacyGone {
		gone = append(gone, k)
	}
	sort.Strings(gone)
	for _, n := range gone {
		fmt.Fprintf(w, "%-30s (none) %s\n", n, legacyGone[n])
	}
	fmt.Fprintf(w, "keywords: inc_updates, edit_lock, auto_dnssec, nsec3, use_apex_ns (and no_...); -r REF; -g SG; -f\n")
	fmt.Fprintf(w, "also: set_zone ZONE auto_dnssec, set_config -g SG KEY VALUE, show_zone ZONE ZI, edit_apex_ns SG NS..., create_server NAME ADDRESS SG [TYPE]\n")
}

func (f *Factory) shell(ctx context.Context) error {
	in, ok := f.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		// A script: each line a command, stop at the first failure.
		sc := bufio.NewScanner(f.In)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			n++
			done, err := f.exec(ctx, sc.Text(), f.Out)
			if err != nil {
				return fmt.Errorf("line %d: %s: %w", n, strings.TrimSpace(sc.Text()), err)
			}
			if done {
				return nil
			}
		}
		return sc.Err()
	}
	fd := int(in.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, state)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{in, f.Out}, "zone_tool > ")
	hist := openHistory(f.Getenv("HOME"))
	t.History = hist
	zones := f.zoneNames(ctx)
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		return complete(line, pos, zones)
	}
	fmt.Fprintf(t, "dms shell: dms commands or zone_tool's (help, help legacy); exit or ^D to leave\n")
	for {
		line, err := t.ReadLine()
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(t)
			return nil
		}
		if err != nil {
			return err
		}
		// Commands run in the terminal's normal mode (editors, pagers,
		// confirmations), their output gathered for the pager.
		_ = term.Restore(fd, state)
		var buf bytes.Buffer
		done, err := f.exec(ctx, line, &buf)
		f.page(fd, buf.Bytes())
		if err != nil {
			Report(f.Err, err)
		}
		if done {
			return nil
		}
		zones = f.zoneNames(ctx)
		if _, err := term.MakeRaw(fd); err != nil {
			return err
		}
	}
}

// page writes out to the terminal, through $PAGER when it is longer than
// the screen.
func (f *Factory) page(fd int, out []byte) {
	_, rows, err := term.GetSize(fd)
	if err != nil || rows <= 0 || bytes.Count(out, []byte("\n")) < rows-1 {
		f.Out.Write(out)
		return
	}
	pager := f.Getenv("PAGER")
	if pager == "" {
		pager = "less -FRX"
	}
	cmd := exec.Command("sh", "-c", pager)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(out), os.Stdout, os.Stderr
	if cmd.Run() != nil {
		f.Out.Write(out)
	}
}

// zoneNames lists the zones for completion (none when the store cannot be
// read).
func (f *Factory) zoneNames(ctx context.Context) []string {
	var zones []admin.ZoneInfo
	if err := f.call(ctx, false, "zone.list", admin.ZoneListRequest{}, &zones); err != nil {
		return nil
	}
	out := make([]string, len(zones))
	for i, z := range zones {
		out[i] = z.Name
	}
	return out
}

// commandWords are what completes the first word.
func commandWords() []string {
	var out []string
	for _, c := range NewRoot(&Factory{Getenv: os.Getenv}).Commands() {
		out = append(out, c.Name())
	}
	for k := range legacy {
		out = append(out, k)
	}
	out = append(out, "exit", "help")
	sort.Strings(out)
	return out
}

// complete completes the word before pos: the first word from the
// commands, the second from a command group's subcommands, any other
// from the zone names. Ambiguous words complete to the common prefix.
func complete(line string, pos int, zones []string) (string, int, bool) {
	head := line[:pos]
	start := strings.LastIndexAny(head, " \t") + 1
	word := head[start:]
	before := strings.Fields(head[:start])
	var cands []string
	switch {
	case len(before) == 0:
		cands = commandWords()
	case len(before) == 1:
		root := NewRoot(&Factory{Getenv: os.Getenv})
		if c, _, err := root.Find(before); err == nil && c != root && c.HasSubCommands() {
			for _, s := range c.Commands() {
				cands = append(cands, s.Name())
			}
			break
		}
		cands = zones
	default:
		cands = zones
	}
	var match []string
	for _, c := range cands {
		if strings.HasPrefix(c, word) {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		return "", 0, false
	}
	p := match[0]
	for _, m := range match[1:] {
		for !strings.HasPrefix(m, p) {
			p = p[:len(p)-1]
		}
	}
	if len(match) == 1 {
		p += " "
	}
	if len(p) <= len(word) {
		return "", 0, false
	}
	nl := head[:start] + p + line[pos:]
	return nl, start + len(p), true
}

// history is the shell's history, kept in ~/.dms_history.
type history struct {
	lines []string // oldest first
	file  string
}

const maxHistory = 1000

func openHistory(home string) *history {
	h := &history{}
	if home == "" {
		return h
	}
	h.file = filepath.Join(home, ".dms_history")
	if b, err := os.ReadFile(h.file); err == nil {
		h.lines = strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(h.lines) > maxHistory {
			h.lines = h.lines[len(h.lines)-maxHistory:]
		}
	}
	return h
}

func (h *history) Add(entry string) {
	if strings.TrimSpace(entry) == "" || len(h.lines) > 0 && h.lines[len(h.lines)-1] == entry || holdsSecret(entry) {
		return
	}
	h.lines = append(h.lines, entry)
	if len(h.lines) > maxHistory {
		h.lines = h.lines[1:]
	}
	if h.file != "" {
		if fh, err := os.OpenFile(h.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintln(fh, entry)
			fh.Close()
		}
	}
}

// holdsSecret says whether a shell line may carry a TSIG secret as an
// argument (tsig import without --secret-file): such lines stay out of
// the history file.
func holdsSecret(line string) bool {
	words, err := splitWords(line)
	if err != nil {
		return true // unparsed: keep nothing that might hold one
	}
	i := slices.Index(words, "import")
	return i > 0 && slices.Contains(words[:i], "tsig") && !slices.ContainsFunc(words, func(w string) bool {
		return w == "--secret-file" || strings.HasPrefix(w, "--secret-file=")
	})
}

func (h *history) Len() int { return len(h.lines) }

func (h *history) At(i int) string { return h.lines[len(h.lines)-1-i] }

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
