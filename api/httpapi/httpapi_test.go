package httpapi_test

// These tests drive the REST part of the wire contract (DESIGN.md section 3)
// through a real HTTP server on loopback, backed by a real SQLite store.
// Requests are raw net/http so statuses, headers and bodies are checked
// exactly; a few go through app/client to prove the typed client decodes
// the server's errors.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

const moderatorToken = "moderator-token-0123456789"

// ---------------------------------------------------------------------------
// Test environment and helpers

type env struct {
	srv *httptest.Server
	st  *store.Store
}

// openStore opens a fresh store — SQLite, or PostgreSQL with
// KAIRAN_STORE_DIALECT=pg — closed when the test ends (after the servers
// started later, as cleanups run in reverse).
func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	dialect, target := pgtest.Target(tb)
	st, err := store.Open(context.Background(), store.Options{Dialect: store.Dialect(dialect), Target: target})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return st
}

// newEnv opens a fresh SQLite store and serves the API on loopback. The
// store's clock runs in a non-UTC zone with nanoseconds and moves 1.5 s on
// every reading, so the tests can see that times go out in UTC, truncated
// consistently, and that an edit is later than the post, without sleeping.
func newEnv(t *testing.T, configure ...func(*httpapi.Config)) *env {
	t.Helper()
	st := openStore(t)
	var ticks atomic.Int64
	base := time.Date(2026, 5, 17, 23, 30, 0, 123456789, time.FixedZone("UTC+9", 9*3600))
	st.Now = func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * 1500 * time.Millisecond) }

	cfg := httpapi.Config{Store: st, ModeratorToken: moderatorToken}
	for _, c := range configure {
		c(&cfg)
	}
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(srv.Close) // runs before the store closes
	return &env{srv: srv, st: st}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	return strconv.Itoa(r.status) + " " + strconv.Quote(clip(string(r.body)))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// hdr builds a header from key/value pairs; a key may repeat.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// jsonHdr is hdr with "Content-Type: application/json" added.
func jsonHdr(kv ...string) http.Header {
	h := hdr(kv...)
	h.Set("Content-Type", "application/json")
	return h
}

func bearer(token string) string { return "Bearer " + token }

// send performs one request; it does not touch t, so goroutines may use it.
func (e *env) send(method, path string, body io.Reader, h http.Header) (response, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, body)
	if err != nil {
		return response{}, err
	}
	for k, vs := range h {
		req.Header[k] = slices.Clone(vs)
	}
	if host := h.Get("Host"); host != "" { // net/http sends req.Host, not the header
		req.Host = host
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func (e *env) do(t *testing.T, method, path, body string, h http.Header) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	resp, err := e.send(method, path, r, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (e *env) cursor(seq int64) string { return e.st.Epoch() + "." + strconv.FormatInt(seq, 10) }

// js encodes v as JSON; only for valid UTF-8 input (Marshal would replace
// invalid bytes), invalid bodies are written by hand.
func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r)
	}
}

func wantJSONType(t *testing.T, r response) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", r.header.Get("Content-Type"))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		t.Fatalf("Content-Type %q: charset must be utf-8", r.header.Get("Content-Type"))
	}
}

// fields asserts raw is a JSON object with exactly the given keys.
func fields(t *testing.T, raw []byte, keys ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		t.Fatalf("not a JSON object (%v): %q", err, clip(string(raw)))
	}
	got := slices.Sorted(maps.Keys(m))
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("object has keys %q, want %q: %q", got, want, clip(string(raw)))
	}
	return m
}

func jsonString(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		t.Fatalf("%s is not a JSON string", raw)
	}
	return s
}

// wantError asserts the contract's error response: the status, a JSON
// Content-Type, a body of exactly {"error":{"code":…,"message":…}} with the
// code and a short, non-empty sentence, and WWW-Authenticate on a 401.
func wantError(t *testing.T, r response, status int, code shared.Code) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", r.status, status, code, r)
	}
	wantJSONType(t, r)
	outer := fields(t, r.body, "error")
	inner := fields(t, outer["error"], "code", "message")
	if got := jsonString(t, inner["code"]); got != string(code) {
		t.Fatalf("error code %q, want %q; body %s", got, code, r)
	}
	msg := jsonString(t, inner["message"])
	switch {
	case strings.TrimSpace(msg) == "":
		t.Fatalf("error %s has an empty message", code)
	case !utf8.ValidString(msg) || len(msg) >= 300:
		t.Fatalf("error message is not short valid text: %q", clip(msg))
	case !strings.HasSuffix(msg, "."):
		t.Fatalf("error message %q is not a sentence", msg)
	}
	if status == http.StatusUnauthorized {
		if wa := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
			t.Fatalf("401 with WWW-Authenticate %q, want a Bearer challenge", wa)
		}
	}
}

var timePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$`)

// wantTopic checks a Topic's wire form: exactly its six fields, and the
// image with exactly its four when it has one, times in RFC 3339 UTC.
func wantTopic(t *testing.T, raw []byte) shared.Topic {
	t.Helper()
	keys := []string{"id", "board", "author", "comment", "created_at", "updated_at"}
	var probe map[string]json.RawMessage
	if json.Unmarshal(raw, &probe) == nil && probe["image"] != nil {
		keys = append(keys, "image")
	}
	m := fields(t, raw, keys...)
	if img, ok := m["image"]; ok {
		fields(t, img, "id", "type", "width", "height")
	}
	for _, k := range []string{"created_at", "updated_at"} {
		s := jsonString(t, m[k])
		if !timePattern.MatchString(s) {
			t.Fatalf("%s %q is not RFC 3339 UTC at microsecond precision", k, s)
		}
	}
	var topic shared.Topic
	if err := json.Unmarshal(raw, &topic); err != nil {
		t.Fatalf("decode topic: %v: %s", err, raw)
	}
	if topic.ID <= 0 {
		t.Fatalf("topic id %d", topic.ID)
	}
	return topic
}

// snapshot GETs a board and checks the Snapshot's wire form.
func (e *env) snapshot(t *testing.T, board, query string) (shared.Snapshot, []byte) {
	t.Helper()
	r := e.do(t, "GET", "/api/boards/"+board+query, "", nil)
	wantStatus(t, r, http.StatusOK)
	wantJSONType(t, r)
	m := fields(t, r.body, "board", "cursor", "topics")
	snap := shared.Snapshot{Board: jsonString(t, m["board"]), Cursor: jsonString(t, m["cursor"]), Topics: []shared.Topic{}}
	if snap.Board != board {
		t.Fatalf("snapshot board %q, want %q", snap.Board, board)
	}
	if !strings.HasPrefix(snap.Cursor, e.st.Epoch()+".") {
		t.Fatalf("snapshot cursor %q is not of epoch %q", snap.Cursor, e.st.Epoch())
	}
	if c, ok := shared.ParseCursor(snap.Cursor); !ok || c.Epoch != e.st.Epoch() {
		t.Fatalf("snapshot cursor %q does not parse", snap.Cursor)
	}
	var raws []json.RawMessage
	if string(m["topics"]) == "null" || json.Unmarshal(m["topics"], &raws) != nil || raws == nil {
		t.Fatalf("topics is %s, want a JSON array", m["topics"])
	}
	for i, raw := range raws {
		topic := wantTopic(t, raw)
		if topic.Board != board {
			t.Fatalf("topic %d of board %q has board %q", topic.ID, board, topic.Board)
		}
		if i > 0 && topic.ID >= snap.Topics[i-1].ID {
			t.Fatalf("topics not newest first: id %d after %d", topic.ID, snap.Topics[i-1].ID)
		}
		snap.Topics = append(snap.Topics, topic)
	}
	return snap, r.body
}

// state is the board's whole visible state (cursor and topics) as bytes,
// for "nothing changed" checks.
func (e *env) state(t *testing.T, board string) string {
	t.Helper()
	_, body := e.snapshot(t, board, "?limit=500")
	return string(body)
}

func (e *env) unchanged(t *testing.T, board, before string) {
	t.Helper()
	if after := e.state(t, board); after != before {
		t.Fatalf("board %q changed:\nbefore %s\nafter  %s", board, clip(before), clip(after))
	}
}

type created struct {
	topic shared.Topic
	token string
	raw   []byte
}

// decodeCreated checks the wire form {"topic":Topic,"owner_token":str}.
func decodeCreated(t *testing.T, r response) created {
	t.Helper()
	wantJSONType(t, r)
	m := fields(t, r.body, "topic", "owner_token")
	c := created{topic: wantTopic(t, m["topic"]), token: jsonString(t, m["owner_token"]), raw: r.body}
	if c.token == "" || strings.ContainsAny(c.token, " \t\r\n") {
		t.Fatalf("owner_token %q", c.token)
	}
	return c
}

// post creates a topic over HTTP and expects 201.
func (e *env) post(t *testing.T, board, author, comment string, kv ...string) created {
	t.Helper()
	r := e.do(t, "POST", "/api/boards/"+board+"/topics",
		js(t, shared.CreateTopic{Author: author, Comment: comment}), jsonHdr(kv...))
	wantStatus(t, r, http.StatusCreated)
	return decodeCreated(t, r)
}

func topicPath(board string, id int64) string {
	return "/api/boards/" + board + "/topics/" + strconv.FormatInt(id, 10)
}

// ---------------------------------------------------------------------------
// Health and routing

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/healthz", "", nil)
	wantStatus(t, r, http.StatusOK)
	wantJSONType(t, r)
	if got := strings.TrimSuffix(string(r.body), "\n"); got != `{"status":"ok"}` {
		t.Fatalf("body %q", got)
	}
}

func TestUnknownAPIPath(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/nope"},
		{"POST", "/api/nope"},
		{"GET", "/api/"},
		{"GET", "/api/boards"},
		{"GET", "/api/boards/"}, // an empty slug cannot even route
		{"GET", "/api/boards/lobby/topics"},
		{"GET", "/api/boards/lobby/topics/1"},
		{"DELETE", "/api/boards/lobby"},
		{"PUT", "/api/boards/lobby/topics/1"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, "", nil)
			wantError(t, r, http.StatusNotFound, shared.CodeNotFound)
		})
	}
}

// panickyStore is the real store, except that reading board "boom" panics.
type panickyStore struct{ *store.Store }

func (p panickyStore) Snapshot(ctx context.Context, board string, limit int) (shared.Snapshot, error) {
	if board == "boom" {
		panic("kaboom: internal detail")
	}
	return p.Store.Snapshot(ctx, board, limit)
}

// TestServerFailures: a panic and a dead database answer with the
// contract's error body and no internal detail.
func TestServerFailures(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Store = panickyStore{c.Store.(*store.Store)} })
	r := e.do(t, "GET", "/api/boards/boom", "", nil)
	wantError(t, r, http.StatusInternalServerError, shared.CodeInternal)
	if strings.Contains(string(r.body), "kaboom") {
		t.Fatalf("500 leaks the panic: %s", r.body)
	}
	e.snapshot(t, "lobby", "") // the server still serves

	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.wantHealth(t, "database_error") // not storage trouble kairan knows
	for _, r := range []response{
		e.do(t, "GET", "/api/boards/lobby", "", nil),
		e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"into the void"}`, jsonHdr()),
	} {
		wantError(t, r, http.StatusInternalServerError, shared.CodeInternal)
		if strings.Contains(strings.ToLower(string(r.body)), "sql") || strings.Contains(string(r.body), "closed") {
			t.Fatalf("500 leaks internal detail: %s", r.body)
		}
	}
}

// ---------------------------------------------------------------------------
// GET /api/boards/{board}

func TestGetEmptyBoard(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"", "?limit=1", "?limit=500"} {
		r := e.do(t, "GET", "/api/boards/empty"+q, "", nil)
		wantStatus(t, r, http.StatusOK)
		wantJSONType(t, r)
		want := `{"board":"empty","cursor":"` + e.cursor(0) + `","topics":[]}`
		if got := strings.TrimSuffix(string(r.body), "\n"); got != want {
			t.Fatalf("GET %s: body %q, want %q", q, got, want)
		}
	}
	// A read from a foreign page is fine: only writes are origin-checked.
	r := e.do(t, "GET", "/api/boards/empty", "", hdr("Origin", "https://evil.example"))
	wantStatus(t, r, http.StatusOK)
}

func TestBoardSlugs(t *testing.T) {
	e := newEnv(t)
	valid := []string{"a", "0", "lobby", "night-shift", "a-", "a--b", "9lives", strings.Repeat("a", 64)}
	for _, board := range valid {
		snap, _ := e.snapshot(t, board, "")
		if snap.Cursor != e.cursor(0) || len(snap.Topics) != 0 {
			t.Fatalf("board %q: %+v", board, snap)
		}
	}
	invalid := map[string]string{ // name → escaped path segment
		"upper case":     "Lobby",
		"leading dash":   "-x",
		"65 characters":  strings.Repeat("a", 65),
		"underscore":     "a_b",
		"dot":            "a.b",
		"space":          "a%20b",
		"non-ASCII":      "%C3%A9t%C3%A9",
		"escaped slash":  "a%2Fb",
		"invalid UTF-8":  "a%FF",
		"only dash":      "-",
		"NUL":            "a%00",
		"upper in tail":  "abC",
		"leading dot":    ".a",
		"emoji":          "%F0%9F%99%82",
		"trailing space": "a%20",
	}
	for name, seg := range invalid {
		t.Run(name, func(t *testing.T) {
			wantError(t, e.do(t, "GET", "/api/boards/"+seg, "", nil), http.StatusBadRequest, shared.CodeInvalidBoard)
			wantError(t, e.do(t, "GET", "/api/boards/"+seg+"?limit=0", "", nil), http.StatusBadRequest, shared.CodeInvalidBoard)
			wantError(t, e.do(t, "POST", "/api/boards/"+seg+"/topics", `{"comment":"hi"}`, jsonHdr()),
				http.StatusBadRequest, shared.CodeInvalidBoard)
			wantError(t, e.do(t, "PATCH", "/api/boards/"+seg+"/topics/1", `{"comment":"hi"}`, jsonHdr("Authorization", bearer("x"))),
				http.StatusBadRequest, shared.CodeInvalidBoard)
			wantError(t, e.do(t, "DELETE", "/api/boards/"+seg+"/topics/1", "", hdr("Authorization", bearer(moderatorToken))),
				http.StatusBadRequest, shared.CodeInvalidBoard)
		})
	}
	// Nothing was written anywhere: the head is still 0.
	if snap, _ := e.snapshot(t, "lobby", ""); snap.Cursor != e.cursor(0) {
		t.Fatalf("cursor %q after invalid writes, want %q", snap.Cursor, e.cursor(0))
	}
}

func TestGetBoardLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Another board's topic must never show up on "busy".
	if _, err := e.st.CreateTopic(ctx, store.NewTopic{Board: "other", Author: "x", Comment: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 101 {
		c, err := e.st.CreateTopic(ctx, store.NewTopic{Board: "busy", Author: "ann", Comment: "topic " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.Topic.ID)
	}
	slices.Reverse(ids) // newest first
	newest := ids[0]

	for _, tc := range []struct {
		query string
		n     int
	}{
		{"", 100}, // the default
		{"?limit=1", 1},
		{"?limit=5", 5},
		{"?limit=100", 100},
		{"?limit=101", 101},
		{"?limit=500", 101},
		{"?limit=500&other=1", 101},
	} {
		snap, _ := e.snapshot(t, "busy", tc.query)
		got := make([]int64, 0, len(snap.Topics))
		for _, tp := range snap.Topics {
			got = append(got, tp.ID)
		}
		if !slices.Equal(got, ids[:tc.n]) {
			t.Errorf("GET busy%s: ids %v, want %v", tc.query, got, ids[:tc.n])
		}
		if snap.Cursor != e.cursor(102) {
			t.Errorf("GET busy%s: cursor %q, want %q", tc.query, snap.Cursor, e.cursor(102))
		}
		if len(snap.Topics) > 0 && (snap.Topics[0].ID != newest || snap.Topics[0].Comment != "topic 100") {
			t.Errorf("GET busy%s: first topic %+v, want the newest", tc.query, snap.Topics[0])
		}
	}

	for _, limit := range []string{"0", "501", "abc", "-1", "1.5", "1e2", "0x10", "%201", "1%20", "99999999999999999999", "500000", "-0%0A"} {
		r := e.do(t, "GET", "/api/boards/busy?limit="+limit, "", nil)
		wantError(t, r, http.StatusBadRequest, shared.CodeInvalidLimit)
	}
}

func TestCursorAdvancesOnlyOnWrites(t *testing.T) {
	e := newEnv(t)
	snap, _ := e.snapshot(t, "lobby", "")
	if snap.Cursor != e.cursor(0) {
		t.Fatalf("fresh cursor %q, want %q", snap.Cursor, e.cursor(0))
	}
	c := e.post(t, "lobby", "ann", "first")
	if snap, _ = e.snapshot(t, "lobby", ""); snap.Cursor != e.cursor(1) {
		t.Fatalf("cursor after post %q, want %q", snap.Cursor, e.cursor(1))
	}
	// Failed writes do not move it.
	wantError(t, e.do(t, "POST", "/api/boards/lobby/topics", `{}`, jsonHdr()), http.StatusBadRequest, shared.CodeInvalidComment)
	wantError(t, e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"x"}`, jsonHdr("Authorization", bearer("wrong"))),
		http.StatusForbidden, shared.CodeForbidden)
	if snap, _ = e.snapshot(t, "lobby", ""); snap.Cursor != e.cursor(1) {
		t.Fatalf("cursor after failed writes %q, want %q", snap.Cursor, e.cursor(1))
	}
	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"second"}`, jsonHdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
	if snap, _ = e.snapshot(t, "lobby", ""); snap.Cursor != e.cursor(2) {
		t.Fatalf("cursor after edit %q, want %q", snap.Cursor, e.cursor(2))
	}
	r = e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusNoContent)
	if snap, _ = e.snapshot(t, "lobby", ""); snap.Cursor != e.cursor(3) || len(snap.Topics) != 0 {
		t.Fatalf("after delete: %+v, want cursor %q and no topics", snap, e.cursor(3))
	}
}

// ---------------------------------------------------------------------------
// POST /api/boards/{board}/topics

func TestCreateTopic(t *testing.T) {
	e := newEnv(t)
	rep := strings.Repeat
	tests := []struct {
		name        string
		contentType string
		body        string
		author      string // as stored
		comment     string // as stored
	}{
		{name: "plain", body: `{"author":"Ada","comment":"hello"}`, author: "Ada", comment: "hello"},
		{name: "both trimmed", body: js(t, map[string]string{"author": " \t Ada Lovelace \n", "comment": "\n  hello world \t "}),
			author: "Ada Lovelace", comment: "hello world"},
		{name: "author missing", body: `{"comment":"hi"}`, author: "anonymous", comment: "hi"},
		{name: "author empty", body: `{"author":"","comment":"hi"}`, author: "anonymous", comment: "hi"},
		{name: "author only spaces", body: `{"author":"   ","comment":"hi"}`, author: "anonymous", comment: "hi"},
		{name: "author null", body: `{"author":null,"comment":"hi"}`, author: "anonymous", comment: "hi"},
		{name: "author 40 multibyte runes", body: js(t, map[string]string{"author": rep("ü", 40), "comment": "hi"}),
			author: rep("ü", 40), comment: "hi"},
		{name: "author 40 runes after trimming", body: js(t, map[string]string{"author": "  " + rep("a", 40) + "  ", "comment": "hi"}),
			author: rep("a", 40), comment: "hi"},
		{name: "comment 2000 ASCII", body: js(t, map[string]string{"comment": rep("a", 2000)}), author: "anonymous", comment: rep("a", 2000)},
		{name: "comment 2000 two-byte runes", body: js(t, map[string]string{"comment": rep("é", 2000)}), author: "anonymous", comment: rep("é", 2000)},
		{name: "comment 2000 four-byte runes", body: js(t, map[string]string{"comment": rep("🙂", 2000)}), author: "anonymous", comment: rep("🙂", 2000)},
		{name: "comment 2000 runes after trimming", body: js(t, map[string]string{"comment": " \n\t" + rep("ß", 2000) + "\r\n "}),
			author: "anonymous", comment: rep("ß", 2000)},
		{name: "newline and tab kept inside", body: js(t, map[string]string{"comment": "line one\n\tline two"}),
			author: "anonymous", comment: "line one\n\tline two"},
		{name: "CRLF becomes LF", body: js(t, map[string]string{"comment": "a\r\nb"}), author: "anonymous", comment: "a\nb"},
		{name: "HTML characters kept", body: js(t, map[string]string{"author": "<b>", "comment": `<script>&"'</script>`}),
			author: "<b>", comment: `<script>&"'</script>`},
		{name: "escaped unicode", body: `{"comment":"caf\u00e9 \ud83d\ude42"}`, author: "anonymous", comment: "café 🙂"},
		{name: "charset utf-8", contentType: "application/json; charset=utf-8", body: `{"comment":"cs"}`, author: "anonymous", comment: "cs"},
		{name: "charset UTF-8", contentType: "application/json; charset=UTF-8", body: `{"comment":"cs"}`, author: "anonymous", comment: "cs"},
		{name: "charset without space", contentType: "application/json;charset=utf-8", body: `{"comment":"cs"}`, author: "anonymous", comment: "cs"},
		{name: "white space around the object", body: " \n{\"comment\":\"ws\"}\n ", author: "anonymous", comment: "ws"},
	}
	var lastID int64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := jsonHdr()
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			r := e.do(t, "POST", "/api/boards/lobby/topics", tt.body, h)
			wantStatus(t, r, http.StatusCreated)
			c := decodeCreated(t, r)
			got := c.topic
			if got.Board != "lobby" || got.Author != tt.author || got.Comment != tt.comment {
				t.Fatalf("topic %+v, want board lobby, author %q, comment %q", got, tt.author, clip(tt.comment))
			}
			if got.ID <= lastID {
				t.Fatalf("id %d not above the previous %d", got.ID, lastID)
			}
			lastID = got.ID
			if !got.CreatedAt.Equal(got.UpdatedAt) {
				t.Fatalf("a new topic has created_at %v != updated_at %v", got.CreatedAt, got.UpdatedAt)
			}
			snap, body := e.snapshot(t, "lobby", "")
			if snap.Cursor != e.cursor(int64(i+1)) {
				t.Fatalf("cursor %q, want %q", snap.Cursor, e.cursor(int64(i+1)))
			}
			if len(snap.Topics) != i+1 || snap.Topics[0] != got {
				t.Fatalf("GET shows %d topics, first %+v; want %d, first %+v", len(snap.Topics), snap.Topics[0], i+1, got)
			}
			if bytes.Contains(body, []byte(c.token)) || bytes.Contains(body, []byte("owner_token")) {
				t.Fatalf("GET shows the owner token: %s", clip(string(body)))
			}
		})
	}
}

