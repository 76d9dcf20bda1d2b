package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/kairan/kairan/api/hub"
)

// Detached streams. An SSE stream served the ordinary way keeps, for as
// long as it is open, everything net/http holds for a request in flight:
// the handler goroutine with the stack it grew while subscribing (a reset
// reads the database), a background reader goroutine, 4 KiB read and write
// buffers, a chunk writer, the request and its contexts — about 44 KiB per
// idle subscriber in `kairan bench`. So once subscribed, the stream takes
// the connection over (Hijack), writes its own response head, and lives on
// without a goroutine of its own on Linux (livestream.go: workers write
// its events, one epoll loop notices its client hanging up), in a writer
// and a watcher goroutine elsewhere. The body is
// delimited by closing the connection (no chunked framing), which every
// HTTP/1.1 client and proxy understands. Where the connection cannot be
// taken (HTTP/2) the stream is served in place; a HEAD never gets here
// (events answers it with the headers alone).

// slot carries a stream-cap slot from capStreams to a detached stream,
// which then releases it itself when it ends.
type slot struct {
	release func()
	taken   bool
}

type slotKey struct{}

// detach takes the connection over and serves sub from there; false means
// it could not, and the caller serves the stream itself.
func (a *api) detach(w http.ResponseWriter, r *http.Request, sub *hub.Subscription, f framing) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	// Counted before the hijack: once taken over, the connection is no
	// longer the server's, and Main.Close must not find the count at 0
	// while this handler is between Hijack and its goroutines.
	a.detached.Add(1)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		a.detached.Done()
		return false
	}
	// net/http's buffered reader is dropped with the rest: a GET stream
	// gets no body, and a pipelined request after it would never be read.
	release := func() {}
	if s, ok := r.Context().Value(slotKey{}).(*slot); ok {
		s.taken, release = true, s.release
	}
	head := responseHead(w.Header())
	if a.detachLive(r, conn, head, sub, release, f) {
		return true
	}
	// Where the hang-up loop cannot watch the connection (off Linux), the
	// stream lives on in two goroutines: a writer and a watcher.
	board := r.PathValue("board")
	// The request's context ends when the handler returns; the stream's
	// ends when the client hangs up (or the stream does).
	ctx, hangUp := context.WithCancel(context.WithoutCancel(r.Context()))
	a.metrics.streamOpened()
	_ = conn.SetReadDeadline(time.Time{})
	a.detached.Add(1)
	go func() { // the watcher: its one read returns when the client is gone
		defer a.detached.Done()
		defer hangUp()
		// The answer is "Connection: close", so a client has nothing more
		// to send: a byte is as good as a hang-up (and reading on would
		// let a client make the server spin on junk).
		var b [1]byte
		_, _ = conn.Read(b[:])
	}()
	go func() { // the writer
		defer a.detached.Done()
		defer release()
		defer a.metrics.streamClosed()
		defer sub.Close()
		defer conn.Close() // also ends the watcher's read
		defer hangUp()
		defer func() {
			// No handler's recover is above this goroutine: a bug here
			// must cost one stream, not the process.
			if v := recover(); v != nil {
				a.log.Error("stream panic", "board", board, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		send := func(b []byte) bool {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			_, err := conn.Write(b)
			return err == nil
		}
		if send(head) {
			a.pump(ctx, sub, board, f, send)
		}
	}()
	return true
}

// responseHead is the status line and headers of a detached stream: what
// the handler and the middleware set, for a body that ends with the
// connection.
func responseHead(h http.Header) []byte {
	h = h.Clone()
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

var errNotWatchable = errors.New("httpapi: not a socket the hang-up loop can watch")
