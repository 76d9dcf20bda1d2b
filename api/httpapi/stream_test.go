package httpapi_test

// These tests drive the live part of the wire contract (DESIGN.md section
// 3): the SSE stream GET /api/boards/{board}/events, the long poll
// GET /api/boards/{board}/changes and /metrics, through a real HTTP server
// on loopback, backed by a real SQLite store and a real hub. Streams are
// decoded with shared/sse, the decoder native clients use.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// patience bounds every wait for something that should happen at once, so
// a broken server fails a test instead of hanging it.
const patience = 10 * time.Second

// ---------------------------------------------------------------------------
// Test environment

type streamEnv struct {
	*env
	hub     *hub.Hub
	handler *httpapi.Handler
	client  *http.Client // for streams: headers must come within patience
}

type hubOptions struct {
	heartbeat time.Duration // 0: an hour, so no ping disturbs a test
	buffer    int           // 0: the hub's default
	// sendBuffer, when set, caps the server sockets' kernel send buffer
	// (SO_SNDBUF), so a client that stops reading blocks the server's
	// writes after a few hundred KiB instead of megabytes.
	sendBuffer int
	// configure, when set, adjusts the API's configuration.
	configure func(*httpapi.Config)
}

// smallSendBuffers sets SO_SNDBUF on every accepted connection.
type smallSendBuffers struct {
	net.Listener
	size int
}

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && err == nil {
		if err := tc.SetWriteBuffer(l.size); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

// newStreamEnv is newEnv plus a real hub as the Feed and the metrics the
// hub reports through. Cleanups run in reverse: the hub closes first (which
// ends every stream), then the server, then the store.
func newStreamEnv(t *testing.T, o hubOptions) *streamEnv {
	t.Helper()
	st := openStore(t)
	if o.heartbeat == 0 {
		o.heartbeat = time.Hour
	}
	m := httpapi.NewMetrics()
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: o.heartbeat, Buffer: o.buffer, Metrics: m.Hub()})
	if err != nil {
		t.Fatalf("start hub: %v", err)
	}
	cfg := httpapi.Config{Store: st, Feed: h, Metrics: m, ModeratorToken: moderatorToken}
	if o.configure != nil {
		o.configure(&cfg)
	}
	handler := httpapi.New(cfg)
	srv := httptest.NewUnstartedServer(handler)
	if o.sendBuffer > 0 {
		srv.Listener = smallSendBuffers{Listener: srv.Listener, size: o.sendBuffer}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(h.Close)
	tr := &http.Transport{ResponseHeaderTimeout: patience}
	t.Cleanup(tr.CloseIdleConnections)
	return &streamEnv{env: &env{srv: srv, st: st}, hub: h, handler: handler, client: &http.Client{Transport: tr}}
}

// ---------------------------------------------------------------------------
// SSE helpers

// stream is one open SSE response; a goroutine decodes it into events.
type stream struct {
	events   chan sse.Event // closed when the stream ends
	comments chan string
	err      error // why it ended; read after events is closed
	cancel   context.CancelFunc
}

// get starts a GET on the stream client and returns the response, whatever
// its status, once the headers arrive.
func (e *streamEnv) get(t *testing.T, path string, h http.Header) (*http.Response, context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp, ctx, cancel
}

// open starts an SSE request and checks the stream's headers.
func (e *streamEnv) open(t *testing.T, path string, h http.Header) *stream {
	t.Helper()
	resp, ctx, cancel := e.get(t, path, h)
	wantStreamHeaders(t, resp)
	s := &stream{events: make(chan sse.Event), comments: make(chan string, 64), cancel: cancel}
	dec := sse.NewDecoder(resp.Body, 1<<20)
	dec.OnComment(func(c string) {
		select {
		case s.comments <- c:
		default:
		}
	})
	go func() {
		defer close(s.events)
		for {
			ev, err := dec.Next()
			if err != nil {
				s.err = err
				return
			}
			select {
			case s.events <- ev:
			case <-ctx.Done(): // the test is over
				s.err = ctx.Err()
				return
			}
		}
	}()
	return s
}

func wantStreamHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want 200; body %q", resp.StatusCode, clip(string(b)))
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
		t.Fatalf("Content-Type %q, want text/event-stream", resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("Cache-Control %q, want no-cache", cc)
	}
	if xa := resp.Header.Get("X-Accel-Buffering"); xa != "no" {
		t.Fatalf("X-Accel-Buffering %q, want no", xa)
	}
}

// next returns the next event; the stream must not end first.
func (s *stream) next(t *testing.T) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatalf("stream ended: %v", s.err)
		}
		return ev
	case <-time.After(patience):
		t.Fatalf("no event within %v", patience)
	}
	panic("unreachable")
}

// end waits for the stream to end and returns why; no event may come first.
func (s *stream) end(t *testing.T) error {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("event %+v, want the stream to end", ev)
		}
		return s.err
	case <-time.After(patience):
		t.Fatalf("stream still open after %v", patience)
	}
	panic("unreachable")
}

// nothingPending asserts that no event is pending right now: everything
// sent so far has been read. It does not wait for events still to come.
func (s *stream) nothingPending(t *testing.T) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
		t.Fatalf("stream ended: %v", s.err)
	default:
	}
}

