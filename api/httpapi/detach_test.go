package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/limit"
)

// TestDetachedStreamOnTheWire: an SSE stream taken over from net/http
// answers with a proper HTTP/1.1 head carrying every header the
// middleware set, a body delimited by the connection (no chunking), and
// ends — connection closed, goroutines gone (Handler.Wait returns), stream
// slot given back — when the hub closes.
func TestDetachedStreamOnTheWire(t *testing.T) {
	st := openStore(t)
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	streams := limit.NewStreams(1, 0)
	handler := httpapi.New(httpapi.Config{Store: st, Feed: h, Streams: streams})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(patience))
	io.WriteString(conn, "GET /api/boards/lobby/events HTTP/1.1\r\nHost: x\r\n\r\n")
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !resp.Close || len(resp.TransferEncoding) != 0 || resp.ContentLength != -1 {
		t.Fatalf("head: %d close=%v te=%v len=%d %v", resp.StatusCode, resp.Close, resp.TransferEncoding, resp.ContentLength, resp.Header)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
		"X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || resp.Header.Get("Date") == "" {
		t.Errorf("head lacks CSP or Date: %v", resp.Header)
	}
	body := bufio.NewReader(resp.Body)
	line, _ := body.ReadString('\n')
	if !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("body starts %q", line)
	}
	for line != "event: reset\n" {
		if line, err = body.ReadString('\n'); err != nil {
			t.Fatalf("no reset: %v", err)
		}
	}
	if streams.Open() != 1 {
		t.Fatalf("%d stream slots held, want 1", streams.Open())
	}

	// Another stream while the one slot is held: refused.
	if r, err := http.Get(srv.URL + "/api/boards/lobby/events"); err != nil || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second stream while the one slot is held: %v %v, want 503", r, err)
	} else {
		r.Body.Close()
	}

	h.Close()
	if rest, err := io.ReadAll(body); err != nil || strings.Contains(string(rest), "event:") {
		t.Fatalf("after the hub closed: %q, %v; want the connection closed", rest, err)
	}
	handler.Wait()
	if streams.Open() != 0 {
		t.Fatalf("%d stream slots held after the stream ended", streams.Open())
	}
}

// panickyFeed is a Feed whose Subscribe panics, like a bug would.
type panickyFeed struct{ httpapi.Feed }

func (panickyFeed) Subscribe(context.Context, string, string) (*hub.Subscription, error) {
	panic("a bug in Subscribe")
}

// TestStreamSlotsComeBack: whatever way a stream request ends — a HEAD
// (headers only, nothing held), a client that sends bytes after its
// request (treated as hanging up, not read on for ever), a handler that
// panics — its stream slot and gauge come back.
func TestStreamSlotsComeBack(t *testing.T) {
	st := openStore(t)
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := limit.NewStreams(0, 2)
	handler := httpapi.New(httpapi.Config{Store: st, Feed: h, Streams: streams})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	waitOpen := func(what string, want int) { t.Helper(); waitStreams(t, streams, what, want) }

	// HEAD: 200 with the stream's headers, no body, nothing held — even
	// when the client then reuses its connection.
	for range 5 {
		req, _ := http.NewRequest("HEAD", srv.URL+"/api/boards/lobby/events", nil)
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("HEAD: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	waitOpen("after HEADs", 0)

	// A client that sends junk after its request: the stream ends at
	// once instead of reading junk for ever.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(patience))
	io.WriteString(conn, "GET /api/boards/lobby/events HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	waitOpen("stream open", 1)
	io.WriteString(conn, strings.Repeat("junk", 1000))
	if _, err := io.Copy(io.Discard, resp.Body); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after junk: %v, want the server to close the stream", err)
	}
	waitOpen("after junk", 0)

	// A panicking handler gives its slot back too.
	pst := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, Feed: panickyFeed{h}, Streams: streams}))
	defer pst.Close()
	for range 3 {
		resp, err := pst.Client().Get(pst.URL + "/api/boards/lobby/events")
		if err != nil || resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("panicking stream: %v %v, want 500", resp, err)
		}
		resp.Body.Close()
	}
	waitOpen("after panics", 0)
}

