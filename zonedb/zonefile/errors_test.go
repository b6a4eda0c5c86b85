package zonefile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestParseReportsEveryError: a text with several mistakes of every kind
// reports each, with its line, in order, not only the first; still no
// records come back.
func TestParseReportsEveryError(t *testing.T) {
	text := `$TTL 3600
@   IN SOA ns1 hostmaster 1 7200 3600 1209600 300
    IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.300
mail IN MX mail
ok1 IN A 192.0.2.2
bad IN AAAA 2001:db8::zz
x   IN TXT "ok" # not a comment
    IN A 192.0.2.9
y IN A 192.0.2.10 ;! nosuchflag
z.example.net. IN A 192.0.2.11
c CH TXT "chaos"
multi IN TXT ( "a"
   "b" ) ; fine
www2 IN CNAME
ok2 IN A 192.0.2.3
`
	recs, err := ParseString(text, ParseOptions{File: "db.example.org", Origin: "example.org."})
	if recs != nil {
		t.Errorf("records returned with errors: %d", len(recs))
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	var lines []int
	for _, e := range pe.All() {
		if e.Pos.File != "db.example.org" {
			t.Errorf("error without its file: %v", e)
		}
		lines = append(lines, e.Pos.Line)
	}
	if got, want := fmt.Sprint(lines), fmt.Sprint([]int{5, 6, 8, 9, 11, 12, 13, 16}); got != want {
		t.Errorf("error lines %s, want %s:\n%v", got, want, pe.All())
	}
	if !strings.Contains(err.Error(), "(and 7 more errors)") {
		t.Errorf("the message does not count the others: %v", err)
	}
	for _, want := range []string{`"192.0.2.300"`, "MX", "AAAA", "'#' is not a comment", "unknown flag", "outside the zone", "class CH"} {
		found := false
		for _, e := range pe.All() {
			found = found || strings.Contains(e.Msg, want)
		}
		if !found {
			t.Errorf("no error says %q", want)
		}
	}
	// A good text parses as before.
	good := strings.NewReplacer("192.0.2.300", "192.0.2.30", "IN MX mail", "IN MX 10 mail", "::zz", "::1",
		" # not a comment", "", " ;! nosuchflag", "", "z.example.net.", "z", "c CH", "c IN", "www2 IN CNAME", "www2 IN CNAME www").Replace(text)
	if recs, err := ParseString(good, ParseOptions{File: "db.example.org", Origin: "example.org."}); err != nil || len(recs) != 15 {
		t.Errorf("good text: %d records, %v", len(recs), err)
	}
}

// TestParseErrorsBounded: a text of nothing but errors reports maxErrors
// of them, and an error no second pass can get past (in an $ORIGIN) ends
// the report there.
func TestParseErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\n")
	for i := range 200 {
		fmt.Fprintf(&b, "h%d IN A 192.0.2.%d\n", i, 300+i)
	}
	_, err := ParseString(b.String(), ParseOptions{Origin: "example.org."})
	var pe *Error
	if !errors.As(err, &pe) || len(pe.All()) != maxErrors {
		t.Fatalf("%d errors, want %d: %v", len(pe.All()), maxErrors, err)
	}
	_, err = ParseString("@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\n$ORIGIN bad..name.\nwww IN A 192.0.2.400\n", ParseOptions{Origin: "example.org."})
	if !errors.As(err, &pe) || len(pe.All()) != 1 || pe.Pos.Line != 3 {
		t.Errorf("an $ORIGIN error: %v", err)
	}
	// A large text is not read again and again: past maxReparse bytes the
	// report stops, and says where.
	defer func(n int) { maxReparse = n }(maxReparse)
	maxReparse = 5 * len(b.String()) // a few passes: the scanned text carries markers
	_, err = ParseString(b.String(), ParseOptions{Origin: "example.org."})
	if !errors.As(err, &pe) {
		t.Fatalf("bounded passes: %v", err)
	}
	all := pe.All()
	last := all[len(all)-1]
	if n := len(all) - 1; n < 2 || n >= maxErrors || !strings.Contains(last.Msg, fmt.Sprintf("errors after line %d were not looked for", all[n-1].Pos.Line)) {
		t.Errorf("bounded passes: %d errors, the last %q", n, last.Msg)
	}
}