// wantReset checks a reset event: its id is the snapshot's cursor and its
// data a Snapshot of the board, equal to what GET shows.
func (e *streamEnv) wantReset(t *testing.T, ev sse.Event, board string) shared.Snapshot {
	t.Helper()
	if ev.Type != "reset" {
		t.Fatalf("event %q (%q), want reset", ev.Type, clip(ev.Data))
	}
	snap := e.wantSnapshot(t, []byte(ev.Data), board)
	if ev.ID != snap.Cursor {
		t.Fatalf("reset id %q, want the snapshot's cursor %q", ev.ID, snap.Cursor)
	}
	return snap
}

// wantSnapshot checks raw is a Snapshot of board equal to GET's.
func (e *streamEnv) wantSnapshot(t *testing.T, raw []byte, board string) shared.Snapshot {
	t.Helper()
	m := fields(t, raw, "board", "cursor", "topics")
	if string(m["topics"]) == "null" {
		t.Fatalf("snapshot topics are null, want []: %s", raw)
	}
	var snap shared.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatalf("decode snapshot: %v: %s", err, clip(string(raw)))
	}
	got, _ := e.snapshot(t, board, "")
	if snap.Board != board || !sameSnapshot(snap, got) {
		t.Fatalf("snapshot %s\nwant the board as GET shows it: %+v", clip(string(raw)), got)
	}
	return snap
}

func sameSnapshot(a, b shared.Snapshot) bool {
	if a.Board != b.Board || a.Cursor != b.Cursor || len(a.Topics) != len(b.Topics) {
		return false
	}
	for i := range a.Topics {
		if a.Topics[i] != b.Topics[i] {
			return false
		}
	}
	return true
}

// wantChange checks a change event: "event: change", id equal to the
// change's cursor, data exactly a Change.
func wantChange(t *testing.T, ev sse.Event) shared.Change {
	t.Helper()
	if ev.Type != "change" {
		t.Fatalf("event %q (%q), want change", ev.Type, clip(ev.Data))
	}
	c := decodeChange(t, []byte(ev.Data))
	if ev.ID != c.Cursor {
		t.Fatalf("change id %q, want its cursor %q", ev.ID, c.Cursor)
	}
	return c
}

// decodeChange checks the wire form of a Change.
func decodeChange(t *testing.T, raw []byte) shared.Change {
	t.Helper()
	m := fields(t, raw, "cursor", "board", "kind", "topic")
	var c shared.Change
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("decode change: %v: %s", err, clip(string(raw)))
	}
	switch c.Kind {
	case shared.ChangeCreated, shared.ChangeUpdated:
		if topic := wantTopic(t, m["topic"]); topic.Board != c.Board {
			t.Fatalf("change of board %q carries a topic of board %q", c.Board, topic.Board)
		}
	case shared.ChangeDeleted:
		if c.Topic.ID <= 0 || c.Topic.Board != c.Board {
			t.Fatalf("deleted change without id and board: %s", raw)
		}
	default:
		t.Fatalf("change kind %q", c.Kind)
	}
	return c
}

// wantNext reads the next event and checks it is the change want.
func (s *stream) wantNext(t *testing.T, want shared.Change) {
	t.Helper()
	want.Seq = 0 // the server's own; the wire carries the cursor only
	if got := wantChange(t, s.next(t)); got != want {
		t.Fatalf("change\n got %+v\nwant %+v", got, want)
	}
}

// created, updated and deleted are the changes the writes should publish.
func (e *streamEnv) createdChange(c created, seq int64) shared.Change {
	return shared.Change{Cursor: e.cursor(seq), Board: c.topic.Board, Kind: shared.ChangeCreated, Topic: c.topic}
}

func (e *streamEnv) edit(t *testing.T, c created, comment string, seq int64) shared.Change {
	t.Helper()
	r := e.do(t, "PATCH", topicPath(c.topic.Board, c.topic.ID), js(t, shared.EditTopic{Comment: comment}),
		jsonHdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusOK)
	return shared.Change{Cursor: e.cursor(seq), Board: c.topic.Board, Kind: shared.ChangeUpdated, Topic: wantTopic(t, r.body)}
}

func (e *streamEnv) remove(t *testing.T, c created, seq int64) shared.Change {
	t.Helper()
	r := e.do(t, "DELETE", topicPath(c.topic.Board, c.topic.ID), "", hdr("Authorization", bearer(c.token)))
	wantStatus(t, r, http.StatusNoContent)
	return shared.Change{Cursor: e.cursor(seq), Board: c.topic.Board, Kind: shared.ChangeDeleted,
		Topic: shared.Topic{ID: c.topic.ID, Board: c.topic.Board}}
}

func eventsPath(board string, cursor string) string {
	p := "/api/boards/" + board + "/events"
	if cursor != "" {
		p += "?cursor=" + cursor
	}
	return p
}

// ---------------------------------------------------------------------------
// Metrics helpers

var labelPattern = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// metric scrapes /metrics and returns the value of the series name whose
// labels include the given name/value pairs (summed over the rest).
func (e *streamEnv) metric(t *testing.T, name string, labels ...string) (float64, bool) {
	t.Helper()
	r := e.do(t, "GET", "/metrics", "", nil)
	wantStatus(t, r, http.StatusOK)
	return metricValue(t, string(r.body), name, labels...)
}

