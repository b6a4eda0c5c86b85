package cli

import (
	"strings"
	"testing"
)

// TestParseKeyText: the key files tsig import reads.
func TestParseKeyText(t *testing.T) {
	const s = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
	for _, c := range []struct{ name, text, secret, alg, err string }{
		{"bare", s + "\n", s, "", ""},
		{"quoted", `"` + s + `"`, s, "", ""},
		{"bind", "key \"k\" {\n\talgorithm hmac-sha512;\n\tsecret \"" + s + "\";\n};\n", s, "hmac-sha512", ""},
		{"nsd", "key:\n\tname: \"k\"\n\talgorithm: hmac-sha256\n\tsecret: \"" + s + "\"\n", s, "hmac-sha256", ""},
		{"knot", "# hmac-sha384:k:" + s + "\nkey:\n  - id: k\n    algorithm: hmac-sha384\n    secret: " + s + "\n", s, "hmac-sha384", ""},
		{"empty", " \n", "", "", "empty"},
		{"two keys", "secret: a\nsecret: b\n", "", "", "more than one key"},
		{"prose", "this is not a key\n", "", "", "no secret"},
	} {
		sec, alg, err := parseKeyText(c.text)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error saying %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || sec != c.secret || alg != c.alg {
			t.Errorf("%s: %q %q %v", c.name, sec, alg, err)
		}
	}
}