// TestHangUpsNoticedWithoutWrites: a client that closes its end of a
// detached stream frees the stream at once, with nothing written to it (no
// change, no ping: the heartbeat is an hour), in any order of many
// streams; and once none is open, the loop that watches for hang-ups is
// gone, to start again for the next stream.
func TestHangUpsNoticedWithoutWrites(t *testing.T) {
	st := openStore(t)
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := limit.NewStreams(1000, 1000) // counted only with a cap
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Store: st, Feed: h, Streams: streams}))
	defer srv.Close()
	waitOpen := func(what string, want int) { t.Helper(); waitStreams(t, streams, what, want) }
	open := func() net.Conn {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(patience))
		io.WriteString(conn, "GET /api/boards/lobby/events HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream: %v %v", resp, err)
		}
		return conn
	}
	loops := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "epollLoop).run")
	}

	for round := range 2 {
		conns := make([]net.Conn, 20)
		for i := range conns {
			conns[i] = open()
		}
		waitOpen("all open", len(conns))
		if runtime.GOOS == "linux" && loops() != 1 {
			t.Fatalf("round %d: %d hang-up loops running, want 1", round, loops())
		}
		// Odd ones first, then the rest, half by a reset instead of a FIN.
		for i := 1; i < len(conns); i += 2 {
			conns[i].Close()
		}
		waitOpen("odd ones closed", len(conns)/2)
		for i := 0; i < len(conns); i += 2 {
			if i%4 == 0 {
				conns[i].(*net.TCPConn).SetLinger(0) // close sends RST
			}
			conns[i].Close()
		}
		waitOpen("all closed", 0)
		deadline := time.Now().Add(patience)
		for runtime.GOOS == "linux" && loops() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the hang-up loop still runs with no stream open", round)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// endedFeed hands out subscriptions that have already ended, so a stream's
// start logs "stream ended" at once.
type endedFeed struct{ httpapi.Feed }

func (f endedFeed) Subscribe(ctx context.Context, board, cursor string) (*hub.Subscription, error) {
	sub, err := f.Feed.Subscribe(ctx, board, cursor)
	if err == nil {
		if _, err := sub.Replay(ctx); err != nil { // its reset: the next call finds it ended
			return nil, err
		}
		sub.Close()
	}
	return sub, err
}

// panicOn is a slog handler that panics on one message, like a bug on the
// path that logs it would.
type panicOn struct{ msg string }

func (h panicOn) Enabled(context.Context, slog.Level) bool { return true }
func (h panicOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		panic("a bug while " + h.msg)
	}
	return nil
}
func (h panicOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicOn) WithGroup(string) slog.Handler      { return h }

// TestPanicInALiveStreamCostsOneStream: a bug that panics while a detached
// stream starts ends that stream — the client sees it close, its slot and
// count come back once (a second release would let one stream too many
// in; a second Done would panic the process) — and the server goes on.
func TestPanicInALiveStreamCostsOneStream(t *testing.T) {
	st := openStore(t)
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := limit.NewStreams(2, 2)
	handler := httpapi.New(httpapi.Config{Store: st, Feed: endedFeed{h}, Streams: streams,
		Logger: slog.New(panicOn{"stream ended"})})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	for i := range 5 {
		resp, err := srv.Client().Get(srv.URL + "/api/boards/lobby/events")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: %s", i, resp.Status)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("stream %d: %v, want it closed", i, err)
		}
		resp.Body.Close()
	}
	waitStreams(t, streams, "after the panics", 0)
	h.Close()
	waited := make(chan struct{})
	go func() { handler.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(patience):
		t.Fatal("Handler.Wait did not return: a stream's count was never given back")
	}
}

// waitStreams waits until streams holds want slots: the server gives them
// back on its own time, after the client has seen the stream end.
func waitStreams(t *testing.T, streams *limit.Streams, what string, want int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for streams.Open() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d stream slots held, want %d", what, streams.Open(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
