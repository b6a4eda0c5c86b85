package zonefile

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestCommentPlacement: each ";|"/";#" comment goes with the RRset of the
// record it is written above (past blank lines, plain comments, flags and
// $ORIGIN/$TTL) or at the end of; other comments are dropped.
func TestCommentPlacement(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inc.zone"), []byte("inc1 A 192.0.2.1\ninc2 A 192.0.2.2\n"), 0o644)
	for _, tc := range []struct {
		name, text string
		want       map[string][]string // "owner/TYPE" -> lines, then trailing texts
	}{
		{"above, past blanks and plain comments", ";| group\n\n; plain\n;# record\n;!LOCKPTR\nwww A 192.0.2.1\n",
			map[string][]string{"www.example.org./A": {";| group", ";# record"}}},
		{"at the end of the line", "www A 192.0.2.1 ;# web\nwww A 192.0.2.2 ; plain\n",
			map[string][]string{"www.example.org./A": {"", "192.0.2.1=;# web"}}},
		{"on a continuation line", "www TXT ( \"a\" ;# one\n \"b\" ) ;# two\n",
			map[string][]string{"www.example.org./TXT": {"", `"a" "b"=;# one ;# two`}}},
		{"above $ORIGIN and $TTL", ";# sub\n$ORIGIN sub.example.org.\n$TTL 60 ;# not kept\nx A 192.0.2.1\n",
			map[string][]string{"x.sub.example.org./A": {";# sub"}}},
		{"above $GENERATE: its first record", ";# gen\n$GENERATE 1-2 g$ A 192.0.2.$ ;# end\n",
			map[string][]string{"g1.example.org./A": {";# gen", "192.0.2.1=;# end"}}},
		{"above $INCLUDE: its first record", ";# inc\n$INCLUDE inc.zone\n",
			map[string][]string{"inc1.example.org./A": {";# inc"}}},
		{"two blocks of one RRset", ";# one\nwww A 192.0.2.1\n;# two\nwww A 192.0.2.2\n",
			map[string][]string{"www.example.org./A": {";# one", ";# two"}}},
		{"at the end of the text", "www A 192.0.2.1\n;# last\n; plain\n",
			map[string][]string{"www.example.org./A": {";# last"}}},
		{"CRLF and trailing blanks", ";# dos  \r\nwww A 192.0.2.1 ;# end\t\r\n",
			map[string][]string{"www.example.org./A": {";# dos", "192.0.2.1=;# end"}}},
		{"Print's apex line is not kept", ";| Apex resource records for example.org.\n;| APEX RESOURCE RECORDS FOR example.org\n;| Apex resource records, really\n@ MX 10 mail\n",
			map[string][]string{"example.org./MX": {";| Apex resource records, really"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := ParseText(strings.NewReader(head+tc.text), ParseOptions{File: "t", Origin: "example.org.", AllowInclude: true, IncludeDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if got := commentsByRRset(text); !equalLists(got, tc.want) {
				t.Errorf("comments %q, want %q", got, tc.want)
			}
		})
	}
}

// commentsByRRset lists each commented RRset's lines ("" when none), then
// its records' trailing comments as "RDATA=comment".
func commentsByRRset(text *Text) map[string][]string {
	got := map[string][]string{}
	for _, c := range text.Comments {
		v := append([]string(nil), c.Lines...)
		for _, r := range text.Records {
			h := r.RR.Header()
			if h.Rrtype != c.Type || dns.CanonicalName(h.Name) != c.Name {
				continue
			}
			if tr := c.TrailingOf(r.RR); tr != "" {
				if len(v) == 0 {
					v = []string{""}
				}
				v = append(v, zonedb.RdataText(r.RR)+"="+tr)
			}
		}
		got[c.Name+"/"+dns.TypeToString[c.Type]] = v
	}
	return got
}

func equalLists(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

// TestApexLineOnce: the ";| Apex resource records" line Print writes is
// printed once however many times a zone goes through show and edit.
func TestApexLineOnce(t *testing.T) {
	text, err := ParseText(strings.NewReader(head+"www A 192.0.2.1\n"), ParseOptions{File: "t", Origin: "example.org."})
	if err != nil {
		t.Fatal(err)
	}
	var out string
	for range 3 {
		var b bytes.Buffer
		if err := PrintText(&b, "example.org.", testHeader, text); err != nil {
			t.Fatal(err)
		}
		out = b.String()
		if text, err = ParseText(&b, ParseOptions{File: "t", Origin: "example.org."}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(out, ";| Apex resource records for example.org."); n != 1 || len(text.Comments) != 0 {
		t.Errorf("apex line %d times, comments %v:\n%s", n, text.Comments, out)
	}
}
