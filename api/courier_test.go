package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The courier against the real server: faults are made only at the process
// edge, by a proxy in front of it.

const courierWait = 20 * time.Second // only ever a failure deadline

// courierRun is one native courier and what it reported.
type courierRun struct {
	c       *sync.Courier
	q       *sync.Queue      // the outbox it delivers
	updates chan sync.Outbox // the outbox after every change of it
	sent    chan courierSent
	last    sync.Outbox // newest outbox seen by a wait (test goroutine only)
	cancel  context.CancelFunc
	done    chan struct{}
}

type courierSent struct {
	op      sync.Op
	created *shared.CreatedTopic
	edited  *shared.Topic
}

func runCourier(t *testing.T, base string, saved sync.Outbox, tune ...func(*sync.Courier)) *courierRun {
	t.Helper()
	r := &courierRun{updates: make(chan sync.Outbox, 4096), sent: make(chan courierSent, 4096), last: saved.Clone(), done: make(chan struct{})}
	r.q = sync.NewQueue(saved, func() { r.updates <- r.q.Outbox() })
	r.c = sync.NewCourier(&client.Client{Base: base}, r.q)
	r.c.BackoffMin, r.c.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	for _, tn := range tune {
		tn(r.c)
	}
	r.c.OnSent = func(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
		r.sent <- courierSent{op, created, edited}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { defer close(r.done); r.c.Run(ctx) }()
	t.Cleanup(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(courierWait):
			t.Error("the courier's Run did not return after its context was cancelled")
		}
	})
	return r
}

// summary shows an outbox in a failure message, comments cut short.
func summary(o sync.Outbox) string {
	var b strings.Builder
	for _, op := range o.Ops {
		comment := []rune(op.Comment)
		if len(comment) > 40 {
			comment = append(comment[:40], '…')
		}
		fmt.Fprintf(&b, "\n  %s %s topic %d %q failed %q", op.Key, op.Kind, op.TopicID, string(comment), op.Failed)
	}
	return b.String()
}

// untilSent waits for the next n delivered ops.
func (r *courierRun) untilSent(t *testing.T, n int) []courierSent {
	t.Helper()
	deadline := time.NewTimer(courierWait)
	defer deadline.Stop()
	var got []courierSent
	for len(got) < n {
		select {
		case s := <-r.sent:
			got = append(got, s)
		case <-deadline.C:
			r.drain()
			t.Fatalf("waited for %d delivered ops, got %d; outbox:%s", n, len(got), summary(r.last))
		}
	}
	return got
}

// untilOutbox waits for a reported outbox that satisfies ok.
func (r *courierRun) untilOutbox(t *testing.T, what string, ok func(sync.Outbox) bool) sync.Outbox {
	t.Helper()
	deadline := time.NewTimer(courierWait)
	defer deadline.Stop()
	for {
		select {
		case o := <-r.updates:
			if r.last = o; ok(o) {
				return o
			}
		case <-deadline.C:
			t.Fatalf("waiting for %s; last outbox:%s", what, summary(r.last))
		}
	}
}

// drain takes the outboxes reported so far, keeping the newest.
func (r *courierRun) drain() sync.Outbox {
	for {
		select {
		case o := <-r.updates:
			r.last = o
		default:
			return r.last
		}
	}
}

// courierEdge is a proxy in front of the server that counts what passes
// and lets a test break the network for some requests.
type courierEdge struct {
	URL     string
	forward http.Handler
	mu      stdsync.Mutex
	counts  map[string]int // "METHOD path key" → requests
}

// newCourierEdge fronts m; fault, when it returns true, has answered the
// request itself (n is the request's number, from 1).
func newCourierEdge(t testing.TB, m *Main, fault func(w http.ResponseWriter, r *http.Request, n int) bool) *courierEdge {
	t.Helper()
	target, _ := url.Parse(m.URL())
	e := &courierEdge{forward: httputil.NewSingleHostReverseProxy(target), counts: map[string]int{}}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.counts[requestName(r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"))]++
		e.mu.Unlock()
		if fault != nil && fault(w, r, int(n.Add(1))) {
			return
		}
		e.forward.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() }) // a page's stream may still be open
	e.URL = srv.URL
	return e
}

