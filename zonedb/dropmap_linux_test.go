package zonedb

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mappedKB is how much of the store file is in this process's RSS (the
// Rss of its mappings in /proc/self/smaps).
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if rest, ok := strings.CutPrefix(line, "Rss:"); in && ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			kb += n
		}
	}
	return kb
}

// TestNodeIndexBuildDropsMappedPages: the build reads every page of the
// store through bbolt's map; afterwards those pages are no longer in the
// server's RSS (dropMapped), though queries still read the store.
func TestNodeIndexBuildDropsMappedPages(t *testing.T) {
	db := openTest(t)
	zone := []string{"m.example. 3600 IN SOA ns1.m.example. h.m.example. 1 600 600 604800 600", "m.example. 3600 IN NS ns1.m.example."}
	for i := range 30000 {
		zone = append(zone, fmt.Sprintf("host-with-a-longer-name-%d.m.example. 300 IN TXT \"some text to fill the pages %d\"", i, i))
	}
	createZone(t, db, "m.example.", zone)
	// Read everything, as the build does.
	if err := db.View(func(v *View) error {
		c := v.tx.Bucket(bucketRR).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before := mappedKB(t, db.Path())
	if before < 2048 {
		t.Fatalf("only %d KiB of the store mapped after reading all of it: the test shows nothing", before)
	}
	if err := db.EnableNodeIndex(nil); err != nil {
		t.Fatal(err)
	}
	if !db.WaitNodeIndex(10 * time.Second) {
		t.Fatal("no name index")
	}
	after := mappedKB(t, db.Path())
	if after > before/10 {
		t.Errorf("%d KiB of the store still mapped after the build, %d before", after, before)
	}
	// The store still reads.
	checkNodeIndex(t, db, "after the pages were dropped")
	t.Logf("store pages in RSS: %d KiB after a full read, %d KiB after the build", before, after)
}
