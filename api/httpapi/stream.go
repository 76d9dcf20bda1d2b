package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// SSE and long polling are two thin framings of one hub subscription, so
// they deliver the same changes in the same order from the same cursor.

// Feed is what the stream handlers need of the hub.
type Feed interface {
	Subscribe(ctx context.Context, board, cursor string) (*hub.Subscription, error)
	Heartbeat() <-chan struct{}
	Publish(c shared.Change)
}

const (
	// writeTimeout bounds each write to a stream: a client that stops
	// reading is cut off instead of holding a goroutine for ever.
	writeTimeout = 10 * time.Second
	// retryMillis is the reconnect delay a browser EventSource uses.
	retryMillis = 2000
	// maxLongPollChanges caps one long-poll answer; the client asks again
	// from the returned cursor at once. (A batch is already at most a
	// replay page, 128, or a subscriber's buffer, 256.)
	maxLongPollChanges = 1000
	// sendChunk is about the most an SSE stream buffers before writing:
	// a replay page goes out in pieces of this size.
	sendChunk   = 16 << 10
	defaultWait = 25
	maxWait     = 30
)

var errStreamsClosed = shared.Errorf(shared.CodeUnavailable,
	"The server is restarting; reconnect in a few seconds.")

func (a *api) subscribe(w http.ResponseWriter, r *http.Request, cursor string) (*hub.Subscription, bool) {
	board := r.PathValue("board")
	if err := shared.ValidateBoard(board); err != nil {
		a.writeError(w, r, err)
		return nil, false
	}
	sub, err := a.feed.Subscribe(r.Context(), board, cursor)
	if errors.Is(err, hub.ErrClosed) {
		w.Header().Set("Retry-After", "2")
		a.writeError(w, r, errStreamsClosed)
		return nil, false
	}
	if err != nil {
		a.writeError(w, r, err)
		return nil, false
	}
	return sub, true
}

// framing is how a stream writes changes: the first framing (a Change
// per frame) or the lean one (?v=2; DESIGN.md section 3).
type framing int

const (
	framingChange framing = iota
	framingLean
)

func parseFraming(v string) (framing, error) {
	switch v {
	case "", "1":
		return framingChange, nil
	case shared.LeanStreamVersion:
		return framingLean, nil
	}
	return 0, shared.Errorf(shared.CodeInvalidVersion,
		"The stream version must be 1 or 2 (?v=2 for lean change frames); leave it out for 1.")
}

// streamCursor is where a stream starts: Last-Event-ID (a browser's
// reconnect) wins over ?cursor=. A lean stream's ids are seqs alone, so
// there a bare seq in Last-Event-ID takes the epoch of ?cursor= (the
// stream the browser reconnects to); without one it is no cursor, and
// the stream starts with a reset.
func streamCursor(r *http.Request, f framing) string {
	query := r.URL.Query().Get("cursor")
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		return query
	}
	if f == framingLean && isSeq(last) {
		if c, ok := shared.ParseCursor(query); ok {
			return c.Epoch + "." + last
		}
		return ""
	}
	return last
}