func requestName(method, path, key string) string {
	return strings.TrimSpace(method + " " + path + " " + key)
}

// count is how many requests reached the edge with method, path and
// Idempotency-Key ("" for none).
func (e *courierEdge) count(method, path, key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[requestName(method, path, key)]
}

func (e *courierEdge) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.counts {
		n += c
	}
	return n
}

// hangUp drops the connection without an answer: the client sees a
// network error.
func hangUp(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// answerError writes a contract error body.
func answerError(w http.ResponseWriter, status int, code shared.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(shared.ErrorBody{Error: shared.Errorf(code, message)})
}

// logSince is the server's change log after head, as "kind id comment".
func logSince(t *testing.T, m *Main, head int64) []string {
	t.Helper()
	all, err := m.store.ChangesSince(context.Background(), head, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range all {
		out = append(out, strings.TrimSpace(fmt.Sprint(c.Kind, " ", c.Topic.ID, " ", c.Topic.Comment)))
	}
	return out
}

func storeHead(t *testing.T, m *Main) int64 {
	t.Helper()
	head, err := m.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// serverMessage is the message of the server's refusal err.
func serverMessage(t *testing.T, err error) string {
	t.Helper()
	var e *shared.Error
	if !errors.As(err, &e) || e.Message == "" {
		t.Fatalf("want a refusal with a message, got %v", err)
	}
	return e.Message
}

func TestCourierDeliversWritesQueuedOfflineInOrder(t *testing.T) {
	m := startServer(t)
	a := post(t, m.URL(), "lobby", "a, posted before")
	b := post(t, m.URL(), "lobby", "b, posted before")
	head := storeHead(t, m)

	var down atomic.Bool
	down.Store(true)
	refused := make(chan struct{}, 1)
	edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !down.Load() {
			return false
		}
		hangUp(w)
		select {
		case refused <- struct{}{}:
		default:
		}
		return true
	})
	r := runCourier(t, edge.URL, sync.Outbox{})

	// Ops on topics this person already owns. (An edit or delete of a post
	// still in the queue cannot be expressed: its id and owner token are
	// only known once it is delivered.)
	ops := []sync.Op{
		{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "c, queued offline"},
		{Key: sync.NewKey(), Kind: sync.OpEdit, Board: "lobby", TopicID: a.Topic.ID, Comment: "a, edited offline", Token: a.OwnerToken},
		{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "d, queued offline"},
		{Key: sync.NewKey(), Kind: sync.OpDelete, Board: "lobby", TopicID: b.Topic.ID, Token: b.OwnerToken},
	}
	for _, op := range ops {
		r.q.Add(op)
	}
	queued := r.untilOutbox(t, "all four ops queued", func(o sync.Outbox) bool { return len(o.Ops) == 4 })
	for i, op := range queued.Ops {
		if op.Key != ops[i].Key || op.Failed != "" || op.Queued.IsZero() {
			t.Fatalf("queued op %d = %+v, want %+v pending with a queue time", i, op, ops[i])
		}
	}
	select {
	case <-refused:
	case <-time.After(courierWait):
		t.Fatal("the courier never tried while the server was out of reach")
	}
	if got := logSince(t, m, head); len(got) != 0 {
		t.Fatalf("changes while the server was out of reach: %v", got)
	}

	down.Store(false)
	sent := r.untilSent(t, 4)
	for i, s := range sent {
		if s.op.Key != ops[i].Key {
			t.Fatalf("delivered op %d is %s %q, want %s %q", i, s.op.Kind, s.op.Comment, ops[i].Kind, ops[i].Comment)
		}
	}
	c, d := sent[0].created, sent[2].created
	if c == nil || d == nil || c.OwnerToken == "" || d.OwnerToken == "" {
		t.Fatalf("posts reported without topic and owner token: %+v, %+v", c, d)
	}
	if e := sent[1].edited; e == nil || e.ID != a.Topic.ID || e.Comment != "a, edited offline" {
		t.Fatalf("edit reported %+v", e)
	}
	if sent[3].created != nil || sent[3].edited != nil {
		t.Fatalf("delete reported %+v", sent[3])
	}
	want := []string{
		"created " + fmt.Sprint(c.Topic.ID) + " c, queued offline",
		"updated " + fmt.Sprint(a.Topic.ID) + " a, edited offline",
		"created " + fmt.Sprint(d.Topic.ID) + " d, queued offline",
		"deleted " + fmt.Sprint(b.Topic.ID),
	}
	if got := logSince(t, m, head); !slices.Equal(got, want) {
		t.Fatalf("change log\n got %q\nwant %q", got, want)
	}
	if o := r.untilOutbox(t, "an empty outbox", func(o sync.Outbox) bool { return len(o.Ops) == 0 }); len(o.Ops) != 0 {
		t.Fatalf("outbox after delivery: %+v", o)
	}
}

// TestCourierLostAnswerStillPostsOnce: the first POST reaches the server
// but its answer is lost; the courier sends it again with the same
// Idempotency-Key and the server answers with the first result.
func TestCourierLostAnswerStillPostsOnce(t *testing.T) {
	m := startServer(t)
	head := storeHead(t, m)
	lost := make(chan *httptest.ResponseRecorder, 1)
	var edge *courierEdge
	edge = newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n != 1 {
			return false
		}
		rec := httptest.NewRecorder()
		edge.forward.ServeHTTP(rec, r) // the server creates the topic...
		lost <- rec
		hangUp(w) // ...and the answer is lost on the way back
		return true
	})
	r := runCourier(t, edge.URL, sync.Outbox{})
	op := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "tunnel", Author: "ann", Comment: "through the tunnel"}
	r.q.Add(op)

	s := r.untilSent(t, 1)[0]
	rec := <-lost
	var first shared.CreatedTopic
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &first) != nil {
		t.Fatalf("the lost answer was %d %s, want 201 with the topic", rec.Code, rec.Body)
	}
	if n := edge.count("POST", "/api/boards/tunnel/topics", op.Key); n < 2 {
		t.Fatalf("%d POSTs with the key reached the edge, want the lost one and a retry", n)
	}
	if n := edge.count("POST", "/api/boards/tunnel/topics", ""); n != 0 {
		t.Fatalf("%d POSTs without the Idempotency-Key", n)
	}
	if s.created == nil || s.created.Topic.ID != first.Topic.ID || s.created.OwnerToken != first.OwnerToken {
		t.Fatalf("OnSent reported %+v, want the first answer %+v", s.created, first)
	}
	if n := countTopics(t, m.URL(), "tunnel", op.Comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
	if got := logSince(t, m, head); len(got) != 1 {
		t.Fatalf("change log %q, want one creation", got)
	}
	// The token the courier reported owns the topic.
	edited, err := (&client.Client{Base: m.URL()}).Edit(context.Background(), "tunnel", s.created.Topic.ID, "edited with the token", s.created.OwnerToken)
	if err != nil || edited.Comment != "edited with the token" {
		t.Fatalf("edit with the reported token: %+v, %v", edited, err)
	}
}

