package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadNamesZoneFromFile: dms zone load db.NAME loads NAME (the BIND
// convention), a file that says its name ($ORIGIN, SOA owner) is loaded
// under it, and a file loaded under a wrong name says which name it used
// and how to give another.
func TestLoadNamesZoneFromFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	zone := strings.ReplaceAll(goodZone, "192.0.2.1", "192.0.2.1\nmail.shop.example. IN A 192.0.2.2")
	for _, c := range []struct{ file, text, want string }{
		{"db.shop.example", zone, "shop.example."},
		{"two.example.zone", strings.ReplaceAll(zone, "shop.example", "two.example"), "two.example."},
		{"three.example.db", strings.ReplaceAll(zone, "shop.example", "three.example"), "three.example."},
		{"named-by-origin.txt", "$ORIGIN four.example.\n" + strings.ReplaceAll(zone, "shop.example", "four.example"), "four.example."},
	} {
		r := run(t, db, "", "zone", "load", writeFile(t, dir, c.file, c.text))
		if r.code != 0 || !strings.Contains(r.out, "created zone "+c.want) {
			t.Errorf("zone load %s: exit %d\n%s%s", c.file, r.code, r.out, r.err)
		}
	}
	r := run(t, db, "", "zone", "load", writeFile(t, dir, "shop-example.txt", zone))
	if r.code == 0 || !strings.Contains(r.err, "is outside the zone shop-example.txt.") ||
		!strings.Contains(r.err, "the zone's name shop-example.txt. came from the file name shop-example.txt; to load the file as another zone, give --name ZONE") {
		t.Errorf("wrong name: exit %d\n%s", r.code, r.err)
	}
	if r := run(t, db, "", "zone", "load", "--name", "five.example", writeFile(t, dir, "db.x", strings.ReplaceAll(zone, "shop.example", "five.example"))); r.code != 0 {
		t.Errorf("--name: %s", r.err)
	}
}

// TestLoadReportsEveryError: every error of a zone file is listed, each
// with its file and line, and nothing is committed.
func TestLoadReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	bad := goodZone + "a IN A 192.0.2.300\nb IN MX b\nc IN AAAA 2001:db8::zz\n"
	file := writeFile(t, dir, "example.org", bad)
	r := run(t, db, "", "zone", "load", file)
	if r.code == 0 {
		t.Fatalf("loaded:\n%s", r.out)
	}
	for _, want := range []string{file + ":6:", file + ":7:", file + ":8:", "(and 2 more errors)"} {
		if !strings.Contains(r.err, want) {
			t.Errorf("no %q in:\n%s", want, r.err)
		}
	}
	if r := run(t, db, "", "zone", "ls"); strings.Contains(r.out, "example.org") {
		t.Errorf("a zone was created:\n%s", r.out)
	}
	j := run(t, db, "", "-o", "json", "zone", "load", file)
	if n := strings.Count(j.out, `"code": "syntax"`); n != 3 {
		t.Errorf("-o json lists %d syntax problems, want 3:\n%s", n, j.out)
	}
}

// TestAutoPTRSummary: addresses with no reverse zone make one summary line
// (how many, why, what to do), every one of them with -v.
func TestAutoPTRSummary(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	var b strings.Builder
	b.WriteString(goodZone)
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "h%d IN AAAA 2001:db8:1::%d\n", i, i)
	}
	file := writeFile(t, dir, "example.org", b.String())
	r := run(t, db, "", "zone", "load", file)
	if r.code != 0 {
		t.Fatalf("load: %s", r.err)
	}
	if n := strings.Count(r.out, "auto-PTR"); n != 1 {
		t.Errorf("%d auto-PTR lines, want one:\n%s", n, r.out)
	}
	for _, want := range []string{"auto-PTR skipped for 8 addresses (2001:db8:1::1, ...): no reverse zone with inc_updates covers them", "dms zone create 2001:db8:1::/48 --inc-updates", "-v lists each", "dms events --zone example.org"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("no %q in:\n%s", want, r.out)
		}
	}
	run(t, db, "", "zone", "delete", "example.org")
	if r := run(t, db, "", "zone", "destroy", "example.org"); r.code != 0 {
		// A zone deleted and not destroyed keeps its name: load under
		// another below.
		t.Logf("destroy: %s", r.err)
	}
	file = writeFile(t, dir, "other.example", strings.ReplaceAll(b.String(), "example.org", "other.example"))
	r = run(t, db, "", "-v", "zone", "load", file)
	if n := strings.Count(r.out, "auto-PTR skipped: 2001:db8:1::"); n != 8 {
		t.Errorf("-v: %d auto-PTR lines, want 8:\n%s", n, r.out)
	}
}

