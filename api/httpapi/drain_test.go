package httpapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
)

// A write refused before its body is read (here a foreign Origin) must
// not let the client hold the connection by trickling the body: net/http
// would read up to 256 KiB of it to reuse the connection, with no deadline.
// The body deadline applies from the first byte of the request, so the
// server lets go once it passes.
func TestRefusedWriteCannotHoldTheConnection(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.BodyTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	host := strings.TrimPrefix(e.srv.URL, "http://")
	if _, err := conn.Write([]byte("POST /api/boards/lobby/topics HTTP/1.1\r\nHost: " + host +
		"\r\nOrigin: https://evil.example\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"comm")); err != nil {
		t.Fatal(err)
	}
	// The refusal comes at once, then the server must close the connection
	// within the body deadline, although 99,994 bytes never come. The 20 s
	// bound only fails the test; it is not a timing claim.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if b, err := br.ReadByte(); err == nil {
		rest, _ := br.Peek(br.Buffered())
		t.Fatalf("the server sent more after the refusal: %q", append([]byte{b}, rest...))
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server still holds the connection 20 s after refusing the write (it waits for the body)")
	}
}