// badWrites are bodies that POST and PATCH both refuse, with the code.
func badWrites(t *testing.T) []struct {
	name string
	body string
	code shared.Code
} {
	rep := strings.Repeat
	return []struct {
		name string
		body string
		code shared.Code
	}{
		{"empty body", "", shared.CodeInvalidJSON},
		{"white space body", " \n\t ", shared.CodeInvalidJSON},
		{"empty object", `{}`, shared.CodeInvalidComment},
		{"empty comment", `{"comment":""}`, shared.CodeInvalidComment},
		{"white space comment", js(t, map[string]string{"comment": " \t\n\r\n "}), shared.CodeInvalidComment},
		{"ideographic space comment", `{"comment":"\u3000\u00a0"}`, shared.CodeInvalidComment},
		{"comment 2001 ASCII", js(t, map[string]string{"comment": rep("a", 2001)}), shared.CodeInvalidComment},
		{"comment 2001 two-byte runes", js(t, map[string]string{"comment": rep("é", 2001)}), shared.CodeInvalidComment},
		{"comment 2001 four-byte runes", js(t, map[string]string{"comment": rep("🙂", 2001)}), shared.CodeInvalidComment},
		{"comment 2001 mixed runes with spaces", js(t, map[string]string{"comment": "  " + rep("aé🙂", 667) + "  "}), shared.CodeInvalidComment},
		{"comment with NUL", `{"comment":"a\u0000b"}`, shared.CodeInvalidComment},
		{"comment with BEL", `{"comment":"ring \u0007"}`, shared.CodeInvalidComment},
		{"comment with bare CR", `{"comment":"a\rb"}`, shared.CodeInvalidComment},
		{"comment with ESC", `{"comment":"\u001b[2Jhi"}`, shared.CodeInvalidComment},
		{"comment with DEL", `{"comment":"a\u007fb"}`, shared.CodeInvalidComment},
		{"comment with NEL", `{"comment":"a\u0085b"}`, shared.CodeInvalidComment},
		{"comment with invalid UTF-8 byte", "{\"comment\":\"ok \xff ok\"}", shared.CodeInvalidComment},
		{"comment with truncated UTF-8", "{\"comment\":\"euro \xe2\x82\"}", shared.CodeInvalidComment},
		{"comment with overlong UTF-8", "{\"comment\":\"\xc0\xaf\"}", shared.CodeInvalidComment},
		{"comment with UTF-8 surrogate", "{\"comment\":\"\xed\xa0\x80\"}", shared.CodeInvalidComment},
		{"comment null", `{"comment":null}`, shared.CodeInvalidComment},
		{"comment number", `{"comment":5}`, shared.CodeInvalidJSON},
		{"comment bool", `{"comment":true}`, shared.CodeInvalidJSON},
		{"comment array", `{"comment":["hi"]}`, shared.CodeInvalidJSON},
		{"comment object", `{"comment":{"text":"hi"}}`, shared.CodeInvalidJSON},
		{"unterminated object", `{"comment":"hi"`, shared.CodeInvalidJSON},
		{"unquoted key", `{comment:"hi"}`, shared.CodeInvalidJSON},
		{"single quotes", `{"comment":'hi'}`, shared.CodeInvalidJSON},
		{"trailing comma", `{"comment":"hi",}`, shared.CodeInvalidJSON},
		{"raw NUL in string", "{\"comment\":\"a\x00b\"}", shared.CodeInvalidJSON},
		{"raw newline in string", "{\"comment\":\"a\nb\"}", shared.CodeInvalidJSON},
		{"not JSON", `comment=hi`, shared.CodeInvalidJSON},
		{"array body", `[{"comment":"hi"}]`, shared.CodeInvalidJSON},
		{"string body", `"hi"`, shared.CodeInvalidJSON},
		{"null body", `null`, shared.CodeInvalidJSON},
		{"number body", `42`, shared.CodeInvalidJSON},
		{"byte order mark", "\ufeff{\"comment\":\"hi\"}", shared.CodeInvalidJSON},
		{"trailing garbage", `{"comment":"hi"} x`, shared.CodeInvalidJSON},
		{"two objects", `{"comment":"hi"}{"comment":"hi"}`, shared.CodeInvalidJSON},
		{"two objects with space", `{"comment":"hi"} {"comment":"hi"}`, shared.CodeInvalidJSON},
		{"stray brace", `{"comment":"hi"}}`, shared.CodeInvalidJSON},
		{"stray bracket", `{"comment":"hi"}]`, shared.CodeInvalidJSON},
		{"trailing comma after object", `{"comment":"hi"},`, shared.CodeInvalidJSON},
		{"invalid UTF-8 after object", "{\"comment\":\"hi\"}\xff", shared.CodeInvalidJSON},
		{"invalid UTF-8 in a key", "{\"comment\":\"hi\",\"\xff\":1}", shared.CodeInvalidJSON},
		{"too large", js(t, map[string]string{"comment": rep("a", 20<<10)}), shared.CodeBodyTooLarge},
	}
}

func statusFor(code shared.Code) int {
	switch code {
	case shared.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case shared.CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusBadRequest
	}
}

func TestCreateTopicBadInput(t *testing.T) {
	e := newEnv(t)
	e.post(t, "lobby", "ann", "already here") // a non-trivial state to compare
	before := e.state(t, "lobby")
	rep := strings.Repeat

	type bad struct {
		name string
		body string
		code shared.Code
	}
	cases := []bad{}
	for _, b := range badWrites(t) {
		cases = append(cases, bad(b))
	}
	cases = append(cases,
		bad{"author 41 ASCII", js(t, map[string]string{"author": rep("a", 41), "comment": "hi"}), shared.CodeInvalidAuthor},
		bad{"author 41 multibyte runes", js(t, map[string]string{"author": rep("ü", 41), "comment": "hi"}), shared.CodeInvalidAuthor},
		bad{"author 41 four-byte runes", js(t, map[string]string{"author": rep("🙂", 41), "comment": "hi"}), shared.CodeInvalidAuthor},
		bad{"author with newline", `{"author":"Ada\nLovelace","comment":"hi"}`, shared.CodeInvalidAuthor},
		bad{"author with tab", `{"author":"Ada\tLovelace","comment":"hi"}`, shared.CodeInvalidAuthor},
		bad{"author with NUL", `{"author":"Ada\u0000","comment":"hi"}`, shared.CodeInvalidAuthor},
		bad{"author with NEL inside", `{"author":"Ada\u0085Lovelace","comment":"hi"}`, shared.CodeInvalidAuthor},
		bad{"author with invalid UTF-8", "{\"author\":\"Ad\xffa\",\"comment\":\"hi\"}", shared.CodeInvalidAuthor},
		bad{"author invalid before a bad comment", `{"author":"a\nb","comment":""}`, shared.CodeInvalidAuthor},
		bad{"author array", `{"author":[],"comment":"hi"}`, shared.CodeInvalidJSON},
		bad{"author number", `{"author":5,"comment":"hi"}`, shared.CodeInvalidJSON},
		bad{"author object", `{"author":{},"comment":"hi"}`, shared.CodeInvalidJSON},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/boards/lobby/topics", tc.body, jsonHdr())
			wantError(t, r, statusFor(tc.code), tc.code)
			e.unchanged(t, "lobby", before)
		})
	}
}

