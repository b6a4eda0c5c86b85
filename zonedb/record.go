package zonedb

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Flags are the per-RR flags of the system dms replaces. They are written in
// zone text as a ";!" comment line before the record (see zonefile) and are
// kept in the store beside the RR; they are never published in DNS.
type Flags uint8

const (
	// FlagLockPTR: auto-PTR never alters this PTR record.
	FlagLockPTR Flags = 1 << iota
	// FlagForceRev: make or replace the PTR for this address record once,
	// at the next commit (whatever the auto_create_ipv4/6_ptr switches).
	FlagForceRev
	// FlagTrackRev: FlagForceRev at every save of the record's zone (its
	// RRset changed or the zone text saved); the flag stays on.
	FlagTrackRev
	// FlagDisable: keep the record in the store but do not publish it.
	FlagDisable
)

// flagNames lists the flags in the order they are printed.
var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagLockPTR, "LOCKPTR"},
	{FlagForceRev, "FORCEREV"},
	{FlagTrackRev, "TRACKREV"},
	{FlagDisable, "DISABLE"},
}

// FlagByName returns the flag called name (case-insensitive).
func FlagByName(name string) (Flags, bool) {
	for _, fn := range flagNames {
		if strings.EqualFold(fn.name, name) {
			return fn.f, true
		}
	}
	return 0, false
}

// Names returns the names of the flags set in f, in a fixed order.
func (f Flags) Names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// String joins the flag names with spaces.
func (f Flags) String() string { return strings.Join(f.Names(), " ") }

// Pos is a place in zone text: file, line and column, 1-based. The zero Pos
// means the record did not come from text (the store, an API call).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether p names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string {
	if !p.IsValid() {
		return p.File
	}
	f := p.File
	if f == "" {
		f = "<input>"
	}
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", f, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", f, p.Line)
}

// Record is one resource record with the dms flags that travel with it.
type Record struct {
	RR    dns.RR
	Flags Flags
	// Ref is the REF: flag: the reference (customer id) that manages this
	// record. On the apex SOA it is the zone's reference.
	Ref string
	// Pos is where the record was read from, when it came from zone text.
	Pos Pos
}

// ValidReference reports whether s has the form of a reference:
// ^[0-9a-zA-Z][-_a-zA-Z0-9.@]*$ (DESIGN.md, "Auto reverse records").
func ValidReference(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if alnum {
			continue
		}
		if i > 0 && (c == '-' || c == '_' || c == '.' || c == '@') {
			continue
		}
		return false
	}
	return true
}

// RdataText is the RDATA part of rr's presentation form (miekg/dns
// separates the header fields and the RDATA with tabs).
func RdataText(rr dns.RR) string {
	parts := strings.SplitN(rr.String(), "\t", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
