package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

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
	shared.CodeInvalidIdempotencyKey: http.StatusBadRequest,
	shared.CodeUnauthorized:          http.StatusUnauthorized,
	shared.CodeForbidden:             http.StatusForbidden,
	shared.CodeNotFound:              http.StatusNotFound,
	shared.CodeBodyTooLarge:          http.StatusRequestEntityTooLarge,
	shared.CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
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
	var e *shared.Error
	if !errors.As(err, &e) {
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = shared.Errorf(shared.CodeInternal, "Something went wrong on the server; try again in a moment.")
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if e.Code == shared.CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kairan"`)
	}
	a.writeJSON(w, r, status, shared.ErrorBody{Error: e})
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

// writeRaw answers with body, which is already JSON.
func (a *api) writeRaw(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		a.log.DebugContext(r.Context(), "write response", "path", r.URL.Path, slog.Any("err", err))
	}
}