func metricValue(t *testing.T, text, name string, labels ...string) (float64, bool) {
	t.Helper()
	sum, found := 0.0, false
lines:
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := cutLast(line, " ")
		if !ok {
			continue
		}
		got := map[string]string{}
		metricName := series
		if i := strings.IndexByte(series, '{'); i >= 0 {
			metricName = series[:i]
			for _, m := range labelPattern.FindAllStringSubmatch(series[i:], -1) {
				got[m[1]] = m[2]
			}
		}
		if metricName != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	return sum, found
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// waitMetric polls /metrics until the series satisfies ok.
func (e *streamEnv) waitMetric(t *testing.T, name string, ok func(float64) bool, labels ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		v, found := e.metric(t, name, labels...)
		if found && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s%q is %v (present %v) after %v", name, labels, v, found, patience)
		}
		<-tick.C
	}
}

// settle waits until the hub has fanned out every committed change, so a
// subscription's replay reaches the head (writes wake the hub
// asynchronously; changes it has not fanned out yet come live instead).
func (e *streamEnv) settle(t testing.TB) {
	t.Helper()
	head, err := e.st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for e.hub.Last() < head {
		if time.Now().After(deadline) {
			t.Fatalf("hub at seq %d, store head %d after %v", e.hub.Last(), head, patience)
		}
		<-tick.C
	}
}

func equals(want float64) func(float64) bool  { return func(v float64) bool { return v == want } }
func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }

// ---------------------------------------------------------------------------
// Long-poll helpers

type poll struct {
	status  int
	raw     []byte
	cursor  string
	changes []shared.Change
	raws    []json.RawMessage // the changes as sent
	reset   *shared.Snapshot
}

func (e *streamEnv) longPoll(t *testing.T, query string) poll {
	t.Helper()
	r := e.do(t, "GET", "/api/boards/lobby/changes"+query, "", nil)
	return e.decodePoll(t, r, "lobby")
}

// decodePoll checks the long poll's wire form: 200 with exactly
// {"cursor","changes"} (changes an array, never null) or {"cursor","reset"}
// with cursor equal to the reset's.
func (e *streamEnv) decodePoll(t *testing.T, r response, board string) poll {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	wantJSONType(t, r)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("long poll body: %v: %s", err, r)
	}
	p := poll{status: r.status, raw: r.body}
	if _, ok := m["reset"]; ok {
		m = fields(t, r.body, "cursor", "reset")
		p.cursor = jsonString(t, m["cursor"])
		snap := e.wantSnapshot(t, m["reset"], board)
		p.reset = &snap
		if p.cursor != snap.Cursor {
			t.Fatalf("long poll cursor %q, reset cursor %q: want equal", p.cursor, snap.Cursor)
		}
		return p
	}
	m = fields(t, r.body, "cursor", "changes")
	p.cursor = jsonString(t, m["cursor"])
	if string(m["changes"]) == "null" || json.Unmarshal(m["changes"], &p.raws) != nil || p.raws == nil {
		t.Fatalf("changes is %s, want a JSON array", m["changes"])
	}
	for _, raw := range p.raws {
		p.changes = append(p.changes, decodeChange(t, raw))
	}
	if n := len(p.changes); n > 0 && p.cursor != p.changes[n-1].Cursor {
		t.Fatalf("long poll cursor %q, want the last change's %q", p.cursor, p.changes[n-1].Cursor)
	}
	return p
}

func wantChanges(t *testing.T, got []shared.Change, want ...shared.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		want[i].Seq = 0 // the server's own; the wire carries the cursor only
		if got[i] != want[i] {
			t.Fatalf("change %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// pollResult is a long poll run in the background.
type pollResult struct {
	r    response
	err  error
	took time.Duration
}

func (e *streamEnv) startPoll(query string) <-chan pollResult {
	done := make(chan pollResult, 1)
	go func() {
		start := time.Now()
		r, err := e.send("GET", "/api/boards/lobby/changes"+query, nil, nil)
		done <- pollResult{r: r, err: err, took: time.Since(start)}
	}()
	return done
}

func await(t *testing.T, done <-chan pollResult) pollResult {
	t.Helper()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("long poll: %v", res.err)
		}
		return res
	case <-time.After(patience):
		t.Fatalf("long poll not answered within %v", patience)
	}
	panic("unreachable")
}

// ---------------------------------------------------------------------------
// GET /api/boards/{board}/events

// TestEventsHeaders: the headers are flushed at once, before any event,
// even when there is nothing to send (a valid cursor at the head of an
// empty log): the first read returns the retry frame.
func TestEventsHeaders(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	resp, _, _ := e.get(t, eventsPath("lobby", e.cursor(0)), nil) // ResponseHeaderTimeout bounds this
	wantStreamHeaders(t, resp)

	first := make(chan string, 1)
	go func() {
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		first <- string(buf[:n])
	}()
	select {
	case got := <-first:
		if !strings.HasPrefix(got, "retry: ") || !strings.HasSuffix(got, "\n\n") {
			t.Fatalf("first read %q, want the retry frame", got)
		}
	case <-time.After(patience):
		t.Fatal("the stream's first bytes were not flushed")
	}

	// Without a cursor the reset follows at once, with the same headers.
	s := e.open(t, eventsPath("empty", ""), nil)
	snap := e.wantReset(t, s.next(t), "empty")
	if snap.Cursor != e.cursor(0) || len(snap.Topics) != 0 {
		t.Fatalf("reset of an empty board: %+v", snap)
	}
}

// TestEventsReset: no cursor, or one the server cannot use, starts with a
// reset carrying the board's snapshot; live changes follow from it.
func TestEventsReset(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "one")
	e.post(t, "lobby", "Bob", "two")
	e.post(t, "other", "Cy", "elsewhere")
	for _, tc := range []struct{ name, cursor string }{
		{"no cursor", ""},
		{"malformed", "not-a-cursor"},
		{"malformed seq", e.st.Epoch() + ".x"},
		{"another epoch", "zzzz.1"},
		{"ahead of head", e.cursor(99)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := e.open(t, eventsPath("lobby", tc.cursor), nil)
			snap := e.wantReset(t, s.next(t), "lobby")
			if len(snap.Topics) < 2 || snap.Topics[len(snap.Topics)-1].Comment != "one" {
				t.Fatalf("reset snapshot %+v", snap)
			}
			// Live changes continue from the snapshot's cursor.
			head := seqOf(t, snap.Cursor)
			c := e.post(t, "lobby", "Dee", "live after "+tc.name)
			s.wantNext(t, e.createdChange(c, head+1))
		})
	}
	// The same through Last-Event-ID.
	s := e.open(t, eventsPath("lobby", ""), hdr("Last-Event-ID", "zzzz.1"))
	e.wantReset(t, s.next(t), "lobby")
}

