package httpapi_test

// Fuzz tests of request decoding and validation at the HTTP layer: arbitrary
// bodies, headers and query strings go through the real handler
// (httpapi.New with a real SQLite store and a real hub), and every answer is
// checked against the wire contract (DESIGN.md section 3): a status the
// contract names, never a 5xx, an error body whose code the contract maps to
// that status, a success whose topic is exactly the normalisation of the
// input, and nothing written by a refused request.
//
// The server is built once per fuzz target (outside f.Fuzz) and requests go
// through httptest.NewRecorder, so a fuzz worker runs thousands of inputs a
// second; the loopback server next to it only serves the helpers that read
// the board back.
//
// The seed corpora run as ordinary tests under `go test`; fuzz with e.g.
//
//	go test -run='^$' -fuzz=FuzzCreateTopicBody -fuzztime=60s ./api/httpapi/

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// ---------------------------------------------------------------------------
// The contract's table of error codes, written out from DESIGN.md section 3
// (independently of the server's own table).

var contractStatus = map[shared.Code]int{
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
	shared.CodeBodyTooLarge:          http.StatusRequestEntityTooLarge,
	shared.CodeUnsupportedMediaType:  http.StatusUnsupportedMediaType,
	shared.CodeIdempotencyMismatch:   http.StatusUnprocessableEntity,
	shared.CodeBlocked:               http.StatusUnprocessableEntity,
	shared.CodeTooManyBoards:         http.StatusUnprocessableEntity,
	shared.CodeTooManyTopics:         http.StatusUnprocessableEntity,
	shared.CodeRateLimited:           http.StatusTooManyRequests,
	shared.CodeUnavailable:           http.StatusServiceUnavailable,
}