// TestCourierResumesASavedOutboxWithTheSameKey: after a reload the saved
// post is sent with its key again; the server already has it and answers
// with the first result, so it still exists once.
func TestCourierResumesASavedOutboxWithTheSameKey(t *testing.T) {
	m := startServer(t)
	op := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "sent before the reload", Queued: time.Now()}
	first, err := (&client.Client{Base: m.URL()}).Post(context.Background(), op.Board, shared.CreateTopic{Author: op.Author, Comment: op.Comment}, op.Key)
	if err != nil {
		t.Fatal(err)
	}
	refused := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "refused before the reload", Failed: "The comment is blocked."}
	edge := newCourierEdge(t, m, nil)
	r := runCourier(t, edge.URL, sync.Outbox{Ops: []sync.Op{refused, op}})
	s := r.untilSent(t, 1)[0]
	if s.op.Key != op.Key || s.created == nil || s.created.Topic.ID != first.Topic.ID || s.created.OwnerToken != first.OwnerToken {
		t.Fatalf("resumed post reported %+v, want the first answer %+v", s, first)
	}
	if n := countTopics(t, m.URL(), "lobby", op.Comment); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
	o := r.untilOutbox(t, "only the failed op left", func(o sync.Outbox) bool { return len(o.Ops) == 1 })
	if o.Ops[0].Key != refused.Key || o.Ops[0].Failed != refused.Failed {
		t.Fatalf("left %+v, want the failed op untouched", o.Ops)
	}
	if n := edge.count("POST", "/api/boards/lobby/topics", refused.Key); n != 0 {
		t.Fatalf("the saved failed op was sent %d times", n)
	}
}

