package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const goodZone = `$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.net. 1 600 600 604800 600
  IN NS ns1.example.net.
  IN NS ns2.example.net.
www IN A 192.0.2.1
`

// TestLoadBadFiles: every bad file is reported with its line, the good one
// is loaded, the exit code is non-zero, and nothing of a bad file lands.
func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	bad := map[string]struct{ text, want string }{
		"syntax.example":      {goodZone + "mail IN A 192.0.2.300\n", "syntax.example:6"},
		"unknowntype.example": {goodZone + "x IN FOOBAR 1 2 3\n", "unknowntype.example:6"},
		"escape.example":      {goodZone + "x IN TXT \"bad \\9 escape\"\nx\\ IN A\n", "escape.example:"},
		"hugettl.example":     {goodZone + "big 4294967295 IN A 192.0.2.9\n", "hugettl.example:6"},
		"mx.example":          {goodZone + "@ IN MX mail.example.net.\n", "mx.example:6"},
		"cname.example":       {goodZone + "www IN CNAME other\n", "cname.example:"},
		"nsaddr.example":      {goodZone + "@ IN MX 10 192.0.2.1.\n", "nsaddr.example:6"},
		"binary.example":      {"\x00\x01\x02\xff\xfe garbage \x00\n\x7f", "binary.example"},
		"json.example":        {`{"zone": "example", "records": []}`, "json.example:1"},
		"empty.example":       {"", "empty.example"},
		"outside.example":     {goodZone + "www.example.net. IN A 192.0.2.1\n", "outside.example:6"},
	}
	files := []string{writeFile(t, dir, "good.example", goodZone)}
	for name, b := range bad {
		files = append(files, writeFile(t, dir, name, b.text))
	}
	r := run(t, db, "", append([]string{"zone", "load"}, files...)...)
	if r.code != 1 {
		t.Errorf("exit %d, want 1\n%s\n%s", r.code, r.out, r.err)
	}
	if !strings.Contains(r.out, "created zone good.example.") {
		t.Errorf("good file not loaded:\n%s", r.out)
	}
	if !strings.Contains(r.err, "11 of 12 zone files failed") {
		t.Errorf("no summary:\n%s", r.err)
	}
	for name, b := range bad {
		if !strings.Contains(r.err, b.want) {
			t.Errorf("%s: message lacks %q:\n%s", name, b.want, r.err)
		}
	}
	ls := run(t, db, "", "zone", "ls")
	if ls.out != "good.example.\n" {
		t.Errorf("zones after load:\n%s", ls.out)
	}
}

