package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// follower runs one native sync engine (the net/http twin of the browser's)
// and records what it saw.
type follower struct {
	engine  *sync.Engine
	updates chan sync.Replica // latest replica, for waiting
	status  chan sync.Status
	changes chan []shared.Change
	seen    []shared.Change // every applied change, in order (test goroutine only)
}

func follow(t *testing.T, base, board string, from sync.Replica, tune ...func(*sync.Engine)) *follower {
	t.Helper()
	f := &follower{updates: make(chan sync.Replica, 1), status: make(chan sync.Status, 64), changes: make(chan []shared.Change, 4096)}
	f.engine = sync.NewEngine(&client.Client{Base: base}, board, from.Cursor, from.SyncedAt)
	f.engine.OpenTimeout, f.engine.BackoffMin, f.engine.BackoffMax = 2*time.Second, 20*time.Millisecond, 300*time.Millisecond
	for _, tn := range tune {
		tn(f.engine)
	}
	// The replica is kept here the way a board session keeps it, from the
	// engine's reports (Run's goroutine only).
	rep := from.Clone()
	rep.Board = board
	newest := func() {
		select { // keep only the newest replica
		case <-f.updates:
		default:
		}
		f.updates <- rep.Clone()
	}
	f.engine.OnReset = func(snap shared.Snapshot) { rep.Reset(snap); newest() }
	f.engine.OnChanges = func(cs []shared.Change) {
		rep.Apply(cs...)
		f.changes <- slices.Clone(cs)
		newest()
	}
	f.engine.OnStatus = func(s sync.Status) {
		select {
		case f.status <- s:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.engine.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// until waits for a replica that satisfies ok, failing after d.
func (f *follower) until(t *testing.T, d time.Duration, what string, ok func(sync.Replica) bool) sync.Replica {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var last sync.Replica
	for {
		select {
		case r := <-f.updates:
			f.drain()
			if last = r; ok(r) {
				return r
			}
		case <-deadline.C:
			t.Fatalf("waiting for %s; last replica %+v", what, last)
		}
	}
}

func (f *follower) drain() {
	for {
		select {
		case cs := <-f.changes:
			f.seen = append(f.seen, cs...)
		default:
			return
		}
	}
}

func (f *follower) untilLive(t *testing.T, d time.Duration, transport sync.Transport) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		select {
		case s := <-f.status:
			if s.Mode == sync.Live && s.Transport == transport {
				return
			}
		case <-deadline.C:
			t.Fatalf("engine never went live over %q", transport)
		}
	}
}

func ids(r sync.Replica) string {
	var s []string
	for _, t := range r.Topics {
		s = append(s, fmt.Sprint(t.ID))
	}
	return strings.Join(s, ",")
}

func post(t *testing.T, base, board, comment string) shared.CreatedTopic {
	t.Helper()
	c, err := (&client.Client{Base: base}).Post(context.Background(), board, shared.CreateTopic{Comment: comment}, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkLog asserts a follower applied exactly the board's changes after
// from, in order, none twice: the log itself is the reference.
func checkLog(t *testing.T, st interface {
	ChangesSince(context.Context, int64, int) ([]shared.Change, error)
}, f *follower, board string, from int64) {
	t.Helper()
	f.drain()
	all, err := st.ChangesSince(context.Background(), from, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range all {
		if c.Board == board {
			want = append(want, c.Cursor)
		}
	}
	var got []string
	for _, c := range f.seen {
		got = append(got, c.Cursor)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("applied changes\n got %v\nwant %v", got, want)
	}
}

func TestPostAndDeleteOfAnOlderTopicReachFiftySubscribers(t *testing.T) {
	m := startServer(t)
	older := post(t, m.URL(), "lobby", "older")
	post(t, m.URL(), "lobby", "middle")
	var fs []*follower
	for range 50 {
		fs = append(fs, follow(t, m.URL(), "lobby", sync.Replica{}))
	}
	for _, f := range fs {
		f.until(t, 20*time.Second, "the first snapshot", func(r sync.Replica) bool { return len(r.Topics) == 2 })
	}
	head, _ := m.store.Head(context.Background())

	newest := post(t, m.URL(), "lobby", "newest")
	if err := (&client.Client{Base: m.URL()}).Delete(context.Background(), "lobby", older.Topic.ID, older.OwnerToken); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d,%d", newest.Topic.ID, older.Topic.ID+1)
	for _, f := range fs {
		f.until(t, 10*time.Second, "the post and the delete", func(r sync.Replica) bool { return ids(r) == want })
		checkLog(t, m.store, f, "lobby", head)
	}
}

func TestEngineResumesAcrossARestartWithNothingLostOrDoubled(t *testing.T) {
	dbPath := t.TempDir() + "/restart.db"
	first := startServer(t, func(c *config.Config) { c.DB = dbPath })
	addr := first.ln.Addr().String()
	base := first.URL()
	f := follow(t, base, "lobby", sync.Replica{})
	f.until(t, 20*time.Second, "the first snapshot", func(r sync.Replica) bool { return r.Cursor != "" })
	for i := range 5 {
		post(t, base, "lobby", fmt.Sprint("before ", i))
	}
	f.until(t, 10*time.Second, "five topics", func(r sync.Replica) bool { return len(r.Topics) == 5 })
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// While the server is down, others write to the same database.
	st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, Target: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := st.Snapshot(context.Background(), "lobby", 10)
	for i := range 3 {
		if _, err := st.CreateTopic(context.Background(), store.NewTopic{Board: "lobby", Author: "x", Comment: fmt.Sprint("while down ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.DeleteTopic(context.Background(), "lobby", snap.Topics[4].ID, store.Actor{Token: "mod", Moderator: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	second := startServer(t, func(c *config.Config) { c.DB, c.Addr = dbPath, addr })
	for i := range 3 {
		post(t, base, "lobby", fmt.Sprint("after ", i))
	}
	f.until(t, 20*time.Second, "every change", func(r sync.Replica) bool { return len(r.Topics) == 10 })
	checkLog(t, second.store, f, "lobby", 0)
}

func TestACursorFromAnotherDatabaseGetsAReset(t *testing.T) {
	m := startServer(t)
	post(t, m.URL(), "lobby", "real")
	stale := sync.Replica{Cursor: "abcdef0123456789.42", Topics: []shared.Topic{{ID: 99, Board: "lobby", Comment: "ghost"}}}
	f := follow(t, m.URL(), "lobby", stale)
	r := f.until(t, 20*time.Second, "the reset", func(r sync.Replica) bool { return !strings.HasPrefix(r.Cursor, "abcdef") })
	if len(r.Topics) != 1 || r.Topics[0].Comment != "real" || r.Cursor != m.store.Epoch()+".1" {
		t.Fatalf("after reset: %+v", r)
	}
}

// TestFallsBackToLongPollingWhenSSEIsUnusable puts a proxy in front that
// refuses event streams, as some corporate proxies do: the engine must
// switch to long polling and still deliver every change.
func TestFallsBackToLongPollingWhenSSEIsUnusable(t *testing.T) {
	m := startServer(t)
	target, _ := url.Parse(m.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/events") {
			http.Error(w, "event streams are not allowed here", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(refusing.Close)

	f := follow(t, refusing.URL, "lobby", sync.Replica{}, func(e *sync.Engine) { e.PollWait = 2 })
	f.untilLive(t, 20*time.Second, sync.Polling)
	head, _ := m.store.Head(context.Background())
	var want []string
	for i := range 5 {
		c := post(t, m.URL(), "lobby", fmt.Sprint("polled ", i))
		want = append([]string{fmt.Sprint(c.Topic.ID)}, want...)
	}
	f.until(t, 20*time.Second, "five polled topics", func(r sync.Replica) bool { return ids(r) == strings.Join(want, ",") })
	checkLog(t, m.store, f, "lobby", head)
}
