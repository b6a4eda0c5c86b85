package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"dmsdns.org/dms/admin/cli"
)

// jtCase is one command line whose -o json output is checked against its
// text output.
type jtCase struct {
	args  []string
	stdin string
	// pre runs before the command, before each of its two runs (each
	// starts from the same copy of the store).
	pre [][]string
	// only lists the JSON fields (dotted paths, list indices left out; a
	// path stands for what is under it) the text does not show, each with
	// why.
	only map[string]string
	// counted lists JSON lists the text gives the length of, not the items.
	counted []string
	// rows is the JSON list ("." the whole output) with one item per text
	// row: a line not indented, not a table header and not rowsSkip.
	rows     string
	rowsSkip *regexp.Regexp
	// serve: the command needs a running dms serve.
	serve bool
	// code is the exit code both runs must have (zone check exits 1 on an
	// error found).
	code int
}

// jtNotCompared are the commands that have no -o json output to compare,
// or cannot run in a test, with why. Every other command must have a case
// in jtCases.
var jtNotCompared = map[string]string{
	"dms serve":        "runs the server; prints no result (logs go to stderr)",
	"dms shell":        "interactive; each line it runs is one of the commands here, given the shell's --output",
	"dms cluster join": "needs a running cluster (etcd) to join: TestClusterNodes",
}

// noisy: values the two runs make differently, so that the text's cannot
// be the JSON's.
const (
	random = "made anew by each run (random): the text run's differs from the JSON run's"
)

