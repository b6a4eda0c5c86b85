package zonefile

import (
	"testing"
)

// TestEscapedOwnerAfterComment: an owner made of one escaped character,
// on a line after a comment, parses (miekg/dns's lexer alone fails it).
func TestEscapedOwnerAfterComment(t *testing.T) {
	for _, own := range []string{`\ `, `\"`, `\(`, `\)`, `\;`, `\\`, "\\\t", `\a`} {
		text := "$ORIGIN example.org.\na IN TXT x ; a comment\n" + own + "  IN TXT y\n"
		recs, err := ParseString(text, ParseOptions{File: "t", Origin: "example.org."})
		if err != nil || len(recs) != 2 {
			t.Errorf("owner %q: %v", own, err)
		}
	}
}
