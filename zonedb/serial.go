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

// NextSerial is the YYYYMMDDNN policy: today's date with NN = 00 when that
// is higher than old (RFC 1982), else old + 1. So the serial never goes
// backwards, and past NN = 99 it keeps counting into tomorrow's numbers
// (2026112299 -> 2026112300), which is harmless: tomorrow continues from
// there. An old serial that is not a date (a counter such as 7, or a Unix
// time such as 1700000000) is below today's date and jumps to it; one that is
// "ahead" of the date in RFC 1982 terms (e.g. 3000000000, which is greater
// than 2026112200 as 3000000000 - 2026112200 < 2^31) is incremented by one,
// since moving to the date would go backwards.
func NextSerial(old uint32, now time.Time) uint32 {
	y, m, d := now.UTC().Date()
	date := uint32(y*1000000 + int(m)*10000 + d*100)
	if SerialLess(old, date) {
		return date
	}
	return old + 1
}

// WrapSerial is one step of a deliberate wrap: old + (2^31 - 1), the
// largest increment RFC 1982 allows (section 7).
func WrapSerial(old uint32) uint32 { return old + MaxSerialIncrement }

// SerialWrapNote tells an admin what a wrap step does and how to finish it.
const SerialWrapNote = `The serial moved forward by 2^31-1, the largest step RFC 1982 allows, so it
may now be numerically lower: secondaries still see it as newer and transfer
the zone. Wait until every secondary has the new serial (dms zone info, or
each secondary's SOA), then set the serial you want with
dms zone serial ZONE --set N. Never make two wrap steps before the
secondaries have caught up: they would see the second as older and stop
transferring.`

// SerialSetAllowed checks an administrative serial change: next must be
// greater than old in RFC 1982 terms (so by at most 2^31-1).
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