// jtCases has one command line per command with -o json.
func jtCases(dir string) []jtCase {
	zoneInfoOnly := map[string]string{
		"current_zi.id":         "shown as the zone's zi_id",
		"current_zi.zone_id":    "shown as zone_id",
		"current_zi.base":       "internal: whether the instance is stored whole (history shows it as 'created')",
		"current_zi.added":      "zone history shows an instance's changes",
		"current_zi.removed":    "zone history shows an instance's changes",
		"current_zi.comment":    "zone history shows an instance's comment",
		"current_zi.comments":   "zone history shows an instance's comment",
		"current_zi.pubs":       "zone history shows an instance's changes",
		"current_zi.sig_serial": "internal",
	}
	listOnly := map[string]string{
		"id":          "the zone's internal number: zone info shows it",
		"sg":          "zone info shows it (ls filters on it with --sg)",
		"alt_sg":      "zone info shows it",
		"nsec3":       "zone info shows it",
		"use_apex_ns": "zone info shows it",
		"zi_id":       "zone info shows it",
		"ctime":       "zone info shows it",
		"mtime":       "zone info shows it",
		"view":        "shown after the name when not the default view",
	}
	commitOnly := map[string]string{
		"commits.zone_id": "the zone's internal number (zone info)",
	}
	short := maps(listOnly, map[string]string{
		"state":       "zone ls -l shows it",
		"reference":   "zone ls -l shows it",
		"soa_serial":  "zone ls -l shows it",
		"inc_updates": "zone ls -l shows it",
		"edit_lock":   "zone ls -l shows it",
		"dnssec":      "zone ls -l shows it",
	})
	return []jtCase{
		{args: []string{"zone", "ls"}, rows: ".", only: short},
		{args: []string{"zone", "ls", "-l"}, rows: ".", only: listOnly},
		{args: []string{"zone", "info", "example.org"}, only: zoneInfoOnly},
		{args: []string{"zone", "show", "example.org"}},
		{args: []string{"zone", "history", "example.org"}, rows: "."},
		{args: []string{"zone", "diff", "example.org", "1", "2"}},
		{args: []string{"zone", "create", "new.example"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "load", filepath.Join(dir, "db.load.example")}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "edit", "example.org", "--file", filepath.Join(dir, "edited.org")}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "rollback", "example.org", "1"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "unlock", "example.org"}, pre: [][]string{{"zone", "set", "example.org", "--edit-lock"}}},
		{args: []string{"zone", "set", "example.org", "--inc-updates"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "delete", "example.net"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "undelete", "gone.example"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "destroy", "--force", "example.net"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "serial", "example.org", "--bump"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "set-ref", "example.org", "other-ref"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "set-sg", "example.org", "internal"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "set-ttl", "example.org", "600"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "alt-sg", "set", "example.org", "internal"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "alt-sg", "swap", "example.org"}, pre: [][]string{{"zone", "alt-sg", "set", "example.org", "internal"}}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "alt-sg", "clear", "example.org"}, pre: [][]string{{"zone", "alt-sg", "set", "example.org", "internal"}}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "check", "example.net"}, rows: "zones"},
		{args: []string{"zone", "notify", "example.org"}, serve: true, counted: []string{"zones"}},
		{args: []string{"zone", "update", "example.org", filepath.Join(dir, "changes.upd")}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "nuke", "--force", "*.net"}},
		{args: []string{"zone", "copy", "example.org", "copy.example"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "drop-history", "example.org", "1"}},
		{args: []string{"zone", "sectag", "add", "example.org", "cust"}},
		{args: []string{"zone", "sectag", "delete", "example.org", "reseller"}},
		{args: []string{"zone", "sectag", "replace", "example.org", "cust"}},
		{args: []string{"zone", "sectag", "ls", "example.org"}, rows: "."},
		{args: []string{"record", "add", "example.org", "t1 300 IN TXT \"one\""}, rows: "commits", only: commitOnly},
		{args: []string{"record", "delete", "example.org", "ftp CNAME"}, rows: "commits", only: commitOnly},
		{args: []string{"record", "find", "www.example.org"}, rows: "."},
		{args: []string{"config", "show"}, rows: "."},
		{args: []string{"config", "set", "zone_ttl", "7200"}},
		{args: []string{"ref", "create", "cust43"}},
		{args: []string{"ref", "delete", "spare"}},
		{args: []string{"ref", "rename", "spare", "spare2"}},
		{args: []string{"ref", "ls"}, rows: "."},
		{args: []string{"sectag", "create", "cust2"}},
		{args: []string{"sectag", "delete", "reseller"}, pre: [][]string{{"zone", "sectag", "delete", "example.org", "reseller"}}},
		{args: []string{"sectag", "ls"}, rows: "."},
		{args: []string{"view", "create", "inside", "--match", "10.0.0.0/8"}},
		{args: []string{"view", "set", "internal-view", "--match", "10.1.0.0/16"}},
		{args: []string{"view", "show", "internal-view"}},
		{args: []string{"view", "delete", "internal-view"}},
		{args: []string{"view", "ls"}, rows: "."},
		{args: []string{"import", "bind", "--dry-run", filepath.Join(dir, "bind", "named.conf")}},
		{args: []string{"pending"}},
		{args: []string{"events", "-n", "5"}, rows: "."},
		{args: []string{"event", "show", "2"}},
		{args: []string{"vacuum", "--dry-run"}},
		{args: []string{"tsig", "create", "new-key"}, only: map[string]string{"secret": random}},
		{args: []string{"tsig", "import", "imported-key", "--secret-file", filepath.Join(dir, "secret")}},
		{args: []string{"tsig", "ls"}, rows: "."},
		{args: []string{"tsig", "show", "xfr-ns2"}},
		{args: []string{"tsig", "update-policy", "xfr-ns2", "grant xfr-ns2 name www.example.org. A"}},
		{args: []string{"tsig", "delete", "spare-key"}},
		{args: []string{"sg", "create", "third", "--master-address", "192.0.2.54"}},
		{args: []string{"sg", "set", "external", "--apex-ns", "ns1.example.net ns3.example.net"}},
		{args: []string{"sg", "ls"}, rows: "."},
		{args: []string{"sg", "show", "external"}},
		{args: []string{"sg", "rename", "spare-sg", "spare-sg2"}},
		{args: []string{"sg", "delete", "spare-sg"}},
		{args: []string{"server", "create", "ns5", "192.0.2.5", "--sg", "external"}},
		{args: []string{"server", "ls"}, rows: "."},
		{args: []string{"server", "set", "ns2", "--type", "knot"}},
		{args: []string{"server", "show", "ns2"}},
		{args: []string{"server", "delete", "ns3"}},
		{args: []string{"server", "disable", "ns2"}},
		{args: []string{"server", "enable", "ns3"}},
		{args: []string{"server", "rename", "ns3", "ns4"}},
		{args: []string{"server", "move", "ns3", "external"}},
		{args: []string{"server", "set-address", "ns3", "192.0.2.33"}},
		{args: []string{"server", "config", "ns2"}},
		{args: []string{"status"}, serve: true},
		{args: []string{"dnssec", "enable", "example.net"}, only: map[string]string{"keys": random}},
		{args: []string{"dnssec", "disable", "signed.example"}},
		{args: []string{"dnssec", "keys", "signed.example"}, rows: "keys"},
		{args: []string{"dnssec", "ds", "signed.example"}},
		{args: []string{"dnssec", "import", "example.net", filepath.Join(dir, "kimport.key"), filepath.Join(dir, "kimport.private")}},
		{args: []string{"dnssec", "rollover", "signed.example"}, only: map[string]string{"keys": random}},
		{args: []string{"dnssec", "ds-seen", "signed.example"}},
		{args: []string{"api", "user", "add", "panel-a", "--sectag", "cust"}, stdin: "secret-password\n"},
		{args: []string{"api", "user", "passwd", "panel-b"}, stdin: "another-password\n"},
		{args: []string{"api", "user", "ls"}, rows: "."},
		{args: []string{"api", "user", "delete", "panel-b"}},
		{args: []string{"backup", filepath.Join(dir, "backup.db")}},
		{args: []string{"restore", filepath.Join(dir, "base-backup.db")}},
		{args: []string{"check"}},
		{args: []string{"cluster", "status"}},
		{args: []string{"man", filepath.Join(dir, "man")}, counted: []string{"pages"}},
	}
}

