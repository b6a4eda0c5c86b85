package zonedb_test

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// FuzzParseCommit: whatever the zone parser accepts, Commit takes or
// rejects with an error, never a panic; what it takes reads back whole.
func FuzzParseCommit(f *testing.F) {
	files, _ := filepath.Glob("../testdata/zones/*.zone")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("@ SOA ns1.example.net. h.example.org. 1 2 3 4 5\n@ NS ns1.example.net.\nwww CNAME www\n")
	var (
		once sync.Once
		db   *zonedb.DB
		n    atomic.Int64
	)
	dir := f.TempDir()
	f.Cleanup(func() {
		if db != nil {
			db.Close()
		}
	})
	f.Fuzz(func(t *testing.T, text string) {
		once.Do(func() {
			var err error
			db, err = zonedb.Open(filepath.Join(dir, "fuzz.db"), zonedb.Options{Create: true, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
		})
		// Each input gets its own zone, destroyed before it is reused.
		zone := "z" + string(rune('a'+n.Add(1)%26)) + ".example.org."
		recs, err := zonefile.ParseString(text, zonefile.ParseOptions{File: "fuzz", Origin: zone})
		if err != nil {
			return
		}
		_, _ = db.Commit(&zonedb.ChangeSet{ChangeBy: "fuzz", Zones: []zonedb.ZoneChange{{Zone: zone, Destroy: true}}})
		_, err = db.Commit(&zonedb.ChangeSet{ChangeBy: "fuzz", Zones: []zonedb.ZoneChange{{Zone: zone, Create: &zonedb.Zone{}, Replace: true, Records: recs}}})
		if err != nil {
			return
		}
		err = db.View(func(v *zonedb.View) error {
			z, err := v.Zone(zone)
			if err != nil {
				return err
			}
			got, err := v.Records(z)
			if err != nil {
				return err
			}
			if len(got) == 0 || len(got) > len(recs) {
				t.Errorf("stored %d records of %d", len(got), len(recs))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
