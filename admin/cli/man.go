package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// DefaultDocDir is where make install puts README.md with the default
// PREFIX; dms(1) points there.
const DefaultDocDir = "/usr/local/share/doc/dms"

// manDateFallback dates the man pages when neither SOURCE_DATE_EPOCH nor
// the build's commit time is known (go run, go test).
var manDateFallback = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func newCmdMan(f *Factory) *cobra.Command {
	var docDir string
	cmd := &cobra.Command{
		Use:   "man DIR",
		Short: "Write man pages for every command",
		Long: `Man writes a man page (section 1) for every command into DIR, made from
the commands themselves: dms.1, dms-zone.1, dms-zone-load.1 and so on.
make install runs it and installs the pages. The pages are dated from
SOURCE_DATE_EPOCH when it is set, else from the commit the binary was built
from, so the same source gives the same pages.`,
		Example: "  dms man /tmp/dms-man && man -l /tmp/dms-man/dms-zone-load.1\n" +
			"  SOURCE_DATE_EPOCH=1767225600 dms man --doc-dir /usr/share/doc/dms build/man",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("dms man takes one directory (got %d arguments)", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			date, err := manDate(f.Getenv)
			if err != nil {
				return usageError{err}
			}
			pages, err := writeManPages(cmd.Root(), args[0], date, docDir)
			if err != nil {
				return err
			}
			if f.json() {
				return f.printJSON(struct {
					Dir   string   `json:"dir"`
					Pages []string `json:"pages"`
				}{args[0], pages})
			}
			fmt.Fprintf(f.Out, "%d man pages in %s\n", len(pages), args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&docDir, "doc-dir", DefaultDocDir, "where README.md is installed (named in dms(1))")
	return cmd
}

// manDate is the date the man pages carry: SOURCE_DATE_EPOCH
// (reproducible-builds.org), else the time of the commit the binary was
// built from, else a constant. Never the time of the run.
func manDate(getenv func(string) string) (time.Time, error) {
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH must be seconds since 1970, not %q", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t.UTC(), nil
				}
			}
		}
	}
	return manDateFallback, nil
}

// writeManPages writes one page per available command of root's tree into
// dir and returns their file names, sorted.
func writeManPages(root *cobra.Command, dir string, date time.Time, docDir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("man pages: %w", err)
	}
	// The pages render Long as markdown, but ours is laid out for a
	// terminal (aligned lists, $VISUAL, zones/*): keep it verbatim, as
	// --help shows it. The tree is put back as it was afterwards.
	restore := map[*cobra.Command]string{}
	var verbatim func(c *cobra.Command)
	verbatim = func(c *cobra.Command) {
		restore[c] = c.Long
		if c.Long != "" {
			c.Long = indent(c.Long)
		}
		for _, sub := range c.Commands() {
			verbatim(sub)
		}
	}
	verbatim(root)
	root.Long += manRootText(docDir)
	autoGen := root.DisableAutoGenTag
	root.DisableAutoGenTag = true
	defer func() {
		for c, long := range restore {
			c.Long = long
		}
		root.DisableAutoGenTag = autoGen
	}()

	header := &doc.GenManHeader{Section: "1", Date: &date, Source: "dms", Manual: "dms manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return nil, fmt.Errorf("man pages: %w", err)
	}
	var pages []string
	var list func(c *cobra.Command)
	list = func(c *cobra.Command) {
		pages = append(pages, manPageName(c))
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				list(sub)
			}
		}
	}
	list(root)
	sort.Strings(pages)
	return pages, nil
}

// manPageName is the file of c's page: "dms zone load" is dms-zone-load.1.
func manPageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
}

// indent makes text a markdown code block: shown as written.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n")
}

// manRootText is what dms(1) says beyond dms --help: the store, the other
// pages and the README.
func manRootText(docDir string) string {
	return `

### The store

Everything dms knows is in one store, a bbolt file: **` + DefaultDB + `** unless
**--db** *PATH* or the **DMS\_DB** environment variable names another. **dms serve**
holds it and listens on a control socket beside it, *PATH*.sock; the other
commands go through that socket while a server runs and open the store
themselves when none does. **dms backup** copies it while it is in use.

### Commands

Every command has its own page, named after its path: **dms-zone**(1),
**dms-zone-load**(1), **dms-serve**(1) and so on. **dms** *COMMAND* **--help** shows
the same text. **dms completion bash|zsh|fish** writes shell completion.

### The guide

README.md is the operator's guide (set-up, running the server, backups,
secondaries, DNSSEC, moving in from BIND). It is installed as
**` + filepath.Join(docDir, "README.md") + `** and is at the top of the source tree.`
}
