package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/kairan/kairan/shared"
)

// sameOriginWrites refuses writes sent by pages of other origins: a
// browser sends Origin on cross-origin requests, and "null" (sandboxed
// frames, file pages) counts as foreign. Requests without Origin (curl,
// native clients) are not from a browser page and pass. Origins allowed by
// configuration also get CORS answers, so their pages can call the API.
func (a *api) sameOriginWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && a.allowedOrigins[origin]
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "Retry-After")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, Idempotency-Key, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if isRead(r) {
			next.ServeHTTP(w, r)
			return
		}
		if origin != "" && origin != ownOrigin(r) && !allowed {
			a.writeError(w, r, shared.Errorf(shared.CodeForbidden,
				"Writes from pages of another site are refused; post from kairan's own page."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isRead tells the methods that change nothing from writes.
func isRead(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

func ownOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

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

func slogLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}
