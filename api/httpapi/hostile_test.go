package httpapi_test

// TestHostileInput sends hostile requests — huge headers, deep JSON, NUL
// bytes, overlong slugs, odd ids and numbers, duplicate parameters,
// percent-encoded slashes — byte for byte over raw TCP to a real
// http.Server configured as api/server.go configures it (MaxHeaderBytes
// 32 KiB, ReadHeaderTimeout), backed by a real SQLite store and hub. Each
// must get a clear 4xx: the contract's JSON error body (code and message)
// where the handler answers, or net/http's own plain answer where the
// request cannot reach it (431 for huge headers, 400 for bytes no request
// line may hold, 307 for an unclean path). And none may change anything:
// the change log's head and the boards are compared before and after.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/shared"
)

type hostileEnv struct {
	*streamEnv
	prod *httptest.Server // configured like api/server.go: MaxHeaderBytes 32 KiB
	wide *httptest.Server // the same handler with net/http's default 1 MiB header limit
	vars *strings.Replacer
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	st := openStore(t)
	m := httpapi.NewMetrics()
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: time.Hour, Metrics: m.Hub()})
	if err != nil {
		t.Fatalf("start hub: %v", err)
	}
	handler := httpapi.New(httpapi.Config{Store: st, Feed: h, Metrics: m, ModeratorToken: moderatorToken})

	// As api/server.go sets up its http.Server.
	prod := httptest.NewUnstartedServer(handler)
	prod.Config.ReadHeaderTimeout = 10 * time.Second
	prod.Config.IdleTimeout = 2 * time.Minute
	prod.Config.MaxHeaderBytes = 32 << 10
	prod.Config.ErrorLog = log.New(io.Discard, "", 0)
	prod.Start()
	wide := httptest.NewUnstartedServer(handler)
	wide.Config.ErrorLog = log.New(io.Discard, "", 0)
	wide.Start()
	t.Cleanup(prod.Close)
	t.Cleanup(wide.Close)
	t.Cleanup(h.Close)
	return &hostileEnv{streamEnv: &streamEnv{env: &env{srv: prod, st: st}, hub: h, client: prod.Client()},
		prod: prod, wide: wide}
}

// rawReq is sent byte for byte: nothing is checked or escaped on the way.
type rawReq struct {
	method  string
	target  string   // the request line's target, as is
	header  []string // "Name: value" lines, as is
	body    string
	chunked bool // send the body with Transfer-Encoding: chunked
	wide    bool // to the server with net/http's default header limit
}

// send writes q on a fresh connection and reads the answer. The request is
// written in the background: a server may answer (431, 413) before it has
// read everything, and close.
func (e *hostileEnv) send(t *testing.T, q rawReq) response {
	t.Helper()
	srv := e.prod
	if q.wide {
		srv = e.wide
	}
	expand := func(s string) string { return e.vars.Replace(s) }
	var b strings.Builder
	b.WriteString(q.method + " " + expand(q.target) + " HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() + "\r\n")
	hasLength := false
	for _, h := range q.header {
		b.WriteString(expand(h) + "\r\n")
		hasLength = hasLength || strings.HasPrefix(strings.ToLower(h), "content-length:")
	}
	body := expand(q.body)
	switch {
	case q.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
		if body != "" {
			body = strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n"
		}
		body += "0\r\n\r\n"
	case !hasLength && (body != "" || q.method == "POST" || q.method == "PATCH"):
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)

	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), patience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = io.WriteString(conn, b.String()) // may fail once the server answered and closed
	}()
	defer func() { conn.Close(); <-written }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no HTTP answer: %v", err)
	}
	defer resp.Body.Close()
	body2, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body2}
}

// world is everything a request could change: the change log's head and
// the two boards the tests write to, as GET shows them.
func (e *hostileEnv) world(t *testing.T) string {
	t.Helper()
	head, err := e.st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("head %d\nlobby %s\nother %s", head, e.state(t, "lobby"), e.state(t, "other"))
}

