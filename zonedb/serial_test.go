package zonedb

import (
	"strings"
	"testing"
	"time"
)

// TestSerialCompareRFC1982: RFC 1982 section 3.2 with SERIAL_BITS = 32.
// The section's 8-bit examples (0 < 44 < 100 < 200 < 255 < 0, and
// 1 vs 129 undefined) are translated to 32 bits by scaling the distances.
func TestSerialCompareRFC1982(t *testing.T) {
	const q = 1 << 24 // 2^32 / 2^8: one 8-bit step
	for _, tc := range []struct {
		name string
		a, b uint32
		want int
	}{
		{"equal", 0, 0, 0},
		{"equal at the top", 0xFFFFFFFF, 0xFFFFFFFF, 0},
		{"plain less", 0, 1, -1},
		{"plain greater", 1, 0, 1},
		{"small numbers", 0, 44, -1},
		{"small numbers", 44, 100, -1},
		{"small numbers", 100, 200, -1},
		{"small numbers", 200, 255, -1},
		{"8-bit 0 < 44 scaled", 0, 44 * q, -1},
		{"8-bit 44 < 100 scaled", 44 * q, 100 * q, -1},
		{"8-bit 100 < 200 scaled", 100 * q, 200 * q, -1},
		{"8-bit 200 < 255 scaled", 200 * q, 255 * q, -1},
		{"8-bit 255 < 0 scaled", 255 * q, 0, -1},
		{"8-bit 100 > 255 scaled", 100 * q, 255 * q, 1},
		{"8-bit 0 > 200 scaled", 0, 200 * q, 1},
		{"8-bit 1 vs 129 undefined scaled", 1 * q, 129 * q, SerialIncomparable},
		{"wrap: 2^32-1 < 0", 0xFFFFFFFF, 0, -1},
		{"wrap: 0 > 2^32-1", 0, 0xFFFFFFFF, 1},
		{"wrap: 2^32-1 < 2^30", 0xFFFFFFFF, 1 << 30, -1},
		{"largest step up", 0, 1<<31 - 1, -1},
		{"largest step down", 1<<31 - 1, 0, 1},
		{"one past the largest step", 0, 1<<31 + 1, 1},
		{"incomparable", 1, 1<<31 + 1, SerialIncomparable},
		{"incomparable reversed", 1<<31 + 1, 1, SerialIncomparable},
		{"incomparable from 0", 0, 1 << 31, SerialIncomparable},
		{"date < far serial", 2026112200, 3000000000, -1},
		{"far serial > date", 3000000000, 2026112200, 1},
		{"numerically higher, RFC 1982 greater", 4000000000, 2026112200, 1},
		{"numerically higher, RFC 1982 lower", 4200000000, 2026112200, -1},
	} {
		if got := SerialCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: SerialCompare(%d, %d) = %d, want %d", tc.name, tc.a, tc.b, got, tc.want)
		}
		if got, want := SerialLess(tc.a, tc.b), tc.want == -1; got != want {
			t.Errorf("%s: SerialLess(%d, %d) = %v, want %v", tc.name, tc.a, tc.b, got, want)
		}
		// Antisymmetry, and incomparable both ways.
		rev := SerialCompare(tc.b, tc.a)
		if tc.want == SerialIncomparable && rev != SerialIncomparable || tc.want != SerialIncomparable && rev != -tc.want {
			t.Errorf("%s: SerialCompare(%d, %d) = %d, reversed %d", tc.name, tc.a, tc.b, tc.want, rev)
		}
	}
}

// TestSerialAdd: RFC 1982 section 3.1.
func TestSerialAdd(t *testing.T) {
	for _, tc := range []struct {
		s, n, want uint32
	}{
		{1, 1, 2},
		{0xFFFFFFFF, 1, 0},
		{0xFFFFFFFF, 2, 1},
		{5, 1<<31 - 1, 5 + 1<<31 - 1},
		{1 << 31, 1<<31 - 1, 0xFFFFFFFF},
	} {
		got, err := SerialAdd(tc.s, tc.n)
		if err != nil || got != tc.want {
			t.Errorf("SerialAdd(%d, %d) = %d, %v; want %d", tc.s, tc.n, got, err, tc.want)
		}
		if tc.n > 0 && !SerialLess(tc.s, got) {
			t.Errorf("SerialAdd(%d, %d) = %d is not greater", tc.s, tc.n, got)
		}
	}
	for _, n := range []uint32{1 << 31, 1<<31 + 1, 0xFFFFFFFF} {
		if got, err := SerialAdd(1, n); err == nil {
			t.Errorf("SerialAdd(1, %d) = %d, want an error", n, got)
		}
	}
}