func seqOf(t *testing.T, cursor string) int64 {
	t.Helper()
	c, ok := shared.ParseCursor(cursor)
	if !ok {
		t.Fatalf("cursor %q does not parse", cursor)
	}
	return c.Seq
}

// TestEventsReplayThenLive: a valid cursor gets the board's changes after
// it, then live ones, each exactly once and in order, edits and deletes
// included; other boards' changes never show.
func TestEventsReplayThenLive(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	a := e.post(t, "lobby", "Ada", "a")   // 1
	e.post(t, "other", "Xi", "x")         // 2
	b := e.post(t, "lobby", "Bob", "b")   // 3
	cEdit := e.edit(t, b, "b, edited", 4) // 4
	c := e.post(t, "lobby", "Cy", "c")    // 5
	s := e.open(t, eventsPath("lobby", e.cursor(1)), nil)
	s.wantNext(t, e.createdChange(b, 3))
	s.wantNext(t, cEdit)
	s.wantNext(t, e.createdChange(c, 5))

	// Live: an edit, the delete of the OLDEST topic, a post elsewhere
	// (unseen) and a post here.
	s.wantNext(t, e.edit(t, c, "c, edited", 6))
	s.wantNext(t, e.remove(t, a, 7))
	e.post(t, "other", "Yu", "y") // 8
	d := e.post(t, "lobby", "Dee", "d")
	s.wantNext(t, e.createdChange(d, 9))
	s.nothingPending(t)

	// A cursor at the head: nothing to replay, live from there.
	s2 := e.open(t, eventsPath("lobby", e.cursor(9)), nil)
	f := e.post(t, "lobby", "Fa", "f")
	s2.wantNext(t, e.createdChange(f, 10))
	s.wantNext(t, e.createdChange(f, 10))
	// A cursor at 0 replays everything of the board.
	s3 := e.open(t, eventsPath("lobby", e.cursor(0)), nil)
	for _, want := range []int64{1, 3, 4, 5, 6, 7, 9, 10} {
		if got := wantChange(t, s3.next(t)); got.Cursor != e.cursor(want) || got.Board != "lobby" {
			t.Fatalf("replay from 0: got %+v, want cursor %s", got, e.cursor(want))
		}
	}
}

// commitQuietly writes a topic straight to the store without waking the
// hub, as a commit whose wake-up is still on its way.
func (e *streamEnv) commitQuietly(t *testing.T, board, comment string) shared.Change {
	t.Helper()
	c, err := e.st.CreateTopic(context.Background(), store.NewTopic{Board: board, Author: "Quiet", Comment: comment})
	if err != nil {
		t.Fatal(err)
	}
	return c.Change
}

// TestEventsHubBehind: commits the hub has not fanned out yet are neither
// lost nor duplicated: a cursor ahead of the hub but not of the database
// is valid, and a replay runs to the database's head at once (a long poll
// with wait=0 answers every committed change), then continues live.
func TestEventsHubBehind(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	first := e.commitQuietly(t, "lobby", "one") // 1
	if err := e.hub.CatchUp(); err != nil {
		t.Fatal(err)
	}
	second := e.commitQuietly(t, "lobby", "two")  // 2, unseen by the hub
	third := e.commitQuietly(t, "lobby", "three") // 3, unseen by the hub
	if e.hub.Last() != 1 {
		t.Fatalf("hub at %d, want 1", e.hub.Last())
	}
	fromStart := e.open(t, eventsPath("lobby", e.cursor(0)), nil)
	fromHead := e.open(t, eventsPath("lobby", e.cursor(3)), nil) // ahead of the hub only
	lp := e.longPoll(t, "?wait=0&cursor="+e.cursor(3))
	if lp.reset != nil || lp.cursor != e.cursor(3) || len(lp.changes) != 0 {
		t.Fatalf("long poll from a cursor the hub has not reached: %s", lp.raw)
	}
	lp = e.longPoll(t, "?wait=0&cursor="+e.cursor(0))
	wantChanges(t, lp.changes, first, second, third)
	fromStart.wantNext(t, first)
	fromStart.wantNext(t, second) // before the hub has them
	fromStart.wantNext(t, third)
	e.waitMetric(t, "kairan_sse_subscribers", equals(2))
	if err := e.hub.CatchUp(); err != nil {
		t.Fatal(err)
	}
	c := e.post(t, "lobby", "Ada", "four")
	fromStart.wantNext(t, e.createdChange(c, 4))
	fromHead.wantNext(t, e.createdChange(c, 4)) // 2 and 3 are not sent again
}

