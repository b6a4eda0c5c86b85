package zonedb

import "errors"

// Errors of opening the store.
var (
	// ErrNotStore: the file is not a bbolt file, or not a dms store.
	ErrNotStore = errors.New("not a dms store")
	// ErrSchemaTooNew: the store was written by a newer dms.
	ErrSchemaTooNew = errors.New("store schema is newer than this dms")
	// ErrLocked: another process holds the store open for writing.
	ErrLocked = errors.New("store is in use by another process")
	// ErrNoStore: there is no store file and none was to be created.
	ErrNoStore = errors.New("no store")
)

// Errors of reading and committing.
var (
	// ErrZoneNotFound: no zone by that name (or id).
	ErrZoneNotFound = errors.New("zone not found")
	// ErrZoneExists: a zone by that name exists already.
	ErrZoneExists = errors.New("zone already exists")
	// ErrZoneDeleted: the zone is marked deleted; undelete it first.
	ErrZoneDeleted = errors.New("zone is deleted")
	// ErrStale: the zone changed since the caller read it.
	ErrStale = errors.New("zone changed since it was read")
	// ErrZINotFound: no zone instance by that id for the zone.
	ErrZINotFound = errors.New("zone instance not found")
	// ErrRefNotFound: no reference by that name.
	ErrRefNotFound = errors.New("reference not found")
	// ErrRefExists: a reference by that name (case-insensitively) exists.
	ErrRefExists = errors.New("reference already exists")
	// ErrRefInUse: zones still use the reference.
	ErrRefInUse = errors.New("reference is in use")
	// ErrSectagNotFound: no sectag by that name.
	ErrSectagNotFound = errors.New("sectag not found")
	// ErrSectagExists: a sectag by that name (case-insensitively) exists.
	ErrSectagExists = errors.New("sectag already exists")
	// ErrSectagInUse: zones still carry the sectag.
	ErrSectagInUse = errors.New("sectag is in use")
	// ErrEventNotFound: no event by that id.
	ErrEventNotFound = errors.New("event not found")
	// ErrUserNotFound: no API login by that name.
	ErrUserNotFound = errors.New("API user not found")
	// ErrUserExists: an API login by that name exists.
	ErrUserExists = errors.New("API user already exists")
	// ErrSGNotFound: no server group by that name.
	ErrSGNotFound = errors.New("server group not found")
	// ErrSerial: a serial change that RFC 1982 or the policy forbids.
	ErrSerial = errors.New("serial not allowed")
	// ErrHistoryGone: the zone instances needed were vacuumed.
	ErrHistoryGone = errors.New("zone history not available")
	// ErrBadInput: a malformed name, record or value.
	ErrBadInput = errors.New("bad input")
)
