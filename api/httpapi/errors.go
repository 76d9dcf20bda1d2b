package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/kairan/kairan/shared"
)

// statusOf is the one table from error codes to HTTP statuses. A code
// missing here is a bug and goes out as 500.
var statusOf = map[shared.Code]int{
	shared.CodeInvalidJSON:           http.StatusBadRequest,
	shared.CodeInvalidComment:        http.StatusBadRequest,
	shared.CodeInvalidAuthor:         http.StatusBadRequest,
	shared.CodeInvalidBoard:          http.StatusBadRequest,
	shared.CodeInvalidLimit:          http.StatusBadRequest,
	shared.CodeInvalidBefore:         http.StatusBadRequest,
	shared.CodeInvalidWait:           http.StatusBadRequest,
	shared.CodeInvalidVersion:        http.StatusBadRequest,
	shared.CodeInvalidIdempotencyKey: http.StatusBadRequest,
	shared.CodeUnauthorized:          http.StatusUnauthorized,
	shared.CodeForbidden:             http.StatusForbidden,
	shared.CodeNotFound:              http.StatusNotFound,
	shared.CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	shared.CodeUnknownHost:           http.StatusMisdirectedRequest,
	shared.CodeBodyTooLarge:          http.StatusRequestEntityTooLarge,
	shared.CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	shared.CodeInvalidImage:          http.StatusBadRequest,
	shared.CodeImageUnavailable:      http.StatusUnprocessableEntity,
	shared.CodeIdempotencyMismatch:   http.StatusUnprocessableEntity,
	shared.CodeBlocked:               http.StatusUnprocessableEntity,
	shared.CodeTooManyBoards:         http.StatusUnprocessableEntity,
	shared.CodeTooManyTopics:         http.StatusUnprocessableEntity,
	shared.CodeRateLimited:           http.StatusTooManyRequests,
	shared.CodeUnavailable:           http.StatusServiceUnavailable,
	shared.CodeInternal:              http.StatusInternalServerError,
}

// writeError answers with the contract's error body. Errors that are not a
// *shared.Error are the server's fault: they are logged and the client gets
// a generic message, never internal detail.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, e := a.errorHeaders(w, r, err)
	a.writeJSON(w, r, status, shared.ErrorBody{Error: e})
}

// errorHeaders is writeError without the body: the public error for err,
// its status from the table, and its headers set.
func (a *api) errorHeaders(w http.ResponseWriter, r *http.Request, err error) (int, *shared.Error) {
	var e *shared.Error
	switch {
	case !errors.As(err, &e):
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = shared.Errorf(shared.CodeInternal, "Something went wrong on the server; try again in a moment.")
	case e.Code == shared.CodeUnavailable:
		// Storage trouble is logged once by whoever sees it begin, not
		// once per request.
		a.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if e.Code == shared.CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kairan"`)
	}
	// An error that says when to retry (storage trouble) says it in the
	// header; a handler that set its own keeps it.
	if e.RetryAfter > 0 && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	return status, e
}

func (a *api) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.log.ErrorContext(r.Context(), "encode response", "path", r.URL.Path, "err", err)
		http.Error(w, `{"error":{"code":"internal","message":"The server could not encode its answer."}}`, http.StatusInternalServerError)
		return
	}
	a.writeRaw(w, r, status, body)
}

// writeRaw answers with body, which is already JSON; gzip-compressed when
// it is big enough to gain and the client accepts gzip (compress.go).
func (a *api) writeRaw(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	body = append(body, '\n')
	if len(body) >= minGzip {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body = gzipped(body)
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(body); err != nil {
		a.log.DebugContext(r.Context(), "write response", "path", r.URL.Path, slog.Any("err", err))
	}
}
