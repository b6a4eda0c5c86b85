package admin

import (
	"errors"
	"fmt"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// ErrUsage marks a request the caller got wrong (unknown key, bad value,
// bad flag combination).
var ErrUsage = errors.New("usage")

// ErrUnauthorized marks a login that failed (unknown name or wrong
// password: the caller is not told which).
var ErrUnauthorized = errors.New("unauthorized")

// ErrLoginBusy: too many password checks are running or waiting; the
// password was not checked. Try again in a moment.
var ErrLoginBusy = errors.New("too many logins being checked; try again in a moment")

// Error codes: stable strings for scripts and the HTTP API.
const (
	CodeBadInput   = "bad_input"
	CodeParse      = "parse_error"
	CodeCheck      = "check_failed"
	CodeNotFound   = "not_found"
	CodeExists     = "exists"
	CodeStale      = "stale"
	CodeInUse      = "in_use"
	CodeSerial     = "serial"
	CodeDeleted    = "deleted"
	CodeStore      = "store"
	CodeInternal   = "internal"
	CodeUnknownOp  = "unknown_op"
	CodeNotRunning = "not_running"
	CodeForbidden  = "forbidden"
	CodeLocked     = "locked"
	CodeAuth       = "unauthorized"
)

// Error is what an admin operation returns to the CLI, the control socket
// and the HTTP API: a code, the message, the problems behind it (parse or
// check findings with file, line and column) and what to do next.
type Error struct {
	Code     string          `json:"error"`
	Message  string          `json:"message"`
	Hint     string          `json:"hint,omitempty"`
	Problems zonedb.Problems `json:"details,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// AsError turns any error into an *Error with a code and, where one helps,
// a hint on what to do next. It is the one place that adds hints.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	e := &Error{Code: CodeInternal, Message: err.Error()}
	var ce *zonedb.CheckError
	var pe *zonefile.Error
	var se *zonedb.StaleError
	switch {
	case errors.As(err, &ce):
		e.Code, e.Problems = CodeCheck, ce.Problems
		e.Hint = "fix the errors listed and try again; warnings alone do not block"
	case errors.As(err, &pe):
		e.Code = CodeParse
		e.Problems = zonedb.Problems{{Severity: zonedb.SevError, Code: "syntax", Pos: pe.Pos, Message: pe.Msg}}
		e.Hint = "fix the zone text at the line shown and try again; nothing was committed"
	case errors.As(err, &se):
		e.Code = CodeStale
		e.Hint = "show the zone again, redo your change on the current text, and commit that"
	case errors.Is(err, ErrUsage):
		e.Code = CodeBadInput
		e.Message = trimPrefix(e.Message, ErrUsage.Error()+": ")
	case errors.Is(err, zonedb.ErrBadInput):
		e.Code = CodeBadInput
		e.Message = trimPrefix(e.Message, zonedb.ErrBadInput.Error()+": ")
	case errors.Is(err, zonedb.ErrZoneNotFound):
		e.Code = CodeNotFound
		e.Hint = "list zones with: dms zone ls"
	case errors.Is(err, zonedb.ErrZINotFound):
		e.Code = CodeNotFound
		e.Hint = "list the zone's instances with: dms zone history ZONE"
	case errors.Is(err, ErrUnauthorized):
		e.Code = CodeAuth
		e.Message = "wrong login or password"
	case errors.Is(err, zonedb.ErrUserNotFound):
		e.Code = CodeNotFound
		e.Hint = "list logins with: dms api user ls"
	case errors.Is(err, zonedb.ErrUserExists):
		e.Code = CodeExists
	case errors.Is(err, ErrZoneLocked):
		e.Code = CodeLocked
		e.Message = trimPrefix(e.Message, ErrZoneLocked.Error()+": ")
	case errors.Is(err, ErrForbidden):
		e.Code = CodeForbidden
		e.Message = trimPrefix(e.Message, ErrForbidden.Error()+": ")
	case errors.Is(err, zonedb.ErrEventNotFound):
		e.Code = CodeNotFound
		e.Hint = "list events with: dms events"
	case errors.Is(err, zonedb.ErrSectagNotFound):
		e.Code = CodeNotFound
		e.Hint = "list sectags with: dms sectag ls"
	case errors.Is(err, zonedb.ErrRefNotFound):
		e.Code = CodeNotFound
		e.Hint = "list references with: dms ref ls"
	case errors.Is(err, zonedb.ErrSGNotFound):
		e.Code = CodeNotFound
		e.Hint = "list server groups with: dms sg ls"
	case errors.Is(err, zonedb.ErrServerNotFound):
		e.Code = CodeNotFound
		e.Hint = "list servers with: dms server ls"
	case errors.Is(err, zonedb.ErrKeyNotFound):
		e.Code = CodeNotFound
		e.Hint = "list TSIG keys with: dms tsig ls"
	case errors.Is(err, zonedb.ErrZoneExists), errors.Is(err, zonedb.ErrRefExists), errors.Is(err, zonedb.ErrSGExists),
		errors.Is(err, zonedb.ErrServerExists), errors.Is(err, zonedb.ErrKeyExists), errors.Is(err, zonedb.ErrSectagExists):
		e.Code = CodeExists
	case errors.Is(err, zonedb.ErrRefInUse), errors.Is(err, zonedb.ErrSGInUse), errors.Is(err, zonedb.ErrKeyInUse), errors.Is(err, zonedb.ErrSectagInUse):
		e.Code = CodeInUse
	case errors.Is(err, zonedb.ErrSerial):
		e.Code = CodeSerial
	case errors.Is(err, zonedb.ErrZoneDeleted):
		e.Code = CodeDeleted
	case errors.Is(err, zonedb.ErrHistoryGone):
		e.Code = CodeNotFound
	case errors.Is(err, zonedb.ErrNotStore), errors.Is(err, zonedb.ErrSchemaTooNew),
		errors.Is(err, zonedb.ErrLocked), errors.Is(err, zonedb.ErrNoStore):
		e.Code = CodeStore
	}
	return e
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}
