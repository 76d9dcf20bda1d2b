package shared

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// asHook is an error that answers errors.As itself, as some libraries do.
type asHook struct{ e *Error }

func (h asHook) Error() string { return "hook" }
func (h asHook) As(target any) bool {
	if p, ok := target.(**Error); ok {
		*p = h.e
		return true
	}
	return false
}

// AsError must find exactly what errors.As with an *Error target finds.
func TestAsErrorAgreesWithErrorsAs(t *testing.T) {
	e := Errorf(CodeRateLimited, "slow down")
	other := Errorf(CodeNotFound, "gone")
	cases := map[string]error{
		"nil":               nil,
		"plain":             errors.New("plain"),
		"context":           context.Canceled,
		"direct":            e,
		"wrapped":           fmt.Errorf("long poll: %w", e),
		"wrapped twice":     fmt.Errorf("a: %w", fmt.Errorf("b: %w", e)),
		"joined, first":     errors.Join(e, other),
		"joined, later":     errors.Join(errors.New("x"), fmt.Errorf("y: %w", other)),
		"multi %w":          fmt.Errorf("%w and %w", errors.New("x"), e),
		"joined, none":      errors.Join(errors.New("x"), context.DeadlineExceeded),
		"As hook":           asHook{e},
		"wrapped As hook":   fmt.Errorf("w: %w", asHook{other}),
		"wrapped, no Error": fmt.Errorf("w: %w", errors.New("x")),
	}
	for name, err := range cases {
		var want *Error
		errors.As(err, &want)
		if got := AsError(err); got != want {
			t.Errorf("%s: AsError = %v, errors.As found %v", name, got, want)
		}
		wantCode := CodeInternal
		if want != nil {
			wantCode = want.Code
		}
		if got := ErrorCode(err); got != wantCode {
			t.Errorf("%s: ErrorCode = %q, want %q", name, got, wantCode)
		}
	}
}

func TestMessage(t *testing.T) {
	e := Errorf(CodeForbidden, "Not yours.")
	for err, want := range map[error]string{
		e:                          "Not yours.",
		fmt.Errorf("post: %w", e):  "Not yours.",
		errors.New("network down"): "network down",
	} {
		if got := Message(err); got != want {
			t.Errorf("Message(%v) = %q, want %q", err, got, want)
		}
	}
}
