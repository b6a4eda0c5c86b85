package zonedb

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// testComments are comments for baseZone: lines above the apex MX-less
// NS RRset, and lines plus a trailing comment on www's A RRset.
func testComments(t testing.TB) []Comment {
	t.Helper()
	www := Comment{Name: "www.example.org.", Type: dns.TypeA, Lines: []string{";| Web", ";# the web server"}}
	if err := www.SetTrailing(recs(t, "www.example.org. 300 IN A 192.0.2.1")[0].RR, ";# first"); err != nil {
		t.Fatal(err)
	}
	return []Comment{{Name: "example.org.", Type: dns.TypeNS, Lines: []string{";# ours"}}, www}
}

// commentText lists a zone's stored comments as "owner/TYPE: lines |
// trailing texts".
func commentText(t testing.TB, db *DB, zone string) []string {
	t.Helper()
	var out []string
	err := db.View(func(v *View) error {
		z, err := v.Zone(zone)
		if err != nil {
			return err
		}
		cs, err := v.Comments(z)
		for _, c := range cs {
			var tr []string
			for _, x := range c.Trailing {
				tr = append(tr, x.Text)
			}
			out = append(out, c.Name+"/"+dns.TypeToString[c.Type]+": "+strings.Join(c.Lines, " ")+" | "+strings.Join(tr, " "))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func commitOne(t testing.TB, db *DB, zc ZoneChange) ZoneCommit {
	t.Helper()
	res, err := db.Commit(&ChangeSet{ChangeBy: "test@host/Admin", Zones: []ZoneChange{zc}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// TestComments: comments land with the zone in its commit, an edit of
// comments alone is saved without a new instance, record changes take the
// comments of what they remove, other commits keep them, and a destroyed
// zone leaves none.
func TestComments(t *testing.T) {
	db := openTest(t)
	res := commitOne(t, db, ZoneChange{Zone: "example.org.", Create: &Zone{}, Replace: true, Records: recs(t, baseZone...),
		SetComments: true, Comments: testComments(t)})
	want := []string{"example.org./NS: ;# ours | ", "www.example.org./A: ;| Web ;# the web server | ;# first"}
	if got := commentText(t, db, "example.org."); !res.CommentsChanged || !slices.Equal(got, want) {
		t.Fatalf("comments %q (changed %v), want %q", got, res.CommentsChanged, want)
	}

	// The same text again: nothing to save.
	res = commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: testComments(t)})
	if res.ZI != 0 || res.CommentsChanged {
		t.Errorf("unchanged text: %+v", res)
	}

	// Comments alone: saved, logged, no instance, no serial.
	cs := testComments(t)
	cs[0].Lines = []string{";# ours, both"}
	gen, serial := db.Generation(), res.Serial
	res = commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: cs})
	if res.ZI != 0 || !res.CommentsChanged || res.Serial != serial || res.Added+res.Removed != 0 {
		t.Errorf("comment-only edit: %+v", res)
	}
	if got := commentText(t, db, "example.org."); got[0] != "example.org./NS: ;# ours, both | " {
		t.Errorf("comment-only edit not saved: %q", got)
	}
	if db.Generation() == gen {
		t.Errorf("a saved change did not move the generation")
	}
	var ev []LogEvent
	db.View(func(v *View) error { ev, _ = v.Events(EventFilter{Zone: "example.org.", Limit: 1}); return nil })
	if len(ev) != 1 || !strings.Contains(ev[0].Message, "comments changed") {
		t.Errorf("event log: %+v", ev)
	}

	// A record op that leaves an RRset keeps its comment; one that takes a
	// record takes its trailing comment; one that takes the RRset takes
	// the whole comment.
	add := recs(t, "www.example.org. 300 IN A 192.0.2.9")[0]
	commitOne(t, db, ZoneChange{Zone: "example.org.", Ops: []RecordOp{{Kind: OpAdd, Record: add}}})
	del := recs(t, "www.example.org. 300 IN A 192.0.2.1")[0]
	commitOne(t, db, ZoneChange{Zone: "example.org.", Ops: []RecordOp{{Kind: OpDelete, Record: del}}})
	if got := commentText(t, db, "example.org."); len(got) != 2 || got[1] != "www.example.org./A: ;| Web ;# the web server | " {
		t.Errorf("after deleting the commented record: %q", got)
	}
	commitOne(t, db, ZoneChange{Zone: "example.org.", Ops: []RecordOp{{Kind: OpDeleteRRset, Name: "www.example.org.", Type: dns.TypeA}}})
	if got := commentText(t, db, "example.org."); len(got) != 1 || !strings.HasPrefix(got[0], "example.org./NS") {
		t.Errorf("after deleting the commented RRset: %q", got)
	}

	// A replace without comments (a rollback) keeps those of the RRsets
	// that stay.
	commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), NewZI: true})
	if got := commentText(t, db, "example.org."); len(got) != 1 {
		t.Errorf("after a rollback: %q", got)
	}

	commitOne(t, db, ZoneChange{Zone: "example.org.", Destroy: true})
	db.View(func(v *View) error {
		if k, _ := v.tx.Bucket(bucketComments).Cursor().First(); k != nil {
			t.Errorf("comments left after destroy: %x", k)
		}
		return nil
	})
}