func TestBadStores(t *testing.T) {
	dir := t.TempDir()
	notBolt := writeFile(t, dir, "zones.txt", goodZone)
	other := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	bdb.Close()
	newer := filepath.Join(dir, "newer.db")
	if r := run(t, newer, "", "ref", "create", "x"); r.code != 0 {
		t.Fatal(r.err)
	}
	bdb, err = bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("7")) })
	bdb.Close()

	for _, tc := range []struct {
		db, want string
		args     []string
	}{
		{notBolt, "is not a bbolt file", []string{"zone", "ls"}},
		{notBolt, "is not a bbolt file", []string{"zone", "create", "example.org"}},
		{other, "no dms data", []string{"zone", "ls"}},
		{other, "bbolt file of another program", []string{"ref", "create", "x"}},
		{newer, "has schema 7", []string{"zone", "ls"}},
		{newer, "has schema 7", []string{"serve"}},
		{filepath.Join(dir, "nothere.db"), "no store at", []string{"zone", "ls"}},
	} {
		before, _ := os.ReadFile(tc.db)
		r := run(t, tc.db, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.err, tc.want) {
			t.Errorf("dms --db %s %v: exit %d, stderr %q, want %q", filepath.Base(tc.db), tc.args, r.code, r.err, tc.want)
		}
		after, _ := os.ReadFile(tc.db)
		if !bytes.Equal(before, after) {
			t.Errorf("dms --db %s %v changed the file", filepath.Base(tc.db), tc.args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nothere.db")); err == nil {
		t.Errorf("a read-only command created a store")
	}
}

func TestSecondServe(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	startServe(t, db)
	r := run(t, db, "", "serve")
	if r.code != 1 || !strings.Contains(r.err, "already runs") {
		t.Errorf("second serve: exit %d: %s", r.code, r.err)
	}
	// The first one still answers.
	if r := run(t, db, "", "config", "show"); r.code != 0 {
		t.Errorf("first server gone: %s", r.err)
	}
}

// TestZoneNameForms: with or without the trailing dot, any case, the same
// zone; malformed names get a clear error and change nothing.
func TestZoneNameForms(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	if r := run(t, db, "", "zone", "load", filepath.Join(dir, "example.org")); r.code != 0 {
		t.Fatal(r.err)
	}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "h.example.net."}, {"apex_ns", "ns1.example.net."}} {
		if r := run(t, db, "", "config", "set", kv[0], kv[1]); r.code != 0 {
			t.Fatal(r.err)
		}
	}
	want := run(t, db, "", "zone", "show", "example.org.").out
	for _, n := range []string{"example.org", "EXAMPLE.ORG", "Example.Org."} {
		if got := run(t, db, "", "zone", "show", n).out; got != want {
			t.Errorf("zone show %s differs", n)
		}
	}
	before, _ := os.ReadFile(db)
	for _, n := range []string{"bad..name", ".leading", "", "a b"} {
		r := run(t, db, "", "zone", "create", n)
		if r.code == 0 || !strings.Contains(r.err, "dms: error:") && !strings.Contains(r.err, "dms: ") {
			t.Errorf("zone create %q: exit %d %s", n, r.code, r.err)
		}
	}
	if r := run(t, db, "", "zone", "create", "example.ORG."); r.code != 1 || !strings.Contains(r.err, "zone already exists: example.org.") {
		t.Errorf("create existing in other case: %d %s", r.code, r.err)
	}
	after, _ := os.ReadFile(db)
	if !bytes.Equal(before, after) {
		// bbolt may rewrite meta pages on a failed write transaction? It
		// must not: a failed commit rolls back.
		t.Errorf("failed creates changed the store")
	}
}

