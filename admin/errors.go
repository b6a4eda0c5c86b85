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
		for _, x := range pe.All() {
			e.Problems = append(e.Problems, zonedb.Problem{Severity: zonedb.SevError, Code: "syntax", Pos: x.Pos, Message: x.Msg})
		}
		e.Hint = "fix the zone text at the line shown and try again; nothing was committed"
		if len(pe.Others) > 0 {
			e.Hint = "fix the zone text at the lines shown and try again; nothing was committed"
		}
	case errors.As(err, &se):
		e.Code = CodeStale
		e.Hint = "show the zone again, redo your change on the current text, and commit that"
	case errors.Is(err, ErrUsage):
		e.Code = CodeBadInput
		e.Message = trimPrefix(e.Message, ErrUsage.Error()+": ")
	case errors.Is(err, zonedb.ErrBadInput):
		e.Code = CodeBadInput
		e.Message = trimPrefix(e.Message, zonedb.ErrBadInput.Error()+": ")
	case errors.Is(err, ErrUnauthorized):
		e.Code = CodeAuth
		e.Message = "wrong login or password"
	case errors.Is(err, ErrZoneLocked):
		e.Code = CodeLocked
		e.Message = trimPrefix(e.Message, ErrZoneLocked.Error()+": ")
	case errors.Is(err, ErrForbidden):
		e.Code = CodeForbidden
		e.Message = trimPrefix(e.Message, ErrForbidden.Error()+": ")
	default:
		e.Code, e.Hint = codeOf(err)
	}
	return e
}

// errorCodes are the store's errors that map to a code as they are (with
// a hint where one helps): the rest of AsError's cases reword the message.
var errorCodes = []struct {
	errs []error
	code string
	hint string
}{
	{[]error{zonedb.ErrZoneNotFound}, CodeNotFound, "list zones with: dms zone ls"},
	{[]error{zonedb.ErrZINotFound}, CodeNotFound, "list the zone's instances with: dms zone history ZONE"},
	{[]error{zonedb.ErrUserNotFound}, CodeNotFound, "list logins with: dms api user ls"},
	{[]error{zonedb.ErrEventNotFound}, CodeNotFound, "list events with: dms events"},
	{[]error{zonedb.ErrSectagNotFound}, CodeNotFound, "list sectags with: dms sectag ls"},
	{[]error{zonedb.ErrViewNotFound}, CodeNotFound, "list views with: dms view ls"},
	{[]error{zonedb.ErrRefNotFound}, CodeNotFound, "list references with: dms ref ls"},
	{[]error{zonedb.ErrSGNotFound}, CodeNotFound, "list server groups with: dms sg ls"},
	{[]error{zonedb.ErrServerNotFound}, CodeNotFound, "list servers with: dms server ls"},
	{[]error{zonedb.ErrKeyNotFound}, CodeNotFound, "list TSIG keys with: dms tsig ls"},
	{[]error{zonedb.ErrHistoryGone}, CodeNotFound, ""},
	{[]error{zonedb.ErrUserExists, zonedb.ErrZoneExists, zonedb.ErrRefExists, zonedb.ErrSGExists, zonedb.ErrServerExists,
		zonedb.ErrKeyExists, zonedb.ErrSectagExists, zonedb.ErrViewExists}, CodeExists, ""},
	{[]error{zonedb.ErrRefInUse, zonedb.ErrSGInUse, zonedb.ErrKeyInUse, zonedb.ErrSectagInUse, zonedb.ErrViewInUse, zonedb.ErrStoreBusy}, CodeInUse, ""},
	{[]error{zonedb.ErrSerial}, CodeSerial, ""},
	{[]error{zonedb.ErrZoneDeleted}, CodeDeleted, ""},
	{[]error{zonedb.ErrNotStore, zonedb.ErrSchemaTooNew, zonedb.ErrLocked, zonedb.ErrNoStore}, CodeStore, ""},
	{[]error{zonedb.ErrClusterStore}, CodeStore, "start the node (dms serve --etcd ...): commands then go through it"},
	{[]error{zonedb.ErrLogUnavailable, zonedb.ErrLogUnknownOutcome}, CodeNotRunning, "dms cluster status shows etcd's members; DNS answers go on meanwhile"},
}

// codeOf is err's code from errorCodes (internal when none).
func codeOf(err error) (code, hint string) {
	for _, c := range errorCodes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				return c.code, c.hint
			}
		}
	}
	return CodeInternal, ""
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
