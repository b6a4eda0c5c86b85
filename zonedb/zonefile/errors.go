package zonefile

import (
	"errors"

	"dms/zonedb"
)

// Error is a zone text error with its place. Parse returns every error as
// an *Error; when miekg/dns found the error, its *dns.ParseError is in the
// chain (errors.As finds it), and when the error is one of the sentinels
// below, errors.Is finds that.
type Error struct {
	// Pos is the file, line and column of the error. Line is 0 when the
	// error is about the text as a whole (empty, unreadable).
	Pos zonedb.Pos
	// Msg says what is wrong, without the position.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error formats the error as FILE:LINE:COL: MSG.
func (e *Error) Error() string {
	p := e.Pos.String()
	if p == "" {
		return e.Msg
	}
	return p + ": " + e.Msg
}

// Unwrap returns the underlying error: miekg/dns's *dns.ParseError or one
// of the sentinels of this package.
func (e *Error) Unwrap() error { return e.Err }

// Errors about the text as a whole.
var (
	// ErrNoRecords: the text holds no records at all.
	ErrNoRecords = errors.New("no records")
	// ErrNotZoneText: the text is binary data, JSON or HTML, not a zone
	// file.
	ErrNotZoneText = errors.New("not zone text")
	// ErrTooLarge: the text is larger than Parse reads.
	ErrTooLarge = errors.New("zone text too large")
)

// Errors at a line.
var (
	// ErrIncludeNotAllowed: a $INCLUDE where the caller did not allow
	// one (zone text from an editor or the API, never from disk).
	ErrIncludeNotAllowed = errors.New("$INCLUDE not allowed")
	// ErrBadFlag: a ";!" flag comment that cannot be read, or that has no
	// record to go with.
	ErrBadFlag = errors.New("bad flag comment")
	// ErrBadRecord: a record miekg/dns reads but that cannot be in a
	// zone (class, type, TTL, owner outside the zone, too long).
	ErrBadRecord = errors.New("bad record")
)