// TestCommentsDeletedWithTheirRRset: whatever removes an RRset (a zone text
// without it, a delete op) removes its comment, and a comment given for an
// RRset the text does not have is not kept.
func TestCommentsDeletedWithTheirRRset(t *testing.T) {
	db := openTest(t)
	cs := append(testComments(t), Comment{Name: "nothere.example.org.", Type: dns.TypeA, Lines: []string{";# orphan"}})
	commitOne(t, db, ZoneChange{Zone: "example.org.", Create: &Zone{}, Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: cs})
	if got := commentText(t, db, "example.org."); len(got) != 2 {
		t.Fatalf("comments %q", got)
	}
	// The text without www's A RRset, comments as they were: the
	// comment goes with the RRset.
	text := slices.DeleteFunc(slices.Clone(baseZone), func(l string) bool { return strings.HasPrefix(l, "www.example.org. 300 IN A ") })
	commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, text...), SetComments: true, Comments: testComments(t)})
	if got := commentText(t, db, "example.org."); len(got) != 1 || !strings.HasPrefix(got[0], "example.org./NS") {
		t.Errorf("comments %q", got)
	}
	// A replace without SetComments takes them too.
	commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: testComments(t)})
	commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, text...)})
	if got := commentText(t, db, "example.org."); len(got) != 1 {
		t.Errorf("comments %q", got)
	}
}

// TestCommentsBadInput: comment text must read back as the same comment
// (one line, ";|" or ";#", not data or ";!" flags), for an RRset of the
// zone, and comes only with a whole text.
func TestCommentsBadInput(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	for _, c := range []Comment{
		{Name: "www.example.org.", Type: dns.TypeA, Lines: []string{";# one\nevil A 192.0.2.66"}},
		{Name: "www.example.org.", Type: dns.TypeA, Lines: []string{"no semicolon"}},
		{Name: "www.example.org.", Type: dns.TypeA, Lines: []string{";!LOCKPTR"}},
		{Name: "www.example.org.", Type: dns.TypeA, Lines: []string{"; plain"}},
		{Name: "www.example.net.", Type: dns.TypeA, Lines: []string{";# outside"}},
		{Name: "www.example.org.", Type: dns.TypeA, Trailing: []TrailingComment{{RDATA: []byte{192, 0, 2, 1}, Text: ";# a\r"}}},
	} {
		_, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: []Comment{c}}}})
		if !errors.Is(err, ErrBadInput) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	_, err := db.Commit(&ChangeSet{Zones: []ZoneChange{{Zone: "example.org.", SetComments: true, Comments: testComments(t)}}})
	if !errors.Is(err, ErrBadInput) {
		t.Errorf("comments without the text: %v", err)
	}
	if got := commentText(t, db, "example.org."); len(got) != 0 {
		t.Errorf("comments %q", got)
	}
}

// TestCommentsSurviveReopen: comments are in the store, not in memory.
func TestCommentsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dms.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	commitOne(t, db, ZoneChange{Zone: "example.org.", Create: &Zone{}, Replace: true, Records: recs(t, baseZone...),
		SetComments: true, Comments: testComments(t)})
	want := commentText(t, db, "example.org.")
	db.Close()
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		db, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := commentText(t, db, "example.org."); len(want) != 2 || !slices.Equal(got, want) {
			t.Errorf("after reopening (%+v): %q, want %q", opts, got, want)
		}
		db.Close()
	}
}

// TestCommentsOldStore: a store made before the comment bucket reads as
// a store without comments when opened read-only (and stays unchanged),
// and gets the bucket at its first writable open.
func TestCommentsOldStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dms.db")
	db, err := Open(path, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	createZone(t, db, "example.org.", baseZone)
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketComments) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := commentText(t, ro, "example.org."); len(got) != 0 {
		t.Errorf("comments of an old store: %q", got)
	}
	ro.Close()
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a read-only open changed the old store")
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetClock(func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) })
	commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: testComments(t)})
	if got := commentText(t, db, "example.org."); len(got) != 2 {
		t.Errorf("comments after the upgrade: %q", got)
	}
}

// TestCommentsNotDNSData: comments are in no instance's diff, and the
// records a view reads (queries, transfers) are the same with or without
// them.
func TestCommentsNotDNSData(t *testing.T) {
	db := openTest(t)
	createZone(t, db, "example.org.", baseZone)
	before := zoneText(t, db, "example.org.")
	res := commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, baseZone...), SetComments: true, Comments: testComments(t)})
	if res.ZI != 0 {
		t.Fatalf("comments made instance %d", res.ZI)
	}
	if after := zoneText(t, db, "example.org."); !slices.Equal(before, after) {
		t.Errorf("records changed:\n%s", strings.Join(after, "\n"))
	}
	// A record change next to comments: the diff holds the records only.
	next := slices.Clone(baseZone)
	next[5] = "mail.example.org. 300 IN A 192.0.2.26"
	res = commitOne(t, db, ZoneChange{Zone: "example.org.", Replace: true, Records: recs(t, next...), SetComments: true, Comments: testComments(t)[:1]})
	db.View(func(v *View) error {
		z, _ := v.Zone("example.org.")
		d, err := v.ZIDiff(z, res.ZI)
		if err != nil || len(d.Added) != 2 || len(d.Removed) != 2 {
			t.Errorf("diff %+v %v", d, err)
		}
		return nil
	})
}