// outcome is an answer a case may get: the handler's contract error
// (code set), net/http's own plain answer (byNetHTTP), or a success that
// check inspects.
type outcome struct {
	status    int
	code      shared.Code
	byNetHTTP bool
	check     func(t *testing.T, e *hostileEnv, r response)
}

func (o outcome) String() string {
	switch {
	case o.code != "":
		return fmt.Sprintf("%d %s", o.status, o.code)
	case o.byNetHTTP:
		return fmt.Sprintf("%d by net/http", o.status)
	}
	return strconv.Itoa(o.status)
}

func contract(code shared.Code) outcome { return outcome{status: contractStatus[code], code: code} }
func netHTTP(status int) outcome        { return outcome{status: status, byNetHTTP: true} }

// snapshotOf: 200 with a Snapshot of board holding n topics.
func snapshotOf(board string, n int) outcome {
	return outcome{status: http.StatusOK, check: func(t *testing.T, e *hostileEnv, r response) {
		snap, _ := e.snapshot(t, board, "?limit=500")
		got := e.wantSnapshotBody(t, r, board)
		if len(got.Topics) != min(n, len(snap.Topics)) {
			t.Fatalf("snapshot with %d topics, want %d", len(got.Topics), min(n, len(snap.Topics)))
		}
	}}
}

func (e *hostileEnv) wantSnapshotBody(t *testing.T, r response, board string) shared.Snapshot {
	t.Helper()
	wantJSONType(t, r)
	m := fields(t, r.body, "board", "cursor", "topics")
	var snap shared.Snapshot
	if string(m["topics"]) == "null" || json.Unmarshal(r.body, &snap) != nil || snap.Board != board {
		t.Fatalf("not a snapshot of %q: %s", board, r)
	}
	return snap
}

// pollAnswer: a long poll's 200, with changes (or a reset when reset).
func pollAnswer(reset bool) outcome {
	return outcome{status: http.StatusOK, check: func(t *testing.T, e *hostileEnv, r response) {
		p := e.decodePoll(t, r, "lobby")
		if (p.reset != nil) != reset || !reset && len(p.changes) == 0 {
			t.Fatalf("long poll answered %s; want a reset: %v", r, reset)
		}
	}}
}

type hostileCase struct {
	name string
	req  rawReq
	want outcome
	alt  []outcome // other answers the contract allows
}

