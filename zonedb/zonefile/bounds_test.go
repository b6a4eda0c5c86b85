package zonefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxRecords: a text is refused when its records, $GENERATE ranges
// counted before expansion and $INCLUDE files as they are read, pass the
// limit; a text at the limit is taken.
func TestMaxRecords(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.txt")
	if err := os.WriteFile(inc, []byte("a A 192.0.2.1\nb A 192.0.2.2\nc A 192.0.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	head := "$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
	for _, c := range []struct {
		name string
		text string
		max  int
		ok   bool
	}{
		{"plain at the limit", head + "x A 192.0.2.1\n", 3, true},
		{"plain over", head + "x A 192.0.2.1\ny A 192.0.2.1\n", 3, false},
		{"generate at the limit", head + "$GENERATE 1-10 h$ A 192.0.2.1\n", 12, true},
		{"generate over", head + "$GENERATE 1-10 h$ A 192.0.2.1\n", 11, false},
		{"generate with a step", head + "$GENERATE 1-10/2 h$ A 192.0.2.1\n", 7, true},
		{"many generate lines", head + strings.Repeat("$GENERATE 1-65535 h$ A 192.0.2.1\n", 30), 1 << 20, false},
		{"include counted as read", head + "$INCLUDE inc.txt\n", 4, false},
		{"include within", head + "$INCLUDE inc.txt\n", 5, true},
		{"no limit", head + strings.Repeat("$GENERATE 1-100 h$ A 192.0.2.1\n", 3), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := ParseString(c.text, ParseOptions{File: "z", Origin: "example.org.", MaxRecords: c.max, AllowInclude: true, IncludeDir: dir})
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok {
				if !errors.Is(err, ErrTooManyRecords) || !strings.Contains(err.Error(), "above the limit") {
					t.Fatalf("got %d records, err %v", len(recs), err)
				}
			}
		})
	}
}

// TestCommentNotText: a kept comment is printed back, maybe at the top of
// the text where the binary-data check reads it, so one that is not UTF-8
// text is refused at its line; so is text ending in a broken UTF-8
// sequence (FuzzParse found both: the printed zone did not parse).
func TestCommentNotText(t *testing.T) {
	for _, text := range []string{
		"0 NS 00\n;#\x98",
		"@ SOA ns1 h 1 2 3 4 5\n;| group \xff\xfe here\n@ NS ns1\n",
		"@ SOA ns1 h 1 2 3 4 5\n;# bell \x07\n@ NS ns1\n",
	} {
		if _, err := ParseString(text, ParseOptions{File: "z", Origin: "example.org."}); err == nil {
			t.Errorf("%q: taken", text)
		}
	}
	if _, err := ParseString("@ SOA ns1 h 1 2 3 4 5\n;| café\t ok\n@ NS ns1\n", ParseOptions{File: "z", Origin: "example.org."}); err != nil {
		t.Errorf("a UTF-8 comment with a tab: %v", err)
	}
}

// TestTrailingCommentOfDuplicate: a record written twice, the second with
// a ";#" comment, prints the comment once, so a round trip keeps it as it
// was (FuzzParse found it doubled: the comment is kept per RDATA).
func TestTrailingCommentOfDuplicate(t *testing.T) {
	parsed, err := ParseText(strings.NewReader("0 NS .\n NS . ;# the one\n"), ParseOptions{File: "z", Origin: "example.org."})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := PrintText(&b, "example.org.", &Header{}, parsed); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), ";# the one"); n != 1 {
		t.Errorf("the comment printed %d times:\n%s", n, b.String())
	}
}