// TestCourierMarksRefusalsFailedAndGoesOn: writes the server refuses for
// good keep the server's message, are never sent again, and do not hold
// up the writes queued after them; Discard then removes them.
func TestCourierMarksRefusalsFailedAndGoesOn(t *testing.T) {
	m := startServer(t)
	theirs := post(t, m.URL(), "lobby", "someone else's")
	api := &client.Client{Base: m.URL()}
	ctx := context.Background()
	_, err := api.Edit(ctx, "lobby", theirs.Topic.ID, "not mine", "wrong-token")
	if shared.ErrorCode(err) != shared.CodeForbidden {
		t.Fatalf("edit with a wrong token: %v, want forbidden", err)
	}
	forbidden := serverMessage(t, err)
	tooLong := strings.Repeat("x", shared.MaxCommentChars+1)
	_, err = api.Post(ctx, "lobby", shared.CreateTopic{Comment: tooLong}, "")
	if shared.ErrorCode(err) != shared.CodeInvalidComment {
		t.Fatalf("post of %d characters: %v, want invalid_comment", len(tooLong), err)
	}
	invalid := serverMessage(t, err)
	head := storeHead(t, m)

	edge := newCourierEdge(t, m, nil)
	r := runCourier(t, edge.URL, sync.Outbox{})
	edit := sync.Op{Key: sync.NewKey(), Kind: sync.OpEdit, Board: "lobby", TopicID: theirs.Topic.ID, Comment: "not mine", Token: "wrong-token"}
	long := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: tooLong} // past the UI's validation
	after := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "queued after the refusals"}
	for _, op := range []sync.Op{edit, long, after} {
		r.q.Add(op)
	}
	if s := r.untilSent(t, 1)[0]; s.op.Key != after.Key || s.created == nil {
		t.Fatalf("delivered %+v, want the post queued after the refusals", s)
	}
	o := r.untilOutbox(t, "two failed ops", func(o sync.Outbox) bool {
		return len(o.Ops) == 2 && o.Ops[0].Failed != "" && o.Ops[1].Failed != ""
	})
	if o.Ops[0].Key != edit.Key || o.Ops[0].Failed != forbidden {
		t.Errorf("edit left as %+v, want failed with %q", o.Ops[0], forbidden)
	}
	if o.Ops[1].Key != long.Key || o.Ops[1].Failed != invalid {
		t.Errorf("long post left as %q failed %q, want failed with %q", o.Ops[1].Key, o.Ops[1].Failed, invalid)
	}

	// A Kick and a later write: the courier passes the failed ops by, it
	// does not send them again.
	r.c.Kick()
	later := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "queued later"}
	r.q.Add(later)
	if s := r.untilSent(t, 1)[0]; s.op.Key != later.Key {
		t.Fatalf("delivered %+v, want the later post", s.op)
	}
	topicPath := "/api/boards/lobby/topics/" + fmt.Sprint(theirs.Topic.ID)
	for what, n := range map[string]int{
		"PATCH " + topicPath:      edge.count("PATCH", topicPath, ""),
		"POST of the long post":   edge.count("POST", "/api/boards/lobby/topics", long.Key),
		"POST after the refusals": edge.count("POST", "/api/boards/lobby/topics", after.Key),
		"POST queued later":       edge.count("POST", "/api/boards/lobby/topics", later.Key),
	} {
		if n != 1 {
			t.Errorf("%s reached the edge %d times, want once", what, n)
		}
	}
	if got := logSince(t, m, head); len(got) != 2 || !strings.HasPrefix(got[0], "created") || !strings.HasPrefix(got[1], "created") {
		t.Fatalf("change log %q, want just the two good posts", got)
	}
	if c, _ := api.Snapshot(ctx, "lobby"); slices.ContainsFunc(c.Topics, func(tp shared.Topic) bool { return tp.Comment == "not mine" }) {
		t.Fatal("the refused edit changed the topic")
	}

	// Discard removes a failed op, and only that one.
	before := edge.total()
	r.q.Discard(edit.Key)
	o = r.untilOutbox(t, "the edit discarded", func(o sync.Outbox) bool { return len(o.Ops) == 1 })
	if o.Ops[0].Key != long.Key {
		t.Fatalf("after discarding the edit: %+v", o.Ops)
	}
	r.q.Discard(long.Key)
	r.untilOutbox(t, "an empty outbox", func(o sync.Outbox) bool { return len(o.Ops) == 0 })
	if n := edge.total(); n != before {
		t.Fatalf("discarding sent %d requests", n-before)
	}
}

