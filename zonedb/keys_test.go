package zonedb

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestNameKeyOrderRFC4034 checks the example order of RFC 4034 section 6.1.
func TestNameKeyOrderRFC4034(t *testing.T) {
	want := []string{
		"example.",
		"a.example.",
		"yljkjljk.a.example.",
		"Z.a.example.",
		"zABC.a.EXAMPLE.",
		"z.example.",
		"\\001.z.example.",
		"*.z.example.",
		"\\200.z.example.",
	}
	var keys [][]byte
	for _, n := range want {
		k, err := NameKey(n, "")
		if err != nil {
			t.Fatalf("NameKey(%q): %v", n, err)
		}
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			t.Errorf("key(%q) !< key(%q)", want[i-1], want[i])
		}
	}
}

// canonicalLess is a direct implementation of RFC 4034 section 6.1, used to
// property-test the byte order of keys.
func canonicalLess(a, b string) int {
	la := dns.SplitDomainName(a)
	lb := dns.SplitDomainName(b)
	unesc := func(s string) []byte {
		var w [256]byte
		n, err := dns.PackDomainName(s+".", w[:], 0, nil, false)
		if err != nil {
			panic(err)
		}
		return bytes.ToLower(w[1 : n-1])
	}
	for i, j := len(la)-1, len(lb)-1; ; i, j = i-1, j-1 {
		if i < 0 && j < 0 {
			return 0
		}
		if i < 0 {
			return -1
		}
		if j < 0 {
			return 1
		}
		if c := bytes.Compare(unesc(la[i]), unesc(lb[j])); c != 0 {
			return c
		}
	}
}

func TestNameKeyOrderProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 1, 2, 'a', 'A', 'b', 'z', '-', '.', 0xff, '*'}
	randName := func() string {
		n := r.IntN(4)
		var labels []string
		for range n {
			l := 1 + r.IntN(3)
			var b strings.Builder
			for range l {
				c := alphabet[r.IntN(len(alphabet))]
				b.WriteString(escapeLabel([]byte{c}))
			}
			labels = append(labels, b.String())
		}
		if len(labels) == 0 {
			return "x."
		}
		return strings.Join(labels, ".") + ".x."
	}
	for range 20000 {
		a, b := randName(), randName()
		ka, err := NameKey(a, "")
		if err != nil {
			t.Fatal(err)
		}
		kb, err := NameKey(b, "")
		if err != nil {
			t.Fatal(err)
		}
		got := bytes.Compare(ka, kb)
		want := canonicalLess(a, b)
		if got != want {
			t.Fatalf("compare(%q, %q) = %d, RFC 4034 order says %d", a, b, got, want)
		}
	}
}

func TestNameKeyRoundTrip(t *testing.T) {
	for _, n := range []string{"www.example.org.", "a\\000b.example.org.", "\\001.x.example.org.", "a\\.b.example.org.", "*.example.org."} {
		k, err := NameKey(n, "example.org.")
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeNameKey(k, "example.org.")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, n) {
			t.Errorf("round trip %q -> %q", n, got)
		}
	}
	k, _ := NameKey("example.org.", "example.org.")
	if len(k) != 0 {
		t.Errorf("apex key = %q, want empty", k)
	}
	if _, err := NameKey("other.net.", "example.org.x.y."); err == nil {
		t.Errorf("want error for a name above the origin")
	}
}

func TestRRsetKeysSortApexFirst(t *testing.T) {
	names := []string{"b.example.org.", "example.org.", "a.b.example.org.", "a.example.org."}
	var keys [][]byte
	for _, n := range names {
		for _, typ := range []uint16{dns.TypeTXT, dns.TypeA, dns.TypeNS} {
			k, err := AppendRRsetKey(nil, 7, n, "example.org.", typ)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	var got []string
	for _, k := range keys {
		_, nk, typ, ok := SplitRRsetKey(k)
		if !ok {
			t.Fatalf("split %x", k)
		}
		n, _ := DecodeNameKey(nk, "example.org.")
		got = append(got, n+"/"+dns.TypeToString[typ])
	}
	want := []string{
		"example.org./A", "example.org./NS", "example.org./TXT",
		"a.example.org./A", "a.example.org./NS", "a.example.org./TXT",
		"b.example.org./A", "b.example.org./NS", "b.example.org./TXT",
		"a.b.example.org./A", "a.b.example.org./NS", "a.b.example.org./TXT",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
}