func TestNextSerial(t *testing.T) {
	day := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
	nextDay := time.Date(2026, 11, 23, 0, 1, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		old  uint32
		now  time.Time
		want uint32
	}{
		{"new zone", 0, day, 2026112200},
		{"older date", 2026112105, day, 2026112200},
		{"same day", 2026112200, day, 2026112201},
		{"same day later", 2026112241, day, 2026112242},
		{"day change", 2026112241, nextDay, 2026112300},
		{"day change after NN 99", 2026112299, nextDay, 2026112300},
		{"NN 99 goes on into tomorrow's numbers", 2026112299, day, 2026112300},
		{"next day after the overflow", 2026112300, nextDay, 2026112301},
		{"clock went backwards across midnight", 2026112305, day, 2026112306},
		{"clock far behind", 2026112305, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 2026112306},
		{"small counter", 7, day, 2026112200},
		{"unix time of 2023", 1700000000, day, 2026112200},
		{"unix time of 2035, ahead of the date", 2050000000, day, 2050000001},
		{"ahead of the date in RFC 1982", 3000000000, day, 3000000001},
		{"numerically higher, RFC 1982 higher", 4000000000, day, 4000000001},
		{"numerically higher, RFC 1982 lower", 4200000000, day, 2026112200},
		{"incomparable with the date", 2026112200 + 1<<31, day, 2026112200 + 1<<31 + 1},
		{"top of the range", 0xFFFFFFFF, day, 2026112200},
		{"in UTC, not the local zone", 2026112200, time.Date(2026, 11, 23, 1, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)), 2026112201},
	} {
		got := NextSerial(tc.old, tc.now)
		if got != tc.want {
			t.Errorf("%s: NextSerial(%d) = %d, want %d", tc.name, tc.old, got, tc.want)
		}
		if !SerialLess(tc.old, got) {
			t.Errorf("%s: %d -> %d is not an increase in RFC 1982 terms", tc.name, tc.old, got)
		}
	}
}

// TestNextSerialNeverDecreases walks many edits across days and around the
// whole serial space.
func TestNextSerialNeverDecreases(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, start := range []uint32{0, 1, 1700000000, 2026112299, 3000000000, 1 << 31, 0xFFFFFF00} {
		s := start
		for i := range 1000 {
			next := NextSerial(s, now.Add(time.Duration(i)*7*time.Minute))
			if !SerialLess(s, next) {
				t.Fatalf("start %d, edit %d: %d -> %d", start, i, s, next)
			}
			s = next
		}
	}
}

func TestSerialSetAllowed(t *testing.T) {
	for _, next := range []uint32{2026112201, 2026112300, 2026112200 + 1<<31 - 1} {
		if err := SerialSetAllowed(2026112200, next); err != nil {
			t.Errorf("set %d: %v", next, err)
		}
	}
	if err := SerialSetAllowed(0xFFFFFFFF, 5); err != nil {
		t.Errorf("set across the wrap: %v", err)
	}
	for _, tc := range []struct {
		next uint32
		want string
	}{
		{2026112200, "is the current serial"},
		{5, "is lower than the current"},
		{2026112199, "is lower than the current"},
		{2026112200 + 1<<31, "exactly 2^31 away"},
		{2026112200 + 1<<31 + 1, "is lower than the current"},
	} {
		err := SerialSetAllowed(2026112200, tc.next)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("set %d: got %v, want %q", tc.next, err, tc.want)
		}
		if err != nil && tc.next != 2026112200 && !strings.Contains(err.Error(), "dms zone serial ZONE --wrap") {
			t.Errorf("set %d: %v does not suggest --wrap", tc.next, err)
		}
	}
}

// TestSerialWrap: RFC 1982 section 7, going down in steps the secondaries
// follow.
func TestSerialWrap(t *testing.T) {
	old := uint32(3000000000)
	w := WrapSerial(old)
	if w != 852516351 || !SerialLess(old, w) {
		t.Fatalf("wrap %d -> %d: must be old + 2^31-1 and greater in RFC 1982", old, w)
	}
	// After the secondaries have w, the wanted date serial is allowed.
	if err := SerialSetAllowed(w, 2026112200); err != nil {
		t.Errorf("set after the wrap: %v", err)
	}
	// Before the wrap it was not.
	if err := SerialSetAllowed(old, 2026112200); err == nil {
		t.Error("set without a wrap allowed")
	}
	// A second step before the secondaries transferred looks like a
	// decrease to a secondary still at old.
	if w2 := WrapSerial(w); !SerialLess(w, w2) || !SerialLess(w2, old) {
		t.Errorf("second wrap %d -> %d: greater than %d, lower than %d expected", w, w2, w, old)
	}
	if got := WrapSerial(0xFFFFFFFF); got != 1<<31-2 {
		t.Errorf("WrapSerial(2^32-1) = %d", got)
	}
	for _, s := range []string{"2^31-1", "secondar", "--set", "two wrap steps"} {
		if !strings.Contains(SerialWrapNote, s) {
			t.Errorf("SerialWrapNote does not mention %q", s)
		}
	}
}
