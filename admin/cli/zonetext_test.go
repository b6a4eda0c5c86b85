package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runIn is run with the working directory dir.
func runIn(t *testing.T, dir, db string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dmsBin, append([]string{"--db", db}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DMS_DB=", "EDITOR=false", "VISUAL=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("dms %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// goldenRun runs dms and compares its output, both streams, with a golden
// file, as the scenario does.
func goldenRun(t *testing.T, name, db string, code int, args ...string) result {
	t.Helper()
	r := run(t, db, "", args...)
	if r.code != code {
		t.Errorf("dms %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.code, code, r.out, r.err)
	}
	golden(t, name, "$ dms "+strings.Join(args, " ")+"\n"+r.out+"--- stderr\n"+r.err)
	return r
}

const commentedZone = `$TTL 3600
; plain comments like this one are dropped
;!REF:Cust42@ISP-NET
@       IN SOA  ns1.example.net. hostmaster.example.org. 2026010100 600 600 604800 600
;# ours and theirs
        IN NS   ns1.example.net.
        IN NS   ns2.example.net.
;| Mail
        IN MX   10 mail ;# the relay
;| Web servers
;# behind the load balancer
www     IN A    192.0.2.1
        IN A    192.0.2.2 ;# the spare
mail    IN A    192.0.2.25
`

// TestZoneTextComments: ";|" and ";#" comments go through load, show and
// edit in place: show prints them once (the apex line too) where they
// were, an edit of the shown text keeps them, an edit of comments alone is
// saved without a new serial, deleting a commented RRset deletes its
// comment, and they are in the store for the next process (a server).
func TestZoneTextComments(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	file := writeFile(t, dir, "example.org", commentedZone)
	goldenRun(t, "zonetext-comments-load", db, 0, "zone", "load", file)
	shown := goldenRun(t, "zonetext-comments-show", db, 0, "zone", "show", "example.org").out

	// The shown text, edited back unchanged: nothing changes, and show
	// prints the same text (print(parse(print)) == print).
	goldenRun(t, "zonetext-comments-edit-same", db, 0, "zone", "edit", "example.org", "--file", writeFile(t, dir, "same", shown))
	if again := run(t, db, "", "zone", "show", "example.org").out; again != shown {
		t.Errorf("show after an unchanged edit differs:\n%s", again)
	}

	// Comments alone: saved, same instance and serial.
	edited := strings.Replace(shown, ";# the spare", ";# the spare, since May", 1)
	edited = strings.Replace(edited, ";| Mail\n", ";| Mail\n;# one relay for now\n", 1)
	goldenRun(t, "zonetext-comments-edit-comments", db, 0, "zone", "edit", "example.org", "--file", writeFile(t, dir, "comments", edited))
	if got := run(t, db, "", "zone", "show", "example.org").out; got != edited {
		t.Errorf("show after a comment edit:\n%s\nwant:\n%s", got, edited)
	}

	// Deleting the commented RRset takes its comments along; a new one
	// at the name has none.
	if r := run(t, db, "", "record", "delete", "example.org", "www A"); r.code != 0 {
		t.Fatal(r.err)
	}
	if r := run(t, db, "", "record", "add", "example.org", "www A 192.0.2.3"); r.code != 0 {
		t.Fatal(r.err)
	}
	after := run(t, db, "", "zone", "show", "example.org").out
	if strings.Contains(after, "Web servers") || strings.Contains(after, "the spare") || !strings.Contains(after, ";| Mail") {
		t.Errorf("after deleting www A:\n%s", after)
	}

	// Another process (a server) opens the store: the comments are there.
	startServe(t, db)
	if got := run(t, db, "", "zone", "show", "example.org").out; got != after {
		t.Errorf("show through the server:\n%s\nwant:\n%s", got, after)
	}
	// And an edit through it keeps them too.
	withWeb := strings.Replace(after, "mail ", ";# web again\nmail ", 1)
	if r := run(t, db, "", "zone", "edit", "example.org", "--file", writeFile(t, dir, "web", withWeb)); r.code != 0 || !strings.Contains(r.out, "comments saved") {
		t.Errorf("comment edit through the server: %d %s %s", r.code, r.out, r.err)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; !strings.Contains(got, ";# web again\nmail ") {
		t.Errorf("after the edit through the server:\n%s", got)
	}
}

// TestZoneTextMistakes: two of the slides' top-ten operator errors. A '#'
// comment is refused with its own message and place, in every form; a
// target missing its final dot is a warning naming the record and the fix,
// and the zone is still loaded.
func TestZoneTextMistakes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	var files []string
	for i, bad := range []string{
		"www IN A 192.0.2.1 # web server\n",
		"# the web servers\nwww IN A 192.0.2.1\n",
		"www IN TXT \"v=spf1 -all\" # would be data\n",
		"www IN MX 10 mail.example.net. # relay\n",
	} {
		files = append(files, writeFile(t, dir, "hash"+string(rune('1'+i))+".example", goodZone+bad))
	}
	goldenRun(t, "zonetext-hash-comment", db, 1, append([]string{"zone", "load"}, files...)...)

	dots := writeFile(t, dir, "example.com", goodZone+
		"@ IN MX 10 mailhost.example.com\n"+
		"ftp IN CNAME www.example.com\n"+
		"_sip._tcp IN SRV 0 0 5060 sip.example.com\n"+
		"mail IN A 192.0.2.25\n"+
		"pop IN CNAME mail\n")
	goldenRun(t, "zonetext-missing-dot-load", db, 0, "zone", "load", dots)
	goldenRun(t, "zonetext-missing-dot-record-add", db, 0, "record", "add", "example.com", "smtp CNAME mail.example.com")
}

// TestLoadIncludeElsewhere: a relative $INCLUDE is read from the directory
// of the file that includes it, whatever directory dms runs in and however
// the zone file is named; nested includes too.
func TestLoadIncludeElsewhere(t *testing.T) {
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	if err := os.MkdirAll(filepath.Join(zones, "hosts"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, zones, "incl.test", goodZone+"$INCLUDE inc.txt\n$INCLUDE hosts/a.txt\n")
	writeFile(t, zones, "inc.txt", "mail IN A 192.0.2.25\n")
	writeFile(t, zones, "hosts/a.txt", "a IN A 192.0.2.2\n$INCLUDE b.txt\n")
	writeFile(t, zones, "hosts/b.txt", "b IN A 192.0.2.3\n")
	elsewhere := t.TempDir()
	for i, c := range []struct{ cwd, file string }{
		{dir, "zones/incl.test"},
		{elsewhere, filepath.Join(zones, "incl.test")},
		{zones, "incl.test"},
		{filepath.Join(zones, "hosts"), "../incl.test"},
	} {
		db := filepath.Join(dir, "dms"+string(rune('0'+i))+".db")
		r := runIn(t, c.cwd, db, "zone", "load", c.file)
		if r.code != 0 {
			t.Errorf("in %s: dms zone load %s: exit %d\n%s", c.cwd, c.file, r.code, r.err)
			continue
		}
		show := run(t, db, "", "zone", "show", "incl.test").out
		for _, name := range []string{"mail ", "a ", "b ", "www "} {
			if !strings.Contains(show, "\n"+name) {
				t.Errorf("in %s: %s: no %q:\n%s", c.cwd, c.file, name, show)
			}
		}
	}
	// An error in a nested file names it from where dms runs.
	writeFile(t, zones, "hosts/b.txt", "b IN A 192.0.2.300\n")
	r := runIn(t, dir, filepath.Join(dir, "bad.db"), "zone", "load", "zones/incl.test")
	if want := "*** zones/incl.test: zones/hosts/b.txt:1:"; r.code != 1 || !strings.Contains(r.err, want) {
		t.Errorf("error in a nested include: exit %d, want %q in\n%s", r.code, want, r.err)
	}
}