// contractError checks that r is an error answer of the contract — a 4xx
// (never a 5xx), a code from the contract's table with the status the
// table gives it, and exactly the {"error":{"code","message"}} body with a
// short sentence (wantError) — and returns the code.
func contractError(t *testing.T, r response) shared.Code {
	t.Helper()
	switch {
	case r.status >= 500:
		t.Fatalf("server error: %s", r)
	case r.status < 400:
		t.Fatalf("status %d, want the request refused with a contract error: %s", r.status, r)
	}
	var body struct {
		Error struct {
			Code shared.Code `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("status %d without the contract's JSON error body (%v): %s", r.status, err, r)
	}
	status, ok := contractStatus[body.Error.Code]
	if !ok {
		t.Fatalf("error code %q is not one of the contract's: %s", body.Error.Code, r)
	}
	if status >= 500 {
		t.Fatalf("code %q (a 5xx) for a request that is no server trouble: %s", body.Error.Code, r)
	}
	wantError(t, r, status, body.Error.Code)
	return body.Error.Code
}

// wantCode checks r is a contract error with one of codes.
func wantCode(t *testing.T, r response, codes ...shared.Code) shared.Code {
	t.Helper()
	code := contractError(t, r)
	for _, c := range codes {
		if c == code {
			return code
		}
	}
	t.Fatalf("error code %q, want one of %q: %s", code, codes, r)
	return ""
}

// ---------------------------------------------------------------------------
// References: what the contract says a request means, written without the
// server's code.

var (
	// fuzzKey is a valid key the seeds use more than once.
	fuzzKey               = "fuzz-key-0123456789abcdef"
	idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{22,64}$`)
	integerPattern        = regexp.MustCompile(`^[+-]?[0-9]+$`)
	refCursorPattern      = regexp.MustCompile(`^([A-Za-z0-9]{1,64})\.([0-9]{1,19})$`)
)

// jsonContentType: application/json, with no charset or utf-8.
func jsonContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// refDecode decodes a write's body as the contract reads it: valid UTF-8,
// strictly one JSON value (RFC 8259 white space only) that is an object,
// whose fields have the right types.
func refDecode(body []byte, dst any) bool {
	if !utf8.Valid(body) || !json.Valid(body) {
		return false
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false
	}
	return json.Unmarshal(body, dst) == nil
}

// codeOf is the error code in r's body, if any.
func codeOf(r response) shared.Code {
	var body struct {
		Error struct {
			Code shared.Code `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error.Code
}

// messageOf is the error message in r's body, if any.
func messageOf(r response) string {
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error.Message
}

// refInteger parses the contract's "integer": an optional sign and decimal
// digits, of any size.
// canonicalID reports whether s is a topic id as the server writes one: a
// decimal from 1 within int64, no sign, no leading zero.
func canonicalID(s string) bool {
	n, ok := refInteger(s)
	return ok && n.Sign() > 0 && n.IsInt64() && n.String() == s
}

func refInteger(s string) (*big.Int, bool) {
	if !integerPattern.MatchString(s) {
		return nil, false
	}
	n, ok := new(big.Int).SetString(s, 10)
	return n, ok
}

// ---------------------------------------------------------------------------
// Environment: one store, hub and handler per fuzz target.

type fuzzEnv struct {
	*streamEnv
	handler http.Handler

	mu      sync.Mutex
	keys    map[string]keyUse // idempotency keys used on board "lobby"
	lastID  int64             // newest topic id seen
	changes map[string][]int64
}

type keyUse struct {
	author, comment string
	body            []byte
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	st := openStore(tb)
	m := httpapi.NewMetrics()
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour, Metrics: m.Hub()})
	if err != nil {
		tb.Fatalf("start hub: %v", err)
	}
	handler := httpapi.New(httpapi.Config{Store: st, Feed: h, Metrics: m, ModeratorToken: moderatorToken})
	srv := httptest.NewServer(handler)
	tb.Cleanup(srv.Close)
	tb.Cleanup(h.Close)
	return &fuzzEnv{
		streamEnv: &streamEnv{env: &env{srv: srv, st: st}, hub: h, client: srv.Client()},
		handler:   handler,
		keys:      map[string]keyUse{},
		changes:   map[string][]int64{},
	}
}

// write commits a post directly in the store (setup only) and wakes the hub.
func (e *fuzzEnv) setupPost(tb testing.TB, board, comment string) created {
	tb.Helper()
	c, err := e.st.CreateTopic(context.Background(), store.NewTopic{Board: board, Author: "setup", Comment: comment})
	if err != nil {
		tb.Fatal(err)
	}
	seq, _ := shared.ParseCursor(c.Change.Cursor)
	e.hub.Notify(seq.Seq)
	e.changes[board] = append(e.changes[board], seq.Seq)
	e.lastID = max(e.lastID, c.Topic.ID)
	return created{topic: c.Topic, token: c.OwnerToken}
}

func (e *fuzzEnv) head(tb testing.TB) int64 {
	tb.Helper()
	h, err := e.st.Head(context.Background())
	if err != nil {
		tb.Fatalf("head: %v", err)
	}
	return h
}

// serve runs one request through the handler. chunked hides the length,
// as a chunked upload does.
func (e *fuzzEnv) serve(ctx context.Context, method, target string, body []byte, chunked bool, h http.Header) response {
	req := httptest.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if chunked {
		req.ContentLength = -1
		req.TransferEncoding = []string{"chunked"}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	return e.record(req)
}

func (e *fuzzEnv) record(req *http.Request) response {
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// ---------------------------------------------------------------------------
// Seeds

// bodyOfSize is a valid post of exactly n bytes (n ≥ 8012): 2000 four-byte
// runes padded with white space.
func bodyOfSize(n int) []byte {
	core := `{"comment":"` + strings.Repeat("🙂", 2000) + `"}`
	return []byte(core + strings.Repeat(" ", n-len(core)))
}

func deepArray(n int, closed bool) []byte {
	b := `{"comment":` + strings.Repeat("[", n)
	if closed {
		b += strings.Repeat("]", n) + "}"
	}
	return []byte(b)
}

func deepObject(n int) []byte {
	return []byte(`{"comment":"deep","x":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "}")
}

// writeBodySeeds are bodies for POST and PATCH: valid ones, the contract's
// edge cases and hostile ones.
func writeBodySeeds() [][]byte {
	rep := strings.Repeat
	seeds := []string{
		"", " ", "null", "[]", "{}", `""`, "0", "true", `[{"comment":"hi"}]`,
		`{"comment":"hi"}`,
		`{"author":"Ada","comment":"hello"}`,
		`{"author":"  Ada  ","comment":"  trimmed  "}`,
		`{"author":"","comment":"anonymous"}`,
		`{"comment":"line\r\nend\ttab\nnew"}`,
		`{"comment":1}`, `{"comment":true}`, `{"comment":null}`, `{"comment":{}}`, `{"comment":["hi"]}`,
		`{"author":1,"comment":"hi"}`, `{"author":null,"comment":"hi"}`,
		`{"comment":"hi","unknown":1}`, `{"comment":"hi","id":99,"board":"other","owner_token":"x"}`,
		`{"comment":"first","comment":"second"}`, `{"comment":"hi","comment":1}`, `{"comment":1,"comment":"hi"}`,
		`{"Comment":"case"}`, `{"COMMENT":"case","comment":"lower"}`,
		`{"comment":"a\u0000b"}`, `{"author":"a\u0000","comment":"hi"}`, `{"comment":"\u0000"}`,
		"{\"comment\":\"a\x00b\"}", "{\"comment\":\"hi\"}\x00", "\x00", "{\"comment\"\x00:\"hi\"}",
		"{\"comment\":\"ok \xff ok\"}", "{\"author\":\"\xfe\",\"comment\":\"\xff\"}", "{\"comment\":\"hi\"}\xff",
		"{\"comment\":\"\xed\xa0\x80\"}", "{\"comment\":\"\xc0\xaf\"}", "{\"\xff\":1,\"comment\":\"hi\"}",
		`{"comment":"\ud800"}`, `{"comment":"\udc00x\ud800"}`, `{"comment":"\ud83d\ude42"}`, `{"comment":"\ud83d"}`,
		"\ufeff{\"comment\":\"bom\"}", "{\"comment\":\"bom\"}\ufeff", "{\"comment\":\"\ufeff\"}",
		"\u00a0{\"comment\":\"nbsp\"}", "{\"comment\":\"nel\"}\u0085", "\u3000{\"comment\":\"ideographic\"}\u2028",
		" \n\t\r{\"comment\":\"json white space\"}\r\n\t ",
		`{"comment":"hi"} x`, `{"comment":"hi"}{}`, `{"comment":"hi"}}`, `{"comment":"hi"},`, `{"comment":"hi"}]`,
		`{"comment":"hi"`, `{"comment":"hi",}`, `{comment:"hi"}`, `{'comment':'hi'}`, `comment=hi`,
		`{"comment":1e999}`, `{"comment":-99999999999999999999999999}`, `{"comment":"x","n":1e999}`,
		`{"comment":"x","n":` + rep("9", 5000) + `}`, `{"comment":"x","n":0.` + rep("0", 5000) + `1}`,
		`{"comment":"` + rep("a", 2000) + `"}`, `{"comment":"` + rep("a", 2001) + `"}`,
		`{"comment":" ` + rep("é", 2000) + ` "}`, `{"comment":"` + rep("🙂", 2001) + `"}`,
		`{"author":"` + rep("a", 40) + `","comment":"hi"}`, `{"author":"` + rep("ü", 41) + `","comment":"hi"}`,
		`{"author":"a\nb","comment":"hi"}`, `{"comment":"\u0085"}`, `{"comment":"a\rb"}`, `{"comment":"\u001b[2J"}`,
		`{"comment":" \t\n "}`, `{"comment":"\u3000"}`, `{"comment":"\u200b"}`,
	}
	out := make([][]byte, 0, len(seeds)+8)
	for _, s := range seeds {
		out = append(out, []byte(s))
	}
	return append(out,
		bodyOfSize(16<<10-1), bodyOfSize(16<<10), bodyOfSize(16<<10+1),
		deepArray(10000, true), deepArray(8000, true), deepArray(16000, false), deepArray(100000, true),
		deepObject(2500),
	)
}

var writeContentTypes = []string{
	"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8",
	"", "text/plain", "application/json; charset=latin1", "application/json;", "application/json; charset",
	"application/json\x00", "application/json; charset=\"utf-8\"", "application/json, text/plain",
}

// ---------------------------------------------------------------------------
// POST /api/boards/{board}/topics

func FuzzCreateTopicBody(f *testing.F) {
	for _, b := range writeBodySeeds() {
		f.Add(b, "application/json", "", uint8(0), false)
	}
	valid := []byte(`{"author":"Ada","comment":"keyed"}`)
	for i, ct := range writeContentTypes {
		f.Add(valid, ct, "", uint8(0), i%2 == 0)
	}
	for _, k := range []struct {
		key  string
		mode uint8
	}{
		{fuzzKey, 1}, {fuzzKey, 1}, {fuzzKey, 2}, {"key-1", 1}, {"", 1}, {strings.Repeat("k", 64), 1},
		{strings.Repeat("k", 65), 1}, {"ключ", 1}, {"a b", 1}, {"a\x00b", 1}, {"a\r\nX-Injected: 1", 1},
		{"under_score-dash-of-22+", 1}, {"%41", 1},
	} {
		f.Add(valid, "application/json", k.key, k.mode, false)
	}
	f.Add([]byte(`{"author":"Ada","comment":"other text"}`), "application/json", fuzzKey, uint8(1), false) // mismatch
	f.Add(bodyOfSize(16<<10+1), "application/json", "", uint8(0), true)
	f.Add(bodyOfSize(16<<10), "application/json", "", uint8(0), true)

	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string, keyMode uint8, chunked bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		h := http.Header{"Content-Type": {contentType}}
		keyMode %= 3
		switch keyMode {
		case 1:
			h["Idempotency-Key"] = []string{key}
		case 2:
			h["Idempotency-Key"] = []string{key, key}
		}
		before := e.head(t)
		r := e.serve(context.Background(), "POST", "/api/boards/lobby/topics", body, chunked, h)
		after := e.head(t)
		if r.status >= 500 {
			t.Fatalf("server error for body %q: %s", clip(string(body)), r)
		}

		// What the contract makes of the request, in the order the
		// server checks it.
		var in shared.CreateTopic
		wantCodes := func(codes ...shared.Code) {
			t.Helper()
			wantCode(t, r, codes...)
			if after != before {
				t.Fatalf("refused request moved the head from %d to %d: %s", before, after, r)
			}
		}
		switch {
		case !jsonContentType(contentType):
			wantCodes(shared.CodeUnsupportedMediaType)
			return
		case len(body) > shared.MaxBodyBytes:
			wantCodes(shared.CodeBodyTooLarge)
			return
		case !refDecode(body, &in):
			if !utf8.Valid(body) {
				wantCodes(shared.CodeInvalidJSON, shared.CodeInvalidAuthor, shared.CodeInvalidComment)
			} else {
				wantCodes(shared.CodeInvalidJSON)
			}
			return
		}
		if err := in.Normalize(); err != nil {
			wantCodes(shared.ErrorCode(err))
			return
		}
		if keyMode == 2 || keyMode == 1 && !idempotencyKeyPattern.MatchString(key) {
			wantCodes(shared.CodeInvalidIdempotencyKey)
			return
		}
		var first keyUse
		var seen bool
		if keyMode == 1 {
			first, seen = e.keys[key]
		}
		if seen && (first.author != in.Author || first.comment != in.Comment) {
			wantCodes(shared.CodeIdempotencyMismatch)
			return
		}

		// A post the contract takes: 201, or 200 with the first answer
		// for a replayed key.
		wantStatus := http.StatusCreated
		if seen {
			wantStatus = http.StatusOK
		}
		if r.status != wantStatus {
			t.Fatalf("status %d, want %d for author %q comment %q: %s", r.status, wantStatus, in.Author, clip(in.Comment), r)
		}
		c := decodeCreated(t, r)
		wantStored(t, c.topic, "lobby", in.Author, in.Comment)
		if seen {
			if !bytes.Equal(r.body, first.body) {
				t.Fatalf("replay answered\n%s\nwant the first answer\n%s", r.body, first.body)
			}
			if after != before {
				t.Fatalf("replay moved the head from %d to %d", before, after)
			}
			return
		}
		if after != before+1 {
			t.Fatalf("a post moved the head from %d to %d, want one change", before, after)
		}
		if c.topic.ID <= e.lastID {
			t.Fatalf("new topic id %d, not above the last id %d", c.topic.ID, e.lastID)
		}
		e.lastID = c.topic.ID
		if keyMode == 1 {
			// (A short key may occur in the answer by chance: in an id, a
			// time or the owner token.)
			if len(key) >= 16 && !strings.Contains(in.Comment, key) && !strings.Contains(in.Author, key) &&
				bytes.Contains(r.body, []byte(key)) {
				t.Fatalf("the answer shows the Idempotency-Key %q: %s", key, r)
			}
			e.keys[key] = keyUse{author: in.Author, comment: in.Comment, body: bytes.Clone(r.body)}
		}
	})
}

// wantStored checks a topic the server answered with: the board, and the
// author and comment exactly as the contract's normalisation gives them.
func wantStored(t *testing.T, topic shared.Topic, board, author, comment string) {
	t.Helper()
	switch {
	case topic.Board != board:
		t.Fatalf("topic board %q, want %q", topic.Board, board)
	case topic.Comment != comment:
		t.Fatalf("stored comment %q, want the normalised input %q", clip(topic.Comment), clip(comment))
	case topic.Author != author:
		t.Fatalf("stored author %q, want the normalised input %q", topic.Author, author)
	case !utf8.ValidString(topic.Comment) || !utf8.ValidString(topic.Author):
		t.Fatalf("stored text is not valid UTF-8: %+v", topic)
	case strings.TrimSpace(topic.Comment) != topic.Comment || strings.TrimSpace(topic.Author) != topic.Author:
		t.Fatalf("stored text is not trimmed: %+v", topic)
	}
	if n := utf8.RuneCountInString(topic.Comment); n < 1 || n > shared.MaxCommentChars {
		t.Fatalf("stored comment has %d characters", n)
	}
	if n := utf8.RuneCountInString(topic.Author); n < 1 || n > shared.MaxAuthorChars {
		t.Fatalf("stored author has %d characters", n)
	}
	if topic.UpdatedAt.Before(topic.CreatedAt) {
		t.Fatalf("updated_at %v before created_at %v", topic.UpdatedAt, topic.CreatedAt)
	}
}

// ---------------------------------------------------------------------------
// PATCH /api/boards/{board}/topics/{id}

func FuzzEditTopicBody(f *testing.F) {
	for i, b := range writeBodySeeds() {
		f.Add(b, "application/json", uint8(0), uint8(0), i%5 == 0)
	}
	valid := []byte(`{"comment":"edited"}`)
	for i, ct := range writeContentTypes {
		f.Add(valid, ct, uint8(0), uint8(0), i%2 == 0)
	}
	for auth := range uint8(5) {
		for target := range uint8(4) {
			f.Add(valid, "application/json", auth, target, false)
		}
	}
	f.Add([]byte(`{"comment":"edited","author":"someone else"}`), "application/json", uint8(0), uint8(0), false)

	e := newFuzzEnv(f)
	owned := e.setupPost(f, "lobby", "to be edited")
	foreign := e.setupPost(f, "other", "on another board")
	f.Fuzz(func(t *testing.T, body []byte, contentType string, auth, target uint8, chunked bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		h := http.Header{"Content-Type": {contentType}}
		auth %= 5
		switch auth {
		case 0:
			h.Set("Authorization", "Bearer "+owned.token)
		case 1: // none
		case 2:
			h.Set("Authorization", "Bearer "+owned.token+"x")
		case 3:
			h.Set("Authorization", "Bearer "+moderatorToken)
		case 4:
			h.Set("Authorization", "bearer   "+owned.token+"  ")
		}
		target %= 4
		id := strconv.FormatInt(owned.topic.ID, 10)
		switch target {
		case 1:
			id = "999999999"
		case 2:
			id = strconv.FormatInt(foreign.topic.ID, 10) // exists, on board "other"
		case 3:
			id = "abc"
		}
		before := e.head(t)
		r := e.serve(context.Background(), "PATCH", "/api/boards/lobby/topics/"+id, body, chunked, h)
		after := e.head(t)
		if r.status >= 500 {
			t.Fatalf("server error for body %q: %s", clip(string(body)), r)
		}
		var in shared.EditTopic
		wantCodes := func(codes ...shared.Code) {
			t.Helper()
			wantCode(t, r, codes...)
			if after != before {
				t.Fatalf("refused request moved the head from %d to %d: %s", before, after, r)
			}
		}
		switch {
		case !jsonContentType(contentType):
			wantCodes(shared.CodeUnsupportedMediaType)
			return
		case len(body) > shared.MaxBodyBytes:
			wantCodes(shared.CodeBodyTooLarge)
			return
		case !refDecode(body, &in):
			if !utf8.Valid(body) {
				wantCodes(shared.CodeInvalidJSON, shared.CodeInvalidComment)
			} else {
				wantCodes(shared.CodeInvalidJSON)
			}
			return
		}
		if err := in.Normalize(); err != nil {
			wantCodes(shared.ErrorCode(err))
			return
		}
		switch {
		case target != 0: // unknown, on another board, not a number
			wantCodes(shared.CodeNotFound)
			return
		case auth == 1:
			wantCodes(shared.CodeUnauthorized)
			return
		case auth == 2 || auth == 3: // a wrong token; the moderator's does not edit
			wantCodes(shared.CodeForbidden)
			return
		}
		if r.status != http.StatusOK {
			t.Fatalf("status %d, want 200 for comment %q: %s", r.status, clip(in.Comment), r)
		}
		wantJSONType(t, r)
		topic := wantTopic(t, r.body)
		if topic.ID != owned.topic.ID {
			t.Fatalf("edited topic %d, want %d", topic.ID, owned.topic.ID)
		}
		wantStored(t, topic, "lobby", owned.topic.Author, in.Comment)
		if !topic.CreatedAt.Equal(owned.topic.CreatedAt) {
			t.Fatalf("edit changed created_at from %v to %v", owned.topic.CreatedAt, topic.CreatedAt)
		}
		if after != before+1 {
			t.Fatalf("an edit moved the head from %d to %d, want one change", before, after)
		}
	})
}

// ---------------------------------------------------------------------------
// GET /api/boards/{board}?limit= and GET /api/boards/{board}/changes?cursor=&wait=

// FuzzBoardQuery sends arbitrary board segments and query strings to the
// snapshot and the long-poll endpoints. "EPOCH" in the query stands for
// the database's epoch, so the fuzzer can reach valid cursors.
func FuzzBoardQuery(f *testing.F) {
	huge := "99999999999999999999"
	queries := []string{
		"", "limit=1", "limit=500", "limit=501", "limit=0", "limit=-1", "limit=-0", "limit=+5", "limit=007",
		"limit=" + huge, "limit=1.5", "limit=1e3", "limit=0x10", "limit=%205", "limit=5%20", "limit=", "limit",
		"limit=%zz", "limit=5;x=1", "limit=%00", "limit=\u0661", "limit=1&limit=abc", "limit=abc&limit=1",
		strings.Repeat("limit=1&", 500) + "limit=x",
		"wait=0", "wait=1", "wait=30", "wait=31", "wait=-0", "wait=-1", "wait=+5", "wait=" + huge, "wait=-" + huge,
		"wait=1.5", "wait=abc", "wait=%205", "wait=30s", "wait=", "wait=0&wait=x",
		"cursor=EPOCH.0&wait=0", "cursor=EPOCH.2&wait=5", "cursor=EPOCH.3&wait=0", "cursor=EPOCH.5&wait=1",
		"cursor=EPOCH.6&wait=0", "cursor=EPOCH.05&wait=0", "cursor=EPOCH." + huge + "&wait=0",
		"cursor=EPOCH.9223372036854775807&wait=0", "cursor=EPOCH.-1&wait=0", "cursor=EPOCH&wait=0",
		"cursor=other.1&wait=0", "cursor=&wait=0", "cursor=%00&wait=0", "cursor=x&cursor=EPOCH.0&wait=0",
		"cursor=EPOCH.0&cursor=x&wait=0", "cursor=EPOCH.0&wait=" + huge, "cursor=EPOCH.0&wait=-0",
		"cursor=EPOCH.0&limit=0&wait=1.5",
		"before=2", "before=3&limit=1", "before=1", "before=6", "before=0", "before=-1", "before=+2", "before=02",
		"before=" + huge, "before=1.5", "before=", "before", "before=2&before=x", "limit=0&before=x", "before=%00",
	}
	segs := []string{"lobby", "other", "empty", "Lobby", "-x", "a_b", "%00", "a%00b", "%2F", "lobby%2Ftopics",
		"%2e%2e", "..", ".", "", "%C3%A9", "\xff", strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("a", 1000), "lobby/topics", "lobby?limit=1", "lobby#x", "a%20b"}
	for i, q := range queries {
		f.Add(segs[i%len(segs)], q, uint8(i%2))
		f.Add("lobby", q, uint8(0))
		f.Add("lobby", q, uint8(1))
	}
	for _, s := range segs {
		f.Add(s, "", uint8(0))
		f.Add(s, "cursor=EPOCH.0&wait=0", uint8(1))
	}

	e := newFuzzEnv(f)
	for i := range 3 {
		e.setupPost(f, "lobby", "lobby topic "+strconv.Itoa(i))
	}
	for i := range 2 {
		e.setupPost(f, "other", "other topic "+strconv.Itoa(i))
	}
	e.settle(f)
	head := e.head(f)
	ids := map[string][]int64{} // each board's topic ids, oldest first
	for i := range int64(5) {
		b := "lobby"
		if i >= 3 {
			b = "other"
		}
		ids[b] = append(ids[b], i+1)
	}

	f.Fuzz(func(t *testing.T, seg, query string, endpoint uint8) {
		suffix := ""
		if endpoint%2 == 1 {
			suffix = "/changes"
		}
		query = strings.ReplaceAll(query, "EPOCH", e.st.Epoch())
		target := "/api/boards/" + seg + suffix
		if query != "" {
			target += "?" + query
		}
		// A request line cannot hold a space or a control character:
		// such targets never reach the handler (net/http answers 400).
		if strings.ContainsAny(target, " \t\r\n") {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		// What the ServeMux does: redirect to the clean path, else route
		// by the escaped path's segments.
		esc := u.EscapedPath()
		parts := strings.Split(esc, "/")
		route := "other"
		var board string
		switch {
		case cleanPath(esc) != esc:
			route = "redirect"
		case len(parts) == 4 && parts[3] != "":
			route = "board"
		case len(parts) == 5 && parts[3] != "" && parts[4] == "changes":
			route = "changes"
		case len(parts) == 5 && parts[3] != "" && parts[4] == "events":
			return // a stream; not this target's business
		}
		if route == "board" || route == "changes" {
			if board, err = url.PathUnescape(parts[3]); err != nil {
				t.Fatalf("ServeMux routed %q, which does not unescape: %v", esc, err)
			}
		}
		q := u.Query()
		boardOK := boardPattern.MatchString(board)

		// A long poll at the head of a valid cursor is held: the request
		// ends after a short while, as a client that gives up.
		held := false
		waitText := q.Get("wait")
		wait, waitOK := refInteger(waitText)
		if waitText == "" {
			wait, waitOK = big0(25), true
		}
		cursor := q.Get("cursor")
		var seq int64
		cursorOK := false
		if m := refCursorPattern.FindStringSubmatch(cursor); m != nil && m[1] == e.st.Epoch() {
			if n, err := strconv.ParseInt(m[2], 10, 64); err == nil && n <= head {
				seq, cursorOK = n, true
			}
		}
		pending := 0 // changes on the board after the cursor
		for _, s := range e.changes[board] {
			if s > seq {
				pending++
			}
		}
		if route == "changes" && boardOK && waitOK && wait.Sign() > 0 && cursorOK && pending == 0 {
			held = true
		}
		timeout := patience
		if held {
			timeout = 20 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req := (&http.Request{Method: "GET", URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "example.com", Body: http.NoBody}).WithContext(ctx)
		r := e.record(req)
		if r.status >= 500 {
			t.Fatalf("server error for %q: %s", target, r)
		}
		if after := e.head(t); after != head {
			t.Fatalf("a GET moved the head from %d to %d", head, after)
		}

		switch route {
		case "redirect": // net/http's own answer to an unclean path
			if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") == "" {
				t.Fatalf("unclean path %q: %s, want net/http's 307", esc, r)
			}
			return
		case "other":
			wantCode(t, r, shared.CodeNotFound)
			return
		case "board":
			limitText := q.Get("limit")
			limit, limitOK := refInteger(limitText)
			if limitText == "" {
				limit, limitOK = big0(shared.DefaultSnapshotLen), true
			}
			limitOK = limitOK && limit.Cmp(big0(1)) >= 0 && limit.Cmp(big0(shared.MaxSnapshotLen)) <= 0
			switch {
			case !boardOK && strings.Contains(board, "/"):
				// %2F: ServeMux may not route it (a 404, as the contract allows).
				wantCode(t, r, shared.CodeInvalidBoard, shared.CodeNotFound)
			case !boardOK:
				wantCode(t, r, shared.CodeInvalidBoard)
			case !limitOK:
				wantCode(t, r, shared.CodeInvalidLimit)
			case q.Has("before") && !canonicalID(q.Get("before")):
				wantCode(t, r, shared.CodeInvalidBefore)
			default:
				if r.status != http.StatusOK {
					t.Fatalf("GET %q: %s, want 200", target, r)
				}
				wantJSONType(t, r)
				m := fields(t, r.body, "board", "cursor", "topics")
				var snap shared.Snapshot
				if err := json.Unmarshal(r.body, &snap); err != nil || string(m["topics"]) == "null" {
					t.Fatalf("snapshot %s (%v)", r, err)
				}
				below := len(ids[board]) // topics older than before (all, without it)
				if q.Has("before") {
					b, _ := strconv.ParseInt(q.Get("before"), 10, 64)
					below = 0
					for _, id := range ids[board] {
						if id < b {
							below++
						}
					}
				}
				want := min(int(limit.Int64()), below)
				if snap.Board != board || snap.Cursor != e.cursor(head) || len(snap.Topics) != want {
					t.Fatalf("GET %q: board %q cursor %q with %d topics; want %q %q with %d",
						target, snap.Board, snap.Cursor, len(snap.Topics), board, e.cursor(head), want)
				}
				for _, topic := range snap.Topics {
					if topic.Board != board {
						t.Fatalf("board %q shows a topic of %q", board, topic.Board)
					}
				}
			}
			return
		}

		// route == "changes"
		// A negative wait: the contract does not say, the server refuses.
		// A wait beyond int64: the contract takes values above 30 as 30.
		waitMayFail := waitOK && wait.Sign() < 0
		switch {
		case !boardOK && (!waitOK || waitMayFail):
			wantCode(t, r, shared.CodeInvalidWait, shared.CodeInvalidBoard, shared.CodeNotFound)
			return
		case !boardOK:
			if strings.Contains(board, "/") {
				// %2F: ServeMux may not route it (a 404, as the contract allows).
				wantCode(t, r, shared.CodeInvalidBoard, shared.CodeNotFound)
			} else {
				wantCode(t, r, shared.CodeInvalidBoard)
			}
			return
		case !waitOK:
			wantCode(t, r, shared.CodeInvalidWait)
			return
		case waitMayFail && r.status != http.StatusOK:
			wantCode(t, r, shared.CodeInvalidWait)
			return
		}
		if held {
			if r.status != http.StatusOK || len(r.body) != 0 {
				t.Fatalf("long poll at the head with wait %s answered before it ended: %s", wait, r)
			}
			return
		}
		p := e.decodePoll(t, r, board)
		switch {
		case !cursorOK:
			if p.reset == nil {
				t.Fatalf("unusable cursor %q: %s, want a reset", cursor, r)
			}
		case pending > 0:
			if p.reset != nil || len(p.changes) != pending {
				t.Fatalf("cursor %q: %s, want %d changes", cursor, r, pending)
			}
			for _, c := range p.changes {
				if seqOf(t, c.Cursor) <= seq || c.Board != board {
					t.Fatalf("change %+v after cursor %q of board %q", c, cursor, board)
				}
			}
		default: // wait 0 at the head: nothing new, the same cursor
			if p.reset != nil || len(p.changes) != 0 || p.cursor != cursor {
				t.Fatalf("cursor %q, wait 0: %s, want no changes and the same cursor", cursor, r)
			}
		}
	})
}

func big0(n int64) *big.Int { return big.NewInt(n) }

// cleanPath is net/http's: the canonical path the ServeMux redirects to.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}

var boardPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