func TestWriteContentType(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "ann", "original")
	before := e.state(t, "lobby")
	refused := []string{
		"", // no Content-Type at all
		"text/plain",
		"text/plain; charset=utf-8",
		"text/json",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x",
		"application/json; charset=latin1",
		"application/json; charset=iso-8859-1",
		"application/json; charset=utf-16",
		"application/jsonx",
		"application/json-seq",
		"application/json; charset", // malformed parameter
	}
	for _, ct := range refused {
		t.Run(strconv.Quote(ct), func(t *testing.T) {
			h := hdr()
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			r := e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"hi"}`, h)
			wantError(t, r, http.StatusUnsupportedMediaType, shared.CodeUnsupportedMediaType)
			h.Set("Authorization", bearer(c.token))
			r = e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"changed"}`, h)
			wantError(t, r, http.StatusUnsupportedMediaType, shared.CodeUnsupportedMediaType)
			e.unchanged(t, "lobby", before)
		})
	}
}

// chunked hides a body's length, so it goes out with chunked encoding.
type chunked struct{ io.Reader }

func TestBodySizeLimit(t *testing.T) {
	e := newEnv(t)
	const limit = 16 << 10
	// A 2000-rune comment of four-byte runes, padded with white space to
	// exactly the limit: the largest body the server takes.
	core := `{"comment":"` + strings.Repeat("🙂", 2000) + `"}`
	exact := core + strings.Repeat(" ", limit-len(core))
	over := exact + " "
	if len(exact) != limit || len(over) != limit+1 {
		t.Fatal("bad fixture")
	}
	huge := js(t, map[string]string{"comment": strings.Repeat("x", 20<<10)})

	r := e.do(t, "POST", "/api/boards/lobby/topics", exact, jsonHdr())
	wantStatus(t, r, http.StatusCreated)
	c := decodeCreated(t, r)
	if c.topic.Comment != strings.Repeat("🙂", 2000) {
		t.Fatal("comment of the 16 KiB body not stored as sent")
	}
	r, err := e.send("POST", "/api/boards/lobby/topics", chunked{strings.NewReader(exact)}, jsonHdr())
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r, http.StatusCreated)
	before := e.state(t, "lobby")

	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
	}{
		{"one byte over, with length", over, false},
		{"one byte over, chunked", over, true},
		{"20 KiB, with length", huge, false},
		{"20 KiB, chunked", huge, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{"POST", "PATCH"} {
				path := "/api/boards/lobby/topics"
				if method == "PATCH" {
					path = topicPath("lobby", c.topic.ID)
				}
				var body io.Reader = strings.NewReader(tc.body)
				if tc.chunked {
					body = chunked{body}
				}
				r, err := e.send(method, path, body, jsonHdr("Authorization", bearer(c.token)))
				if err != nil {
					t.Fatalf("%s: %v", method, err)
				}
				wantError(t, r, http.StatusRequestEntityTooLarge, shared.CodeBodyTooLarge)
			}
			e.unchanged(t, "lobby", before)
		})
	}
}

// TestInvalidUTF8Deterministic sends a body whose author and comment are
// both invalid UTF-8: the same request must always earn the same code, the
// one the valid-UTF-8 path gives too (the author is checked first).
func TestInvalidUTF8Deterministic(t *testing.T) {
	e := newEnv(t)
	before := e.state(t, "lobby")
	for i := range 40 {
		body := "{\"author\":\"A\xff\",\"comment\":\"c\xfe\"}"
		if i%2 == 1 {
			body = "{\"comment\":\"c\xfe\",\"author\":\"A\xff\"}"
		}
		r := e.do(t, "POST", "/api/boards/lobby/topics", body, jsonHdr())
		wantError(t, r, http.StatusBadRequest, shared.CodeInvalidAuthor)
	}
	e.unchanged(t, "lobby", before)
}

// ---------------------------------------------------------------------------
// Idempotency-Key