func maps(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// TestJSONMatchesText: every command with -o json (all but those in
// jtNotCompared) is run twice on the same store, once printing text, once
// JSON. The JSON must parse; each of its values must appear in the text
// (as the text renders it: times, booleans, names with or without the
// final dot), unless the case lists the field as JSON only, with why; a
// list must have as many items as the text has rows. A command missing
// from jtCases fails the test.
func TestJSONMatchesText(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	must := func(stdin string, args ...string) result {
		t.Helper()
		r := run(t, db, stdin, args...)
		if r.code != 0 {
			t.Fatalf("dms %s: %s%s", strings.Join(args, " "), r.out, r.err)
		}
		return r
	}
	// The store: zones with history, a deleted one, a signed one, server
	// groups, servers, keys, references, sectags, a view, an API user.
	must("", "sg", "create", "external", "--master-address", "192.0.2.53", "--apex-ns", "ns1.example.net.")
	must("", "sg", "create", "internal", "--master-address", "192.0.2.54", "--apex-ns", "ns1.example.net.")
	must("", "sg", "create", "spare-sg", "--master-address", "192.0.2.55")
	must("", "ref", "create", "cust42")
	must("", "ref", "create", "spare")
	must("", "zone", "load", "--sg", "external", "--ref", "cust42", writeFile(t, dir, "example.org", goodZone+"ftp 300 IN CNAME www\n"))
	must("", "record", "add", "example.org", "mail IN A 192.0.2.25")
	must("", "zone", "load", writeFile(t, dir, "db.example.net", strings.ReplaceAll(goodZone, "192.0.2.1", "192.0.2.9")))
	must("", "zone", "load", writeFile(t, dir, "db.gone.example", strings.ReplaceAll(goodZone, "192.0.2.1", "192.0.2.8")))
	must("", "zone", "delete", "gone.example")
	must("", "zone", "load", writeFile(t, dir, "db.signed.example", goodZone))
	must("", "dnssec", "enable", "signed.example")
	must("", "tsig", "import", "xfr-ns2", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
	must("", "tsig", "import", "spare-key", "c3BhcmVzcGFyZXNwYXJlc3BhcmVzcGFyZQ==")
	must("", "server", "create", "ns2", "192.0.2.2", "--sg", "external", "--type", "bind9", "--tsig", "xfr-ns2")
	must("", "server", "create", "ns3", "192.0.2.3", "--sg", "internal", "--type", "nsd")
	must("", "server", "disable", "ns3")
	must("", "sectag", "create", "cust")
	must("", "sectag", "create", "reseller")
	must("", "zone", "sectag", "add", "example.org", "reseller")
	must("", "view", "create", "internal-view", "--match", "10.0.0.0/8")
	must("secret-password\n", "api", "user", "add", "panel-b", "--sectag", "cust")
	// Files the commands read.
	writeFile(t, dir, "db.load.example", goodZone)
	writeFile(t, dir, "edited.org", goodZone+"ftp 300 IN CNAME www\nmail IN A 192.0.2.26\n")
	writeFile(t, dir, "changes.upd", ";!RROP:ADD\nwww2 300 IN A 192.0.2.7\n")
	writeFile(t, dir, "secret", "aW1wb3J0ZWQtc2VjcmV0LW9mLTMyLWJ5dGVzISEhIQ==\n")
	bind := oldMaster(t)
	os.MkdirAll(filepath.Join(dir, "bind"), 0o755)
	for _, f := range []string{"named.conf", "keys.conf"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(bind), f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "bind"), f, string(b))
	}
	if keygen, err := exec.LookPath("dnssec-keygen"); err == nil {
		out, err := exec.Command(keygen, "-q", "-K", dir, "-a", "ECDSAP256SHA256", "-n", "ZONE", "example.net").Output()
		if err != nil {
			t.Fatalf("dnssec-keygen: %v", err)
		}
		k := filepath.Join(dir, strings.TrimSpace(string(out)))
		for _, ext := range []string{".key", ".private"} {
			b, _ := os.ReadFile(k + ext)
			writeFile(t, dir, "kimport"+ext, string(b))
		}
	}
	must("", "backup", filepath.Join(dir, "base-backup.db"))
	base := filepath.Join(dir, "base.db")
	copyFile(t, db, base)

	cases := jtCases(dir)

	// Every command is in the table, or said why not.
	root := cli.NewRoot(&cli.Factory{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: os.Getenv, Output: "text"})
	covered := map[string]bool{}
	for _, c := range cases {
		cmd, _, err := root.Find(c.args)
		if err != nil || cmd == root {
			t.Errorf("jtCases: %v names no command", c.args)
			continue
		}
		covered[cmd.CommandPath()] = true
	}
	var all []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Runnable() && !c.Hidden {
			all = append(all, c.CommandPath())
		}
	}
	walk(root)
	for _, p := range all {
		_, not := jtNotCompared[p]
		switch {
		case !covered[p] && !not:
			t.Errorf("%s: its -o json is not compared with its text: add it to jtCases in %s (or to jtNotCompared, with why)", p, "jsontext_test.go")
		case covered[p] && not:
			t.Errorf("%s is both in jtCases and in jtNotCompared", p)
		}
	}
	for p := range jtNotCompared {
		if !slices.Contains(all, p) {
			t.Errorf("jtNotCompared: no command %s", p)
		}
	}
	t.Logf("%d commands, %d compared by %d cases", len(all), len(covered), len(cases))

	runBoth := func(c jtCase) (text, js result) {
		for _, json := range []bool{false, true} {
			copyFile(t, base, db)
			var srv *server
			if c.serve {
				srv = startServe(t, db)
			}
			for _, p := range c.pre {
				must("", p...)
			}
			args := c.args
			if json {
				args = append([]string{"-o", "json"}, args...)
			}
			r := run(t, db, c.stdin, args...)
			if srv != nil {
				stopServe(t, srv)
			}
			if json {
				js = r
			} else {
				text = r
			}
		}
		return
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		text, js := runBoth(c)
		if text.code != c.code || js.code != c.code {
			t.Errorf("dms %s: exit %d (text), %d (json), want %d\n%s%s\n%s%s", name, text.code, js.code, c.code, text.out, text.err, js.out, js.err)
			continue
		}
		var v any
		d := json.NewDecoder(strings.NewReader(js.out))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Errorf("dms -o json %s: %v\n%s", name, err, js.out)
			continue
		}
		if d.More() {
			t.Errorf("dms -o json %s: more than one JSON value:\n%s", name, js.out)
		}
		for _, e := range jsonAgainstText(text.out, v, c) {
			t.Errorf("dms %s: %s\n--- text\n%s--- json\n%s", name, e, text.out, js.out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// stopServe stops a dms serve startServe started, before its test ends.
func stopServe(t *testing.T, s *server) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }() // startServe's cleanup then finds it ended
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("dms serve did not stop on SIGINT")
	}
}

