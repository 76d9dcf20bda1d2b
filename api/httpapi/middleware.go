package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/kairan/kairan/shared"
)

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, deadlines and Hijack
// (detached streams need it).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one access-log line per request at debug level (a
// board's traffic is mostly the same few requests) and failures at warn.
// Headers are never logged: they carry owner and moderator tokens.
func (a *api) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		took := time.Since(start)
		if rec.status == 0 {
			// Nothing written: net/http answers 200 — and a detached
			// stream has sent its own 200 on the connection it took over.
			rec.status = http.StatusOK
		}
		level := slogLevel(rec.status)
		if !a.log.Enabled(r.Context(), level) {
			return
		}
		a.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "bytes", rec.bytes, "duration", took)
	})
}

// recoverPanics turns a handler panic into a 500 with the contract's body
// instead of a dropped connection, and logs the stack.
func (a *api) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "handler panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				a.writeError(w, r, shared.Errorf(shared.CodeInternal, "Something went wrong on the server; try again in a moment."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// slogLevel is warn for the server's failures. A 503 is not one: it is a
// refusal (stream caps, shutting down) or a storage outage, which the
// store and the hub log once when it begins, not once per request.
func slogLevel(status int) slog.Level {
	if status >= 500 && status != http.StatusServiceUnavailable {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
