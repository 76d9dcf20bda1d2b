package httpapi_test

// The guards: write rate per client, stream caps, blocklist and the
// security headers, through a real server on loopback.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/blocklist"
	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/limit"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

func wantRetryAfter(t *testing.T, r response, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After %q, want whole seconds in [%d, %d]", r.header.Get("Retry-After"), lo, hi)
	}
}

func loopbackProxy(t *testing.T) limit.Proxies {
	t.Helper()
	ps, err := limit.ParseProxies("127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestRateLimitWrites: a client gets its burst, then 429 rate_limited with
// a Retry-After, and the refused write changes nothing. Posts, edits and
// deletes share the bucket; reads are never limited. X-Forwarded-For names
// a different client only when the peer is a trusted proxy.
func TestRateLimitWrites(t *testing.T) {
	const perMinute = 6 // burst 6, then one per 10 s
	e := newEnv(t, func(c *httpapi.Config) { c.Writes = limit.NewWrites(perMinute) })
	var mine []created
	for i := range perMinute - 1 {
		mine = append(mine, e.post(t, "lobby", "Ada", "post "+strconv.Itoa(i)))
	}
	r := e.do(t, "PATCH", topicPath("lobby", mine[0].topic.ID), js(t, shared.EditTopic{Comment: "edited"}),
		jsonHdr("Authorization", bearer(mine[0].token)))
	wantStatus(t, r, http.StatusOK) // the burst's last token
	before := e.state(t, "lobby")

	for _, w := range []struct{ method, path, body string }{
		{"POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: "one too many"})},
		{"PATCH", topicPath("lobby", mine[1].topic.ID), js(t, shared.EditTopic{Comment: "again"})},
		{"DELETE", topicPath("lobby", mine[2].topic.ID), ""},
		{"POST", "/api/boards/lobby/topics", "not even JSON"}, // refused before the body is read
	} {
		r := e.do(t, w.method, w.path, w.body, jsonHdr("Authorization", bearer(mine[1].token)))
		wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
		wantRetryAfter(t, r, 1, 10)
		if !strings.Contains(string(r.body), "second") {
			t.Errorf("429 message does not say how long to wait: %s", r.body)
		}
	}
	e.unchanged(t, "lobby", before)
	for range 20 {
		e.snapshot(t, "lobby", "") // reads are free
	}
	// The moderator cleaning up is not limited.
	for _, c := range mine {
		r := e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(moderatorToken)))
		wantStatus(t, r, http.StatusNoContent)
	}
	before = e.state(t, "lobby")

	// Without a trusted proxy, X-Forwarded-For is the client's own words.
	r = e.do(t, "POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: "spoofed"}),
		jsonHdr("X-Forwarded-For", "203.0.113.9"))
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	e.unchanged(t, "lobby", before)

	// Behind a trusted proxy each forwarded address has its own bucket.
	p := newEnv(t, func(c *httpapi.Config) {
		c.Writes = limit.NewWrites(perMinute)
		c.Proxies = loopbackProxy(t)
	})
	for i := range perMinute {
		p.post(t, "lobby", "", "from A "+strconv.Itoa(i), "X-Forwarded-For", "203.0.113.1")
	}
	r = p.do(t, "POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: "A again"}),
		jsonHdr("X-Forwarded-For", "203.0.113.1"))
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	// A client cannot reset its bucket by prepending a made-up hop.
	r = p.do(t, "POST", "/api/boards/lobby/topics", js(t, shared.CreateTopic{Comment: "A in disguise"}),
		jsonHdr("X-Forwarded-For", "198.51.100.7, 203.0.113.1"))
	wantError(t, r, http.StatusTooManyRequests, shared.CodeRateLimited)
	p.post(t, "lobby", "", "from B", "X-Forwarded-For", "203.0.113.2")
}

// TestRateLimitOff: no limiter, no limit.
func TestRateLimitOff(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Writes = limit.NewWrites(0) })
	for i := range 3 * limit.WriteBurst {
		e.post(t, "lobby", "", strconv.Itoa(i))
	}
}

// TestStreamCaps: SSE streams and held long polls count against a cap per
// client address and one overall; beyond either the answer is 503
// unavailable with a Retry-After, and a slot frees when a stream ends.
func TestStreamCaps(t *testing.T) {
	e := newStreamEnv(t, hubOptions{configure: func(c *httpapi.Config) {
		c.Streams = limit.NewStreams(3, 2)
		c.Proxies = loopbackProxy(t)
	}})
	from := func(addr string) http.Header { return hdr("X-Forwarded-For", addr) }
	a1 := e.open(t, "/api/boards/lobby/events", from("203.0.113.1"))
	e.wantReset(t, a1.next(t), "lobby")
	a2 := e.open(t, "/api/boards/lobby/events", from("203.0.113.1"))
	e.wantReset(t, a2.next(t), "lobby")

	refused := func(addr, path string, want string) {
		t.Helper()
		r := e.do(t, "GET", path, "", from(addr))
		wantError(t, r, http.StatusServiceUnavailable, shared.CodeUnavailable)
		wantRetryAfter(t, r, 5, 15)
		if !strings.Contains(string(r.body), want) {
			t.Fatalf("503 for %s says %s, want it to mention %q", addr, r.body, want)
		}
	}
	refused("203.0.113.1", "/api/boards/lobby/events", "Your address")
	refused("203.0.113.1", "/api/boards/other/changes?wait=0", "Your address")
	e.waitMetric(t, "kairan_rejected_total", equals(2), "reason", "streams_client")

	b1 := e.open(t, "/api/boards/lobby/events", from("203.0.113.2"))
	e.wantReset(t, b1.next(t), "lobby")
	refused("203.0.113.2", "/api/boards/lobby/events", "as many live connections")
	refused("203.0.113.3", "/api/boards/lobby/changes?wait=0", "as many live connections")

	// A stream that ends gives its slot back (the handler returns a
	// moment after the client hangs up, so ask until it is free).
	a1.cancel()
	deadline := time.Now().Add(patience)
	for {
		r := e.do(t, "GET", "/api/boards/lobby/changes?wait=0", "", from("203.0.113.3"))
		if r.status == http.StatusOK {
			break
		}
		wantError(t, r, http.StatusServiceUnavailable, shared.CodeUnavailable)
		if time.Now().After(deadline) {
			t.Fatalf("slot still taken %v after the stream ended", patience)
		}
		time.Sleep(5 * time.Millisecond) // nothing to wait on: the server's handler ends on its own
	}
	// The long poll above completed, so its slot is back at once: the
	// server is at 2 of 3 again and one more stream opens.
	c1 := e.open(t, "/api/boards/lobby/events", from("203.0.113.3"))
	e.wantReset(t, c1.next(t), "lobby")
	refused("203.0.113.4", "/api/boards/lobby/events", "as many live connections")
}

