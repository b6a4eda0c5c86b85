package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	// The zone moves on meanwhile: resuming says the kept text would
	// replace that change.
	run(t, db, "", "record", "add", "example.org", "moved 300 IN A 192.0.2.66")
	// Resume: the editor gets the kept text, fixes it, the commit lands.
	r = runEnv(t, db, "r\n", append(env, "EDITOR="+fix), "zone", "edit", "example.org")
	if r.code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.err, "The zone has changed since (zi ") || !strings.Contains(r.err, "resuming replaces those changes") {
		t.Errorf("resume after the zone moved on: no warning:\n%s", r.err)
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

// checkConfig runs the checker of a server type on a whole file.
func checkConfig(t *testing.T, typ, file string) {
	t.Helper()
	var cmd *exec.Cmd
	switch typ {
	case "bind9":
		cmd = exec.Command(tool(t, "named-checkconf", "bind9-utils"), file)
	case "knot":
		cmd = exec.Command(tool(t, "knotc", "knot"), "-c", file, "conf-check")
	case "nsd":
		cmd = exec.Command(tool(t, "nsd-checkconf", "nsd"), file)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		text, _ := os.ReadFile(file)
		t.Errorf("%s: %v\n%s\n%s", strings.Join(cmd.Args, " "), err, out, text)
	}
}

// TestServerConfigAndKeys: a key is spelled the same by tsig show, tsig
// ls, server show and server config (without the final dot, as the admin
// typed it); server config --full is a whole file each server's checker
// accepts as it is; and with --key-file it includes the key file that
// tsig create --key-file wrote, instead of defining the key twice (which
// BIND refuses).
func TestServerConfigAndKeys(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	must := func(args ...string) result {
		t.Helper()
		r := run(t, db, "", args...)
		if r.code != 0 {
			t.Fatalf("dms %s: %s", strings.Join(args, " "), r.err)
		}
		return r
	}
	must("sg", "create", "external", "--master-address", "192.0.2.53")
	must("zone", "load", "--sg", "external", writeFile(t, dir, "db.example.org", goodZone))
	for _, typ := range []string{"bind9", "knot", "nsd"} {
		key, srv := "xfr-"+typ, "ns-"+typ
		keyFile := filepath.Join(dir, key+".key")
		format := map[string]string{"bind9": "bind", "knot": "knot", "nsd": "nsd"}[typ]
		must("tsig", "create", key+".", "--key-file", keyFile, "--key-format", format)
		must("server", "create", srv, "192.0.2.2", "--sg", "external", "--type", typ, "--tsig", key)
		show := must("tsig", "show", key).out
		if strings.Contains(show, key+".") {
			t.Errorf("tsig show spells %s with its dot:\n%s", key, show)
		}
		for _, args := range [][]string{{"tsig", "ls"}, {"server", "show", srv}, {"server", "ls"}, {"server", "config", srv}, {"-o", "json", "tsig", "show", key}, {"-o", "json", "server", "show", srv}} {
			if out := must(args...).out; !strings.Contains(out, key) || strings.Contains(out, key+".") {
				t.Errorf("dms %s: not spelled %s:\n%s", strings.Join(args, " "), key, out)
			}
		}
		full := must("server", "config", "--full", srv).out
		checkConfig(t, typ, writeFile(t, dir, srv+".conf", full))
		withFile := must("server", "config", "--full", "--key-file", keyFile, srv).out
		if strings.Contains(withFile, "secret") {
			t.Errorf("--key-file: the secret is still in the configuration:\n%s", withFile)
		}
		checkConfig(t, typ, writeFile(t, dir, srv+"-keyfile.conf", withFile))
	}
	// A relative key file cannot be found by the secondary: refused.
	if r := run(t, db, "", "server", "config", "--key-file", "xfr.key", "ns-bind9"); r.code == 0 || !strings.Contains(r.err, "absolute path") {
		t.Errorf("relative --key-file: exit %d %s", r.code, r.err)
	}
}

// TestFirstHour walks a new operator's first hour as a script, each step
// as the README gives it: a fresh store and its config, a BIND-style zone
// file loaded by its file name, an edit that fails, is abandoned and is
// resumed, the JSON of what was made checked against its text, a TSIG key
// and a secondary of each kind, and their configurations accepted by
// named-checkconf, knotc conf-check and nsd-checkconf as printed. Every
// step failed or surprised before issue 21.
func TestFirstHour(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	env := []string{"XDG_STATE_HOME=" + filepath.Join(dir, "state")}
	step := func(stdin string, extra []string, args ...string) result {
		t.Helper()
		r := runEnv(t, db, stdin, append(env, extra...), args...)
		if r.code != 0 {
			t.Fatalf("dms %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.out, r.err)
		}
		return r
	}
	// The store and its config.
	step("", nil, "config", "set", "zone_ttl", "3600")
	step("", nil, "sg", "create", "external", "--master-address", "192.0.2.53", "--apex-ns", "ns1.shop.example.", "--apex-ns", "ns2.shop.example.")
	// A zone file named as BIND names them, with three address records
	// and no reverse zone.
	zone := `$TTL 3600
@	IN SOA ns1.shop.example. hostmaster.shop.example. 2026120401 7200 3600 1209600 300
	IN NS ns1
	IN NS ns2
ns1	IN A 192.0.2.1
ns2	IN AAAA 2001:db8::2
www	IN AAAA 2001:db8::80
shop	IN AAAA 2001:db8::81
`
	r := step("", nil, "zone", "load", "--sg", "external", writeFile(t, dir, "db.shop.example", zone))
	if !strings.Contains(r.out, "created zone shop.example.") || strings.Count(r.out, "auto-PTR") != 1 {
		t.Errorf("zone load db.shop.example:\n%s", r.out)
	}
	// An edit with a mistake, abandoned; then resumed and fixed.
	bad := writeFile(t, dir, "bad.sh", "#!/bin/sh\nprintf 'mail IN MX mail\\nmail IN A 192.0.2.25\\n' >> \"$1\"\n")
	fix := writeFile(t, dir, "fix.sh", "#!/bin/sh\nsed -i 's/IN MX mail/IN MX 10 mail/' \"$1\"\n")
	os.Chmod(bad, 0o755)
	os.Chmod(fix, 0o755)
	if r := runEnv(t, db, "a\n", append(env, "EDITOR="+bad), "zone", "edit", "shop.example"); r.code == 0 || !strings.Contains(r.err, "your edited text is kept in") {
		t.Fatalf("abandoned edit: exit %d\n%s", r.code, r.err)
	}
	step("r\n", []string{"EDITOR=" + fix}, "zone", "edit", "shop.example")
	if got := step("", nil, "zone", "show", "shop.example").out; !strings.Contains(got, "192.0.2.25") {
		t.Errorf("resumed edit lost:\n%s", got)
	}
	// What was made, as text and as JSON.
	decode := func(s string, v any) error {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		return d.Decode(v)
	}
	var list []map[string]any
	if err := decode(step("", nil, "-o", "json", "zone", "ls").out, &list); err != nil || len(list) != 2 {
		t.Fatalf("zone ls -o json (the zone and its SG's catalog): %v %v", list, err)
	}
	text := step("", nil, "zone", "ls", "-l").out
	for _, z := range list {
		if _, ok := z["rrsets"]; ok {
			t.Errorf("zone ls -o json has an rrsets count the list does not compute: %v", z)
		}
		if line := fmt.Sprintf("%v", z["name"]); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `\s+\S+\s+` + fmt.Sprint(z["soa_serial"]) + `\s+` + fmt.Sprint(z["state"])).MatchString(text) {
			t.Errorf("zone ls -l has no line for %s with serial %v, state %v:\n%s", line, z["soa_serial"], z["state"], text)
		}
	}
	var info map[string]any
	if err := decode(step("", nil, "-o", "json", "zone", "info", "shop.example").out, &info); err != nil {
		t.Fatal(err)
	}
	itext := step("", nil, "zone", "info", "shop.example").out
	for _, k := range []string{"rrsets", "zi_count", "soa_serial", "zi_id", "state"} {
		v := fmt.Sprint(info[k])
		if v == "0" || v == "<nil>" || !regexp.MustCompile(`(?m)^`+k+`:\s+`+regexp.QuoteMeta(v)+`$`).MatchString(itext) {
			t.Errorf("zone info %s: JSON %s, text:\n%s", k, v, itext)
		}
	}
	// A key and one secondary of each kind; their configurations.
	for _, typ := range []string{"bind9", "knot", "nsd"} {
		key := "xfr-" + typ
		keyFile := filepath.Join(dir, key+".key")
		step("", nil, "tsig", "create", key, "--key-file", keyFile, "--key-format", map[string]string{"bind9": "bind", "knot": "knot", "nsd": "nsd"}[typ])
		step("", nil, "server", "create", "ns-"+typ, "192.0.2.2", "--sg", "external", "--type", typ, "--tsig", key)
		checkConfig(t, typ, writeFile(t, dir, typ+".conf", step("", nil, "server", "config", "--full", "ns-"+typ).out))
		checkConfig(t, typ, writeFile(t, dir, typ+"-inc.conf", step("", nil, "server", "config", "--full", "--key-file", keyFile, "ns-"+typ).out))
	}
}
