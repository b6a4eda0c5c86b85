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
	// serve: the command needs a running dms serve; oneServe: the same
	// one for both runs (status shows its addresses, ports picked anew
	// by each).
	serve, oneServe bool
	// code is the exit code both runs must have (zone check exits 1 on an
	// error found).
	code int
}

// jtNotCompared are the commands that have no -o json output to compare,
// or cannot run in a test, with why. Every other command must have a case
// in jtCases.
var jtNotCompared = map[string]string{
	"dms serve":          "runs the server; prints no result (logs go to stderr)",
	"dms shell":          "interactive; each line it runs is one of the commands here, given the shell's --output",
	"dms cluster join":   "needs a running cluster (etcd) to join: TestClusterNodes joins one (its JSON is not compared)",
	"dms cluster status": "needs a cluster node (dms serve --etcd, etcd): TestClusterNodes parses its -o json (not compared with its text)",
}

const (
	random   = "made anew by each run (random): the text run's differs from the JSON run's"
	saidDone = "the text says what was done; the command that shows it (show, ls) shows the rest"
)

// jtCases has one command line (or more) per command with -o json. zi are
// two instances of example.org, oldest first.
func jtCases(dir string, zi [2]string) []jtCase {
	commitOnly := map[string]string{
		"commits.id": "the zone's internal number (zone info shows it as zone_id)",
	}
	// A commit that changes settings, not records, adds and removes none
	// and keeps the serial: the text says "saved (serial N unchanged)".
	settings := maps(commitOnly, map[string]string{
		"commits.added":      "a settings change adds no record (the text: saved, serial unchanged)",
		"commits.removed":    "a settings change removes no record (the text: saved, serial unchanged)",
		"commits.old_serial": "the serial is unchanged: the text gives it once",
	})
	created := maps(commitOnly, map[string]string{
		"commits.removed": "a new zone has nothing removed (the text: created zone, N records)",
	})
	listOnly := map[string]string{
		"id":          "the zone's internal number: zone info shows it",
		"sg":          "zone info shows it (ls filters on it with --sg)",
		"alt_sg":      "zone info shows it",
		"nsec3":       "zone info shows it",
		"use_apex_ns": "zone info shows it",
		"zi_id":       "zone info shows it",
		"ctime":       "zone info shows it",
		"mtime":       "zone info shows it",
		"locked_by":   "zone info shows it",
		"locked_at":   "zone info shows it",
	}
	short := maps(listOnly, map[string]string{
		"state":       "zone ls -l shows it",
		"reference":   "zone ls -l shows it",
		"soa_serial":  "zone ls -l shows it",
		"inc_updates": "zone ls -l shows it",
		"edit_lock":   "zone ls -l shows it",
		"dnssec":      "zone ls -l shows it",
	})
	zoneInfoOnly := map[string]string{
		"current_zi.zone_id": "shown as zone_id",
		"current_zi.base":    "zone history shows an instance whole or as changes",
		"current_zi.added":   "zone history shows an instance's changes",
		"current_zi.removed": "zone history shows an instance's changes",
		"locked_at":          "shown in locked_by (\"USER since TIME\")",
	}
	keysOnly := map[string]string{
		"keys.id": "the key's internal number (the tag names it)",
	}
	dnssecCommit := maps(commitOnly, keysOnly)
	return []jtCase{
		{args: []string{"zone", "ls"}, rows: ".", only: short},
		{args: []string{"zone", "ls", "-l"}, rows: ".", only: listOnly},
		{args: []string{"zone", "ls", "--deleted", "-l"}, rows: ".", only: maps(listOnly, map[string]string{"deleted_start": "zone info shows it"})},
		{args: []string{"zone", "info", "example.org"}, only: zoneInfoOnly},
		{args: []string{"zone", "info", "locked.example"}, only: zoneInfoOnly},
		{args: []string{"zone", "show", "example.org"}},
		{args: []string{"zone", "history", "example.org"}, rows: ".", only: map[string]string{
			"zone_id": "the zone's internal number (zone info)",
			"base":    "a row whose changes say created (N): the instance stored whole",
			"removed": "a base instance's row says created (N): it removes nothing",
		}},
		{args: []string{"zone", "diff", "example.org", zi[0], zi[1]}},
		{args: []string{"zone", "diff", "example.org", "other.example"}},
		{args: []string{"zone", "create", "new.example"}, rows: "commits", only: created},
		{args: []string{"zone", "load", filepath.Join(dir, "db.load.example")}, rows: "commits", only: created},
		{args: []string{"zone", "edit", "example.org", "--file", filepath.Join(dir, "edited.org")}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "rollback", "example.org", zi[0]}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "unlock", "locked.example"}, only: map[string]string{"edit_lock": saidDone, "zi_id": saidDone}},
		{args: []string{"zone", "set", "example.org", "--inc-updates"}, rows: "commits", only: settings},
		{args: []string{"zone", "delete", "other.example"}, rows: "commits", only: settings},
		{args: []string{"zone", "undelete", "gone.example"}, rows: "commits", only: settings},
		{args: []string{"zone", "destroy", "--force", "other.example"}, rows: "commits", only: maps(settings, map[string]string{
			"commits.serial": "gone with the zone: the text says destroyed"})},
		{args: []string{"zone", "serial", "example.org", "--bump"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "set-ref", "example.org", "spare"}, rows: "commits", only: settings},
		{args: []string{"zone", "set-sg", "example.org", "internal"}, rows: "commits", only: settings},
		{args: []string{"zone", "set-ttl", "example.org", "600"}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "alt-sg", "set", "example.org", "internal"}, rows: "commits", only: settings},
		{args: []string{"zone", "alt-sg", "swap", "example.org"}, pre: [][]string{{"zone", "alt-sg", "set", "example.org", "internal"}}, rows: "commits", only: settings},
		{args: []string{"zone", "alt-sg", "clear", "example.org"}, pre: [][]string{{"zone", "alt-sg", "set", "example.org", "internal"}}, rows: "commits", only: settings},
		{args: []string{"zone", "check", "other.example"}, rows: "zones", rowsSkip: regexp.MustCompile(`zone\(s\) checked`), only: map[string]string{
			"by_code": "the findings counted by code: the text lists each finding with its code",
			"time":    "when the check ran: dms status shows the last check's",
		}},
		{args: []string{"zone", "notify", "example.org"}, serve: true, counted: []string{"zones"}},
		{args: []string{"zone", "update", "example.org", filepath.Join(dir, "changes.upd")}, rows: "commits", only: commitOnly},
		{args: []string{"zone", "nuke", "--force", "other.*"}, only: maps(settings, map[string]string{
			"commits.serial": "gone with the zone: the text says destroyed", "commits.destroyed": "the text says destroyed"})},
		{args: []string{"zone", "copy", "-v", "example.org", "copy.example"}, rows: "commits", only: created},
		{args: []string{"zone", "drop-history", "example.org", zi[0]}},
		{args: []string{"zone", "sectag", "add", "example.org", "cust"}},
		{args: []string{"zone", "sectag", "delete", "example.org", "reseller"}},
		{args: []string{"zone", "sectag", "replace", "example.org", "cust"}},
		{args: []string{"zone", "sectag", "ls", "example.org"}},
		{args: []string{"record", "add", "example.org", "t1 300 IN TXT \"one\""}, rows: "commits", only: commitOnly},
		{args: []string{"record", "delete", "example.org", "ftp CNAME"}, rows: "commits", only: commitOnly},
		{args: []string{"record", "find", "www.example.org"}, rows: "."},
		{args: []string{"config", "show"}, rows: ".", only: map[string]string{
			"help":    "what each key means (dms config --help and the README tell it too), for programs that show the config",
			"kind":    "each key's type, for programs that check values before setting them",
			"default": "the default; the text shows the value in force",
			"set":     "whether the value was set or is the default",
		}},
		{args: []string{"config", "set", "zone_ttl", "7200"}, only: map[string]string{
			"help": "what the key means", "kind": "the key's type", "default": "the default", "set": "true: it was just set"}},
		{args: []string{"ref", "create", "cust43"}, only: map[string]string{"ctime": saidDone, "zones": saidDone}},
		{args: []string{"ref", "delete", "spare"}, only: map[string]string{"zones": saidDone}},
		{args: []string{"ref", "rename", "spare", "spare2"}, only: map[string]string{"zones": saidDone}},
		{args: []string{"ref", "ls"}, rows: ".", only: map[string]string{"ctime": "when the reference was made: for programs"}},
		{args: []string{"sectag", "create", "cust2"}, only: map[string]string{"ctime": saidDone, "zones": saidDone}},
		{args: []string{"sectag", "delete", "reseller"}, pre: [][]string{{"zone", "sectag", "delete", "example.org", "reseller"}}, only: map[string]string{"zones": saidDone}},
		{args: []string{"sectag", "ls"}, rows: ".", only: map[string]string{"ctime": "when the sectag was made: for programs"}},
		{args: []string{"view", "create", "inside", "--match", "10.0.0.0/8"}, only: map[string]string{
			"id": saidDone, "ctime": saidDone, "mtime": saidDone, "match": saidDone, "order": saidDone, "zones": saidDone}},
		{args: []string{"view", "set", "internal-view", "--match", "10.1.0.0/16"}, only: map[string]string{"id": "the view's internal number"}},
		{args: []string{"view", "show", "internal-view"}, only: map[string]string{"id": "the view's internal number"}},
		{args: []string{"view", "delete", "internal-view"}, only: map[string]string{
			"id": saidDone, "ctime": saidDone, "mtime": saidDone, "match": saidDone, "order": saidDone, "zones": saidDone}},
		{args: []string{"view", "ls"}, rows: ".", only: map[string]string{
			"id":    "the view's internal number",
			"ctime": "dms view show shows it",
			"mtime": "dms view show shows it",
			"order": "the default view's order is 2^30 (after every other view); the text says last. Checked below for the others",
		}},
		{args: []string{"import", "bind", "--dry-run", filepath.Join(dir, "bind", "named.conf")}, counted: []string{"plan.files"}, only: map[string]string{
			"plan.dry_run":          "the text says dry run, nothing written",
			"result.dry_run":        "the text says dry run, nothing written",
			"plan.zones.where":      "where in named.conf each zone was read: for programs (the text lists the zones and their files)",
			"plan.keys.where":       "where in named.conf each key was read: for programs",
			"plan.sgs.servers.type": "--server-type, the same for every server",
		}},
		{args: []string{"pending"}, only: map[string]string{"unresolved": "counted by a running dms serve: the text says none runs"}},
		{args: []string{"pending"}, serve: true, only: map[string]string{
			"server_running": "the text says what is pending (else that no dms serve runs)",
			"unresolved":     "shown when NOTIFYs are pending",
		}},
		{args: []string{"events", "-n", "5"}, rows: ".", only: map[string]string{"by": "dms event show shows who did it"}},
		{args: []string{"event", "show", "2"}},
		{args: []string{"vacuum", "--dry-run"}},
		{args: []string{"tsig", "create", "new-key"}, only: map[string]string{"secret": random, "bind": random, "knot": random, "nsd": random,
			"ctime": "dms tsig ls shows when a key was made"}},
		{args: []string{"tsig", "import", "imported-key", "--secret-file", filepath.Join(dir, "secret")}, only: map[string]string{"ctime": "dms tsig ls shows when a key was made"}},
		{args: []string{"tsig", "ls"}, rows: "."},
		{args: []string{"tsig", "show", "xfr-ns2"}, only: map[string]string{"ctime": "dms tsig ls shows when a key was made"}},
		{args: []string{"tsig", "update-policy", "xfr-ns2", "example.org www A"}, only: map[string]string{"ctime": saidDone, "algorithm": saidDone}},
		{args: []string{"tsig", "delete", "spare-key"}},
		{args: []string{"sg", "create", "third", "--master-address", "192.0.2.54"}, only: created},
		{args: []string{"sg", "set", "external", "--apex-ns", "ns1.example.net ns3.example.net"}, only: commitOnly},
		{args: []string{"sg", "ls"}, rows: ".", only: map[string]string{
			"apex_ns": "dms sg show shows it", "master_address": "dms sg show shows it", "ctime": "dms sg show shows it", "mtime": "dms sg show shows it"}},
		{args: []string{"sg", "show", "external"}},
		{args: []string{"sg", "rename", "spare-sg", "spare-sg2"}},
		{args: []string{"sg", "delete", "spare-sg"}, only: map[string]string{"zones": saidDone, "alt_zones": saidDone}},
		{args: []string{"server", "create", "ns5", "192.0.2.5", "--sg", "external"}},
		{args: []string{"server", "ls"}, rows: ".", only: map[string]string{"ctime": "dms server show shows it", "mtime": "dms server show shows it",
			"disabled": "shown as ENABLED false"}},
		{args: []string{"server", "set", "ns2", "--type", "knot"}},
		{args: []string{"server", "show", "ns2"}},
		{args: []string{"server", "delete", "ns3"}},
		{args: []string{"server", "disable", "ns2"}},
		{args: []string{"server", "enable", "ns3"}},
		{args: []string{"server", "rename", "ns3", "ns4"}},
		{args: []string{"server", "move", "ns3", "external"}},
		{args: []string{"server", "set-address", "ns3", "192.0.2.33"}},
		{args: []string{"server", "config", "ns2"}, only: map[string]string{"type": "the text is in that server type's syntax"}},
		{args: []string{"status"}, serve: true, oneServe: true},
		{args: []string{"dnssec", "enable", "other.example"}, only: maps(dnssecCommit, map[string]string{"keys": random})},
		{args: []string{"dnssec", "disable", "signed.example", "--ds-removed"}, only: maps(dnssecCommit, map[string]string{"signed": "false: the text says unsigned"})},
		{args: []string{"dnssec", "keys", "signed.example"}, rows: "keys", rowsSkip: regexp.MustCompile(`^(zone |DS: )`), only: maps(keysOnly, map[string]string{"keys.ds": "on the DS: lines under the table (dnssec ds checks them)"})},
		{args: []string{"dnssec", "ds", "signed.example"}, only: map[string]string{
			"signed": "the text is the DS records only (dnssec keys shows the rest)",
			"params": "the text is the DS records only (dnssec keys shows the rest)",
			"keys":   "the text is the DS records only (dnssec keys shows the rest); keys.ds is checked",
		}, rows: "keys.ds"},
		{args: []string{"dnssec", "import", "other.example", filepath.Join(dir, "kimport.key"), filepath.Join(dir, "kimport.private")}, only: maps(dnssecCommit, settings)},
		{args: []string{"dnssec", "rollover", "signed.example"}, only: maps(dnssecCommit, map[string]string{"keys": random})},
		{args: []string{"dnssec", "ds-seen", "signed.example"}, only: dnssecCommit},
		{args: []string{"api", "user", "add", "panel-a", "--sectag", "cust"}, stdin: "secret-password\n"},
		{args: []string{"api", "user", "passwd", "panel-b"}, stdin: "another-password\n", only: map[string]string{"sectag": saidDone, "role": saidDone}},
		{args: []string{"api", "user", "ls"}, rows: "."},
		{args: []string{"api", "user", "delete", "panel-b"}, only: map[string]string{"sectag": saidDone, "role": saidDone}},
		{args: []string{"backup", filepath.Join(dir, "backup.db")}, only: map[string]string{"time": "when the copy was made: the file's time says it too"}},
		{args: []string{"restore", filepath.Join(dir, "base-backup.db")}},
		{args: []string{"check"}},
		{args: []string{"man", filepath.Join(dir, "man")}, counted: []string{"pages"}},
	}
}