// TestCourierCountsADeleteOfAGoneTopicAsDelivered: what the person wanted
// is true already.
func TestCourierCountsADeleteOfAGoneTopicAsDelivered(t *testing.T) {
	m := startServer(t)
	gone := post(t, m.URL(), "lobby", "deleted elsewhere")
	if err := (&client.Client{Base: m.URL()}).Delete(context.Background(), "lobby", gone.Topic.ID, gone.OwnerToken); err != nil {
		t.Fatal(err)
	}
	head := storeHead(t, m)
	edge := newCourierEdge(t, m, nil)
	r := runCourier(t, edge.URL, sync.Outbox{})
	ops := []sync.Op{
		{Key: sync.NewKey(), Kind: sync.OpDelete, Board: "lobby", TopicID: gone.Topic.ID, Token: gone.OwnerToken},
		{Key: sync.NewKey(), Kind: sync.OpDelete, Board: "lobby", TopicID: 1 << 40, Token: "any"}, // never existed
	}
	for _, op := range ops {
		r.q.Add(op)
	}
	for i, s := range r.untilSent(t, 2) {
		if s.op.Key != ops[i].Key {
			t.Fatalf("delivered %d = %+v, want %+v", i, s.op, ops[i])
		}
	}
	if o := r.drain(); len(o.Ops) != 0 {
		t.Fatalf("outbox after delivery: %+v", o.Ops)
	}
	if got := logSince(t, m, head); len(got) != 0 {
		t.Fatalf("change log %q, want nothing new", got)
	}
}

// TestCourierRetriesTransientFailures: the edge answers the first
// requests as an overloaded or failing server would; the courier retries
// until the post is delivered, once.
func TestCourierRetriesTransientFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []func(http.ResponseWriter)
	}{
		{"three 503s", []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is busy; try again in a moment.")
			},
			func(w http.ResponseWriter) {
				answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is busy; try again in a moment.")
			},
			func(w http.ResponseWriter) {
				answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is busy; try again in a moment.")
			},
		}},
		{"every kind of transient failure", []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is shutting down.")
			},
			func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "0")
				answerError(w, http.StatusTooManyRequests, shared.CodeRateLimited, "Slow down.")
			},
			func(w http.ResponseWriter) {
				answerError(w, http.StatusInternalServerError, shared.CodeInternal, "Something went wrong on our side.")
			},
			func(w http.ResponseWriter) { http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway) },
			hangUp,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startServer(t)
			edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n > len(tc.faults) {
					return false
				}
				tc.faults[n-1](w)
				return true
			})
			r := runCourier(t, edge.URL, sync.Outbox{})
			op := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "delivered in the end"}
			r.q.Add(op)
			s := r.untilSent(t, 1)[0]
			if s.op.Key != op.Key || s.created == nil || s.created.Topic.Comment != op.Comment {
				t.Fatalf("delivered %+v", s)
			}
			if n := edge.count("POST", "/api/boards/lobby/topics", op.Key); n != len(tc.faults)+1 {
				t.Fatalf("%d POSTs, want %d failures and the success", n, len(tc.faults)+1)
			}
			if n := countTopics(t, m.URL(), "lobby", op.Comment); n != 1 {
				t.Fatalf("the server has the post %d times", n)
			}
			for _, o := range r.drain().Ops {
				if o.Failed != "" {
					t.Fatalf("a transient failure marked the op failed: %+v", o)
				}
			}
		})
	}
}

