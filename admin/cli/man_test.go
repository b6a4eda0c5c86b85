package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"dmsdns.org/dms/admin/cli"
)

// manEpoch is the SOURCE_DATE_EPOCH the tests give: 2001-09-09, "Sep 2001"
// (not the clock's month, so a page dated now fails).
const manEpoch = "1000000000"

// genMan runs dms man DIR on a fresh command tree and returns the tree (as
// Execute left it: with its help and completion commands).
func genMan(t *testing.T, dir string, env map[string]string) *cobra.Command {
	t.Helper()
	var out, errb bytes.Buffer
	f := &cli.Factory{In: strings.NewReader(""), Out: &out, Err: &errb, Output: "text",
		Getenv: func(k string) string { return env[k] }}
	root := cli.NewRoot(f)
	root.SetArgs([]string{"man", dir})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("dms man %s: %v\n%s", dir, err, errb.String())
	}
	return root
}

// visibleCommands is every command of the tree that gets a man page:
// hidden ones, help and their subcommands do not.
func visibleCommands(root *cobra.Command) []*cobra.Command {
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				walk(sub)
			}
		}
	}
	walk(root)
	return cmds
}

func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
}

// TestManPageEveryCommand: dms man writes one page per visible command,
// nested ones included, each with its NAME, its description and its flags,
// and no other file.
func TestManPageEveryCommand(t *testing.T) {
	dir := t.TempDir()
	root := genMan(t, dir, map[string]string{"SOURCE_DATE_EPOCH": manEpoch})
	longs := map[string]string{}
	for _, c := range visibleCommands(root) {
		longs[c.CommandPath()] = c.Long
	}

	cmds := visibleCommands(root)
	if len(cmds) < 100 {
		t.Fatalf("only %d visible commands in the tree", len(cmds))
	}
	var want []string
	for _, c := range cmds {
		want = append(want, pageName(c))
	}
	slices.Sort(want)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages written:\n%s\nwant one per visible command:\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	for _, name := range []string{"dms.1", "dms-zone.1", "dms-zone-load.1", "dms-api-user-add.1", "dms-man.1", "dms-completion-bash.1"} {
		if !slices.Contains(got, name) {
			t.Errorf("no page %s", name)
		}
	}

	for _, c := range cmds {
		b, err := os.ReadFile(filepath.Join(dir, pageName(c)))
		if err != nil {
			t.Error(err)
			continue
		}
		page := string(b)
		dashed := strings.ReplaceAll(c.CommandPath(), " ", "-")
		th := `.TH "` + strings.ToUpper(dashed) + `" "1" "Sep 2001" "dms" "dms manual"`
		if !strings.Contains(page, th) {
			t.Errorf("%s: no header %s:\n%.300s", pageName(c), th, page)
		}
		if !strings.Contains(page, ".SH NAME\n"+dashed+" - ") {
			t.Errorf("%s: no NAME section for %s", pageName(c), dashed)
		}
		if !strings.Contains(page, ".SH SYNOPSIS\n") {
			t.Errorf("%s: no SYNOPSIS", pageName(c))
		}
		// The description as --help shows it, line for line.
		if long := longs[c.CommandPath()]; long != "" {
			first := strings.ReplaceAll(strings.SplitN(long, "\n", 2)[0], `\`, `\\`)
			if !strings.Contains(page, "\n"+first+"\n") {
				t.Errorf("%s: description's first line %q not in the page", pageName(c), first)
			}
		}
		check := func(fs *pflag.FlagSet) {
			fs.VisitAll(func(fl *pflag.Flag) {
				has := strings.Contains(page, `\fB--`+fl.Name+`\fP`)
				if hidden := fl.Hidden || fl.Deprecated != ""; hidden && has {
					t.Errorf("%s: hidden flag --%s shown", pageName(c), fl.Name)
				} else if !hidden && !has {
					t.Errorf("%s: flag --%s missing", pageName(c), fl.Name)
				}
			})
		}
		check(c.NonInheritedFlags())
		check(c.InheritedFlags())
	}

	// dms(1) says where the store and the guide are.
	b, err := os.ReadFile(filepath.Join(dir, "dms.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cli.DefaultDB, `\fBDMS_DB\fP`, ".sock", cli.DefaultDocDir + "/README.md", "dms-zone-load", "dms completion"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("dms.1 does not mention %s", s)
		}
	}
	// Generating left the commands' help as it was.
	for _, c := range visibleCommands(root) {
		if c.Long != longs[c.CommandPath()] {
			t.Errorf("%s: Long changed by dms man", c.CommandPath())
		}
	}
}

// TestManPagesReproducible: the same source gives the same pages, dated
// from SOURCE_DATE_EPOCH, else not from the clock.
func TestManPagesReproducible(t *testing.T) {
	read := func(dir string) map[string]string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = string(b)
		}
		return m
	}
	for _, env := range []map[string]string{{"SOURCE_DATE_EPOCH": manEpoch}, {}} {
		a, b := t.TempDir(), t.TempDir()
		genMan(t, a, env)
		genMan(t, b, env)
		pa, pb := read(a), read(b)
		if len(pa) == 0 || len(pa) != len(pb) {
			t.Fatalf("env %v: %d pages, then %d", env, len(pa), len(pb))
		}
		for name, text := range pa {
			if pb[name] != text {
				t.Errorf("env %v: %s differs between two runs", env, name)
			}
		}
		now := time.Now().Format("Jan 2006")
		if env["SOURCE_DATE_EPOCH"] == "" && now != "Jan 2026" && strings.Contains(pa["dms.1"], `"`+now+`"`) {
			t.Errorf("without SOURCE_DATE_EPOCH dms.1 is dated now (%s)", now)
		}
	}
	var errb bytes.Buffer
	f := &cli.Factory{In: strings.NewReader(""), Out: &errb, Err: &errb, Output: "text",
		Getenv: func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return "yesterday"
			}
			return ""
		}}
	root := cli.NewRoot(f)
	root.SetArgs([]string{"man", t.TempDir()})
	if code := cli.Report(&errb, root.ExecuteContext(context.Background())); code != cli.ExitUsage {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: exit %d, want %d\n%s", code, cli.ExitUsage, errb.String())
	}
}

// TestMakeInstall: make install DESTDIR=tmp puts the binary, a man page per
// command, the README and the systemd units (ExecStart pointing at the
// installed binary) under tmp, the pages render with groff without a
// warning, and make uninstall takes them away again.
func TestMakeInstall(t *testing.T) {
	makeBin := tool(t, "make", "make")
	groff := tool(t, "groff", "groff-base")
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "root")
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	makeIn := func(target string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		// The build goes to tmp, not the checkout's bin/.
		cmd := exec.CommandContext(ctx, makeBin, "-C", repo, target, "DESTDIR="+dest, "BIN="+filepath.Join(tmp, "build", "dms"),
			"PREFIX=/usr/local", "SOURCE_DATE_EPOCH="+manEpoch)
		var env []string
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			if !slices.Contains([]string{"BINDIR", "MANDIR", "DOCDIR", "SYSTEMDDIR", "MANBUILD", "MAN_DATE", "MAKEFLAGS", "MFLAGS"}, k) {
				env = append(env, kv)
			}
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	makeIn("install")

	bin := filepath.Join(dest, "usr/local/bin/dms")
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("no executable %s: %v", bin, err)
	}
	out, err := exec.Command(bin, "completion", "bash").Output()
	if err != nil || !strings.Contains(string(out), "__start_dms") {
		t.Errorf("installed dms completion bash: %v\n%.200s", err, out)
	}

	mandir := filepath.Join(dest, "usr/local/share/man/man1")
	root := genMan(t, t.TempDir(), nil)
	for _, c := range visibleCommands(root) {
		if _, err := os.Stat(filepath.Join(mandir, pageName(c))); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	pages, _ := filepath.Glob(filepath.Join(mandir, "*.1"))
	if len(pages) != len(visibleCommands(root)) {
		t.Errorf("%d pages installed, want %d", len(pages), len(visibleCommands(root)))
	}
	for _, p := range pages {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", p)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff -man %s: %v\n%s", filepath.Base(p), err, stderr.String())
		}
		if filepath.Base(p) == "dms-zone-load.1" && !strings.Contains(stdout.String(), "Create zones from zone files") {
			t.Errorf("dms-zone-load.1 rendered without its NAME line:\n%.500s", stdout.String())
		}
	}
	if b, err := os.ReadFile(filepath.Join(mandir, "dms.1")); err != nil || !strings.Contains(string(b), "/usr/local/share/doc/dms/README.md") ||
		!strings.Contains(string(b), `"1" "Sep 2001" "dms" "dms manual"`) {
		t.Errorf("dms.1 does not name the installed README or is not dated from SOURCE_DATE_EPOCH: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/local/share/doc/dms/README.md")); err != nil {
		t.Error(err)
	}

	unit, err := os.ReadFile(filepath.Join(dest, "etc/systemd/system/dms.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nExecStart=/usr/local/bin/dms serve ") {
		t.Errorf("dms.service does not start the installed binary:\n%s", unit)
	}
	for _, u := range []string{"dms.service", "dms-backup.service", "dms-backup.timer"} {
		b, err := os.ReadFile(filepath.Join(dest, "etc/systemd/system", u))
		if err != nil {
			t.Error(err)
			continue
		}
		if strings.Contains(string(b), "/usr/bin/dms ") || strings.Contains(string(b), "/usr/share/doc/") {
			t.Errorf("%s still names /usr/bin/dms or /usr/share/doc:\n%s", u, b)
		}
	}

	makeIn("uninstall")
	filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left after make uninstall: %s", p)
		}
		return nil
	})
}
