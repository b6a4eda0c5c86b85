package zonedb

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryConfigKeyIsRead: every key of the table is read somewhere (its
// name appears as a string in a non-test Go file of the module besides
// the table), so dms config show lists no key that does nothing; and every
// default parses as its kind.
func TestEveryConfigKeyIsRead(t *testing.T) {
	var src strings.Builder
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || filepath.Base(p) == "config.go" && filepath.Base(filepath.Dir(p)) == "zonedb" {
			return nil
		}
		b, err := os.ReadFile(p)
		src.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all := src.String()
	for _, k := range ConfigKeys() {
		if !strings.Contains(all, `"`+k.Name+`"`) {
			t.Errorf("config key %s is read nowhere: give it an effect or take it out of the table", k.Name)
		}
		if k.Default == "" {
			continue
		}
		var err error
		switch k.Kind {
		case "ttl":
			_, err = ParseTTL(k.Default)
		case "bool":
			_, err = ParseBool(k.Default)
		}
		if err != nil {
			t.Errorf("key %s: default %q: %v", k.Name, k.Default, err)
		}
	}
}