var (
	reTableHeader = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(\s+[A-Z][A-Z0-9_]*)*\s*$`)
	reTextTime    = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d`)
)

// jsonAgainstText lists where JSON v and the text disagree.
func jsonAgainstText(text string, v any, c jtCase) []string {
	var errs []string
	jsonOnly := func(path string) bool {
		for p := range c.only {
			if path == p || strings.HasPrefix(path, p+".") {
				return true
			}
		}
		return false
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if jsonOnly(path) {
			return
		}
		if slices.Contains(c.counted, path) {
			n := 0
			if l, ok := v.([]any); ok {
				n = len(l)
			}
			if !hasNumber(text, fmt.Sprint(n)) {
				errs = append(errs, fmt.Sprintf("%s: %d items, a count the text does not give", path, n))
			}
			return
		}
		join := func(k string) string {
			if path == "" {
				return k
			}
			return path + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(join(k), x[k])
			}
		case []any:
			for _, it := range x {
				walk(path, it)
			}
		default:
			if !shows(text, path, x) {
				errs = append(errs, fmt.Sprintf("%s: JSON %v, not in the text", path, x))
			}
		}
	}
	walk("", v)
	if c.rows != "" {
		list := v
		if c.rows != "." {
			for _, k := range strings.Split(c.rows, ".") {
				m, _ := list.(map[string]any)
				list = m[k]
			}
		}
		items, ok := list.([]any)
		if !ok && list != nil {
			errs = append(errs, fmt.Sprintf("%s is not a list", c.rows))
		}
		rows := 0
		for _, l := range strings.Split(text, "\n") {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") || reTableHeader.MatchString(l) ||
				c.rowsSkip != nil && c.rowsSkip.MatchString(l) {
				continue
			}
			rows++
		}
		if rows != len(items) {
			errs = append(errs, fmt.Sprintf("%d rows in the text, %d items in the JSON %s", rows, len(items), c.rows))
		}
	}
	return errs
}

