package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupRestoreCLI: dms backup through a running server writes a 0600
// file that verifies; dms check runs in the server; dms restore is refused
// while the server runs and for a broken file (nothing replaced); stopped,
// the store is restored and the zone changed since the backup gets a
// serial above the one served.
func TestBackupRestoreCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "dms.db")
	zf := writeFile(t, dir, "example.org", exampleZone)
	if r := run(t, db, "", "zone", "load", zf); r.code != 0 {
		t.Fatalf("load: %s", r.err)
	}
	srv := startServe(t, db)
	if m := httpGet(t, "http://"+srv.metrics+"/metrics"); !strings.Contains(m, "dms_backup_last_success_timestamp_seconds 0\n") {
		t.Errorf("before any backup: %s", grepLines(m, "dms_backup"))
	}
	bk := filepath.Join(dir, "backups", "b1.db")
	if err := os.MkdirAll(filepath.Dir(bk), 0o700); err != nil {
		t.Fatal(err)
	}
	r := run(t, db, "", "backup", bk)
	if r.code != 0 || !strings.Contains(r.out, "backup "+bk+": ") || !strings.Contains(r.out, " 1 zones") {
		t.Fatalf("backup: %d %s %s", r.code, r.out, r.err)
	}
	if fi, err := os.Stat(bk); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if _, err := os.Stat(bk + ".tmp"); err == nil {
		t.Error("the temporary file was left")
	}
	if m := grepLines(httpGet(t, "http://"+srv.metrics+"/metrics"), "dms_backup_last_success_timestamp_seconds "); !strings.Contains(m, "e+09") {
		t.Errorf("after a backup: %q", m)
	}
	if r := run(t, db, "", "backup", "--verify", bk); r.code != 0 || !strings.Contains(r.out, ": OK: ") {
		t.Fatalf("verify: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "check"); r.code != 0 || !strings.Contains(r.out, ": OK: ") {
		t.Fatalf("check through the server: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "-o", "json", "check"); r.code != 0 || !strings.Contains(r.out, `"zones": 1`) {
		t.Fatalf("check -o json: %s", r.out)
	}
	// To standard output: the file's bytes, the summary on stderr.
	r = run(t, db, "", "backup", "-")
	if r.code != 0 || len(r.out) < 4096 || !strings.HasPrefix(r.err, "backup -: ") {
		t.Fatalf("backup -: %d, %d bytes, %s", r.code, len(r.out), r.err)
	}
	if r := run(t, db, "", "record", "add", "example.org", "late A 192.0.2.99"); r.code != 0 {
		t.Fatal(r.err)
	}
	if r := run(t, db, "", "restore", bk); r.code == 0 || !strings.Contains(r.err, "dms serve is running") {
		t.Fatalf("restore while serving: %d %s", r.code, r.err)
	}
	srv.cmd.Process.Signal(os.Interrupt)
	srv.cmd.Wait()
	before, _ := os.ReadFile(db)

	data, _ := os.ReadFile(bk)
	trunc := filepath.Join(dir, "trunc.db")
	os.WriteFile(trunc, data[:len(data)/2], 0o600)
	if r := run(t, db, "", "restore", trunc); r.code == 0 || !strings.Contains(r.out+r.err, "truncated") || !strings.Contains(r.err, "nothing replaced") {
		t.Fatalf("restore of a truncated file: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "backup", "--verify", trunc); r.code != 1 || !strings.Contains(r.out, "BROKEN") {
		t.Fatalf("verify of a truncated file: %d %s %s", r.code, r.out, r.err)
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Fatal("a refused restore changed the store")
	}
	r = run(t, db, "", "restore", bk)
	if r.code != 0 || !strings.Contains(r.out, "the replaced store is kept as "+db+".before-restore-") ||
		!strings.Contains(r.out, "1 zone(s) get a serial above what their secondaries were served") || !strings.Contains(r.out, "example.org.: backup ") {
		t.Fatalf("restore: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, db, "", "zone", "show", "example.org"); strings.Contains(r.out, "late") {
		t.Error("the restored zone has the record made after the backup")
	}
	// The restore is in the event log, by whoever ran it.
	if r := run(t, db, "", "events", "--zone", "example.org", "-n", "1"); !strings.Contains(r.out, "serial") {
		t.Errorf("events after restore: %s", r.out)
	}
}