func TestIdempotentReplay(t *testing.T) {
	e := newEnv(t)
	const key = "Key_of-Test-0123456789abcdefXYZ"
	body := js(t, shared.CreateTopic{Author: "Ada", Comment: "posted once"})
	path := "/api/boards/lobby/topics"

	first := e.do(t, "POST", path, body, jsonHdr("Idempotency-Key", key))
	wantStatus(t, first, http.StatusCreated)
	c := decodeCreated(t, first)
	after1 := e.state(t, "lobby")

	replay := func(t *testing.T) {
		t.Helper()
		r := e.do(t, "POST", path, body, jsonHdr("Idempotency-Key", key))
		wantStatus(t, r, http.StatusOK)
		wantJSONType(t, r)
		if !bytes.Equal(r.body, first.body) {
			t.Fatalf("replay body\n%s\nwant the first answer\n%s", r.body, first.body)
		}
	}
	replay(t)
	replay(t)
	e.unchanged(t, "lobby", after1)

	// A different post under the same key.
	for _, other := range []shared.CreateTopic{
		{Author: "Ada", Comment: "posted twice"},
		{Author: "Bob", Comment: "posted once"},
		{Author: "", Comment: "posted once"},
	} {
		r := e.do(t, "POST", path, js(t, other), jsonHdr("Idempotency-Key", key))
		wantError(t, r, http.StatusUnprocessableEntity, shared.CodeIdempotencyMismatch)
		if strings.Contains(string(r.body), key) || strings.Contains(string(r.body), c.token) {
			t.Fatalf("422 shows the key or the owner token: %s", r.body)
		}
	}
	e.unchanged(t, "lobby", after1)

	// The key and the owner token show nowhere else.
	if strings.Contains(after1, key) || strings.Contains(after1, c.token) {
		t.Fatalf("GET shows the key or the owner token: %s", after1)
	}

	// The token of the first answer works, and a replay after an edit and
	// after a delete still answers with the first answer.
	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"edited"}`, jsonHdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(string(r.body), key) || strings.Contains(string(r.body), c.token) {
		t.Fatalf("PATCH answer shows the key or the owner token: %s", r.body)
	}
	afterEdit := e.state(t, "lobby")
	replay(t)
	e.unchanged(t, "lobby", afterEdit)
	r = e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusNoContent)
	afterDelete := e.state(t, "lobby")
	replay(t)
	e.unchanged(t, "lobby", afterDelete)
	if snap, _ := e.snapshot(t, "lobby", ""); len(snap.Topics) != 0 {
		t.Fatalf("a replay after the delete brought a topic back: %+v", snap.Topics)
	}
}

func TestIdempotencyKeyScopedToBoard(t *testing.T) {
	e := newEnv(t)
	const key = "shared-key-0123456789abcdef"
	a := e.post(t, "alpha", "Ada", "same words", "Idempotency-Key", key)
	b := e.post(t, "beta", "Ada", "same words", "Idempotency-Key", key) // 201, not a replay
	if a.topic.ID == b.topic.ID || a.token == b.token {
		t.Fatalf("boards share a key's topic or token: %+v %+v", a, b)
	}
	// Different body on a third board: a new post, not a mismatch.
	e.post(t, "gamma", "Bob", "other words", "Idempotency-Key", key)
	// alpha's token does not own beta's topic.
	r := e.do(t, "DELETE", topicPath("beta", b.topic.ID), "", hdr("Authorization", bearer(a.token)))
	wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
	// Each board replays its own first answer.
	for board, want := range map[string][]byte{"alpha": a.raw, "beta": b.raw} {
		r := e.do(t, "POST", "/api/boards/"+board+"/topics", `{"author":"Ada","comment":"same words"}`, jsonHdr("Idempotency-Key", key))
		wantStatus(t, r, http.StatusOK)
		if !bytes.Equal(r.body, want) {
			t.Fatalf("%s replay %s, want %s", board, r.body, want)
		}
	}
	for _, board := range []string{"alpha", "beta", "gamma"} {
		if snap, _ := e.snapshot(t, board, ""); len(snap.Topics) != 1 {
			t.Fatalf("board %s has %d topics, want 1", board, len(snap.Topics))
		}
	}
}

func TestIdempotencyKeyFormat(t *testing.T) {
	e := newEnv(t)
	e.post(t, "lobby", "ann", "before")
	before := e.state(t, "lobby")
	body := `{"comment":"keyed"}`
	for name, h := range map[string]http.Header{
		"65 characters":  jsonHdr("Idempotency-Key", strings.Repeat("k", 65)),
		"space inside":   jsonHdr("Idempotency-Key", "a b"),
		"non-ASCII":      jsonHdr("Idempotency-Key", "é"),
		"empty":          jsonHdr("Idempotency-Key", ""),
		"slash":          jsonHdr("Idempotency-Key", "a/b"),
		"dot":            jsonHdr("Idempotency-Key", "a.b"),
		"plus":           jsonHdr("Idempotency-Key", "a+b"),
		"equals":         jsonHdr("Idempotency-Key", "abc="),
		"two keys":       jsonHdr("Idempotency-Key", strings.Repeat("1", 22), "Idempotency-Key", strings.Repeat("2", 22)),
		"same key twice": jsonHdr("Idempotency-Key", strings.Repeat("1", 22), "Idempotency-Key", strings.Repeat("1", 22)),
		"21 characters":  jsonHdr("Idempotency-Key", strings.Repeat("k", 21)),
		"one character":  jsonHdr("Idempotency-Key", "a"),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/boards/lobby/topics", body, h)
			wantError(t, r, http.StatusBadRequest, shared.CodeInvalidIdempotencyKey)
			e.unchanged(t, "lobby", before)
		})
	}
	// The edges of the allowed form.
	for _, key := range []string{strings.Repeat("a", 22), strings.Repeat("Z", 23), strings.Repeat("0", 30), strings.Repeat("_", 40),
		strings.Repeat("-", 50), strings.Repeat("k", 64), "AZaz09_-AZaz09_-AZaz09_-"} {
		e.post(t, "lobby", "", "keyed "+key, "Idempotency-Key", key)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	e := newEnv(t)
	const n = 16
	body := `{"author":"Ada","comment":"exactly once"}`
	start := make(chan struct{})
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = e.send("POST", "/api/boards/race/topics", strings.NewReader(body),
				jsonHdr("Idempotency-Key", "race-key-0123456789abcdef"))
		})
	}
	close(start)
	wg.Wait()

	created, replayed := 0, 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		switch r.status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
			replayed++
		default:
			t.Fatalf("request %d: %s", i, r)
		}
		if !bytes.Equal(r.body, results[0].body) {
			t.Fatalf("bodies differ:\n%s\n%s", r.body, results[0].body)
		}
	}
	if created != 1 || replayed != n-1 {
		t.Fatalf("%d × 201 and %d × 200, want 1 and %d", created, replayed, n-1)
	}
	c := decodeCreated(t, results[0])
	snap, _ := e.snapshot(t, "race", "")
	if len(snap.Topics) != 1 || snap.Topics[0] != c.topic || snap.Cursor != e.cursor(1) {
		t.Fatalf("after the race: %+v, want just %+v at cursor %q", snap, c.topic, e.cursor(1))
	}
}

// ---------------------------------------------------------------------------
// PATCH /api/boards/{board}/topics/{id}

func TestEditTopic(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "Ada", "first version")
	other := e.post(t, "lobby", "Bob", "not Ada's")

	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), js(t, map[string]string{"comment": "  second version\r\n"}),
		jsonHdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
	wantJSONType(t, r)
	got := wantTopic(t, r.body)
	want := c.topic
	want.Comment = "second version"
	want.UpdatedAt = got.UpdatedAt
	if got != want {
		t.Fatalf("PATCH answer %+v, want %+v", got, want)
	}
	if !got.UpdatedAt.After(c.topic.UpdatedAt) {
		t.Fatalf("updated_at %v not later than %v", got.UpdatedAt, c.topic.UpdatedAt)
	}
	if strings.Contains(string(r.body), c.token) {
		t.Fatal("PATCH answer shows the owner token")
	}
	snap, body := e.snapshot(t, "lobby", "")
	if len(snap.Topics) != 2 || snap.Topics[0] != other.topic || snap.Topics[1] != got {
		t.Fatalf("GET after edit: %+v", snap.Topics)
	}
	if strings.Contains(string(body), c.token) || strings.Contains(string(body), other.token) {
		t.Fatal("GET shows an owner token")
	}

	// Longest comment; "bearer" in any case is the same scheme.
	long := strings.Repeat("🙂", 2000)
	r = e.do(t, "PATCH", topicPath("lobby", c.topic.ID), js(t, map[string]string{"comment": long}),
		jsonHdr("Authorization", "bearer "+c.token))
	wantStatus(t, r, http.StatusOK)
	if got2 := wantTopic(t, r.body); got2.Comment != long || !got2.UpdatedAt.After(got.UpdatedAt) || !got2.CreatedAt.Equal(c.topic.CreatedAt) {
		t.Fatalf("second edit: %+v", got2)
	}
}

func TestEditTopicAuth(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "Ada", "mine")
	other := e.post(t, "lobby", "Bob", "his")
	elsewhere := e.post(t, "annex", "Cy", "on another board")
	before := e.state(t, "lobby")
	beforeAnnex := e.state(t, "annex")
	body := `{"comment":"hijacked"}`
	own := topicPath("lobby", c.topic.ID)

	for _, tc := range []struct {
		name   string
		path   string
		auth   []string // Authorization values; none when empty
		status int
		code   shared.Code
	}{
		{"no Authorization", own, nil, 401, shared.CodeUnauthorized},
		{"empty Authorization", own, []string{""}, 401, shared.CodeUnauthorized},
		{"Bearer without token", own, []string{"Bearer "}, 401, shared.CodeUnauthorized},
		{"Basic scheme", own, []string{"Basic " + c.token}, 401, shared.CodeUnauthorized},
		{"token without scheme", own, []string{c.token}, 401, shared.CodeUnauthorized},
		{"wrong token", own, []string{bearer("wrong-token")}, 403, shared.CodeForbidden},
		{"another topic's token", own, []string{bearer(other.token)}, 403, shared.CodeForbidden},
		{"token with a suffix", own, []string{bearer(c.token + "x")}, 403, shared.CodeForbidden},
		{"moderator token", own, []string{bearer(moderatorToken)}, 403, shared.CodeForbidden},
		{"unknown id, no token", topicPath("lobby", 999), nil, 404, shared.CodeNotFound},
		{"unknown id, wrong token", topicPath("lobby", 999), []string{bearer("wrong")}, 404, shared.CodeNotFound},
		{"unknown id, owner token", topicPath("lobby", 999), []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"unknown id, moderator", topicPath("lobby", 999), []string{bearer(moderatorToken)}, 404, shared.CodeNotFound},
		{"topic of another board, its own token", topicPath("lobby", elsewhere.topic.ID), []string{bearer(elsewhere.token)}, 404, shared.CodeNotFound},
		{"topic of another board, no token", topicPath("lobby", elsewhere.topic.ID), nil, 404, shared.CodeNotFound},
		{"other board's path to this topic", topicPath("annex", c.topic.ID), []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id abc", "/api/boards/lobby/topics/abc", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id 0", "/api/boards/lobby/topics/0", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id -1", "/api/boards/lobby/topics/-1", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id beyond int64", "/api/boards/lobby/topics/99999999999999999999", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id max int64", "/api/boards/lobby/topics/9223372036854775807", nil, 404, shared.CodeNotFound},
		{"id 1.0", "/api/boards/lobby/topics/1.0", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id 0x1", "/api/boards/lobby/topics/0x1", []string{bearer(c.token)}, 404, shared.CodeNotFound},
		{"id with space", "/api/boards/lobby/topics/1%20", []string{bearer(c.token)}, 404, shared.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := jsonHdr()
			for _, a := range tc.auth {
				h.Add("Authorization", a)
			}
			r := e.do(t, "PATCH", tc.path, body, h)
			wantError(t, r, tc.status, tc.code)
			e.unchanged(t, "lobby", before)
			e.unchanged(t, "annex", beforeAnnex)
		})
	}
}

func TestEditTopicBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "Ada", "original")
	before := e.state(t, "lobby")
	for _, tc := range badWrites(t) {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), tc.body, jsonHdr("Authorization", bearer(c.token)))
			wantError(t, r, statusFor(tc.code), tc.code)
			e.unchanged(t, "lobby", before)
		})
	}
	// A PATCH body has no author: sending only one is an empty comment.
	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"author":"Eve"}`, jsonHdr("Authorization", bearer(c.token)))
	wantError(t, r, http.StatusBadRequest, shared.CodeInvalidComment)
	e.unchanged(t, "lobby", before)
}

