package zonefile

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var testHeader = &Header{
	Zone: "", Reference: "Cust42@ISP-NET", ChangeBy: "admin@master.example.net/Admin", ZI: 42,
	CTime: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), PTime: time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC),
}

func testZones(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/zones/*.zone")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test zones: %v", err)
	}
	return files
}

func originOf(file string) string {
	return strings.TrimSuffix(filepath.Base(file), ".zone") + "."
}

func parseFile(t testing.TB, file string) *Text {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text, err := ParseText(bytes.NewReader(b), ParseOptions{File: file, Origin: originOf(file)})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// canonComments gives a comparable form of comments: per RRset, its lines
// and its trailing comments by RDATA.
func canonComments(cs []zonedb.Comment) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		tr := make([]string, 0, len(c.Trailing))
		for _, t := range c.Trailing {
			tr = append(tr, fmt.Sprintf("%x=%s", t.RDATA, t.Text))
		}
		slices.Sort(tr)
		out[dns.CanonicalName(c.Name)+"/"+dns.TypeToString[c.Type]] = strings.Join(c.Lines, "\n") + "|" + strings.Join(tr, "|")
	}
	return out
}

// canon gives a comparable form of records: RR text, flags, reference. The
// SOA's reference is the zone's, printed from the header.
func canon(recs []zonedb.Record, zoneRef string) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		ref := r.Ref
		if r.RR.Header().Rrtype == dns.TypeSOA {
			ref = zoneRef
		}
		// Compare wire forms: "\\$" and a "$" made by $GENERATE are the
		// same name written two ways.
		rr := dns.Copy(r.RR)
		rr.Header().Name = strings.ToLower(rr.Header().Name)
		buf := make([]byte, dns.Len(rr)+512)
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			panic(err)
		}
		out[string(buf[:n])+"|"+r.Flags.String()+"|"+ref]++
	}
	return out
}

func equalCanon(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestGolden prints every test zone, comments included, and compares with
// its golden file, and checks that printing is idempotent:
// Print(Parse(golden)) == golden, records and comments.
func TestGolden(t *testing.T) {
	for _, file := range testZones(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			origin := originOf(file)
			text := parseFile(t, file)
			recs := text.Records
			var b bytes.Buffer
			if err := PrintText(&b, origin, testHeader, text); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".zone") + ".golden"
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./zonedb/zonefile -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("Print differs from %s:\n%s", golden, b.String())
			}
			againText, err := ParseText(bytes.NewReader(want), ParseOptions{File: golden, Origin: origin})
			if err != nil {
				t.Fatalf("golden does not parse: %v", err)
			}
			again := againText.Records
			var b2 bytes.Buffer
			if err := PrintText(&b2, origin, testHeader, againText); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b2.Bytes(), want) {
				t.Errorf("Print(Parse(golden)) != golden:\n%s", b2.String())
			}
			if !equalCanon(canon(recs, testHeader.Reference), canon(again, testHeader.Reference)) {
				t.Errorf("parse(print(zone)) != zone")
			}
			if got, want := canonComments(againText.Comments), canonComments(text.Comments); !maps.Equal(got, want) {
				t.Errorf("comments of parse(print(zone)):\n%v\nwant\n%v", got, want)
			}
		})
	}
}

func TestFlagsAndPositions(t *testing.T) {
	text := `$TTL 300
@ IN SOA ns1.example.net. h.example.org. 1 2 3 4 5
  IN NS ns1.example.net.
;!REF:cust@ISP LOCKPTR
a IN A 192.0.2.1
;! FORCEREV,TRACKREV
;!DISABLE
b IN A 192.0.2.2
c IN A 192.0.2.3 ;!LOCKPTR
d IN TXT ( "x"
  "y" ) ; plain comment
$GENERATE 1-2 g$ A 192.0.2.$
;!DISABLE
$GENERATE 3-3 g$ A 192.0.2.$
e IN A 192.0.2.5
`
	recs, err := ParseString(text, ParseOptions{File: "f", Origin: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		line  int
		flags zonedb.Flags
		ref   string
	}{
		{"example.org.", 2, 0, ""},
		{"example.org.", 3, 0, ""},
		{"a.example.org.", 5, zonedb.FlagLockPTR, "cust@ISP"},
		{"b.example.org.", 8, zonedb.FlagForceRev | zonedb.FlagTrackRev | zonedb.FlagDisable, ""},
		{"c.example.org.", 9, zonedb.FlagLockPTR, ""},
		{"d.example.org.", 10, 0, ""},
		{"g1.example.org.", 12, 0, ""},
		{"g2.example.org.", 12, 0, ""},
		{"g3.example.org.", 14, zonedb.FlagDisable, ""},
		{"e.example.org.", 15, 0, ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if r.RR.Header().Name != w.name || r.Pos.Line != w.line || r.Flags != w.flags || r.Ref != w.ref || r.Pos.File != "f" {
			t.Errorf("record %d: %s at %v flags %v ref %q; want %s line %d flags %v ref %q", i, r.RR.Header().Name, r.Pos, r.Flags, r.Ref, w.name, w.line, w.flags, w.ref)
		}
	}
	if recs[3].Pos.Col != 1 || recs[1].Pos.Col != 3 {
		t.Errorf("columns: %v %v", recs[3].Pos, recs[1].Pos)
	}
}

const head = "$TTL 300\n@ IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n  IN NS ns1.example.net.\n"

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		msg        string
	}{
		{"syntax", head + "www IN A 192.0.2.300\n", 4, "bad A A"},
		{"unknown type", head + "www IN FOOBAR 1 2\n", 4, "unknown record type \"FOOBAR\""},
		{"unknown type without class", head + "www FOOBAR 1 2\n", 4, "unknown record type \"FOOBAR\""},
		{"bad escape in TXT", head + "www IN TXT \"a\\9x\"\n", 4, "bad escape"},
		{"escape above 255", head + "www\\999 IN A 192.0.2.1\n", 4, "at most 255"},
		{"short escape", head + "www IN TXT \"a\\12b\"\n", 4, "three digits"},
		{"ttl too big for 32 bits", head + "www 4294967296 IN A 192.0.2.1\n", 4, "4294967296"},
		{"mx without preference", head + "@ IN MX mail.example.net.\n", 4, "bad MX"},
		{"outside the zone", head + "www.example.net. IN A 192.0.2.1\n", 4, "outside the zone"},
		{"class CH", head + "www CH A 192.0.2.1\n", 4, "class CH"},
		{"include not allowed", head + "$INCLUDE other.zone\n", 4, "$INCLUDE is not allowed"},
		{"unknown flag", head + ";!LOCKPRT\nwww A 192.0.2.1\n", 4, "unknown flag \"LOCKPRT\""},
		{"bad ref", head + ";!REF:-bad\nwww A 192.0.2.1\n", 4, "bad reference"},
		{"empty flags", head + ";!\nwww A 192.0.2.1\n", 4, "empty flag"},
		{"dangling flags", head + ";!LOCKPTR\n; the end\n", 4, "no record after"},
		{"binary", "\x00\x01\x02garbage", 1, "binary data"},
		{"latin1", head + "x TXT \"caf\xe9 au lait\"\n" + strings.Repeat(";\n", 10), 4, "not UTF-8"},
		{"html", "<html><body>zone</body></html>\n", 1, "HTML"},
		{"json", "\n" + `{"zone": "example.org", "records": []}` + "\n", 2, "JSON"},
		{"empty", "", 0, "no records"},
		{"only comments", "; nothing\n\n", 0, "no records"},
		{"unbalanced paren", head + "www IN A 192.0.2.1 )\n", 4, "')' without '('"},
		{"open paren at end", head + "www IN TXT ( \"a\"\n", 0, ""},
		{"type any", head + "www IN ANY\n", 4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseString(tc.text, ParseOptions{File: "zone.txt", Origin: "example.org."})
			if err == nil {
				t.Fatalf("no error; records %v", recs)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *zonefile.Error", err, err)
			}
			if pe.Pos.File != "zone.txt" {
				t.Errorf("file %q in %v", pe.Pos.File, err)
			}
			if tc.line > 0 && pe.Pos.Line != tc.line {
				t.Errorf("line %d, want %d: %v", pe.Pos.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err.Error(), tc.msg)
			}
			if tc.line > 0 && !strings.HasPrefix(err.Error(), "zone.txt:") {
				t.Errorf("message %q does not start with the file and line", err.Error())
			}
		})
	}
}

func TestParseErrorKeepsMiekgError(t *testing.T) {
	_, err := ParseString(head+"www IN A 192.0.2.300\n", ParseOptions{File: "z", Origin: "example.org."})
	var dpe *dns.ParseError
	if !errors.As(err, &dpe) {
		t.Errorf("the *dns.ParseError is not in the chain: %v", err)
	}
	var pe *Error
	if errors.As(err, &pe) && (pe.Pos.Line != 4 || pe.Pos.Col == 0) {
		t.Errorf("position %v", pe.Pos)
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inc.zone"), []byte("inc1 IN A 192.0.2.1\ninc2 IN A 192.0.2.2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "flags.zone"), []byte(";!LOCKPTR\ninc3 IN A 192.0.2.3\n"), 0o644)
	text := head + "$INCLUDE inc.zone\nafter IN A 192.0.2.9\n"
	recs, err := ParseString(text, ParseOptions{File: "z", Origin: "example.org.", AllowInclude: true, IncludeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[2].Pos.Line != 4 || recs[3].Pos.Line != 4 || recs[4].Pos.Line != 5 {
		for _, r := range recs {
			t.Logf("%v %v", r.Pos, r.RR)
		}
		t.Errorf("include positions wrong")
	}
	_, err = ParseString(head+"$INCLUDE flags.zone\n", ParseOptions{File: "z", Origin: "example.org.", AllowInclude: true, IncludeDir: dir})
	if err == nil || !strings.Contains(err.Error(), "flags.zone:1") {
		t.Errorf("flags in included file: %v", err)
	}
	_, err = ParseString(head+"$INCLUDE /etc/passwd\n", ParseOptions{File: "z", Origin: "example.org.", AllowInclude: true, IncludeDir: dir})
	if err == nil || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("absolute include: %v", err)
	}
}

// FuzzParse: whatever Parse accepts prints and parses back to the same
// records; nothing panics.
func FuzzParse(f *testing.F) {
	for _, file := range testZones(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(head + ";!REF:a LOCKPTR\nx IN A 192.0.2.1 ;!DISABLE\n")
	f.Add(head + "$GENERATE 1-3 h$ A 192.0.2.$\n")
	f.Add(head + ";| group\n;# record\nx IN A 192.0.2.1 ;# end\n;# dangling\n")
	f.Fuzz(func(t *testing.T, text string) {
		parsed, err := ParseText(strings.NewReader(text), ParseOptions{File: "fuzz", Origin: "example.org."})
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := PrintText(&b, "example.org.", &Header{}, parsed); err != nil {
			t.Fatal(err)
		}
		again, err := ParseText(strings.NewReader(b.String()), ParseOptions{File: "printed", Origin: "example.org."})
		if err != nil {
			t.Fatalf("printed zone does not parse: %v\n%s", err, b.String())
		}
		if !equalCanon(canon(parsed.Records, ""), canon(again.Records, "")) {
			t.Fatalf("round trip differs:\n%s", b.String())
		}
		if !maps.Equal(canonComments(parsed.Comments), canonComments(again.Comments)) {
			t.Fatalf("comments differ after a round trip:\n%s", b.String())
		}
	})
}

func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(head)
	for i := range 100000 {
		sb.WriteString("h")
		sb.WriteString(strings.Repeat("x", i%5))
		sb.WriteString(strings.TrimSpace(strings.Repeat(" ", 1)))
		sb.WriteString(" IN A 192.0.2.1\n")
		_ = i
	}
	text := sb.String()
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ParseString(text, ParseOptions{File: "bench", Origin: "example.org."}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGenerateTTL: $GENERATE records take the $TTL in force (as in BIND),
// not miekg/dns's fixed default, unless the template gives a TTL.
func TestGenerateTTL(t *testing.T) {
	text := "$TTL 7200\n@ IN SOA ns1.example.net. h.example.org. 1 2 3 4 5\n@ IN NS ns1.example.net.\n" +
		"$GENERATE 1-2 a$ A 192.0.2.$\n$GENERATE 1-1 b$ 60 IN A 192.0.2.$\n$GENERATE 1-1 c$ IN 1h A 192.0.2.$\n" +
		"$TTL 1d\n$GENERATE 1-1 d$ A 192.0.2.$\n$GENERATE 1-1 e$ MX 10 mail\n"
	recs, err := ParseString(text, ParseOptions{File: "f", Origin: "example.org."})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{"a1": 7200, "a2": 7200, "b1": 60, "c1": 3600, "d1": 86400, "e1": 86400}
	for _, r := range recs[2:] {
		n := strings.TrimSuffix(r.RR.Header().Name, ".example.org.")
		if r.RR.Header().Ttl != want[n] {
			t.Errorf("%s: TTL %d, want %d", n, r.RR.Header().Ttl, want[n])
		}
	}
}

// TestHashComment: a '#' written as a shell-style comment, on a line of
// its own or after a record, directive or continuation, is refused with
// its own message and place, whatever the record type (miekg/dns's own
// message names the data, or a TXT record takes the words in). A '#' that
// is data passes.
func TestHashComment(t *testing.T) {
	const msg = "'#' is not a comment in zone files; use ';'"
	for _, tc := range []struct {
		name, line string
		col        int
	}{
		{"after A", "www A 192.0.2.1 # web server", 17},
		{"after MX", "@ MX 10 mail # relay", 14},
		{"after TXT (would be data)", `www TXT "v=spf1 -all" # spf`, 23},
		{"after AAAA, no blank after", "www AAAA 2001:db8::1 #", 22},
		{"line of its own", "# the web servers", 1},
		{"indented line", "   # the web servers", 4},
		{"hashes", "######## section ########", 1},
		{"after a directive", "$TTL 300 # five minutes", 10},
		{"in a continuation", "www TXT ( \"a\"\n  # b\n  \"c\" )", 3},
		{"tab before", "www A 192.0.2.1\t# web", 17},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseString(head+tc.line+"\n", ParseOptions{File: "zone.txt", Origin: "example.org."})
			var pe *Error
			if !errors.As(err, &pe) || pe.Msg != msg {
				t.Fatalf("got %v, want %q", err, msg)
			}
			wantLine := 4 + strings.Count(tc.line[:strings.LastIndex(tc.line, "#")], "\n")
			if pe.Pos.File != "zone.txt" || pe.Pos.Line != wantLine || pe.Pos.Col != tc.col {
				t.Errorf("at %v, want zone.txt:%d:%d", pe.Pos, wantLine, tc.col)
			}
		})
	}
	for _, data := range []string{
		`www TXT "# in quotes"`, `www TXT "a" ;# a dms record comment`, "a#b A 192.0.2.1",
		"www TXT a#b", `\035x A 192.0.2.1`, `x TYPE65280 \# 2 abcd`, "www MX 10 #mail.example.net.",
	} {
		if _, err := ParseString(head+data+"\n", ParseOptions{File: "zone.txt", Origin: "example.org."}); err != nil {
			t.Errorf("%q: %v", data, err)
		}
	}
}

// TestPrintHashOwner: an owner starting with '#' is printed escaped, so
// its line is not taken for a '#' comment when read back.
func TestPrintHashOwner(t *testing.T) {
	recs, err := ParseString(head+"\\#a IN A 192.0.2.1\n\\035 IN A 192.0.2.2\n", ParseOptions{File: "t", Origin: "example.org."})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Print(&b, "example.org.", nil, recs); err != nil {
		t.Fatal(err)
	}
	again, err := ParseString(b.String(), ParseOptions{File: "printed", Origin: "example.org."})
	if err != nil || !equalCanon(canon(recs, ""), canon(again, "")) {
		t.Errorf("round trip: %v\n%s", err, b.String())
	}
}

// TestIncludeRelative: relative $INCLUDE paths start from the directory of
// the file that includes them (as the zone file's own directory for its
// includes, the included file's for nested ones), whatever the working
// directory and however the zone file is named (relative, with a
// directory, absolute).
func TestIncludeRelative(t *testing.T) {
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	os.MkdirAll(filepath.Join(zones, "sub"), 0o755)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(zones, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("incl.test", head+"$INCLUDE inc.txt\n$INCLUDE sub/a.txt\n")
	write("inc.txt", "www IN A 192.0.2.1\n")
	write("sub/a.txt", "a IN A 192.0.2.2\n$INCLUDE b.txt\n")
	write("sub/b.txt", "b IN A 192.0.2.3\n")
	text, _ := os.ReadFile(filepath.Join(zones, "incl.test"))
	t.Chdir(t.TempDir()) // somewhere else
	for _, file := range []string{"zones/incl.test", filepath.Join(zones, "incl.test"), "incl.test"} {
		recs, err := ParseString(string(text), ParseOptions{File: file, Origin: "example.org.", AllowInclude: true, IncludeDir: zones})
		if err != nil {
			t.Errorf("File %s: %v", file, err)
			continue
		}
		var names []string
		for _, r := range recs[2:] {
			names = append(names, r.RR.Header().Name)
		}
		if want := "www.example.org. a.example.org. b.example.org."; strings.Join(names, " ") != want {
			t.Errorf("File %s: records %v, want %s", file, names, want)
		}
	}
	// Errors in a nested file name it from where the zone file was named.
	write("sub/b.txt", "b IN A 192.0.2.3\nbad IN A 192.0.2.300\n")
	_, err := ParseString(string(text), ParseOptions{File: "zones/incl.test", Origin: "example.org.", AllowInclude: true, IncludeDir: zones})
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join("zones", "sub", "b.txt")+":2:") {
		t.Errorf("error in a nested include: %v", err)
	}
	// Flags are refused in nested includes too: they would be lost.
	write("sub/b.txt", ";!LOCKPTR\nb IN A 192.0.2.3\n")
	_, err = ParseString(string(text), ParseOptions{File: "zones/incl.test", Origin: "example.org.", AllowInclude: true, IncludeDir: zones})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("zones", "sub", "b.txt")+":1:1: flag comments are not supported") {
		t.Errorf("flags in a nested include: %v", err)
	}
}