func TestEditFileStale(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	shown := run(t, db, "", "zone", "show", "example.org").out
	edited := writeFile(t, dir, "edited", strings.Replace(shown, "192.0.2.1", "192.0.2.7", 1))
	// Someone else commits in between.
	if r := run(t, db, "", "record", "add", "example.org", "new A 192.0.2.8"); r.code != 0 {
		t.Fatal(r.err)
	}
	r := run(t, db, "", "zone", "edit", "example.org", "--file", edited)
	if r.code != 1 || !strings.Contains(r.err, "changed since it was read") {
		t.Errorf("stale edit: exit %d %s", r.code, r.err)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; !strings.Contains(got, "192.0.2.8") || strings.Contains(got, "192.0.2.7") {
		t.Errorf("stale edit changed the zone:\n%s", got)
	}
	// --force replaces anyway; the other change is gone as the file says.
	if r := run(t, db, "", "zone", "edit", "example.org", "--file", edited, "--force"); r.code != 0 {
		t.Errorf("forced edit: %s", r.err)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; strings.Contains(got, "192.0.2.8") || !strings.Contains(got, "192.0.2.7") {
		t.Errorf("forced edit result:\n%s", got)
	}
}

// TestEditInteractive drives dms zone edit with a scripted editor: the
// first save has an error, the admin chooses to edit again, the second save
// is good.
func TestEditInteractive(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	// The editor script: the first run adds a bad record, the second
	// removes it and changes www's address.
	script := writeFile(t, dir, "ed.sh", `#!/bin/sh
n=$(cat "`+dir+`/count" 2>/dev/null || echo 0)
n=$((n+1)); echo $n > "`+dir+`/count"
if [ $n = 1 ]; then echo "broken IN A 192.0.2.300" >> "$1"; else sed -i -e '/^broken/d' -e 's/192.0.2.1$/192.0.2.77/' "$1"; fi
`)
	os.Chmod(script, 0o755)
	cmd := runEnv(t, db, "e\n", []string{"EDITOR=" + script}, "zone", "edit", "example.org")
	if cmd.code != 0 {
		t.Fatalf("edit: exit %d\n%s\n%s", cmd.code, cmd.out, cmd.err)
	}
	if !strings.Contains(cmd.err, "Edit again (e) or abort (a)?") || !strings.Contains(cmd.err, `bad A A: "192.0.2.300"`) {
		t.Errorf("no error and prompt shown:\n%s", cmd.err)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; !strings.Contains(got, "192.0.2.77") {
		t.Errorf("edit not committed:\n%s", got)
	}
	// Abort: nothing committed.
	os.Remove(filepath.Join(dir, "count"))
	before := run(t, db, "", "zone", "show", "example.org").out
	cmd = runEnv(t, db, "a\n", []string{"EDITOR=" + script}, "zone", "edit", "example.org")
	if cmd.code == 0 || !strings.Contains(cmd.err, "aborted") {
		t.Errorf("abort: exit %d %s", cmd.code, cmd.err)
	}
	if after := run(t, db, "", "zone", "show", "example.org").out; after != before {
		t.Errorf("aborted edit changed the zone")
	}
}

// TestStoreLocation: --db wins over DMS_DB, which wins over the default.
func TestStoreLocation(t *testing.T) {
	dir := t.TempDir()
	envDB := filepath.Join(dir, "env.db")
	flagDB := filepath.Join(dir, "flag.db")
	cmd := exec.Command(dmsBin, "ref", "create", "viaenv")
	cmd.Env = append(os.Environ(), "DMS_DB="+envDB)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cmd = exec.Command(dmsBin, "--db", flagDB, "ref", "create", "viaflag")
	cmd.Env = append(os.Environ(), "DMS_DB="+envDB)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r := run(t, envDB, "", "ref", "ls"); !strings.Contains(r.out, "viaenv") || strings.Contains(r.out, "viaflag") {
		t.Errorf("env store: %s", r.out)
	}
	if r := run(t, flagDB, "", "ref", "ls"); !strings.Contains(r.out, "viaflag") {
		t.Errorf("flag store: %s", r.out)
	}
	cmd = exec.Command(dmsBin, "zone", "ls", "--help")
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "/var/lib/dms/dms.db") {
		t.Errorf("default store not in --help:\n%s", out)
	}
}

// TestReadOnlyCommands: show, ls, info, history, diff and config show open
// the store read-only and leave the file byte for byte as it was.
func TestReadOnlyCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	run(t, db, "", "record", "add", "example.org", "x A 192.0.2.9")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"zone", "show", "example.org"}, {"zone", "show", "example.org", "--zi", "1"}, {"zone", "ls"}, {"zone", "ls", "-o", "json"},
		{"zone", "info", "example.org"}, {"zone", "history", "example.org"}, {"zone", "diff", "example.org", "1", "2"},
		{"config", "show"}, {"ref", "ls"}, {"zone", "info", "nothere.example"},
	} {
		run(t, db, "", args...)
		after, _ := os.ReadFile(db)
		if !bytes.Equal(before, after) {
			t.Fatalf("dms %v changed the store", args)
		}
	}
}