// ---------------------------------------------------------------------------
// DELETE /api/boards/{board}/topics/{id}

func TestDeleteTopic(t *testing.T) {
	e := newEnv(t)
	mine := e.post(t, "lobby", "Ada", "mine")
	theirs := e.post(t, "lobby", "Bob", "theirs")
	kept := e.post(t, "lobby", "Cy", "kept")

	// The owner deletes.
	r := e.do(t, "DELETE", topicPath("lobby", mine.topic.ID), "", hdr("Authorization", bearer(mine.token)))
	wantStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %q", r.body)
	}
	snap, _ := e.snapshot(t, "lobby", "")
	if len(snap.Topics) != 2 || snap.Topics[0] != kept.topic || snap.Topics[1] != theirs.topic || snap.Cursor != e.cursor(4) {
		t.Fatalf("after delete: %+v", snap)
	}
	// Again: gone, whatever the token.
	for _, auth := range []string{bearer(mine.token), bearer(moderatorToken), ""} {
		h := hdr()
		if auth != "" {
			h.Set("Authorization", auth)
		}
		wantError(t, e.do(t, "DELETE", topicPath("lobby", mine.topic.ID), "", h), http.StatusNotFound, shared.CodeNotFound)
	}
	// An edit of the deleted topic is not_found too.
	r = e.do(t, "PATCH", topicPath("lobby", mine.topic.ID), `{"comment":"back?"}`, jsonHdr("Authorization", bearer(mine.token)))
	wantError(t, r, http.StatusNotFound, shared.CodeNotFound)

	// The moderator deletes someone else's topic.
	r = e.do(t, "DELETE", topicPath("lobby", theirs.topic.ID), "", hdr("Authorization", bearer(moderatorToken)))
	wantStatus(t, r, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Fatalf("204 with a body: %q", r.body)
	}
	snap, body := e.snapshot(t, "lobby", "")
	if len(snap.Topics) != 1 || snap.Topics[0] != kept.topic || snap.Cursor != e.cursor(5) {
		t.Fatalf("after moderator delete: %+v", snap)
	}
	if strings.Contains(string(body), moderatorToken) {
		t.Fatal("GET shows the moderator token")
	}
}

func TestDeleteTopicAuth(t *testing.T) {
	e := newEnv(t)
	c := e.post(t, "lobby", "Ada", "mine")
	other := e.post(t, "lobby", "Bob", "his")
	elsewhere := e.post(t, "annex", "Cy", "on another board")
	before := e.state(t, "lobby")
	beforeAnnex := e.state(t, "annex")
	own := topicPath("lobby", c.topic.ID)

	for _, tc := range []struct {
		name   string
		path   string
		auth   string // "-" for no header
		status int
		code   shared.Code
	}{
		{"no Authorization", own, "-", 401, shared.CodeUnauthorized},
		{"empty Authorization", own, "", 401, shared.CodeUnauthorized},
		{"Bearer without token", own, "Bearer ", 401, shared.CodeUnauthorized},
		{"Basic scheme", own, "Basic " + c.token, 401, shared.CodeUnauthorized},
		{"wrong token", own, bearer("wrong-token"), 403, shared.CodeForbidden},
		{"another topic's token", own, bearer(other.token), 403, shared.CodeForbidden},
		{"moderator token with a suffix", own, bearer(moderatorToken + "x"), 403, shared.CodeForbidden},
		{"moderator token prefix", own, bearer(moderatorToken[:10]), 403, shared.CodeForbidden},
		{"unknown id, no token", topicPath("lobby", 999), "-", 404, shared.CodeNotFound},
		{"unknown id, wrong token", topicPath("lobby", 999), bearer("wrong"), 404, shared.CodeNotFound},
		{"unknown id, moderator", topicPath("lobby", 999), bearer(moderatorToken), 404, shared.CodeNotFound},
		{"topic of another board, its own token", topicPath("lobby", elsewhere.topic.ID), bearer(elsewhere.token), 404, shared.CodeNotFound},
		{"topic of another board, moderator", topicPath("lobby", elsewhere.topic.ID), bearer(moderatorToken), 404, shared.CodeNotFound},
		{"id abc", "/api/boards/lobby/topics/abc", bearer(moderatorToken), 404, shared.CodeNotFound},
		{"id 0", "/api/boards/lobby/topics/0", bearer(moderatorToken), 404, shared.CodeNotFound},
		{"id -1", "/api/boards/lobby/topics/-1", bearer(moderatorToken), 404, shared.CodeNotFound},
		{"id beyond int64", "/api/boards/lobby/topics/99999999999999999999", bearer(moderatorToken), 404, shared.CodeNotFound},
		{"id abc, no token", "/api/boards/lobby/topics/abc", "-", 404, shared.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hdr()
			if tc.auth != "-" {
				h.Set("Authorization", tc.auth)
			}
			r := e.do(t, "DELETE", tc.path, "", h)
			wantError(t, r, tc.status, tc.code)
			e.unchanged(t, "lobby", before)
			e.unchanged(t, "annex", beforeAnnex)
		})
	}
}

func TestNoModeratorConfigured(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.ModeratorToken = "" })
	c := e.post(t, "lobby", "Ada", "mine")
	before := e.state(t, "lobby")
	for _, auth := range []string{bearer(moderatorToken), "Bearer  "} {
		r := e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Authorization", auth))
		if auth == bearer(moderatorToken) {
			wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
		} else {
			wantError(t, r, http.StatusUnauthorized, shared.CodeUnauthorized)
		}
	}
	e.unchanged(t, "lobby", before)
}

// ---------------------------------------------------------------------------
// Origin