// TestEditAbandonedIsKept: an edit abandoned after an error keeps its text
// (mode 0600) and says where; the next edit of the zone offers to resume
// from it, and a good commit of the resumed text removes it.
func TestEditAbandonedIsKept(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	state := filepath.Join(dir, "state")
	env := []string{"XDG_STATE_HOME=" + state}
	run(t, db, "", "zone", "load", writeFile(t, dir, "example.org", goodZone))
	bad := writeFile(t, dir, "bad.sh", "#!/bin/sh\nprintf 'broken IN A 192.0.2.300\\nkeepme IN A 192.0.2.55\\n' >> \"$1\"\n")
	fix := writeFile(t, dir, "fix.sh", "#!/bin/sh\ngrep -q keepme \"$1\" || exit 3\nsed -i '/^broken/d' \"$1\"\n")
	os.Chmod(bad, 0o755)
	os.Chmod(fix, 0o755)
	r := runEnv(t, db, "a\n", append(env, "EDITOR="+bad), "zone", "edit", "example.org")
	if r.code == 0 || !strings.Contains(r.err, "aborted, nothing committed; your edited text is kept in ") {
		t.Fatalf("abort: exit %d\n%s", r.code, r.err)
	}
	kept, _ := filepath.Glob(filepath.Join(state, "dms", "edits", "example.org.*.zone"))
	if len(kept) != 1 {
		t.Fatalf("kept files: %v", kept)
	}
	if !strings.Contains(r.err, kept[0]) {
		t.Errorf("the path %s is not said:\n%s", kept[0], r.err)
	}
	st, err := os.Stat(kept[0])
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kept file: %v %v", st.Mode(), err)
	}
	if text, _ := os.ReadFile(kept[0]); !strings.Contains(string(text), "keepme") {
		t.Errorf("kept text lacks the edit:\n%s", text)
	}
	// Start afresh: the fixing editor finds no keepme and fails; the kept
	// text stays.
	r = runEnv(t, db, "s\n", append(env, "EDITOR="+fix), "zone", "edit", "example.org")
	if r.code == 0 || !strings.Contains(r.err, "Resume from it (r), start from the zone as it is (s), or discard it (d)?") {
		t.Errorf("start afresh: exit %d\n%s", r.code, r.err)
	}
	if _, err := os.Stat(kept[0]); err != nil {
		t.Errorf("kept text gone after starting afresh: %v", err)
	}
	// Resume: the editor gets the kept text, fixes it, the commit lands.
	r = runEnv(t, db, "r\n", append(env, "EDITOR="+fix), "zone", "edit", "example.org")
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; !strings.Contains(got, "192.0.2.55") || strings.Contains(got, "broken") {
		t.Errorf("resumed edit not committed:\n%s", got)
	}
	if _, err := os.Stat(kept[0]); !os.IsNotExist(err) {
		t.Errorf("kept text still there after the commit: %v", err)
	}
	// Discard.
	runEnv(t, db, "a\n", append(env, "EDITOR="+bad), "zone", "edit", "example.org")
	r = runEnv(t, db, "d\n", append(env, "EDITOR=true"), "zone", "edit", "example.org")
	if r.code != 0 || !strings.Contains(r.err, "discarded ") || !strings.Contains(r.out, "no changes") {
		t.Errorf("discard: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if left, _ := filepath.Glob(filepath.Join(state, "dms", "edits", "*.zone")); len(left) != 0 {
		t.Errorf("left after discard: %v", left)
	}
}