// TestCourierKickRetriesAtOnce: with an hour of backoff ahead, a Kick
// sends the waiting op now.
func TestCourierKickRetriesAtOnce(t *testing.T) {
	m := startServer(t)
	var kicked atomic.Bool
	failed := make(chan struct{}, 1)
	retried := make(chan bool, 16) // whether the Kick came first
	edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is restarting.")
			failed <- struct{}{}
			return true
		}
		retried <- kicked.Load()
		return false
	})
	r := runCourier(t, edge.URL, sync.Outbox{}, func(c *sync.Courier) { c.BackoffMin, c.BackoffMax = time.Hour, 2*time.Hour })
	op := sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "sent on the kick"}
	r.q.Add(op)
	select {
	case <-failed:
	case <-time.After(courierWait):
		t.Fatal("the courier never tried")
	}
	// Nothing happens by itself: the backoff is at least half an hour. (A
	// short look suffices; a courier ignoring its backoff would retry in
	// microseconds.)
	select {
	case <-retried:
		t.Fatal("the courier retried before its backoff or a Kick")
	case s := <-r.sent:
		t.Fatalf("delivered before a Kick: %+v", s)
	case <-time.After(200 * time.Millisecond):
	}
	kicked.Store(true)
	r.c.Kick()
	s := r.untilSent(t, 1)[0]
	if s.op.Key != op.Key || s.created == nil {
		t.Fatalf("delivered %+v", s)
	}
	if afterKick := <-retried; !afterKick {
		t.Fatal("the retry reached the edge before the Kick")
	}
	if n := edge.count("POST", "/api/boards/lobby/topics", op.Key); n != 2 {
		t.Fatalf("%d POSTs, want the failed one and the kicked one", n)
	}
}

// TestCourierRunReturnsWhenCancelled: idle, waiting out a backoff, or in
// the middle of a request, Run ends promptly, and a write cut short is
// still pending, not failed.
func TestCourierRunReturnsWhenCancelled(t *testing.T) {
	m := startServer(t)
	inFlight := make(chan struct{}, 16)
	release := make(chan struct{})
	var hold atomic.Bool
	edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		if hold.Load() {
			// Read the body first: only then does the server notice the
			// client hanging up and end r's context.
			io.Copy(io.Discard, r.Body)
			inFlight <- struct{}{}
			select { // never answers; the client gives up
			case <-r.Context().Done():
			case <-release: // or the test is over
			}
			return true
		}
		answerError(w, http.StatusServiceUnavailable, shared.CodeUnavailable, "The server is restarting.")
		inFlight <- struct{}{}
		return true
	})
	t.Cleanup(func() { close(release) }) // runs before the edge closes
	slow := func(c *sync.Courier) { c.BackoffMin, c.BackoffMax = time.Hour, 2*time.Hour }
	stopped := func(t *testing.T, r *courierRun) {
		t.Helper()
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}
		for _, o := range r.drain().Ops {
			if o.Failed != "" {
				t.Fatalf("cancelling marked an op failed: %+v", o)
			}
		}
	}
	op := func() sync.Op {
		return sync.Op{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "cut short"}
	}
	wait := func(t *testing.T) {
		t.Helper()
		select {
		case <-inFlight:
		case <-time.After(courierWait):
			t.Fatal("no request reached the edge")
		}
	}

	t.Run("idle", func(t *testing.T) {
		r := runCourier(t, edge.URL, sync.Outbox{}, slow)
		stopped(t, r)
	})
	t.Run("waiting out a backoff", func(t *testing.T) {
		r := runCourier(t, edge.URL, sync.Outbox{}, slow)
		r.q.Add(op())
		wait(t)
		stopped(t, r)
	})
	t.Run("during a request", func(t *testing.T) {
		hold.Store(true)
		defer hold.Store(false)
		r := runCourier(t, edge.URL, sync.Outbox{Ops: []sync.Op{op()}}, slow)
		wait(t)
		stopped(t, r)
		if len(r.last.Ops) != 1 {
			t.Fatalf("the op cut short left the outbox: %+v", r.last.Ops)
		}
	})
}

