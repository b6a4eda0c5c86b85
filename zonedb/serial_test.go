package zonedb

import (
	"testing"
	"time"
)

func TestSerialCompareRFC1982(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want int
	}{
		{0, 0, 0},
		{0, 1, -1},
		{1, 0, 1},
		{0, 44, -1},
		{44, 100, -1},
		{100, 200, -1},
		{200, 255, -1},
		{255, 256, -1},
		{0xFFFFFFFF, 0, -1}, // wrap: 2^32-1 < 0
		{0xFFFFFFFF, 1 << 30, -1},
		{0, 1<<31 - 1, -1},
		{1<<31 - 1, 0, 1},
		{1, 1<<31 + 1, SerialIncomparable},
		{1<<31 + 1, 1, SerialIncomparable},
		{0, 1 << 31, SerialIncomparable},
		{2026112200, 3000000000, -1},
		{3000000000, 2026112200, 1},
	} {
		if got := SerialCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("SerialCompare(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if SerialLess(1, 1<<31+1) || SerialLess(1<<31+1, 1) {
		t.Errorf("incomparable serials must not be less")
	}
}

func TestNextSerial(t *testing.T) {
	day := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		old  uint32
		now  time.Time
		want uint32
	}{
		{"new zone", 0, day, 2026112200},
		{"older date", 2026112105, day, 2026112200},
		{"same day", 2026112200, day, 2026112201},
		{"NN 99 goes on", 2026112299, day, 2026112300},
		{"next day after overflow", 2026112300, day.Add(2 * time.Minute), 2026112301},
		{"clock went backwards", 2026112305, day, 2026112306},
		{"small counter", 7, day, 2026112200},
		{"unix time", 1700000000, day, 2026112200},
		{"ahead of date in RFC 1982", 3000000000, day, 3000000001},
		{"top of the range", 0xFFFFFFFF, day, 2026112200},
		{"timezone is UTC", 2026112200, time.Date(2026, 11, 23, 1, 0, 0, 0, time.FixedZone("x", 5*3600)), 2026112201},
	} {
		got := NextSerial(tc.old, tc.now)
		if got != tc.want {
			t.Errorf("%s: NextSerial(%d) = %d, want %d", tc.name, tc.old, got, tc.want)
		}
		if tc.old != 0 && !SerialLess(tc.old, got) {
			t.Errorf("%s: %d -> %d is not an increase", tc.name, tc.old, got)
		}
	}
}

func TestSerialSetAndWrap(t *testing.T) {
	if err := SerialSetAllowed(2026112200, 2026112300); err != nil {
		t.Error(err)
	}
	for _, next := range []uint32{2026112200, 5, 2026112200 + 1<<31} {
		if err := SerialSetAllowed(2026112200, next); err == nil {
			t.Errorf("set %d allowed", next)
		}
	}
	w := WrapSerial(2026112200)
	if !SerialLess(2026112200, w) {
		t.Errorf("wrap %d -> %d: must be greater in RFC 1982", uint32(2026112200), w)
	}
	// Two wrap steps reach below the start, but only after the first took.
	if w2 := WrapSerial(w); !SerialLess(w, w2) || w2 >= 2026112200 {
		t.Errorf("second wrap %d -> %d", w, w2)
	}
	if _, err := SerialAdd(1, 1<<31); err == nil {
		t.Error("SerialAdd allowed 2^31")
	}
}
