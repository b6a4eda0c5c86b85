package zonedb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.db")
	os.WriteFile(text, []byte("$ORIGIN example.org.\n@ IN SOA a b 1 2 3 4 5\n"), 0o600)
	other := filepath.Join(dir, "other.db")
	bdb, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("someone-else")); return err })
	bdb.Close()
	newer := filepath.Join(dir, "newer.db")
	db, err := Open(newer, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("99")) })
	db.Close()

	for _, tc := range []struct {
		name, path string
		opts       Options
		want       error
		msg        string
	}{
		{"text file", text, Options{}, ErrNotStore, "not a bbolt file"},
		{"text file read-only", text, Options{ReadOnly: true}, ErrNotStore, "not a bbolt file"},
		{"other program's bbolt", other, Options{}, ErrNotStore, "another program"},
		{"other program's bbolt read-only", other, Options{ReadOnly: true}, ErrNotStore, "no dms data"},
		{"newer schema", newer, Options{}, ErrSchemaTooNew, "schema 99"},
		{"missing", filepath.Join(dir, "missing.db"), Options{}, ErrNoStore, "missing.db"},
		{"missing read-only create", filepath.Join(dir, "missing.db"), Options{ReadOnly: true, Create: true}, ErrNoStore, "missing.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(tc.path)
			db, err := Open(tc.path, tc.opts)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v containing %q", err, tc.want, tc.msg)
			}
			after, _ := os.ReadFile(tc.path)
			if string(before) != string(after) {
				t.Errorf("file changed")
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dms.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "dms serve") {
		t.Errorf("second open: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("second open waited %v", time.Since(start))
	}
}

func TestReadOnlyLeavesFileUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dms.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	createZone(t, db, "example.org.", baseZone)
	db.Close()
	before, _ := os.ReadFile(path)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.View(func(v *View) error { _, err := v.Zone("example.org"); return err }); err != nil {
		t.Error(err)
	}
	ro.Close()
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("read-only open changed the file")
	}
}