// TestBlocklist: posts and edits holding a listed word or phrase, in any
// case or width, are refused with 422 blocked and change nothing; words
// that merely contain a listed word pass.
func TestBlocklist(t *testing.T) {
	list, err := blocklist.Parse(strings.NewReader("# words this board refuses\nspam\nbuy now\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *httpapi.Config) { c.Blocklist = list })
	c := e.post(t, "lobby", "Ada", "the spammer was caught") // "spammer" is not "spam"
	before := e.state(t, "lobby")
	for _, in := range []shared.CreateTopic{
		{Comment: "cheap SPAM here"},
		{Comment: "ｓｐａｍ in full width"},
		{Comment: "ＳＰＡＭ"},
		{Comment: "Buy\n  NOW!"},
		{Author: "Spam King", Comment: "an innocent comment"},
	} {
		r := e.do(t, "POST", "/api/boards/lobby/topics", js(t, in), jsonHdr("Idempotency-Key", "guard-key-0123456789abcdef-"+strconv.Itoa(len(in.Comment))))
		wantError(t, r, http.StatusUnprocessableEntity, shared.CodeBlocked)
		if strings.Contains(strings.ToLower(string(r.body)), "spam") {
			t.Errorf("the error repeats the blocked word: %s", r.body)
		}
	}
	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), js(t, shared.EditTopic{Comment: "now buy-now"}),
		jsonHdr("Authorization", bearer(c.token)))
	wantError(t, r, http.StatusUnprocessableEntity, shared.CodeBlocked)
	e.unchanged(t, "lobby", before)

	r = e.do(t, "PATCH", topicPath("lobby", c.topic.ID), js(t, shared.EditTopic{Comment: "buy it now"}),
		jsonHdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
}

// TestSecurityHeaders: every answer — the page, API JSON, errors, refusals
// — forbids framing and sniffing and sends no referrer; the page's policy
// lets wasm compile but allows no inline script and no other origin.
func TestSecurityHeaders(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>kairan</title>"))
	})
	e := newEnv(t, func(c *httpapi.Config) { c.App = page; c.Writes = limit.NewWrites(1) })
	e.post(t, "lobby", "", "uses the only token")
	for _, tc := range []struct {
		method, path, body string
		status             int
		page               bool
	}{
		{"GET", "/", "", 200, true},
		{"GET", "/some/page", "", 200, true},
		{"GET", "/api/boards/lobby", "", 200, false},
		{"GET", "/api/nothing-here", "", 404, false},
		{"GET", "/api/boards/lobby?limit=0", "", 400, false},
		{"POST", "/api/boards/lobby/topics", `{"comment":"x"}`, 429, false},
		{"GET", "/healthz", "", 200, false},
		{"GET", "/metrics", "", 200, false},
	} {
		r := e.do(t, tc.method, tc.path, tc.body, jsonHdr())
		if r.status != tc.status {
			t.Fatalf("%s %s = %s, want %d", tc.method, tc.path, r, tc.status)
		}
		h := r.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if tc.page {
			for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval';", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s: CSP %q lacks %q", tc.path, csp, want)
				}
			}
		} else if !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q, want default-src 'none' for non-pages", tc.path, csp)
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP %q allows inline code, eval or any origin", tc.path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
			"X-Frame-Options": "DENY"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS open without configuration", tc.path)
		}
	}
}

// TestClientReadsRetryAfter: the typed client hands the server's
// Retry-After to its caller (the courier waits at least that long).
func TestClientReadsRetryAfter(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Writes = limit.NewWrites(1) }) // then one a minute
	c := &client.Client{Base: e.srv.URL}
	if _, err := c.Post(context.Background(), "lobby", shared.CreateTopic{Comment: "first"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err := c.Post(context.Background(), "lobby", shared.CreateTopic{Comment: "second"}, "")
	var se *shared.Error
	if !errors.As(err, &se) || se.Code != shared.CodeRateLimited {
		t.Fatalf("second post: %v, want rate_limited", err)
	}
	if se.RetryAfter < 50*time.Second || se.RetryAfter > 60*time.Second {
		t.Fatalf("RetryAfter = %v, want about a minute", se.RetryAfter)
	}
}