func TestCrossOriginWrites(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.AllowedOrigins = []string{"https://kairan.example"} })
	c := e.post(t, "lobby", "Ada", "mine")
	before := e.state(t, "lobby")
	host := strings.TrimPrefix(e.srv.URL, "http://")
	port := host[strings.LastIndex(host, ":")+1:]
	otherPort := "1"
	if port == "1" {
		otherPort = "2"
	}

	foreign := []string{
		"https://evil.example",
		"null",
		"http://127.0.0.1:" + otherPort, // same host, other port
		"https://" + host,               // same host and port, other scheme
		"http://localhost:" + port,      // other host name
		"http://" + host + ".evil.example",
		"https://kairan.example:8443", // allowed origin, other port
	}
	for _, origin := range foreign {
		t.Run(origin, func(t *testing.T) {
			r := e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":"from afar"}`, jsonHdr("Origin", origin))
			wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
			r = e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"from afar"}`,
				jsonHdr("Origin", origin, "Authorization", bearer(c.token)))
			wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
			r = e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Origin", origin, "Authorization", bearer(c.token)))
			wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
			r = e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Origin", origin, "Authorization", bearer(moderatorToken)))
			wantError(t, r, http.StatusForbidden, shared.CodeForbidden)
			e.unchanged(t, "lobby", before)
		})
	}

	// Same origin, no Origin (not a browser page), and a configured one.
	e.post(t, "lobby", "", "same origin", "Origin", e.srv.URL)
	e.post(t, "lobby", "", "no origin")
	e.post(t, "lobby", "", "allowed origin", "Origin", "https://kairan.example")
	r := e.do(t, "PATCH", topicPath("lobby", c.topic.ID), `{"comment":"same origin edit"}`,
		jsonHdr("Origin", e.srv.URL, "Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
	r = e.do(t, "DELETE", topicPath("lobby", c.topic.ID), "", hdr("Origin", e.srv.URL, "Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusNoContent)
	if snap, _ := e.snapshot(t, "lobby", ""); len(snap.Topics) != 3 || snap.Cursor != e.cursor(6) {
		t.Fatalf("after same-origin writes: %d topics at %q, want 3 at %q", len(snap.Topics), snap.Cursor, e.cursor(6))
	}
}

// ---------------------------------------------------------------------------
// The typed client

func wantClientError(t *testing.T, err error, code shared.Code) {
	t.Helper()
	var se *shared.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want *shared.Error with code %s", err, err, code)
	}
	if se.Code != code || strings.TrimSpace(se.Message) == "" {
		t.Fatalf("error %+v, want code %s with a message", se, code)
	}
}

func TestClient(t *testing.T) {
	e := newEnv(t)
	c := client.Client{Base: e.srv.URL}
	ctx := context.Background()

	snap, err := c.Snapshot(ctx, "club")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Board != "club" || snap.Cursor != e.cursor(0) || snap.Topics == nil || len(snap.Topics) != 0 {
		t.Fatalf("empty snapshot %+v", snap)
	}

	post, err := c.Post(ctx, "club", shared.CreateTopic{Author: " Ada ", Comment: " hello "}, "")
	if err != nil {
		t.Fatal(err)
	}
	if post.Topic.Author != "Ada" || post.Topic.Comment != "hello" || post.Topic.Board != "club" || post.OwnerToken == "" {
		t.Fatalf("post %+v", post)
	}
	keyed, err := c.Post(ctx, "club", shared.CreateTopic{Comment: "keyed"}, "client-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Post(ctx, "club", shared.CreateTopic{Comment: "keyed"}, "client-key-0123456789abcdef")
	if err != nil || again != keyed {
		t.Fatalf("replay %+v, %v; want %+v", again, err, keyed)
	}
	_, err = c.Post(ctx, "club", shared.CreateTopic{Comment: "different"}, "client-key-0123456789abcdef")
	wantClientError(t, err, shared.CodeIdempotencyMismatch)
	_, err = c.Post(ctx, "club", shared.CreateTopic{Comment: "x"}, "bad key")
	wantClientError(t, err, shared.CodeInvalidIdempotencyKey)
	_, err = c.Post(ctx, "club", shared.CreateTopic{Comment: " "}, "")
	wantClientError(t, err, shared.CodeInvalidComment)
	_, err = c.Post(ctx, "club", shared.CreateTopic{Author: strings.Repeat("a", 41), Comment: "x"}, "")
	wantClientError(t, err, shared.CodeInvalidAuthor)
	_, err = c.Snapshot(ctx, "Lobby")
	wantClientError(t, err, shared.CodeInvalidBoard)

	edited, err := c.Edit(ctx, "club", post.Topic.ID, "edited", post.OwnerToken)
	if err != nil {
		t.Fatal(err)
	}
	if edited.Comment != "edited" || edited.ID != post.Topic.ID || !edited.UpdatedAt.After(post.Topic.UpdatedAt) {
		t.Fatalf("edited %+v", edited)
	}
	_, err = c.Edit(ctx, "club", post.Topic.ID, "x", "wrong")
	wantClientError(t, err, shared.CodeForbidden)
	_, err = c.Edit(ctx, "club", post.Topic.ID, "x", moderatorToken)
	wantClientError(t, err, shared.CodeForbidden)
	_, err = c.Edit(ctx, "club", post.Topic.ID, "x", "")
	wantClientError(t, err, shared.CodeUnauthorized)
	_, err = c.Edit(ctx, "club", 999, "x", post.OwnerToken)
	wantClientError(t, err, shared.CodeNotFound)

	wantClientError(t, c.Delete(ctx, "club", 999, moderatorToken), shared.CodeNotFound)
	wantClientError(t, c.Delete(ctx, "club", keyed.Topic.ID, post.OwnerToken), shared.CodeForbidden)
	if err := c.Delete(ctx, "club", post.Topic.ID, post.OwnerToken); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "club", keyed.Topic.ID, moderatorToken); err != nil {
		t.Fatal(err)
	}
	if snap, err = c.Snapshot(ctx, "club"); err != nil || len(snap.Topics) != 0 || snap.Cursor != e.cursor(5) {
		t.Fatalf("after deletes: %+v, %v", snap, err)
	}

	// No server at all: the client says network, not a status.
	e.srv.Close()
	_, err = c.Snapshot(ctx, "club")
	wantClientError(t, err, shared.CodeNetwork)
}

// GET ?before=<id> pages past the snapshot: topics older than id, newest
// first, with the board's current cursor, until the oldest; a before that
// is not a topic id is 400 invalid_before and changes nothing.
func TestOlderTopicsPageToTheOldest(t *testing.T) {
	e := newEnv(t)
	var all []int64
	for i := range 250 {
		all = append(all, e.post(t, "lobby", "ann", "topic "+strconv.Itoa(i)).topic.ID)
	}
	e.post(t, "other", "bob", "another board's")
	snap, _ := e.snapshot(t, "lobby", "")
	head := snap.Cursor
	var seen []int64
	for page := 0; ; page++ {
		for _, tp := range snap.Topics {
			seen = append(seen, tp.ID)
		}
		if len(snap.Topics) < shared.DefaultSnapshotLen {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		snap, _ = e.snapshot(t, "lobby", "?before="+strconv.FormatInt(seen[len(seen)-1], 10))
		if snap.Cursor != head {
			t.Fatalf("an older page has cursor %q, want the board's %q", snap.Cursor, head)
		}
	}
	slices.Reverse(all)
	if !slices.Equal(seen, all) {
		t.Fatalf("pages show %d topics, want all %d newest first", len(seen), len(all))
	}
	snap, _ = e.snapshot(t, "lobby", "?before="+strconv.FormatInt(all[10], 10)+"&limit=3")
	if len(snap.Topics) != 3 || snap.Topics[0].ID != all[11] {
		t.Fatalf("before with a limit: %+v", snap.Topics)
	}
	before := e.state(t, "lobby")
	for _, q := range []string{"0", "-1", "+5", "05", "abc", "1.5", "", "99999999999999999999", "%00"} {
		wantError(t, e.do(t, "GET", "/api/boards/lobby?before="+q, "", nil), http.StatusBadRequest, shared.CodeInvalidBefore)
	}
	e.unchanged(t, "lobby", before)
}