func isSeq(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// events is GET /api/boards/{board}/events: Server-Sent Events.
func (a *api) events(w http.ResponseWriter, r *http.Request) {
	f, err := parseFraming(r.URL.Query().Get("v"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cursor := streamCursor(r, f)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		// The headers only: a HEAD has no body to stream, and holding it
		// open would hold a subscription no write could ever end.
		if err := shared.ValidateBoard(r.PathValue("board")); err != nil {
			a.writeError(w, r, err)
		}
		return
	}
	sub, ok := a.subscribe(w, r, cursor)
	if !ok {
		return
	}
	// Most streams leave net/http here and live on in a goroutine of their
	// own with a fraction of the memory (see detach.go).
	if a.detach(w, r, sub, f) {
		return
	}
	defer sub.Close()
	a.metrics.streamOpened()
	defer a.metrics.streamClosed()
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	a.pump(r.Context(), sub, r.PathValue("board"), f, func(b []byte) bool { return a.flush(w, rc, b) })
}

// pump writes the stream: the retry hint, then every batch as it comes,
// and a ping after two silent heartbeats. send writes and flushes one
// chunk under a deadline and reports whether it went out.
func (a *api) pump(ctx context.Context, sub *hub.Subscription, board string, f framing, send func([]byte) bool) {
	// Small to start: an idle stream holds its buffer for hours, and one
	// change frame is a few hundred bytes (append grows it for resets).
	buf := sse.AppendRetry(make([]byte, 0, 512), retryMillis)
	if !send(buf) {
		return
	}
	quiet := false // nothing written since the last heartbeat
	for {
		batch, err := sub.Wait(ctx, a.feed.Heartbeat())
		if err != nil {
			a.log.DebugContext(ctx, "stream ended", "board", board, "cursor", sub.Cursor(), "reason", err)
			return
		}
		buf = buf[:0]
		switch {
		case batch.Reset != nil || len(batch.Changes) > 0:
			var ok bool
			if buf, ok = f.appendBatch(buf, batch, send); !ok {
				return
			}
		case !quiet:
			quiet = true // the first heartbeat after a write: nothing to say yet
			continue
		default:
			// Two heartbeats (2 × 7 s) without a write: keep proxies and
			// the client's liveness check happy.
			buf = sse.AppendComment(buf, "ping")
		}
		if !send(buf) {
			return
		}
		a.metrics.delivered(len(batch.Changes))
		quiet = false
		if cap(buf) > 4<<10 {
			// A reset, a replay page or a burst grew it: give it back, so
			// a stream that replayed does not idle on a 32 KiB buffer.
			buf = make([]byte, 0, 512)
		}
	}
}

// appendBatch appends a batch's events to buf. With send, a replay page
// goes out in chunks along the way, so the buffer stays small however
// many changes the page holds; false means a chunk did not go out.
func (f framing) appendBatch(buf []byte, batch hub.Batch, send func([]byte) bool) ([]byte, bool) {
	if batch.Reset != nil {
		return appendEvent(buf, "reset", batch.Reset.Cursor, batch.Reset), true
	}
	for i, c := range batch.Changes {
		if send != nil && len(buf) >= sendChunk {
			if !send(buf) {
				return buf, false
			}
			buf = buf[:0]
		}
		if f == framingLean {
			buf = appendLean(buf, &c, batch.EncodedLean(i))
		} else {
			buf = sse.AppendEvent(buf, "change", c.Cursor, batch.Encoded(i))
		}
	}
	return buf, true
}

// appendLive appends the frame of a live change, from the hub's shared
// encoding.
func (f framing) appendLive(buf []byte, l hub.Live) []byte {
	if f == framingLean {
		return appendLean(buf, l.Change, l.Lean)
	}
	return sse.AppendEvent(buf, "change", l.Change.Cursor, l.JSON)
}

// appendLean appends c's lean frame (data holds no newline: it is JSON
// from encoding/json).
func appendLean(buf []byte, c *shared.Change, data []byte) []byte {
	buf = append(buf, "event: "...)
	buf = append(buf, c.Kind...)
	buf = append(buf, "\nid: "...)
	buf = strconv.AppendInt(buf, c.Seq, 10)
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}

func appendEvent(buf []byte, typ, id string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // shared types always marshal
	}
	return sse.AppendEvent(buf, typ, id, data)
}

// flush writes b under a deadline and pushes it to the client at once.
func (a *api) flush(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// changes is GET /api/boards/{board}/changes: long polling.
func (a *api) changes(w http.ResponseWriter, r *http.Request) {
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	cursor := r.URL.Query().Get("cursor")
	sub, ok := a.subscribe(w, r, cursor)
	if !ok {
		return
	}
	defer sub.Close()
	a.metrics.waiterStarted()
	defer a.metrics.waiterDone()

	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	// An error (wait passed, shutdown, dropped) leaves the batch empty:
	// the default case answers "nothing new" for all of them.
	batch, _ := sub.Next(ctx)
	switch {
	case batch.Reset != nil:
		a.writeJSON(w, r, http.StatusOK, shared.ChangesPage{Cursor: batch.Reset.Cursor, Reset: batch.Reset})
	case len(batch.Changes) > 0:
		n := min(len(batch.Changes), maxLongPollChanges)
		a.writeRaw(w, r, http.StatusOK, changesPage(batch, n))
		a.metrics.delivered(n)
	case r.Context().Err() != nil:
		// the client went away
	default:
		// Nothing new: ask again from the same cursor.
		a.writeJSON(w, r, http.StatusOK, emptyPoll{Cursor: cursor, Changes: []shared.Change{}})
	}
}

// changesPage is the JSON of a shared.ChangesPage holding the batch's
// first n changes, assembled from their shared encodings instead of
// encoding each change again for every waiting client.
func changesPage(batch hub.Batch, n int) []byte {
	cursor, _ := json.Marshal(batch.Changes[n-1].Cursor)
	body := make([]byte, 0, 64+n*320)
	body = append(body, `{"cursor":`...)
	body = append(body, cursor...)
	body = append(body, `,"changes":[`...)
	for i := range n {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, batch.Encoded(i)...)
	}
	return append(body, "]}"...)
}

// emptyPoll keeps "changes": [] in the JSON, as the contract asks.
type emptyPoll struct {
	Cursor  string          `json:"cursor"`
	Changes []shared.Change `json:"changes"`
}

func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return defaultWait * time.Second, nil
	}
	n, err := strconv.Atoi(s)
	var numErr *strconv.NumError
	if errors.As(err, &numErr) && numErr.Err == strconv.ErrRange && s[0] != '-' {
		n, err = maxWait, nil // any integer above 30 counts as 30, however large
	}
	if err != nil || n < 0 {
		return 0, shared.Errorf(shared.CodeInvalidWait,
			"wait must be a whole number of seconds, 0 to "+strconv.Itoa(maxWait)+".")
	}
	return time.Duration(min(n, maxWait)) * time.Second, nil
}
