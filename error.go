// Package daiban holds the types every part of the service shares: the one
// error type of the API contract and its codes.
package daiban

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Error codes of the HTTP contract. Each maps to exactly one HTTP status in
// the server's error handler; nothing else decides a status.
const (
	EINVALID              = "invalid"               // 422
	EUNAUTHENTICATED      = "unauthenticated"       // 401
	EFORBIDDEN            = "forbidden"             // 403
	ENOTFOUND             = "not_found"             // 404
	EVERSIONCONFLICT      = "version_conflict"      // 409
	EINVALIDTRANSITION    = "invalid_transition"    // 409
	EDUPLICATE            = "duplicate"             // 409, with the open case's id
	EPRECONDITIONREQUIRED = "precondition_required" // 428
	ETOOLARGE             = "too_large"             // 413
	ETOOMANYREQUESTS      = "too_many_requests"     // 429
	EUNAVAILABLE          = "unavailable"           // 503
	EINTERNAL             = "internal"              // 500
)

// Error is the application error: a contract code, a message a user can read
// (Simplified Chinese) and, for input errors, the offending field.
type Error struct {
	Code    string
	Message string
	Field   string
	// CaseID names the case an error is about, when the client needs it
	// (EDUPLICATE: the open case of the same applicant and matter).
	CaseID int64
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("daiban error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("daiban error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an application error, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorCaseID returns the case an application error names, if any.
func ErrorCaseID(err error) int64 {
	var e *Error
	if errors.As(err, &e) {
		return e.CaseID
	}
	return 0
}

// ErrorMessage returns the user-facing message of an application error and a
// generic one for anything else, so internals never reach a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "服务器内部错误，请稍后重试"
}

// ErrorField returns the field named by an application error, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// NoRows translates the database's "no rows" into a not_found error with the
// given message and passes every other error through. It is the one place
// pgx.ErrNoRows becomes an application error.
func NoRows(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return Errorf(ENOTFOUND, format, args...)
	}
	return err
}

// Wrap adds what was being done to *errp, when it is not nil, in the
// style of pkgsite's derrors.Wrap:
//
//	defer daiban.Wrap(&err, "cases: review case %d", id)
//
// The chain is kept, so an *Error's code, message and field still reach
// the client through errors.As, and the log of an internal error says
// which operation on which object failed.
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}