// TestTransferCommandsBadInput: the secondary-feeding commands refuse bad
// input with a clear error and change nothing; dms status needs a server.
func TestTransferCommandsBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	if r := run(t, db, "", "sg", "create", "ext"); r.code != 0 {
		t.Fatal(r.err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"status"}, "needs a running dms serve"},
		{[]string{"tsig", "create", "k", "--alg", "hmac-md5"}, "use hmac-sha256 (default)"},
		{[]string{"tsig", "import", "k", "c2hvcnQ="}, "at least as long as the hash"},
		{[]string{"tsig", "show", "missing"}, "TSIG key not found"},
		{[]string{"sg", "create", "ext"}, "already exists"},
		{[]string{"sg", "create", "x", "--master-address", "example.net"}, "not an IP address"},
		{[]string{"sg", "create", "x", "--allow-query", "10.0.0.0/33"}, "not an address or prefix"},
		{[]string{"sg", "create", "x", "--apex-ns", "bad..name"}, "not a host name"},
		{[]string{"sg", "set", "ext"}, "give at least one setting"},
		{[]string{"sg", "set", "nope", "--soa-mname", "a.example."}, "server group not found"},
		{[]string{"server", "create", "s", "[2001:db8::1]"}, "give the server's group"},
		{[]string{"server", "create", "s", "2001:db8::1%eth0", "--sg", "ext"}, "zone index"},
		{[]string{"server", "create", "s", "192.0.2.1:0", "--sg", "ext"}, "is not an address"},
		{[]string{"server", "create", "s", "192.0.2.1", "--sg", "ext", "--type", "powerdns"}, "use one of bind9, knot, nsd"},
		{[]string{"server", "config", "missing"}, "server not found"},
		{[]string{"zone", "alt-sg", "swap", "missing.example"}, "zone not found"},
		{[]string{"serve", "--answer-cache-mb", "-1", "--listen", "127.0.0.1:0", "--metrics-listen", ""}, "--answer-cache-mb -1: give 0 (no answer cache) or a size in MiB"},
	} {
		r := run(t, db, "", c.args...)
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("dms %s: exit %d, stderr %q; want an error saying %q", strings.Join(c.args, " "), r.code, r.err, c.want)
		}
	}
	if r := run(t, db, "", "server", "ls"); r.code != 0 || strings.Count(r.out, "\n") != 1 {
		t.Errorf("servers after the refusals:\n%s%s", r.out, r.err)
	}
	if r := run(t, db, "", "sg", "ls"); r.code != 0 || strings.Count(r.out, "\n") != 2 {
		t.Errorf("server groups after the refusals:\n%s%s", r.out, r.err)
	}
	// tsig create makes a fresh 32-byte secret each time, shown in each
	// program's syntax; tsig ls never shows it.
	a, b := run(t, db, "", "tsig", "create", "k1", "-o", "json"), run(t, db, "", "tsig", "create", "k2")
	if a.code != 0 || b.code != 0 {
		t.Fatalf("tsig create: %s %s", a.err, b.err)
	}
	var k struct{ Secret, BIND, Knot string }
	if err := json.Unmarshal([]byte(a.out), &k); err != nil {
		t.Fatal(err)
	}
	sec, err := base64.StdEncoding.DecodeString(k.Secret)
	if err != nil || len(sec) != 32 || !strings.Contains(k.BIND, `secret "`+k.Secret+`";`) || !strings.Contains(k.Knot, "secret: "+k.Secret) {
		t.Errorf("tsig create: %+v", k)
	}
	if strings.Contains(b.out, k.Secret) || !strings.Contains(b.out, "algorithm hmac-sha256;") {
		t.Errorf("second key:\n%s", b.out)
	}
	if ls := run(t, db, "", "tsig", "ls"); strings.Contains(ls.out, k.Secret) || !strings.Contains(ls.out, "k1 ") || strings.Contains(ls.out, "k1.") {
		t.Errorf("tsig ls:\n%s", ls.out)
	}
}