// TestResetAfterPrunedHistory: a cursor older than the retained history
// gets a reset on both framings; one at the pruned boundary still follows
// change by change.
func TestResetAfterPrunedHistory(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	var all []shared.Change
	for i := range 105 {
		all = append(all, e.commitQuietly(t, "lobby", "c"+strconv.Itoa(i)))
	}
	if err := e.hub.CatchUp(); err != nil {
		t.Fatal(err)
	}
	through, err := e.st.PruneHistory(context.Background(), 0, 0)
	if err != nil || through != 5 {
		t.Fatalf("pruned through %d (%v), want 5", through, err)
	}
	s := e.open(t, eventsPath("lobby", e.cursor(4)), nil)
	e.wantReset(t, s.next(t), "lobby")
	if p := e.longPoll(t, "?cursor="+e.cursor(4)); p.reset == nil {
		t.Fatalf("long poll from a pruned cursor: %s", clip(string(p.raw)))
	}
	s = e.open(t, eventsPath("lobby", e.cursor(5)), nil)
	for _, want := range all[5:] {
		s.wantNext(t, want)
	}
	p := e.longPoll(t, "?cursor="+e.cursor(5))
	wantChanges(t, p.changes, all[5:]...)
}

// TestEventsSubscribeDuringWrites: streams opened while writers are busy,
// from the start or from a cursor just seen, get every change after their
// cursor exactly once and in order: replay and live join without a gap or
// a duplicate.
func TestEventsSubscribeDuringWrites(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	const writers, each = 4, 25
	const total = writers * each
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r, err := e.send("POST", "/api/boards/lobby/topics",
					strings.NewReader(`{"comment":"w`+strconv.Itoa(w)+` #`+strconv.Itoa(i)+`"}`), jsonHdr())
				if err == nil && r.status != http.StatusCreated {
					err = errors.New("post: " + r.String())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	type follower struct {
		s    *stream
		from int64
	}
	var followers []follower
	for i := 0; i < 8; i++ {
		head, err := e.st.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		from := head
		if i%2 == 0 {
			from = 0
		}
		followers = append(followers, follower{e.open(t, eventsPath("lobby", e.cursor(from)), nil), from})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The log is the reference: on SQLite topic ids follow seq, but on
	// PostgreSQL ids are handed out before the seq, so compare with the log.
	log, err := e.st.ChangesSince(context.Background(), 0, total+1)
	if err != nil || len(log) != total {
		t.Fatalf("log has %d changes (%v), want %d", len(log), err, total)
	}
	for i, f := range followers {
		for seq := f.from + 1; seq <= total; seq++ {
			c := wantChange(t, f.s.next(t))
			if c.Cursor != e.cursor(seq) || c.Kind != shared.ChangeCreated || c.Topic.ID != log[seq-1].Topic.ID {
				t.Fatalf("follower %d from %d: got %+v, want seq %d (%+v)", i, f.from, c, seq, log[seq-1])
			}
		}
		f.s.nothingPending(t)
	}
}

// TestEventsLastEventIDWins: the browser's reconnect header beats ?cursor=.
func TestEventsLastEventIDWins(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")
	b := e.post(t, "lobby", "Bob", "b")
	c := e.post(t, "lobby", "Cy", "c")

	s := e.open(t, eventsPath("lobby", e.cursor(0)), hdr("Last-Event-ID", e.cursor(2)))
	s.wantNext(t, e.createdChange(c, 3))

	s = e.open(t, eventsPath("lobby", "garbage"), hdr("Last-Event-ID", e.cursor(1)))
	s.wantNext(t, e.createdChange(b, 2))
	s.wantNext(t, e.createdChange(c, 3))

	// Last-Event-ID unusable, ?cursor= fine: the header still wins → reset.
	s = e.open(t, eventsPath("lobby", e.cursor(1)), hdr("Last-Event-ID", "zzzz.1"))
	e.wantReset(t, s.next(t), "lobby")
}

// TestEventsPing: after silence a comment line keeps the stream alive; it
// is no event, and changes still follow.
func TestEventsPing(t *testing.T) {
	e := newStreamEnv(t, hubOptions{heartbeat: 20 * time.Millisecond})
	s := e.open(t, eventsPath("lobby", ""), nil)
	e.wantReset(t, s.next(t), "lobby")
	for range 2 {
		select {
		case c := <-s.comments:
			if c != "ping" {
				t.Fatalf("comment %q, want ping", c)
			}
		case <-time.After(patience):
			t.Fatal("no ping after silence")
		}
	}
	s.nothingPending(t)
	c := e.post(t, "lobby", "Ada", "after pings")
	s.wantNext(t, e.createdChange(c, 1))
}

// ---------------------------------------------------------------------------
// GET /api/boards/{board}/changes

func TestLongPollChangesAtOnce(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	a := e.post(t, "lobby", "Ada", "a")
	e.post(t, "other", "Xi", "x")
	b := e.post(t, "lobby", "Bob", "b")
	bEdit := e.edit(t, b, "b2", 4)
	aDel := e.remove(t, a, 5)
	e.settle(t)

	start := time.Now()
	p := e.longPoll(t, "?wait=30&cursor="+e.cursor(0))
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("long poll with changes waiting took %v, want at once", took)
	}
	wantChanges(t, p.changes, e.createdChange(a, 1), e.createdChange(b, 3), bEdit, aDel)
	if p.cursor != e.cursor(5) {
		t.Fatalf("cursor %q, want %q", p.cursor, e.cursor(5))
	}
	// From the middle, with the default wait.
	p = e.longPoll(t, "?cursor="+e.cursor(3))
	wantChanges(t, p.changes, bEdit, aDel)
}

// TestLongPollHeld: with nothing new the request is held until a post
// arrives, and answers with it.
func TestLongPollHeld(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")
	for _, wait := range []string{"30", "999"} { // 999 is taken as 30, not refused
		t.Run("wait="+wait, func(t *testing.T) {
			head, err := e.st.Head(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			done := e.startPoll("?wait=" + wait + "&cursor=" + e.cursor(head))
			e.waitMetric(t, "kairan_longpoll_waiters", equals(1))
			select {
			case res := <-done:
				t.Fatalf("long poll answered before any change: %s", res.r)
			default:
			}
			c := e.post(t, "lobby", "Bob", "wakes the poll "+wait)
			res := await(t, done)
			p := e.decodePoll(t, res.r, "lobby")
			wantChanges(t, p.changes, e.createdChange(c, head+1))
			e.waitMetric(t, "kairan_longpoll_waiters", equals(0))
		})
	}
}

// TestLongPollTimeout: nothing arrives within wait → 200 with the same
// cursor and "changes": [].
func TestLongPollTimeout(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")
	e.post(t, "other", "Xi", "x") // another board's change does not end the wait
	for _, tc := range []struct {
		wait    string
		atLeast time.Duration
	}{{"1", time.Second}, {"0", 0}} {
		start := time.Now()
		r := e.do(t, "GET", "/api/boards/lobby/changes?wait="+tc.wait+"&cursor="+e.cursor(1), "", nil)
		took := time.Since(start)
		p := e.decodePoll(t, r, "lobby")
		if p.cursor != e.cursor(1) || len(p.changes) != 0 {
			t.Fatalf("wait=%s: %s, want the same cursor and no changes", tc.wait, r)
		}
		if want := `{"cursor":"` + e.cursor(1) + `","changes":[]}`; strings.TrimSpace(string(r.body)) != want {
			t.Fatalf("wait=%s: body %s, want %s", tc.wait, r.body, want)
		}
		if took < tc.atLeast || took > tc.atLeast+5*time.Second {
			t.Fatalf("wait=%s answered after %v", tc.wait, took)
		}
	}
}

// TestLongPollReset: no cursor or an unusable one → the snapshot, with the
// answer's cursor equal to the snapshot's.
func TestLongPollReset(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")
	e.post(t, "lobby", "Bob", "b")
	for _, q := range []string{"", "?cursor=", "?cursor=garbage", "?cursor=zzzz.1", "?cursor=" + e.cursor(50),
		"?wait=30", "?cursor=zzzz.1&wait=30"} {
		start := time.Now()
		p := e.longPoll(t, q)
		if p.reset == nil || len(p.reset.Topics) != 2 || p.cursor != e.cursor(2) {
			t.Fatalf("%q: %s, want a reset", q, p.raw)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("%q: reset took %v, want at once", q, took)
		}
	}
	// An empty board's reset has "topics": [].
	r := e.do(t, "GET", "/api/boards/empty/changes", "", nil)
	p := e.decodePoll(t, r, "empty")
	if p.reset == nil || !strings.Contains(string(r.body), `"topics":[]`) {
		t.Fatalf("empty board: %s", r.body)
	}
}

func TestLongPollBadWait(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	for _, w := range []string{"abc", "1.5", "-1", "1e3", "30s", "%20"} {
		r := e.do(t, "GET", "/api/boards/lobby/changes?cursor="+e.cursor(0)+"&wait="+w, "", nil)
		wantError(t, r, http.StatusBadRequest, shared.CodeInvalidWait)
	}
	if v, _ := e.metric(t, "kairan_longpoll_waiters"); v != 0 {
		t.Fatalf("refused polls left %v waiters", v)
	}
}

// TestStreamsBoardValidation: a bad slug is invalid_board on both framings.
func TestStreamsBoardValidation(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	for _, p := range []string{"/api/boards/Bad/events", "/api/boards/Bad/changes",
		"/api/boards/-x/events?cursor=" + e.cursor(0), "/api/boards/a_b/changes?wait=1"} {
		wantError(t, e.do(t, "GET", p, "", nil), http.StatusBadRequest, shared.CodeInvalidBoard)
	}
	if v, _ := e.metric(t, "kairan_sse_subscribers"); v != 0 {
		t.Fatalf("refused streams left %v subscribers", v)
	}
}

// TestSSEAndLongPollAgree: the two framings deliver the very same Change
// values (byte for byte) for the same cursor, replayed and live.
func TestSSEAndLongPollAgree(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	a := e.post(t, "lobby", "Ada", "a")
	b := e.post(t, "lobby", "Bob", "b <&> \"quoted\"\nnew line\ttab ✓")
	e.edit(t, a, "a2", 3)
	e.remove(t, b, 4)
	e.settle(t)

	s := e.open(t, eventsPath("lobby", e.cursor(0)), nil)
	p := e.longPoll(t, "?cursor="+e.cursor(0))
	if len(p.raws) != 4 {
		t.Fatalf("long poll: %s", p.raw)
	}
	for i, raw := range p.raws {
		ev := s.next(t)
		wantChange(t, ev)
		if !sameJSON(t, []byte(ev.Data), raw) {
			t.Fatalf("change %d differs:\nSSE       %s\nlong poll %s", i, ev.Data, raw)
		}
	}
	// Live: a held poll and the stream get the same new change.
	done := e.startPoll("?wait=30&cursor=" + p.cursor)
	e.waitMetric(t, "kairan_longpoll_waiters", equals(1))
	e.post(t, "lobby", "Cy", "live")
	ev := s.next(t)
	wantChange(t, ev)
	lp := e.decodePoll(t, await(t, done).r, "lobby")
	if len(lp.raws) != 1 || !sameJSON(t, []byte(ev.Data), lp.raws[0]) || ev.ID != lp.cursor {
		t.Fatalf("live change differs:\nSSE       %s (id %s)\nlong poll %s", ev.Data, ev.ID, lp.raw)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var ca, cb bytes.Buffer
	if err := json.Compact(&ca, a); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&cb, b); err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// ---------------------------------------------------------------------------
// Slow subscribers

// TestSlowSubscriberDropped: a subscriber that stops reading is dropped
// once it falls Buffer changes behind (its stream ends, the drop is
// counted), while another subscriber of the same board gets every change
// in order.
func TestSlowSubscriberDropped(t *testing.T) {
	e := newStreamEnv(t, hubOptions{buffer: 2, sendBuffer: 16 << 10})
	healthy := e.open(t, eventsPath("lobby", e.cursor(0)), nil)

	// The stalled client: raw TCP, which reads the response headers and
	// then nothing. (Its receive buffer stays at the kernel's default:
	// one smaller than the loopback MSS makes the reader wait for the
	// sender's backed-off zero-window probes once it reads again.)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req, _ := http.NewRequest("GET", e.srv.URL+eventsPath("lobby", e.cursor(0)), nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(patience))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	wantStreamHeaders(t, resp)
	e.waitMetric(t, "kairan_sse_subscribers", equals(2))

	// Post large comments in lockstep with the healthy reader (so it never
	// lags more than one change) until the hub drops the stalled one.
	comment := strings.Repeat("kairanban ", 200) // 2000 characters
	var posted []shared.Change
	dropped := false
	const maxPosts = 20000
	for i := 0; i < maxPosts && !dropped; i++ {
		c := e.post(t, "lobby", "Ada", comment[:len(comment)-len(strconv.Itoa(i))]+strconv.Itoa(i))
		want := e.createdChange(c, int64(len(posted)+1))
		posted = append(posted, want)
		healthy.wantNext(t, want)
		if i%10 == 9 {
			v, _ := e.metric(t, "kairan_slow_subscribers_dropped_total")
			dropped = v >= 1
		}
	}
	if !dropped {
		t.Fatalf("the stalled subscriber was not dropped after %d changes", len(posted))
	}
	t.Logf("dropped after %d changes", len(posted))
	if v, _ := e.metric(t, "kairan_slow_subscribers_dropped_total"); v != 1 {
		t.Fatalf("%v subscribers dropped, want only the stalled one", v)
	}
	// The healthy one still gets everything.
	for i := range 5 {
		c := e.post(t, "lobby", "Bob", "after the drop "+strconv.Itoa(i))
		want := e.createdChange(c, int64(len(posted)+1))
		posted = append(posted, want)
		healthy.wantNext(t, want)
	}
	healthy.nothingPending(t)

	// The stalled stream, read now, holds a gap-free prefix of the changes
	// and then ends cleanly.
	_ = conn.SetReadDeadline(time.Now().Add(patience))
	dec := sse.NewDecoder(resp.Body, 1<<20)
	n := 0
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("stalled stream after %d events: %v", n, err)
		}
		c := wantChange(t, ev)
		if n >= len(posted) || c != posted[n] {
			t.Fatalf("stalled stream event %d: %+v, want %+v", n, c, posted[min(n, len(posted)-1)])
		}
		n++
	}
	t.Logf("the stalled stream got %d of %d changes before it ended", n, len(posted))
	if n >= len(posted)-5 {
		t.Fatalf("the dropped stream got %d of %d changes", n, len(posted))
	}
	e.waitMetric(t, "kairan_sse_subscribers", equals(1))

	// It resumes from its cursor without loss.
	resumed := e.open(t, eventsPath("lobby", ""), hdr("Last-Event-ID", e.cursor(int64(n))))
	for _, want := range posted[n:] {
		resumed.wantNext(t, want)
	}
}

// ---------------------------------------------------------------------------
// GET /metrics

func TestMetrics(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	r := e.do(t, "GET", "/metrics", "", nil)
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text exposition format", ct)
	}
	for _, name := range []string{"kairan_sse_subscribers", "kairan_longpoll_waiters",
		"kairan_changes_published_total", "kairan_events_delivered_total", "kairan_slow_subscribers_dropped_total"} {
		if v, ok := metricValue(t, string(r.body), name); !ok || v != 0 {
			t.Fatalf("%s = %v (present %v), want 0 at start:\n%s", name, v, ok, clip(string(r.body)))
		}
	}

	// A stream counts while it is open.
	s := e.open(t, eventsPath("lobby", e.cursor(0)), nil)
	e.waitMetric(t, "kairan_sse_subscribers", equals(1))
	c := e.post(t, "lobby", "Ada", "counted")
	s.wantNext(t, e.createdChange(c, 1))
	e.waitMetric(t, "kairan_changes_published_total", equals(1))
	e.waitMetric(t, "kairan_events_delivered_total", equals(1))
	s.cancel()
	e.waitMetric(t, "kairan_sse_subscribers", equals(0))

	// A long poll counts while it waits, and its delivery is counted.
	done := e.startPoll("?wait=30&cursor=" + e.cursor(1))
	e.waitMetric(t, "kairan_longpoll_waiters", equals(1))
	e.post(t, "lobby", "Bob", "wakes")
	e.decodePoll(t, await(t, done).r, "lobby")
	e.waitMetric(t, "kairan_longpoll_waiters", equals(0))
	e.waitMetric(t, "kairan_events_delivered_total", equals(2))
	e.waitMetric(t, "kairan_changes_published_total", equals(2))

	// Requests by route pattern, method and status.
	e.waitMetric(t, "kairan_http_requests_total", equals(2),
		"route", "POST /api/boards/{board}/topics", "method", "post", "code", "201")
	e.do(t, "POST", "/api/boards/lobby/topics", `{"comment":""}`, jsonHdr())
	e.waitMetric(t, "kairan_http_requests_total", equals(1),
		"route", "POST /api/boards/{board}/topics", "method", "post", "code", "400")
	e.waitMetric(t, "kairan_http_requests_total", equals(1),
		"route", "GET /api/boards/{board}/events", "method", "get", "code", "200")
	e.waitMetric(t, "kairan_http_request_duration_seconds_count", equals(3),
		"route", "POST /api/boards/{board}/topics", "method", "post")
	e.waitMetric(t, "kairan_http_request_duration_seconds_count", atLeast(1),
		"route", "GET /api/boards/{board}/changes", "method", "get")
	r = e.do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(r.body), "kairan_http_request_duration_seconds_bucket{") {
		t.Fatal("no duration histogram buckets")
	}
	// Paths never become labels: another board is the same series.
	e.post(t, "night-shift", "Cy", "elsewhere")
	e.waitMetric(t, "kairan_http_requests_total", equals(3),
		"route", "POST /api/boards/{board}/topics", "method", "post", "code", "201")
	if strings.Contains(string(e.do(t, "GET", "/metrics", "", nil).body), "night-shift") {
		t.Fatal("a board name leaked into the metric labels")
	}
}