// TestCourierHonoursRetryAfter: after a 429 with Retry-After, the next
// request waits that long even when new ops are queued and the courier is
// kicked meanwhile (a rate-limited client asking sooner is only refused
// again); then everything is delivered, once, in order.
func TestCourierHonoursRetryAfter(t *testing.T) {
	m := startServer(t)
	times := make(chan time.Time, 64)
	edge := newCourierEdge(t, m, func(w http.ResponseWriter, r *http.Request, n int) bool {
		times <- time.Now()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			answerError(w, http.StatusTooManyRequests, shared.CodeRateLimited, "Slow down.")
			return true
		}
		return false
	})
	r := runCourier(t, edge.URL, sync.Outbox{}) // backoff 10–100 ms: far below the Retry-After
	ops := []sync.Op{
		{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "refused first"},
		{Key: sync.NewKey(), Kind: sync.OpPost, Board: "lobby", Comment: "queued during the wait"},
	}
	r.q.Add(ops[0])
	first := <-times
	r.q.Add(ops[1])
	for range 5 {
		r.c.Kick()
	}
	sent := r.untilSent(t, 2)
	second := <-times
	if wait := second.Sub(first); wait < time.Second {
		t.Fatalf("the courier asked again %v after a Retry-After of 1 s", wait)
	}
	for i, s := range sent {
		if s.op.Key != ops[i].Key {
			t.Fatalf("delivered %d = %+v, want %+v", i, s.op, ops[i])
		}
	}
	for _, op := range ops {
		if n := countTopics(t, m.URL(), "lobby", op.Comment); n != 1 {
			t.Fatalf("%q is on the server %d times", op.Comment, n)
		}
	}
}

// A moderator's delete the server refuses reads as moderation, not as
// the owner check's message with the topic's id; an owner's refusal keeps
// the server's words.
func TestCourierSaysARefusedModeratorDeleteAsModeration(t *testing.T) {
	m := startServer(t, func(c *config.Config) { c.ModeratorTokenEnv = "the-real-moderator-token-0123" })
	victim := post(t, m.URL(), "lobby", "not to be deleted")
	r := runCourier(t, m.URL(), sync.Outbox{})
	mod := sync.Op{Key: sync.NewKey(), Kind: sync.OpDelete, Board: "lobby", TopicID: victim.Topic.ID, Token: "a-stale-moderator-token-000", Moderator: true}
	owner := sync.Op{Key: sync.NewKey(), Kind: sync.OpDelete, Board: "lobby", TopicID: victim.Topic.ID, Token: "not-the-owner-token-0000000"}
	r.q.Add(mod)
	r.q.Add(owner)
	o := r.untilOutbox(t, "both refused", func(o sync.Outbox) bool {
		return len(o.Ops) == 2 && o.Ops[0].Failed != "" && o.Ops[1].Failed != ""
	})
	if got := o.Ops[0].Failed; got != "The moderator token was not accepted, so this topic was not deleted." {
		t.Errorf("moderator refusal reads %q", got)
	}
	if got := o.Ops[1].Failed; strings.Contains(got, "moderator") || got == "" {
		t.Errorf("owner refusal reads %q", got)
	}
	if n := countTopics(t, m.URL(), "lobby", "not to be deleted"); n != 1 {
		t.Fatalf("the topic is gone: %d", n)
	}
}
