package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Class says what the dispatcher does with a failed change.
type Class int

const (
	// Transient failures (network, timeout, 423, 429, 5xx) are retried with
	// backoff and jitter, honouring RetryAfter.
	Transient Class = iota
	// Permanent failures (other 4xx, tampered answers) go to dead letters
	// with the target's message.
	Permanent
	// Unsupported means the target cannot do what SCIM asked (SecureAuth
	// member removal, Secure Access groups): recorded, counted, not retried.
	Unsupported
	// Unauthorized is a 401: the connector refreshes its credentials once
	// (single-flight) and retries; a second 401 is Permanent.
	Unauthorized
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Unsupported:
		return "unsupported"
	case Unauthorized:
		return "unauthorized"
	}
	return "unknown"
}

// Error is a classified delivery failure.
type Error struct {
	Class      Class
	Status     int           // HTTP status, 0 if none
	RetryAfter time.Duration // from Retry-After, 0 if absent
	Msg        string        // the target's own message (never a secret)
	Err        error         // underlying error, if any
}

func (e *Error) Error() string {
	s := e.Class.String()
	if e.Status != 0 {
		s += " " + strconv.Itoa(e.Status)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// NewTransient, NewPermanent and NewUnsupported build classified errors.
func NewTransient(msg string, err error) error { return &Error{Class: Transient, Msg: msg, Err: err} }

// NewPermanent builds a Permanent error.
func NewPermanent(msg string, err error) error { return &Error{Class: Permanent, Msg: msg, Err: err} }

// NewUnsupported builds an Unsupported error; msg says what the target cannot do.
func NewUnsupported(msg string) error { return &Error{Class: Unsupported, Msg: msg} }

// ClassOf returns the class of err: an *Error's own class, else Transient
// (an unclassified error, such as a network failure, is worth a retry).
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Transient
}

// RetryAfterOf returns the Retry-After carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Kind of call, for the classification rules that depend on it.
type CallKind int

const (
	CallOther  CallKind = iota
	CallCreate          // 409 means "already exists": adopt
	CallDelete          // 404 means "already gone": success (also member removal)
)

// Outcome is what a classified HTTP answer means for the caller.
type Outcome int

const (
	OK     Outcome = iota // 2xx, or 404 on a delete
	Adopt                 // 409 on a create: look the object up and adopt it
	Failed                // see the returned error's class
)

// ClassifyHTTP applies the shared table of ../shared/contracts/README.md
// to one HTTP answer. msg is the target's message extracted from the body
// by the caller (it knows the body's shape).
func ClassifyHTTP(status int, header http.Header, kind CallKind, msg string) (Outcome, error) {
	switch {
	case status >= 200 && status < 300:
		return OK, nil
	case status == http.StatusNotFound && kind == CallDelete:
		return OK, nil
	case status == http.StatusConflict && kind == CallCreate:
		return Adopt, nil
	case status == http.StatusUnauthorized:
		return Failed, &Error{Class: Unauthorized, Status: status, Msg: msg}
	case status == http.StatusLocked || status == http.StatusTooManyRequests || status >= 500:
		return Failed, &Error{Class: Transient, Status: status, Msg: msg, RetryAfter: ParseRetryAfter(header.Get("Retry-After"), time.Now())}
	default:
		return Failed, &Error{Class: Permanent, Status: status, Msg: msg}
	}
}

// ParseRetryAfter reads a Retry-After value (seconds or an HTTP date).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Errorf is fmt.Errorf for a classified error.
func Errorf(c Class, status int, format string, args ...any) error {
	return &Error{Class: c, Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Lister errors every connector answers alike, so a drift check reads the
// same whichever target it lists.

// ErrListType is what List answers for a type the connector does not
// know (neither User nor Group): Permanent, since asking again cannot
// help. target names the connector type ("webex").
func ErrListType(target, typ string) error {
	return Errorf(Permanent, 0, "%s lists User and Group, not %q", target, typ)
}

// ErrListItemWithoutID is what List answers when the target's listing
// holds an object without an id: Permanent, like any answer that breaks
// the target's contract, and never skipped, for a listing that passed
// over it would present a part as the whole. where says which request
// answered it.
func ErrListItemWithoutID(where string) error {
	return Errorf(Permanent, 0, "%s: the answer lists an object without an id", where)
}