// ---------------------------------------------------------------------------
// Shutdown

// TestHubClose: closing the hub ends every stream, answers waiting long
// polls at once with no changes, and new streams get 503 with Retry-After.
func TestHubClose(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")
	s := e.open(t, eventsPath("lobby", ""), nil)
	e.wantReset(t, s.next(t), "lobby")
	done := e.startPoll("?wait=30&cursor=" + e.cursor(1))
	e.waitMetric(t, "kairan_longpoll_waiters", equals(1))
	e.waitMetric(t, "kairan_sse_subscribers", equals(1))

	e.hub.Close()

	if err := s.end(t); !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want a clean EOF", err)
	}
	res := await(t, done)
	if res.took > 5*time.Second {
		t.Fatalf("waiting long poll answered after %v, want at once", res.took)
	}
	p := e.decodePoll(t, res.r, "lobby")
	if p.cursor != e.cursor(1) || len(p.changes) != 0 || !strings.Contains(string(p.raw), `"changes":[]`) {
		t.Fatalf("long poll at shutdown: %s", p.raw)
	}
	e.waitMetric(t, "kairan_sse_subscribers", equals(0))
	e.waitMetric(t, "kairan_longpoll_waiters", equals(0))

	for _, path := range []string{eventsPath("lobby", ""), eventsPath("lobby", e.cursor(1)),
		"/api/boards/lobby/changes?cursor=" + e.cursor(1)} {
		r := e.do(t, "GET", path, "", nil)
		wantError(t, r, http.StatusServiceUnavailable, shared.CodeUnavailable)
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra <= 0 {
			t.Fatalf("%s: Retry-After %q, want seconds", path, r.header.Get("Retry-After"))
		}
	}
	// REST still works while the streams are down.
	e.post(t, "lobby", "Bob", "still writable")
}
