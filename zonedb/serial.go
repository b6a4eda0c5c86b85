package zonedb

import (
	"fmt"
	"time"
)

// Serial numbers are compared and added in RFC 1982 arithmetic with
// SERIAL_BITS = 32, never with < or ==.

// SerialIncomparable is what SerialCompare returns for two serials exactly
// 2^31 apart, whose order RFC 1982 leaves undefined.
const SerialIncomparable = 2

// SerialCompare returns -1 when a < b, 0 when equal, +1 when a > b in RFC
// 1982 section 3.2 terms, and SerialIncomparable when the difference is
// exactly 2^31.
func SerialCompare(a, b uint32) int {
	switch d := b - a; {
	case d == 0:
		return 0
	case d == 1<<31:
		return SerialIncomparable
	case d < 1<<31:
		return -1
	default:
		return 1
	}
}

// SerialLess reports whether a < b in RFC 1982 terms.
func SerialLess(a, b uint32) bool { return SerialCompare(a, b) == -1 }

// MaxSerialIncrement is the largest legal addition (RFC 1982 section 3.1).
const MaxSerialIncrement = 1<<31 - 1

// SerialAdd adds n to s (RFC 1982 section 3.1); n may be at most 2^31-1.
func SerialAdd(s, n uint32) (uint32, error) {
	if n > MaxSerialIncrement {
		return s, fmt.Errorf("serial increment %d is above 2^31-1 (RFC 1982 section 3.1)", n)
	}
	return s + n, nil
}

// NextSerial is the YYYYMMDDNN policy (DESIGN.md, "Serial numbers"): the
// candidate is now's date in UTC with NN = 00 (YYYYMMDD*100); it is used
// when it is greater than old in RFC 1982 terms, else the result is
// old + 1 (mod 2^32). So the serial always increases in RFC 1982 terms and
// secondaries always transfer the new version:
//
//   - same day: 2026112205 -> 2026112206; past NN = 99 it keeps counting
//     into tomorrow's numbers (2026112299 -> 2026112300), which is harmless:
//     tomorrow goes on from there (2026112300 -> 2026112301);
//   - clock set back, or a serial already "from tomorrow": old + 1;
//   - an old serial that is not a date is handled by the same rule. A small
//     counter (7) or a Unix time of today (1700000000) is below the date
//     and jumps to it. A serial ahead of the date in RFC 1982 terms (such
//     as 3000000000: 3000000000 - 2026112200 < 2^31) only gets + 1, as
//     moving to the date would go backwards; one --wrap and then one --set
//     bring such a zone back to date serials.
//     A serial more than 2^31 above the date (4200000000) is, in RFC 1982
//     terms, below it (the distance wraps around), so it jumps to the date:
//     numerically lower, but newer for every secondary. A serial exactly
//     2^31 from the date (incomparable) gets + 1.
func NextSerial(old uint32, now time.Time) uint32 {
	y, m, d := now.UTC().Date()
	date := uint32(y*1000000 + int(m)*10000 + d*100)
	if SerialLess(old, date) {
		return date
	}
	return old + 1
}

// WrapSerial is one step of a deliberate wrap: old + (2^31 - 1) mod 2^32,
// the largest increment RFC 1982 allows (section 3.1). RFC 1982 section 7
// describes going to a lower serial in such steps, each taken only after
// every secondary has the previous one; SerialWrapNote tells the admin.
func WrapSerial(old uint32) uint32 { return old + MaxSerialIncrement }

// SerialWrapNote tells an admin what a wrap step does and how to finish
// it: secondaries see a higher serial and transfer; once they all have it,
// a --set reaches the wanted lower value. Two steps before the secondaries
// transferred would look like a decrease to them.
const SerialWrapNote = `The serial moved forward by 2^31-1, the largest step RFC 1982 allows, so it
may now be numerically lower: secondaries still see it as newer and transfer
the zone. Wait until every secondary has the new serial (dms zone info, or
each secondary's SOA), then set the serial you want with
dms zone serial ZONE --set N. Never make two wrap steps before the
secondaries have caught up: they would see the second as older and stop
transferring.`

// SerialSetAllowed checks an administrative serial change: nil when next is
// greater than old in RFC 1982 terms (an increment of at most 2^31-1), else
// an error saying why not (equal, lower, or exactly 2^31 away, which RFC
// 1982 leaves undefined) and that dms zone serial ZONE --wrap is the way
// down.
func SerialSetAllowed(old, next uint32) error {
	switch SerialCompare(old, next) {
	case -1:
		return nil
	case 0:
		return fmt.Errorf("serial %d is the current serial; give a higher one", next)
	case SerialIncomparable:
		return fmt.Errorf("serial %d is exactly 2^31 away from %d, which RFC 1982 leaves undefined; use dms zone serial ZONE --wrap first", next, old)
	}
	return fmt.Errorf("serial %d is lower than the current %d in RFC 1982 arithmetic, and secondaries would ignore it; to go lower, use dms zone serial ZONE --wrap first", next, old)
}
