package httpapi_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/api/store"
)

// TestDetachedStreamOnTheWire: an SSE stream taken over from net/http
// answers with a proper HTTP/1.1 head carrying every header the
// middleware set, a body delimited by the connection (no chunking), and
// ends — connection closed, goroutines gone (Handler.Wait returns), stream
// slot given back — when the hub closes. A HEAD request is served in place.
func TestDetachedStreamOnTheWire(t *testing.T) {
	dialect, target := pgtest.Target(t)
	st, err := store.Open(context.Background(), store.Options{Dialect: store.Dialect(dialect), Target: target})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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

	// A HEAD is not taken over: net/http answers it, without a body.
	req, _ := http.NewRequest("HEAD", srv.URL+"/api/boards/lobby/events", nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("HEAD while the one slot is held: %v %v, want 503", r, err) // the cap still counts it
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