func maps(ms ...map[string]string) map[string]string {
	m := map[string]string{}
	for _, a := range ms {
		for k, v := range a {
			m[k] = v
		}
	}
	return m
}

// TestJSONMatchesText: every command with -o json (all but those in
// jtNotCompared) is run twice from the same store, once printing text,
// once JSON. The JSON must parse; each of its values must appear in the
// text (as the text renders it: times, booleans, names with or without the
// final dot; a list item's in its own row), unless the case lists the
// field as JSON only, with why; a list must have as many items as the
// text has rows. A command missing from jtCases fails the test, and so
// does a list that disagrees with the item shown alone (zone ls used to
// say 0 RRsets and 0 instances of every zone).
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
	// The store: zones with history, a deleted one, a signed one, a locked
	// one, server groups, servers, keys, references, sectags, a view, an
	// API user.
	must("", "config", "set", "soa_mname", "ns1.example.net.")
	must("", "config", "set", "soa_rname", "hostmaster.example.net.")
	must("", "config", "set", "apex_ns", "ns1.example.net.,ns2.example.net.")
	must("", "sg", "create", "external", "--master-address", "192.0.2.53", "--apex-ns", "ns1.example.net.")
	must("", "sg", "create", "internal", "--master-address", "192.0.2.54", "--apex-ns", "ns1.example.net.")
	must("", "sg", "create", "spare-sg", "--master-address", "192.0.2.55")
	must("", "ref", "create", "cust42")
	must("", "ref", "create", "spare")
	must("", "zone", "load", "--sg", "external", "--ref", "cust42", writeFile(t, dir, "example.org", goodZone+"ftp 300 IN CNAME www\n"))
	must("", "record", "add", "example.org", "mail IN A 192.0.2.25")
	must("", "record", "add", "example.org", "mail IN AAAA 2001:db8::25")
	must("", "zone", "load", writeFile(t, dir, "db.other.example", strings.ReplaceAll(goodZone, "192.0.2.1", "192.0.2.9")))
	must("", "zone", "load", writeFile(t, dir, "db.gone.example", strings.ReplaceAll(goodZone, "192.0.2.1", "192.0.2.8")))
	must("", "zone", "delete", "gone.example")
	must("", "zone", "load", writeFile(t, dir, "db.signed.example", goodZone))
	must("", "dnssec", "enable", "signed.example")
	must("", "zone", "load", writeFile(t, dir, "db.locked.example", goodZone))
	must("", "zone", "set", "locked.example", "--edit-lock")
	// An edit whose dms dies (the editor kills it) leaves its lock.
	killer := writeFile(t, dir, "killer.sh", "#!/bin/sh\nkill -9 $(ps -o ppid= -p $PPID) $PPID\n")
	os.Chmod(killer, 0o755)
	runEnv(t, db, "", []string{"EDITOR=" + killer}, "zone", "edit", "locked.example")
	if r := must("", "zone", "info", "locked.example"); !strings.Contains(r.out, "EDIT_LOCK\n") {
		t.Fatalf("locked.example is not locked:\n%s", r.out)
	}
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
	var hist []struct{ ID json.Number }
	if err := json.Unmarshal([]byte(must("", "-o", "json", "zone", "history", "example.org").out), &hist); err != nil || len(hist) < 3 {
		t.Fatalf("zone history: %v %v", hist, err)
	}
	zi := [2]string{hist[len(hist)-1].ID.String(), hist[0].ID.String()}
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
		writeFile(t, filepath.Join(dir, "bind"), f, strings.ReplaceAll(string(b), filepath.Dir(bind), filepath.Join(dir, "bind")))
	}
	os.CopyFS(filepath.Join(dir, "bind", "zones"), os.DirFS(filepath.Join(filepath.Dir(bind), "zones")))
	keygen := tool(t, "dnssec-keygen", "bind9-utils")
	out, err := exec.Command(keygen, "-q", "-K", dir, "-a", "ECDSAP256SHA256", "-n", "ZONE", "other.example").Output()
	if err != nil {
		t.Fatalf("dnssec-keygen: %v", err)
	}
	k := filepath.Join(dir, strings.TrimSpace(string(out)))
	for _, ext := range []string{".key", ".private"} {
		b, _ := os.ReadFile(k + ext)
		writeFile(t, dir, "kimport"+ext, string(b))
	}
	must("", "backup", filepath.Join(dir, "base-backup.db"))
	base := filepath.Join(dir, "base.db")
	copyFile(t, db, base)

	cases := jtCases(dir, zi)

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
			t.Errorf("%s: its -o json is not compared with its text: add it to jtCases in jsontext_test.go (or to jtNotCompared, with why)", p)
		case covered[p] && not:
			t.Errorf("%s is both in jtCases and in jtNotCompared", p)
		}
	}
	for p := range jtNotCompared {
		if !slices.Contains(all, p) {
			t.Errorf("jtNotCompared: no command %s", p)
		}
	}
	t.Logf("%d commands: %d compared by %d cases, %d not compared", len(all), len(covered), len(cases), len(jtNotCompared))

	// runBoth runs c printing text, then JSON, each from the base store
	// (with a running dms serve: the same one for both).
	runBoth := func(c jtCase) (text, js result) {
		var srv *server
		for _, json := range []bool{false, true} {
			if srv != nil && !c.oneServe {
				stopServe(t, srv)
				srv = nil
			}
			if srv == nil {
				copyFile(t, base, db)
				if c.serve {
					srv = startServe(t, db)
				}
				for _, p := range c.pre {
					must("", p...)
				}
			}
			args := c.args
			if json {
				args = append([]string{"-o", "json"}, args...)
			}
			r := run(t, db, c.stdin, args...)
			if json {
				js = r
			} else {
				text = r
			}
		}
		if srv != nil {
			stopServe(t, srv)
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

	// A list's items agree with the item shown alone.
	copyFile(t, base, db)
	for _, p := range []struct{ ls, show []string }{
		{[]string{"zone", "ls"}, []string{"zone", "info"}},
		{[]string{"zone", "ls", "--deleted"}, []string{"zone", "info"}},
		{[]string{"server", "ls"}, []string{"server", "show"}},
		{[]string{"sg", "ls"}, []string{"sg", "show"}},
		{[]string{"tsig", "ls"}, []string{"tsig", "show"}},
		{[]string{"view", "ls"}, []string{"view", "show"}},
	} {
		var list []map[string]any
		if err := json.Unmarshal([]byte(must("", append([]string{"-o", "json"}, p.ls...)...).out), &list); err != nil || len(list) == 0 {
			t.Fatalf("%v: %v %v", p.ls, list, err)
		}
		for _, item := range list {
			name := fmt.Sprint(item["name"])
			if p.ls[0] == "view" && name == "" {
				continue // the default view: no name to show it by
			}
			var one map[string]any
			if err := json.Unmarshal([]byte(must("", append(append([]string{"-o", "json"}, p.show...), name)...).out), &one); err != nil {
				t.Fatal(err)
			}
			for k, v := range item {
				if w, ok := one[k]; !ok || fmt.Sprint(w) != fmt.Sprint(v) {
					t.Errorf("%s: %s %s: %v in the list, %v shown alone", strings.Join(p.ls, " "), name, k, v, w)
				}
			}
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
	reStamp       = regexp.MustCompile(`\d{8}T\d{6}Z`)
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
	// The rows of the text: a line not indented (with the indented lines
	// under it), not a table header.
	var rows []string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(l) == "" || reTableHeader.MatchString(l) || c.rowsSkip != nil && c.rowsSkip.MatchString(l):
		case strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t"):
			if len(rows) > 0 {
				rows[len(rows)-1] += "\n" + l
			}
		default:
			rows = append(rows, l)
		}
	}
	rowsPath := strings.TrimPrefix(c.rows, ".")
	var walk func(path string, v any, text string)
	walk = func(path string, v any, text string) {
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
				walk(join(k), x[k], text)
			}
		case []any:
			if c.rows != "" && path == rowsPath {
				if len(rows) != len(x) {
					errs = append(errs, fmt.Sprintf("%d rows in the text, %d items in the JSON %s", len(rows), len(x), c.rows))
				} else {
					for i, it := range x {
						walk(path, it, rows[i]) // each item in its own row
					}
					return
				}
			}
			for _, it := range x {
				walk(path, it, text)
			}
		default:
			if !shows(text, path, x) {
				errs = append(errs, fmt.Sprintf("%s: JSON %v, not in the text", path, x))
			}
		}
	}
	if c.rows != "" {
		list := v
		for _, k := range strings.Split(rowsPath, ".") {
			if m, ok := list.(map[string]any); ok && k != "" {
				list = m[k]
			}
		}
		if _, ok := list.([]any); !ok && !strings.Contains(rowsPath, ".") {
			errs = append(errs, fmt.Sprintf("%s is not a list but %d rows in the text", c.rows, len(rows)))
		}
	}
	walk("", v, text)
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
		// Names made of the time (restore's kept store) may be a second
		// apart in the two runs.
		text, x = reStamp.ReplaceAllString(text, "STAMP"), reStamp.ReplaceAllString(x, "STAMP")
		return strings.Contains(text, x) || strings.HasSuffix(x, ".") && strings.Contains(text, strings.TrimSuffix(x, ".")) ||
			strings.Contains(strings.ToLower(text), strings.ToLower(x))
	}
	return strings.Contains(text, fmt.Sprint(v))
}
