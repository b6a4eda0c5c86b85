package zonedb

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// TestNSEC3Hash: the one NSEC3 hash agrees with miekg/dns's HashName (an
// independent implementation) on names of any case, salts and
// iterations, and with RFC 5155 appendix A's example.
func TestNSEC3Hash(t *testing.T) {
	b32 := base32.HexEncoding.WithPadding(base32.NoPadding)
	for _, salt := range []string{"", "aabbccdd", "beef"} {
		sb, _ := hex.DecodeString(salt)
		for _, iter := range []uint16{0, 1, 12} {
			for i, name := range []string{"example.", "a.example.", "WwW.Example.ORG.", "*.w.example.", "xx.example.", fmt.Sprintf("n%d.deep.zone.example.", iter)} {
				got, ok := NSEC3HashName(name, sb, iter)
				want := dns.HashName(name, dns.SHA1, iter, salt)
				if !ok || b32.EncodeToString(got[:]) != want {
					t.Errorf("%d %s salt %q iter %d: %s, want %s", i, name, salt, iter, b32.EncodeToString(got[:]), want)
				}
			}
		}
	}
	// RFC 5155 appendix A: H(example) with salt aabbccdd, 12 iterations.
	h, _ := NSEC3HashName("example.", []byte{0xaa, 0xbb, 0xcc, 0xdd}, 12)
	if got := b32.EncodeToString(h[:]); got != "0P9MHAVEQVM6T7VBL5LOP2U3T2RP3TOM" {
		t.Errorf("RFC 5155 appendix A: %s", got)
	}
	if n := testing.AllocsPerRun(100, func() { NSEC3Hash([]byte("\x07example\x00"), nil, 0) }); n != 0 {
		t.Errorf("NSEC3Hash allocates %.0f times", n)
	}
}