// TestDNSSECBadInput: bad keys and unsafe DNSSEC changes are refused with
// a clear error, and change nothing.
func TestDNSSECBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	writeFile(t, dir, "child.example.org", strings.ReplaceAll(goodZone, "www IN A", "host IN A"))
	for _, args := range [][]string{
		{"zone", "load", filepath.Join(dir, "example.org")},
		{"zone", "load", filepath.Join(dir, "child.example.org")},
	} {
		if r := run(t, db, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	keygen := tool(t, "dnssec-keygen", "bind9-utils")
	gen := func(alg string) string {
		t.Helper()
		out, err := exec.Command(keygen, "-q", "-K", dir, "-a", alg, "-n", "ZONE", "example.org").Output()
		if err != nil {
			t.Fatalf("dnssec-keygen -a %s: %v", alg, err)
		}
		return filepath.Join(dir, strings.TrimSpace(string(out)))
	}
	k1, k2 := gen("ECDSAP256SHA256"), gen("ECDSAP256SHA256")
	corrupt := writeFile(t, dir, "corrupt.private", "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: not-base64!\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dnssec", "import", "example.org", k1 + ".key", k2 + ".private"}, "does not match the public key"},
		{[]string{"dnssec", "import", "example.org", k1 + ".key", corrupt}, "private"},
		{[]string{"dnssec", "import", "child.example.org", k1 + ".key", k1 + ".private"}, "example.org"},
		{[]string{"dnssec", "import", "example.org", k1 + ".key", filepath.Join(dir, "missing.private")}, "no such file"},
		{[]string{"dnssec", "enable", "example.org", "--alg", "7"}, "use 13 (ECDSAP256SHA256, default), 15 (ED25519) or 8"},
		{[]string{"dnssec", "enable", "example.org", "--nsec3-iterations", "500"}, "RFC 9276"},
		{[]string{"dnssec", "enable", "example.org", "--nsec3-salt", "xyz"}, "--nsec3-salt takes hex"},
		{[]string{"dnssec", "disable", "example.org", "--ds-removed"}, "is not signed"},
		{[]string{"dnssec", "rollover", "example.org"}, "is not signed"},
		{[]string{"dnssec", "keys", "nope.example"}, "zone not found"},
	} {
		r := run(t, db, "", c.args...)
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("dms %s: exit %d, stderr %q; want an error saying %q", strings.Join(c.args, " "), r.code, r.err, c.want)
		}
	}
	if r := run(t, db, "", "dnssec", "keys", "example.org"); r.code != 0 || strings.Contains(r.out, "TAG") || !strings.Contains(r.out, "unsigned") {
		t.Errorf("keys after the refused imports:\n%s%s", r.out, r.err)
	}
	// Signed: a second enable is refused; disable asks for the parent's DS
	// to be gone, and refuses while a parent zone here has one.
	rrsets := func() string {
		r := run(t, db, "", "zone", "info", "child.example.org", "-o", "json")
		var info struct {
			RRsets int `json:"rrsets"`
		}
		json.Unmarshal([]byte(r.out), &info)
		return fmt.Sprint(info.RRsets)
	}
	unsigned := rrsets()
	if r := run(t, db, "", "dnssec", "enable", "child.example.org"); r.code != 0 {
		t.Fatal(r.err)
	}
	ds := strings.Fields(strings.Split(run(t, db, "", "dnssec", "ds", "child.example.org").out, "\n")[0])
	if r := run(t, db, "", "record", "add", "example.org", "child NS ns1.example.net.", "child DS "+strings.Join(ds[4:], " ")); r.code != 0 {
		t.Fatal(r.err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dnssec", "enable", "child.example.org"}, "signed already"},
		{[]string{"dnssec", "disable", "child.example.org"}, "has DS records in its parent zone"},
		{[]string{"dnssec", "disable", "child.example.org", "--ds-removed"}, "has DS records in its parent zone"},
	} {
		r := run(t, db, "", c.args...)
		if r.code == 0 || !strings.Contains(r.err, c.want) {
			t.Errorf("dms %s: exit %d, stderr %q; want an error saying %q", strings.Join(c.args, " "), r.code, r.err, c.want)
		}
	}
	if r := run(t, db, "", "record", "delete", "example.org", "child DS"); r.code != 0 {
		t.Fatal(r.err)
	}
	if r := run(t, db, "", "dnssec", "disable", "child.example.org"); r.code == 0 || !strings.Contains(r.err, "--ds-removed") {
		t.Errorf("disable without --ds-removed: %d %s", r.code, r.err)
	}
	if r := run(t, db, "", "dnssec", "disable", "child.example.org", "--ds-removed"); r.code != 0 {
		t.Errorf("disable: %s", r.err)
	}
	if got := rrsets(); got != unsigned || got == "0" {
		t.Errorf("after disable the zone has %s RRsets, %s before it was signed: signer records left", got, unsigned)
	}
}