// hasNumber says whether text has the number n as a word of its own (not
// a part of an address, a name or a longer number).
func hasNumber(text, n string) bool {
	re := regexp.MustCompile(`(^|[^0-9A-Za-z_.:])` + regexp.QuoteMeta(n) + `($|[^0-9A-Za-z_]|[.:][^0-9])`)
	return re.MatchString(text) || re.MatchString(text+" ")
}

// shows says whether text shows JSON value v of field path, as the text
// renders it.
func shows(text, path string, v any) bool {
	key := path[strings.LastIndex(path, ".")+1:]
	switch x := v.(type) {
	case nil:
		return true
	case json.Number:
		return hasNumber(text, x.String())
	case bool:
		words := strings.Fields(strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(text, " ")))
		has := func(ws ...string) bool {
			for _, w := range ws {
				if slices.Contains(words, w) {
					return true
				}
			}
			return false
		}
		named := has(key, strings.ReplaceAll(key, "_", "-"))
		if x {
			return has("true", "yes", "enabled", "on") || named
		}
		return has("false", "no", "disabled", "off") || !named
	case string:
		if x == "" {
			return true
		}
		if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
			for _, s := range reTextTime.FindAllString(text, -1) {
				got, err := time.Parse("2006-01-02 15:04:05", strings.Replace(s, "T", " ", 1))
				if err == nil && got.Sub(tm.UTC()).Abs() <= 5*time.Second {
					return true
				}
			}
			return false
		}
		return strings.Contains(text, x) || strings.HasSuffix(x, ".") && strings.Contains(text, strings.TrimSuffix(x, ".")) ||
			strings.Contains(strings.ToLower(text), strings.ToLower(x))
	}
	return strings.Contains(text, fmt.Sprint(v))
}
