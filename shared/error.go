package shared

import "time"

// Code is a machine-readable error code from the wire contract. It tells a
// client what to do; the message next to it tells a person.
type Code string

// Error codes of the wire contract (DESIGN.md section 3).
const (
	CodeInvalidJSON           Code = "invalid_json"
	CodeInvalidComment        Code = "invalid_comment"
	CodeInvalidAuthor         Code = "invalid_author"
	CodeInvalidBoard          Code = "invalid_board"
	CodeInvalidLimit          Code = "invalid_limit"
	CodeInvalidBefore         Code = "invalid_before"
	CodeInvalidWait           Code = "invalid_wait"
	CodeInvalidVersion        Code = "invalid_version" // the events endpoint's ?v=
	CodeInvalidIdempotencyKey Code = "invalid_idempotency_key"
	CodeUnauthorized          Code = "unauthorized"
	CodeForbidden             Code = "forbidden"
	CodeNotFound              Code = "not_found"
	CodeMethodNotAllowed      Code = "method_not_allowed"
	CodeUnknownHost           Code = "unknown_host" // a name a loopback server does not go by
	CodeBodyTooLarge          Code = "body_too_large"
	CodeUnsupportedMediaType  Code = "unsupported_media_type"
	CodeInvalidImage          Code = "invalid_image"     // bytes that are no picture, or too many pixels
	CodeImageUnavailable      Code = "image_unavailable" // a post's image_id: unknown, used, removed or another board's
	CodeIdempotencyMismatch   Code = "idempotency_mismatch"
	CodeBlocked               Code = "blocked"
	CodeTooManyBoards         Code = "too_many_boards"
	CodeTooManyTopics         Code = "too_many_topics"
	CodeRateLimited           Code = "rate_limited"
	CodeUnavailable           Code = "unavailable"
	// CodeInternal is for failures that are the server's fault; the message
	// never carries internal detail.
	CodeInternal Code = "internal"
	// CodeNetwork is never sent by the server: clients use it when no answer
	// arrived at all (offline, connection refused, aborted).
	CodeNetwork Code = "network"
)

// Error is the one error type that crosses the wire. Code is stable for
// programs, Message is a sentence a person can act on.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// RetryAfter is the server's Retry-After on a 429 or 503 (0 when it
	// sent none). It travels in the header, never in the body.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds an *Error; the message is written for the person who sent the
// request, never with internal detail.
func Errorf(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// ErrorBody is the JSON envelope of every error response:
// {"error":{"code":…,"message":…}}.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// CodeInternal otherwise.
func ErrorCode(err error) Code {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return CodeInternal
}

// Message is what a person reads for err: the server's sentence when err
// is (or wraps) an *Error, else err's own text.
func Message(err error) string {
	if e := AsError(err); e != nil {
		return e.Message
	}
	return err.Error()
}

// AsError returns the *Error that err is or wraps, or nil: errors.As with
// an *Error target, written out because errors.As brings reflection code
// into app.wasm that nothing else there needs (~48 KB raw, ~4 KB brotli).
func AsError(err error) *Error {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e
		}
		if x, ok := err.(interface{ As(any) bool }); ok {
			var e *Error
			if x.As(&e) {
				return e
			}
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range u.Unwrap() {
				if e := AsError(err); e != nil {
					return e
				}
			}
			return nil
		default:
			return nil
		}
	}
	return nil
}