// TestEditLockWhileEditing: with edit_lock on, dms zone edit locks the
// zone while the editor runs; another admin's change meanwhile is refused
// with who holds the lock; the edit's commit releases it.
func TestEditLockWhileEditing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	startServe(t, db)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	if r := run(t, db, "", "zone", "set", "example.org", "--edit-lock"); r.code != 0 {
		t.Fatal(r.err)
	}
	// The editor tries a change of its own through dms (refused: locked),
	// then edits the text.
	script := writeFile(t, dir, "ed.sh", `#!/bin/sh
"`+dmsBin+`" --db "`+db+`" record add example.org "other A 192.0.2.9" > "`+dir+`/during.out" 2>&1
"`+dmsBin+`" --db "`+db+`" zone info example.org >> "`+dir+`/during.out" 2>&1
sed -i -e 's/192.0.2.1$/192.0.2.78/' "$1"
`)
	os.Chmod(script, 0o755)
	if r := runEnv(t, db, "", []string{"EDITOR=" + script}, "zone", "edit", "example.org"); r.code != 0 {
		t.Fatalf("edit: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	during, _ := os.ReadFile(filepath.Join(dir, "during.out"))
	if !strings.Contains(string(during), "is being edited by") || !strings.Contains(string(during), "lock_state:    EDIT_LOCK") {
		t.Errorf("while editing:\n%s", during)
	}
	if got := run(t, db, "", "zone", "show", "example.org").out; !strings.Contains(got, "192.0.2.78") || strings.Contains(got, "192.0.2.9") {
		t.Errorf("after the edit:\n%s", got)
	}
	if r := run(t, db, "", "zone", "info", "example.org"); !strings.Contains(r.out, "EDIT_UNLOCK") {
		t.Errorf("lock kept after the edit:\n%s", r.out)
	}
	// An aborted edit (no change) releases the lock too.
	if r := runEnv(t, db, "", []string{"EDITOR=true"}, "zone", "edit", "example.org"); r.code != 0 || !strings.Contains(r.out, "no changes") {
		t.Errorf("no-change edit: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "record", "add", "example.org", "late A 192.0.2.10"); r.code != 0 {
		t.Errorf("change after an aborted edit: %s", r.err)
	}
}

// TestEditLockDirect: without a server, an edit that changes nothing
// releases its lock too (the command holds the store: the release must
// use the same connection).
func TestEditLockDirect(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	writeFile(t, dir, "example.org", goodZone)
	run(t, db, "", "zone", "load", filepath.Join(dir, "example.org"))
	run(t, db, "", "zone", "set", "example.org", "--edit-lock")
	if r := runEnv(t, db, "", []string{"EDITOR=true"}, "zone", "edit", "example.org"); r.code != 0 || !strings.Contains(r.out, "no changes") {
		t.Fatalf("edit: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "zone", "info", "example.org"); !strings.Contains(r.out, "EDIT_UNLOCK") {
		t.Errorf("lock kept after an edit without changes:\n%s", r.out)
	}
}