func TestHostileInput(t *testing.T) {
	e := newHostileEnv(t)
	var tokens []string
	for i := range 5 {
		tokens = append(tokens, e.post(t, "lobby", "owner", "topic "+strconv.Itoa(i+1)).token) // ids 1–5
	}
	other := e.post(t, "other", "owner", "on another board") // id 6
	if other.topic.ID != 6 {
		t.Fatalf("setup: topic id %d, want 6", other.topic.ID)
	}
	e.vars = strings.NewReplacer("{tok1}", tokens[0], "{tok5}", tokens[4], "{tok6}", other.token,
		"{mod}", moderatorToken, "{epoch}", e.st.Epoch())
	e.settle(t)

	rep := strings.Repeat
	jsonCT := "Content-Type: application/json"
	auth1 := "Authorization: Bearer {tok1}"
	auth5 := "Authorization: Bearer {tok5}"
	authMod := "Authorization: Bearer {mod}"
	post := func(body string, h ...string) rawReq {
		return rawReq{method: "POST", target: "/api/boards/lobby/topics", header: append([]string{jsonCT}, h...), body: body}
	}
	// patch sends the owner token of topic 1 unless h holds another
	// Authorization header.
	patch := func(id, body string, h ...string) rawReq {
		header := []string{jsonCT}
		if !slices.ContainsFunc(h, func(s string) bool { return strings.HasPrefix(s, "Authorization:") }) {
			header = append(header, auth1)
		}
		return rawReq{method: "PATCH", target: "/api/boards/lobby/topics/" + id, header: append(header, h...), body: body}
	}
	get := func(target string, h ...string) rawReq { return rawReq{method: "GET", target: target, header: h} }
	valid := `{"author":"mallory","comment":"should never be stored"}`
	many := func(pair string, n int) string { return strings.TrimSuffix(rep(pair+"&", n), "&") }

	cases := []hostileCase{
		// Huge headers: net/http refuses them itself (431) on the server
		// set up like api/server.go; under the limit the handler answers.
		{name: "40 KiB header", req: get("/api/boards/lobby", "X-Pad: "+rep("a", 40<<10)), want: netHTTP(431)},
		{name: "2000 small headers", req: get("/api/boards/lobby", strings.Split(strings.TrimSuffix(rep("X-Many: 0123456789abcdef\n", 2000), "\n"), "\n")...), want: netHTTP(431)},
		{name: "valid post with a 64 KiB cookie", req: post(valid, "Cookie: c="+rep("x", 64<<10)), want: netHTTP(431)},
		{name: "PATCH with a 100 KiB Authorization", req: patch("1", `{"comment":"x"}`, "Authorization: Bearer "+rep("t", 100<<10)), want: netHTTP(431)},
		{name: "DELETE with a 100 KiB Authorization", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/1", header: []string{"Authorization: Bearer " + rep("t", 100<<10)}}, want: netHTTP(431)},
		{name: "PATCH with a 100 KiB Authorization, 1 MiB header limit", req: rawReq{wide: true, method: "PATCH", target: "/api/boards/lobby/topics/1", header: []string{jsonCT, "Authorization: Bearer " + rep("t", 100<<10)}, body: `{"comment":"x"}`}, want: contract(shared.CodeForbidden)},
		{name: "DELETE with a 100 KiB Authorization, 1 MiB header limit", req: rawReq{wide: true, method: "DELETE", target: "/api/boards/lobby/topics/1", header: []string{"Authorization: Bearer " + rep("t", 100<<10)}}, want: contract(shared.CodeForbidden)},
		{name: "DELETE with an Authorization padded with 100 KiB of spaces, 1 MiB header limit", req: rawReq{wide: true, method: "DELETE", target: "/api/boards/lobby/topics/1", header: []string{"Authorization: Bearer " + rep(" ", 100<<10) + "x"}}, want: contract(shared.CodeForbidden)},
		{name: "PATCH with a 30 KiB Authorization", req: patch("1", `{"comment":"x"}`, "Authorization: Bearer "+rep("t", 30<<10)), want: contract(shared.CodeForbidden)},
		// net/http reads MaxHeaderBytes + 4 KiB before it refuses.
		{name: "33 KiB header", req: get("/api/boards/lobby", "X-Pad: "+rep("a", 33<<10)), want: snapshotOf("lobby", 100), alt: []outcome{netHTTP(431)}},

		// Deep JSON.
		{name: "comment nested 10000 deep (20 KiB)", req: post(string(deepArray(10000, true))), want: contract(shared.CodeBodyTooLarge)},
		{name: "comment nested 8000 deep", req: post(string(deepArray(8000, true))), want: contract(shared.CodeInvalidJSON)},
		{name: "16000 unclosed brackets", req: post(string(deepArray(16000, false))), want: contract(shared.CodeInvalidJSON)},
		{name: "100000 deep, chunked", req: rawReq{method: "POST", target: "/api/boards/lobby/topics", header: []string{jsonCT}, body: string(deepArray(100000, true)), chunked: true}, want: contract(shared.CodeBodyTooLarge)},
		{name: "PATCH nested 8000 deep", req: patch("1", string(deepArray(8000, true))), want: contract(shared.CodeInvalidJSON)},
		{name: "unknown field nested 2500 deep, empty comment", req: post(`{"comment":"","x":` + rep(`{"a":`, 2500) + "1" + rep("}", 2500) + "}"), want: contract(shared.CodeInvalidComment)},

		// NUL bytes.
		{name: "comment with escaped NUL", req: post(`{"comment":"a\u0000b"}`), want: contract(shared.CodeInvalidComment)},
		{name: "comment only an escaped NUL", req: post(`{"comment":"\u0000"}`), want: contract(shared.CodeInvalidComment)},
		{name: "author with escaped NUL", req: post(`{"author":"\u0000","comment":"hi"}`), want: contract(shared.CodeInvalidAuthor)},
		{name: "raw NUL in the comment", req: post("{\"comment\":\"a\x00b\"}"), want: contract(shared.CodeInvalidJSON)},
		{name: "raw NUL after the object", req: post("{\"comment\":\"hi\"}\x00"), want: contract(shared.CodeInvalidJSON)},
		{name: "body of one NUL", req: post("\x00"), want: contract(shared.CodeInvalidJSON)},
		{name: "PATCH comment with escaped NUL", req: patch("1", `{"comment":"\u0000"}`), want: contract(shared.CodeInvalidComment)},
		{name: "board %00", req: get("/api/boards/%00"), want: contract(shared.CodeInvalidBoard)},
		{name: "board a%00b", req: get("/api/boards/a%00b"), want: contract(shared.CodeInvalidBoard)},
		{name: "POST to board lobby%00", req: rawReq{method: "POST", target: "/api/boards/lobby%00/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard)},
		{name: "raw NUL in the path", req: get("/api/boards/a\x00b"), want: netHTTP(400)},
		{name: "PATCH topic 1%00", req: patch("1%00", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "DELETE topic 1%00", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/1%00", header: []string{auth1}}, want: contract(shared.CodeNotFound)},
		{name: "raw NUL in Idempotency-Key", req: post(valid, "Idempotency-Key: a\x00b"), want: netHTTP(400)},
		{name: "raw NUL in Authorization", req: patch("1", `{"comment":"x"}`, "Authorization: Bearer {tok1}\x00"), want: netHTTP(400)},

		// Overlong board slugs, on every endpoint.
		{name: "65-character board, GET", req: get("/api/boards/" + rep("a", 65)), want: contract(shared.CodeInvalidBoard)},
		{name: "65-character board, POST", req: rawReq{method: "POST", target: "/api/boards/" + rep("a", 65) + "/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard)},
		{name: "65-character board, PATCH", req: rawReq{method: "PATCH", target: "/api/boards/" + rep("a", 65) + "/topics/1", header: []string{jsonCT, auth1}, body: `{"comment":"x"}`}, want: contract(shared.CodeInvalidBoard)},
		{name: "65-character board, DELETE", req: rawReq{method: "DELETE", target: "/api/boards/" + rep("a", 65) + "/topics/1", header: []string{authMod}}, want: contract(shared.CodeInvalidBoard)},
		{name: "65-character board, events", req: get("/api/boards/" + rep("a", 65) + "/events"), want: contract(shared.CodeInvalidBoard)},
		{name: "65-character board, changes", req: get("/api/boards/" + rep("a", 65) + "/changes?wait=0"), want: contract(shared.CodeInvalidBoard)},
		{name: "1000-character board, GET", req: get("/api/boards/" + rep("b", 1000)), want: contract(shared.CodeInvalidBoard)},
		{name: "1000-character board, POST", req: rawReq{method: "POST", target: "/api/boards/" + rep("b", 1000) + "/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard)},
		{name: "1000-character board, DELETE", req: rawReq{method: "DELETE", target: "/api/boards/" + rep("b", 1000) + "/topics/1", header: []string{authMod}}, want: contract(shared.CodeInvalidBoard)},
		{name: "1000-character board, changes", req: get("/api/boards/" + rep("b", 1000) + "/changes?wait=0"), want: contract(shared.CodeInvalidBoard)},
		{name: "100000-character board, GET", req: get("/api/boards/" + rep("c", 100000)), want: netHTTP(431)},
		{name: "100000-character board, POST", req: rawReq{method: "POST", target: "/api/boards/" + rep("c", 100000) + "/topics", header: []string{jsonCT}, body: valid}, want: netHTTP(431)},
		{name: "100000-character board, GET, 1 MiB header limit", req: rawReq{wide: true, method: "GET", target: "/api/boards/" + rep("c", 100000)}, want: contract(shared.CodeInvalidBoard)},
		{name: "100000-character board, POST, 1 MiB header limit", req: rawReq{wide: true, method: "POST", target: "/api/boards/" + rep("c", 100000) + "/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard)},

		// Topic ids that are not the decimal id the server issued.
		{name: "PATCH id 99999999999999999999", req: patch("99999999999999999999", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "DELETE id 99999999999999999999", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/99999999999999999999", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
		{name: "PATCH id 9223372036854775807", req: patch("9223372036854775807", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "PATCH id 9223372036854775808", req: patch("9223372036854775808", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "PATCH id -1", req: patch("-1", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "DELETE id -1", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/-1", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
		{name: "PATCH id 0", req: patch("0", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "DELETE id 0", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/0", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
		{name: "PATCH id 1e3", req: patch("1e3", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "PATCH id 0x10", req: patch("0x10", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "PATCH id 5.0", req: patch("5.0", `{"comment":"x"}`, auth5), want: contract(shared.CodeNotFound)},
		{name: "PATCH id %205 (space 5)", req: patch("%205", `{"comment":"x"}`, auth5), want: contract(shared.CodeNotFound)},
		{name: "PATCH id 5%20", req: patch("5%20", `{"comment":"x"}`, auth5), want: contract(shared.CodeNotFound)},
		{name: "PATCH id Arabic-Indic five", req: patch("%D9%A5", `{"comment":"x"}`, auth5), want: contract(shared.CodeNotFound)},
		{name: "PATCH id +5 with topic 5's token", req: patch("+5", `{"comment":"edited through +5"}`, auth5), want: contract(shared.CodeNotFound)},
		{name: "PATCH id 05 with topic 5's token", req: patch("05", `{"comment":"edited through 05"}`, auth5), want: contract(shared.CodeNotFound)},

		// An unknown topic with a valid token: 404 before the token.
		{name: "PATCH unknown id with a valid owner token", req: patch("999", `{"comment":"x"}`), want: contract(shared.CodeNotFound)},
		{name: "DELETE unknown id with a valid owner token", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/999", header: []string{auth1}}, want: contract(shared.CodeNotFound)},
		{name: "DELETE unknown id with the moderator token", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/999", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
		{name: "PATCH another board's topic with its token", req: rawReq{method: "PATCH", target: "/api/boards/lobby/topics/6", header: []string{jsonCT, "Authorization: Bearer {tok6}"}, body: `{"comment":"x"}`}, want: contract(shared.CodeNotFound)},
		{name: "DELETE another board's topic with its token", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/6", header: []string{"Authorization: Bearer {tok6}"}}, want: contract(shared.CodeNotFound)},
		{name: "DELETE another board's topic with the moderator token", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/6", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
		{name: "PATCH topic 1 on board other with its token", req: rawReq{method: "PATCH", target: "/api/boards/other/topics/1", header: []string{jsonCT, auth1}, body: `{"comment":"x"}`}, want: contract(shared.CodeNotFound)},
		{name: "PATCH with Authorization Bearer and no token", req: patch("1", `{"comment":"x"}`, "Authorization: Bearer"), want: contract(shared.CodeUnauthorized)},
		{name: "PATCH with Basic authorization", req: patch("1", `{"comment":"x"}`, "Authorization: Basic e3RvazF9"), want: contract(shared.CodeUnauthorized)},

		// Idempotency-Key.
		{name: "Idempotency-Key of 65 characters", req: post(valid, "Idempotency-Key: "+rep("k", 65)), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "Idempotency-Key of 10000 characters", req: post(valid, "Idempotency-Key: "+rep("k", 10000)), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "non-ASCII Idempotency-Key", req: post(valid, "Idempotency-Key: ключ"), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "Idempotency-Key with a raw 0xFF byte", req: post(valid, "Idempotency-Key: k\xffk"), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "empty Idempotency-Key", req: post(valid, "Idempotency-Key: "), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "Idempotency-Key with a space", req: post(valid, "Idempotency-Key: a b"), want: contract(shared.CodeInvalidIdempotencyKey)},
		{name: "two Idempotency-Key headers", req: post(valid, "Idempotency-Key: k1", "Idempotency-Key: k1"), want: contract(shared.CodeInvalidIdempotencyKey)},

		// limit and wait.
		{name: "limit 99999999999999999999", req: get("/api/boards/lobby?limit=99999999999999999999"), want: contract(shared.CodeInvalidLimit)},
		{name: "limit -0", req: get("/api/boards/lobby?limit=-0"), want: contract(shared.CodeInvalidLimit)},
		{name: "limit 1.5", req: get("/api/boards/lobby?limit=1.5"), want: contract(shared.CodeInvalidLimit)},
		{name: "limit %205 (space 5)", req: get("/api/boards/lobby?limit=%205"), want: contract(shared.CodeInvalidLimit)},
		{name: "limit 0x10", req: get("/api/boards/lobby?limit=0x10"), want: contract(shared.CodeInvalidLimit)},
		// Go's url.Query drops a pair it cannot unescape, so the server
		// sees no limit at all.
		{name: "limit %zz", req: get("/api/boards/lobby?limit=%zz"), want: contract(shared.CodeInvalidLimit), alt: []outcome{snapshotOf("lobby", 100)}},
		// The contract: wait "an integer, … values above 30 taken as 30".
		// Changes after the cursor exist, so a taken wait answers at once.
		{name: "wait 99999999999999999999", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=99999999999999999999"), want: pollAnswer(false)},
		{name: "wait -0", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=-0"), want: pollAnswer(false)},
		{name: "wait 1.5", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=1.5"), want: contract(shared.CodeInvalidWait)},
		{name: "wait %205 (space 5)", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=%205"), want: contract(shared.CodeInvalidWait)},
		{name: "wait 1e3", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=1e3"), want: contract(shared.CodeInvalidWait)},

		// Many duplicate query parameters: the first counts.
		{name: "limit=1 then 1000 limit=abc", req: get("/api/boards/lobby?limit=1&" + many("limit=abc", 1000)), want: snapshotOf("lobby", 1), alt: []outcome{contract(shared.CodeInvalidLimit)}},
		{name: "limit=abc then 1000 limit=1", req: get("/api/boards/lobby?limit=abc&" + many("limit=1", 1000)), want: contract(shared.CodeInvalidLimit)},
		{name: "3000 limit=2", req: get("/api/boards/lobby?" + many("limit=2", 3000)), want: snapshotOf("lobby", 2)},
		{name: "5000 limit=1 (over the header limit)", req: get("/api/boards/lobby?" + many("limit=1", 5000)), want: netHTTP(431)},
		{name: "wait=0 then 1000 wait=abc", req: get("/api/boards/lobby/changes?cursor={epoch}.0&wait=0&" + many("wait=abc", 1000)), want: pollAnswer(false), alt: []outcome{contract(shared.CodeInvalidWait)}},
		{name: "cursor=x then a valid cursor", req: get("/api/boards/lobby/changes?cursor=x&cursor={epoch}.0&wait=0"), want: pollAnswer(true)},
		{name: "1000 cursors", req: get("/api/boards/lobby/changes?wait=0&" + many("cursor={epoch}.0", 1000)), want: pollAnswer(false)},

		// Percent-encoded NUL, slash and dots in board names.
		{name: "board %2F", req: get("/api/boards/%2F"), want: contract(shared.CodeInvalidBoard), alt: []outcome{contract(shared.CodeNotFound)}},
		{name: "board lobby%2F", req: get("/api/boards/lobby%2F"), want: contract(shared.CodeInvalidBoard), alt: []outcome{contract(shared.CodeNotFound)}},
		{name: "board lobby%2Ftopics", req: get("/api/boards/lobby%2Ftopics"), want: contract(shared.CodeInvalidBoard)},
		{name: "POST to board lobby%2Ftopics", req: rawReq{method: "POST", target: "/api/boards/lobby%2Ftopics/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard)},
		{name: "POST to board %2F", req: rawReq{method: "POST", target: "/api/boards/%2F/topics", header: []string{jsonCT}, body: valid}, want: contract(shared.CodeInvalidBoard), alt: []outcome{contract(shared.CodeNotFound)}},
		{name: "DELETE through lobby%2F..%2Fother", req: rawReq{method: "DELETE", target: "/api/boards/lobby%2F..%2Fother/topics/6", header: []string{authMod}}, want: contract(shared.CodeInvalidBoard)},
		{name: "board %2e%2e", req: get("/api/boards/%2e%2e"), want: contract(shared.CodeInvalidBoard)},
		{name: "board %252F", req: get("/api/boards/%252F"), want: contract(shared.CodeInvalidBoard)},
		{name: "board %C0%AF (overlong slash)", req: get("/api/boards/%C0%AF"), want: contract(shared.CodeInvalidBoard)},
		{name: "POST through /../", req: rawReq{method: "POST", target: "/api/boards/x/../lobby/topics", header: []string{jsonCT}, body: valid}, want: netHTTP(307)},

		// Bodies that are not one JSON object.
		{name: "object after U+00A0", req: post("\u00a0" + valid), want: contract(shared.CodeInvalidJSON)},
		{name: "object before U+3000", req: post(valid + "\u3000"), want: contract(shared.CodeInvalidJSON)},
		{name: "object after a BOM", req: post("\ufeff" + valid), want: contract(shared.CodeInvalidJSON)},
		{name: "object then garbage", req: post(valid + " x"), want: contract(shared.CodeInvalidJSON)},
		{name: "PATCH with invalid UTF-8 in an author field", req: patch("1", "{\"author\":\"\xff\",\"comment\":\"fine\"}"), want: contract(shared.CodeInvalidJSON)},

		// Unknown endpoints: the 404 must not quote kilobytes of the path.
		{name: "unknown endpoint with a 20 KiB path", req: get("/api/" + rep("x", 20<<10)), want: contract(shared.CodeNotFound)},
		{name: "unknown endpoint under a board with a 1000-byte tail", req: get("/api/boards/lobby/" + rep("y", 1000)), want: contract(shared.CodeNotFound)},

		// Framing.
		{name: "Content-Length 99999999999999999999", req: post(valid, "Content-Length: 99999999999999999999"), want: netHTTP(400)},
		{name: "Content-Length -1", req: post(valid, "Content-Length: -1"), want: netHTTP(400)},
		{name: "two different Content-Lengths", req: post(valid, "Content-Length: 56", "Content-Length: 5"), want: netHTTP(400)},
		{name: "20000-byte body with its length", req: post(`{"comment":"` + rep("a", 20000) + `"}`), want: contract(shared.CodeBodyTooLarge)},

		// Last: a DELETE that would remove topic 5 if "+5" named it.
		{name: "DELETE id +5 with the moderator token", req: rawReq{method: "DELETE", target: "/api/boards/lobby/topics/+5", header: []string{authMod}}, want: contract(shared.CodeNotFound)},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.world(t)
			r := e.send(t, tc.req)
			after := e.world(t)
			t.Logf("%s %s → %d %s", tc.req.method, clip(e.vars.Replace(tc.req.target)), r.status, clip(string(r.body)))
			if r.status >= 500 {
				t.Errorf("server error: %s", r)
			}
			if after != before {
				t.Errorf("the request changed the store:\nbefore %s\nafter  %s", clip(before), clip(after))
			}
			for _, o := range append([]outcome{tc.want}, tc.alt...) {
				if r.status != o.status {
					continue
				}
				switch {
				case o.code != "":
					wantError(t, r, o.status, o.code)
				case o.byNetHTTP:
					// net/http's plain answer, not the handler's JSON.
					if ct := r.header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
						t.Fatalf("a %d in JSON, want net/http's own answer: %s", r.status, r)
					}
				default:
					o.check(t, e, r)
				}
				return
			}
			want := tc.want.String()
			for _, o := range tc.alt {
				want += " or " + o.String()
			}
			t.Fatalf("got %s, want %s", r, want)
		})
	}
}
