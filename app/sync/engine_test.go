package sync

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

func TestBackoffIsFullJitterUnderACappedDoublingCeiling(t *testing.T) {
	for _, tc := range []struct{ min, max time.Duration }{
		{0, 0}, // the defaults: 0.5 s to 20 s
		{20 * time.Millisecond, 300 * time.Millisecond},
		{time.Microsecond, time.Hour},   // doubling still below the cap after 30 steps
		{time.Minute, 10 * time.Minute}, // min·2^28 would overflow int64
	} {
		e := &Engine{BackoffMin: tc.min, BackoffMax: tc.max}
		e.defaults()
		for n := 1; n <= 40; n++ {
			ceiling := e.BackoffMin // min(BackoffMax, BackoffMin·2^(n-1)), without overflow
			for i := 1; i < n && ceiling < e.BackoffMax; i++ {
				ceiling *= 2
			}
			ceiling = min(ceiling, e.BackoffMax)
			lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
			for range 400 {
				d := e.backoff(n)
				if d < 0 || d > ceiling {
					t.Fatalf("min %v max %v: backoff(%d) = %v, want within [0, %v]", e.BackoffMin, e.BackoffMax, n, d, ceiling)
				}
				lo, hi = min(lo, d), max(hi, d)
			}
			// Full jitter: uniform over the whole range, so 400 draws land
			// in both halves (each misses with probability 2^-400).
			if hi <= ceiling/2 || lo >= ceiling/2 {
				t.Fatalf("min %v max %v: backoff(%d) drew only within [%v, %v] of [0, %v]", e.BackoffMin, e.BackoffMax, n, lo, hi, ceiling)
			}
		}
		for _, n := range []int{41, 63, 64, 65, 1000, math.MaxInt32, math.MaxInt} {
			for range 100 {
				if d := e.backoff(n); d < 0 || d > e.BackoffMax {
					t.Fatalf("min %v max %v: backoff(%d) = %v, want within [0, %v]", e.BackoffMin, e.BackoffMax, n, d, e.BackoffMax)
				}
			}
		}
	}
}

// streamCall is one call of the engine's StreamFunc, controlled by the test.
type streamCall struct {
	url     string
	at      time.Time
	ctx     context.Context
	onOpen  func()
	onBytes func()
	onEvent func(typ, id, data string)
	ops     chan func()
	end     chan error
}

// do runs f on Run's goroutine, inside the stream (where the real
// transports call onOpen and onEvent), and waits until it has run.
func (c *streamCall) do(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	select {
	case c.ops <- func() { f(); close(done) }:
		<-done
	case <-c.ctx.Done():
		t.Fatalf("stream %s is already over", c.url)
	}
}

func (c *streamCall) open(t *testing.T) { t.Helper(); c.do(t, c.onOpen) }

func (c *streamCall) send(t *testing.T, typ string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	c.do(t, func() { c.onBytes(); c.onEvent(typ, "", string(data)) })
}

// ping sends the server's keep-alive comment: bytes, no event.
func (c *streamCall) ping(t *testing.T) { t.Helper(); c.do(t, c.onBytes) }

// given waits (in fake time) until the engine gives up on the stream.
func (c *streamCall) given(t *testing.T) {
	t.Helper()
	select {
	case <-c.ctx.Done():
	case <-time.After(24 * time.Hour):
		t.Fatalf("the engine kept stream %s open for a day", c.url)
	}
}

// fail ends the stream with err, as a dropped connection does.
func (c *streamCall) fail(err error) { c.end <- err }

type update struct {
	r Replica
	s Status
}

// rig runs an engine on a fake SSE transport inside a synctest bubble.
// Nothing here touches the network: SSEFailLimit is high so that the
// engine never falls back to long polling. It keeps the replica the way a
// board session does, from the engine's reports, and records an update
// (replica and status) after each.
type rig struct {
	e       *Engine
	rep     Replica // Run's goroutine only
	status  Status
	calls   chan *streamCall
	updates chan update
	changes chan []shared.Change
	cancel  context.CancelFunc
	done    chan struct{}
}

const testBase = "http://kairan.test"

func newRig(t *testing.T, from Replica, tune func(*Engine)) *rig {
	r := &rig{calls: make(chan *streamCall, 16), updates: make(chan update, 1024),
		changes: make(chan []shared.Change, 1024), done: make(chan struct{})}
	r.e = NewEngine(&client.Client{Base: testBase}, "lobby", from.Cursor, from.SyncedAt)
	r.rep = from.Clone()
	r.rep.Board = "lobby"
	r.e.SSEFailLimit = 1000
	r.e.Stream = func(ctx context.Context, url string, on StreamEvents) error {
		c := &streamCall{url: url, at: time.Now(), ctx: ctx, onOpen: on.Open, onBytes: on.Bytes, onEvent: on.Event,
			ops: make(chan func()), end: make(chan error, 1)}
		r.calls <- c
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case f := <-c.ops:
				f()
			case err := <-c.end:
				return err
			}
		}
	}
	r.e.OnReset = func(snap shared.Snapshot) {
		r.rep.Reset(snap)
		r.updates <- update{r.rep.Clone(), r.status}
	}
	r.e.OnChanges = func(cs []shared.Change) {
		r.rep.Apply(cs...)
		r.changes <- slices.Clone(cs)
		r.updates <- update{r.rep.Clone(), r.status}
	}
	r.e.OnStatus = func(s Status) {
		r.status = s
		r.updates <- update{r.rep.Clone(), s}
	}
	if tune != nil {
		tune(r.e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { defer close(r.done); r.e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// next waits (in fake time, so it lets backoff timers fire) for the
// engine's next stream.
func (r *rig) next(t *testing.T) *streamCall {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(24 * time.Hour):
		t.Fatal("the engine opened no stream within a day")
		return nil
	}
}

// noCall checks that the engine, once settled, has not opened a stream.
func (r *rig) noCall(t *testing.T, when string) {
	t.Helper()
	synctest.Wait()
	select {
	case c := <-r.calls:
		t.Fatalf("%s: the engine opened %s", when, c.url)
	default:
	}
}

// drain lets the engine settle and returns the updates since the last drain.
func (r *rig) drain() []update {
	synctest.Wait()
	var us []update
	for {
		select {
		case u := <-r.updates:
			us = append(us, u)
		default:
			return us
		}
	}
}

func (r *rig) last(t *testing.T) update {
	t.Helper()
	us := r.drain()
	if len(us) == 0 {
		t.Fatal("no update")
	}
	return us[len(us)-1]
}

func (r *rig) applied() []shared.Change {
	synctest.Wait()
	var all []shared.Change
	for {
		select {
		case cs := <-r.changes:
			all = append(all, cs...)
		default:
			return all
		}
	}
}

func cursors(cs []shared.Change) []string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Cursor)
	}
	return s
}

func TestEngineFollowsAnSSEStreamFromItsReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Replica{}, nil)
		c := r.next(t)
		if want := testBase + "/api/boards/lobby/events?v=2"; c.url != want {
			t.Fatalf("stream URL %q, want %q (no cursor yet)", c.url, want)
		}
		c.open(t)
		// Without a cursor the stream owes a reset before it is live.
		for _, u := range r.drain() {
			if u.s.Mode != Connecting {
				t.Fatalf("open without the reset: status %+v, want %q", u.s, Connecting)
			}
		}

		snap := shared.Snapshot{Board: "lobby", Cursor: "ep0ch.2", Topics: []shared.Topic{topic(2, "two", 0), topic(1, "one", 0)}}
		c.send(t, "reset", snap)
		u := r.last(t)
		if !liveOn(u.s, SSE) || !u.s.LastLive.Equal(time.Now()) {
			t.Fatalf("after the reset: status %+v, want %q, live now", u.s, Live)
		}
		sameReplica(t, "after the reset", u.r, lobby("ep0ch.2", topic(2, "two", 0), topic(1, "one", 0)))
		if got := r.applied(); len(got) != 0 {
			t.Fatalf("a reset was reported as changes %v", cursors(got))
		}

		changes := []shared.Change{
			change(3, shared.ChangeCreated, topic(3, "three", 0)),
			change(4, shared.ChangeUpdated, topic(1, "one, edited", 1)),
			change(5, shared.ChangeDeleted, shared.Topic{ID: 2, Board: "lobby"}),
		}
		for _, ch := range changes {
			time.Sleep(time.Second)
			c.send(t, "change", ch)
		}
		us := r.drain()
		for _, u := range us {
			if !liveOn(u.s, SSE) {
				t.Fatalf("while changes arrive: status %+v", u.s)
			}
		}
		u = us[len(us)-1]
		sameReplica(t, "after the changes", u.r, lobby("ep0ch.5", topic(3, "three", 0), topic(1, "one, edited", 1)))
		if got, want := cursors(r.applied()), cursors(changes); !slices.Equal(got, want) {
			t.Fatalf("OnChanges saw %v, want %v", got, want)
		}

		// Events of a kind the engine does not know are skipped.
		c.do(t, func() { c.onEvent("gossip", "", `{"board":"lobby"}`) })
		for _, u := range r.drain() {
			sameReplica(t, "after an unknown event", u.r, lobby("ep0ch.5", topic(3, "three", 0), topic(1, "one, edited", 1)))
		}

		// A live stream that keeps bringing bytes (the server's pings) is
		// not given up, however long the board is quiet.
		for range 10 {
			time.Sleep(r.e.Silence - time.Second)
			c.ping(t)
		}
		if c.ctx.Err() != nil {
			t.Fatal("the engine closed a live stream")
		}
		r.noCall(t, "while live")

		// A change the engine cannot read is never skipped (a later one
		// would move the cursor past it): the stream ends and the engine
		// resumes from the last change it applied.
		c.do(t, func() { c.onEvent("change", "", "{not json") })
		c.given(t)
		for _, u := range r.drain() {
			sameReplica(t, "after an unreadable change", u.r, lobby("ep0ch.5", topic(3, "three", 0), topic(1, "one, edited", 1)))
		}
		if c = r.next(t); c.url != testBase+"/api/boards/lobby/events?v=2&cursor=ep0ch.5" {
			t.Fatalf("resumed at %q, want the last applied cursor", c.url)
		}
	})
}

// The engine asks for lean frames (?v=2) and applies them exactly as the
// changes they stand for; a lean frame it cannot read ends the stream,
// and it resumes from the last cursor applied.
func TestEngineFollowsLeanFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Replica{}, nil)
		c := r.next(t)
		c.open(t)
		c.send(t, "reset", shared.Snapshot{Board: "lobby", Cursor: "ep0ch.2", Topics: []shared.Topic{topic(2, "two", 0), topic(1, "one", 0)}})
		changes := []shared.Change{
			change(3, shared.ChangeCreated, topic(3, "three", 0)),
			change(4, shared.ChangeUpdated, topic(1, "one, edited", 1)),
			change(5, shared.ChangeDeleted, shared.Topic{ID: 2, Board: "lobby"}),
		}
		for _, ch := range changes {
			data := shared.EncodeLeanChange(ch)
			c.do(t, func() { c.onBytes(); c.onEvent(string(ch.Kind), strconv.FormatInt(ch.Seq, 10), string(data)) })
		}
		us := r.drain()
		sameReplica(t, "after lean frames", us[len(us)-1].r, lobby("ep0ch.5", topic(3, "three", 0), topic(1, "one, edited", 1)))
		got, _ := json.Marshal(r.applied())
		want, _ := json.Marshal(changes)
		if string(got) != string(want) {
			t.Fatalf("OnChanges saw\n %s\nwant\n %s", got, want)
		}

		c.do(t, func() { c.onEvent("created", "ep0ch.6", `{"id":6}`) }) // a full cursor is no lean id
		c.given(t)
		r.drain()
		if c = r.next(t); c.url != testBase+"/api/boards/lobby/events?v=2&cursor=ep0ch.5" {
			t.Fatalf("resumed at %q, want the last applied cursor", c.url)
		}
	})
}

// liveOn reports whether s is live over transport tr.
func liveOn(s Status, tr Transport) bool { return s.Mode == Live && s.Transport == tr }

// A stream that stays open but brings nothing — no event, no ping — for
// Silence is dead (a phone that changed networks, a proxy holding the
// connection): the engine leaves "live" and reconnects from its cursor.
func TestEngineGivesUpOnASilentStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) { e.BackoffMin, e.BackoffMax = time.Second, time.Second })
		c := r.next(t)
		c.open(t)
		c.send(t, "change", change(2, shared.ChangeCreated, topic(2, "two", 0)))
		lastByte := time.Now()
		if u := r.last(t); !liveOn(u.s, SSE) {
			t.Fatalf("status %+v, want live", u.s)
		}
		c.given(t)
		if d := time.Since(lastByte); d != r.e.Silence {
			t.Fatalf("a silent stream was given up %v after its last byte, want Silence (%v)", d, r.e.Silence)
		}
		if r.e.Silence != 35*time.Second {
			t.Fatalf("default Silence %v, want 2.5 times the server's 14 s heartbeat", r.e.Silence)
		}
		if u := r.last(t); u.s.Mode != Reconnecting || !u.s.LastLive.Equal(lastByte) {
			t.Fatalf("after the silence: status %+v, want reconnecting, last live at the last byte %v", u.s, lastByte)
		}
		if c := r.next(t); c.url != testBase+"/api/boards/lobby/events?v=2&cursor=ep0ch.2" {
			t.Fatalf("reconnected to %q", c.url)
		}
	})
}

func TestEngineGivesUpOnAStreamThatDoesNotGoLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Replica{}, func(e *Engine) { e.OpenTimeout = 3 * time.Second })

		c := r.next(t) // never opens
		c.given(t)
		if d := time.Since(c.at); d != 3*time.Second {
			t.Fatalf("a stream that never opened was given up after %v, want OpenTimeout", d)
		}
		if u := r.last(t); u.s.Mode != Reconnecting {
			t.Fatalf("after giving up: status %+v", u.s)
		}

		c = r.next(t) // opens, but never sends the reset it owes
		c.open(t)
		c.given(t)
		if d := time.Since(c.at); d != 3*time.Second {
			t.Fatalf("a stream that opened without its reset was given up after %v, want OpenTimeout", d)
		}
		for _, u := range r.drain() {
			if u.s.Mode == Live {
				t.Fatalf("a stream without its reset was shown live: %+v", u.s)
			}
		}
	})
}

func TestEngineReconnectsFromTheLatestCursorAfterAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		from := Replica{Cursor: "ep0ch.7", Topics: []shared.Topic{topic(1, "one", 0)}}
		r := newRig(t, from, func(e *Engine) { e.BackoffMin, e.BackoffMax = 2*time.Second, 2*time.Second })

		c := r.next(t)
		if want := testBase + "/api/boards/lobby/events?v=2&cursor=ep0ch.7"; c.url != want {
			t.Fatalf("stream URL %q, want %q", c.url, want)
		}
		c.open(t)
		if u := r.last(t); !liveOn(u.s, SSE) {
			t.Fatalf("a stream with a cursor that opened: status %+v, want %q", u.s, Live)
		}
		c.send(t, "change", change(8, shared.ChangeCreated, topic(2, "two", 0)))
		c.send(t, "change", change(9, shared.ChangeUpdated, topic(1, "one, edited", 1)))
		lastLive := time.Now()
		time.Sleep(r.e.Silence / 2) // quiet, but not yet silent for too long
		c.fail(errors.New("connection reset by peer"))

		u := r.last(t)
		now := time.Now()
		if u.s.Mode != Reconnecting || !u.s.RetryAt.After(now) || u.s.RetryAt.After(now.Add(2*time.Second)) {
			t.Fatalf("after the stream failed at %v: status %+v, want %q with RetryAt within 2 s", now, u.s, Reconnecting)
		}
		if !u.s.LastLive.Equal(lastLive) {
			t.Fatalf("LastLive %v, want the last event's time %v", u.s.LastLive, lastLive)
		}
		sameReplica(t, "while reconnecting", u.r, lobby("ep0ch.9", topic(2, "two", 0), topic(1, "one, edited", 1)))

		c = r.next(t)
		if !c.at.Equal(u.s.RetryAt) {
			t.Fatalf("reconnected at %v, RetryAt said %v", c.at, u.s.RetryAt)
		}
		if want := testBase + "/api/boards/lobby/events?v=2&cursor=ep0ch.9"; c.url != want {
			t.Fatalf("reconnected to %q, want %q", c.url, want)
		}
	})
}

func TestEngineKickEndsTheBackoffWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) { e.BackoffMin, e.BackoffMax = time.Hour, time.Hour })
		r.next(t).fail(errors.New("refused"))
		u := r.last(t)
		if u.s.Mode != Reconnecting {
			t.Fatalf("after a failure: status %+v", u.s)
		}
		r.noCall(t, "before the kick")

		kicked := time.Now()
		go r.e.Kick() // Kick is safe from any goroutine
		c := r.next(t)
		if !c.at.Equal(kicked) {
			t.Fatalf("kicked at %v, reconnected at %v (RetryAt %v)", kicked, c.at, u.s.RetryAt)
		}
	})
}

func TestEngineShowsOfflineWhileTheDeviceIsOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) { e.BackoffMin, e.BackoffMax = time.Second, time.Minute })
		c := r.next(t)
		c.open(t)
		if u := r.last(t); !liveOn(u.s, SSE) {
			t.Fatalf("status %+v, want live", u.s)
		}
		// The browser says the network is gone: offline at once, and the
		// stream (which might hang on for a minute) is given up.
		went := time.Now()
		go r.e.Network(false)
		c.given(t)
		if u := r.last(t); u.s.Mode != Offline || time.Since(went) != 0 {
			t.Fatalf("after the offline event: status %+v after %v, want %q at once", u.s, time.Since(went), Offline)
		}
		// No attempt while offline, however long.
		time.Sleep(r.e.BackoffMax / 2)
		r.noCall(t, "while offline")
		// The network is back: a new stream at once, from the cursor.
		back := time.Now()
		go r.e.Network(true)
		c = r.next(t)
		if !c.at.Equal(back) || c.url != testBase+"/api/boards/lobby/events?v=2&cursor=ep0ch.1" {
			t.Fatalf("back online at %v: stream %q at %v", back, c.url, c.at)
		}
		// Online, the server answers but the stream breaks: reconnecting.
		c.open(t)
		c.fail(errors.New("stream reset"))
		if u := r.last(t); u.s.Mode != Reconnecting {
			t.Fatalf("failed while online: status %+v, want %q", u.s, Reconnecting)
		}
	})
}

// Online, but two attempts in a row get no answer at all: the server is
// down or out of reach, which the person is told apart from being offline.
func TestEngineShowsUnreachableWhenTheServerDoesNotAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) { e.BackoffMin, e.BackoffMax = time.Second, time.Minute })
		r.next(t).fail(errors.New("connection refused"))
		if u := r.last(t); u.s.Mode != Reconnecting {
			t.Fatalf("after one failed attempt: status %+v, want %q", u.s, Reconnecting)
		}
		r.e.Kick()
		r.next(t).fail(errors.New("connection refused"))
		if u := r.last(t); u.s.Mode != Unreachable || !u.s.RetryAt.After(time.Now()) {
			t.Fatalf("after two failed attempts: status %+v, want %q with a retry time", u.s, Unreachable)
		}
	})
}

func TestEngineRunReturnsPromptlyWhenCancelled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reach func(t *testing.T, r *rig) *streamCall // the stream to be ended by the cancel, if any
	}{
		{"while the stream opens", func(t *testing.T, r *rig) *streamCall { return r.next(t) }},
		{"while live", func(t *testing.T, r *rig) *streamCall {
			c := r.next(t)
			c.open(t)
			if u := r.last(t); !liveOn(u.s, SSE) {
				t.Fatalf("status %+v", u.s)
			}
			return c
		}},
		{"while waiting to reconnect", func(t *testing.T, r *rig) *streamCall {
			r.next(t).fail(errors.New("refused"))
			if u := r.last(t); u.s.Mode != Reconnecting {
				t.Fatalf("status %+v", u.s)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, lobby("ep0ch.1"), func(e *Engine) {
					e.OpenTimeout, e.BackoffMin, e.BackoffMax = time.Hour, time.Hour, time.Hour
				})
				c := tc.reach(t, r)
				cancelled := time.Now()
				r.cancel()
				select {
				case <-r.done:
				case <-time.After(time.Minute):
					t.Fatal("Run did not return after its context was cancelled")
				}
				if d := time.Since(cancelled); d != 0 {
					t.Fatalf("Run returned %v after the cancel", d)
				}
				if c != nil && c.ctx.Err() == nil {
					t.Fatal("the stream's context outlived Run")
				}
				r.noCall(t, "after the cancel")
			})
		})
	}
}

// TestEngineFallsBackToLongPollingAndRetriesSSE runs in real time: the long
// poll goes over a real (loopback) connection to an httptest server, which
// a synctest bubble cannot hold. Durations are short; every wait is on a
// channel, with a generous deadline only to fail instead of hanging.
func TestEngineFallsBackToLongPollingAndRetriesSSE(t *testing.T) {
	const (
		openTimeout = 40 * time.Millisecond
		sseRetry    = 250 * time.Millisecond
		pollHold    = 15 * time.Millisecond
	)
	snap := shared.Snapshot{Board: "lobby", Cursor: "ep0ch.2", Topics: []shared.Topic{topic(2, "two", 0), topic(1, "one", 0)}}
	log := []shared.Change{
		change(3, shared.ChangeCreated, topic(3, "three", 0)),
		change(4, shared.ChangeUpdated, topic(1, "one, edited", 1)),
		change(5, shared.ChangeDeleted, shared.Topic{ID: 2, Board: "lobby"}),
	}
	head := log[len(log)-1].Cursor

	// Everything the engine does at the edge, in order: "stream <url>" or
	// "poll <cursor>".
	type edge struct {
		what string
		at   time.Time
	}
	edges := make(chan edge, 4096)
	var holdForever atomic.Bool // set once SSE has been retried

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet || req.URL.Path != "/api/boards/lobby/changes" {
			http.NotFound(w, req)
			return
		}
		if wait := req.URL.Query().Get("wait"); wait != "1" {
			http.Error(w, `{"error":{"code":"invalid_wait","message":"wait is `+wait+`"}}`, http.StatusBadRequest)
			return
		}
		cursor := req.URL.Query().Get("cursor")
		select {
		case edges <- edge{"poll " + cursor, time.Now()}:
		case <-req.Context().Done():
			return
		}
		page := shared.ChangesPage{Cursor: snap.Cursor, Reset: &snap} // no cursor, or one we do not know
		if cursor == snap.Cursor {
			page = shared.ChangesPage{Cursor: log[0].Cursor, Changes: log[:1]}
		}
		for i, c := range log {
			if cursor != c.Cursor {
				continue
			}
			if i+1 < len(log) { // one change per page
				page = shared.ChangesPage{Cursor: log[i+1].Cursor, Changes: log[i+1 : i+2]}
				break
			}
			hold := time.After(pollHold) // nothing new: hold, then answer with no changes
			if holdForever.Load() {
				hold = nil
			}
			select {
			case <-hold:
			case <-req.Context().Done():
				return
			}
			page = shared.ChangesPage{Cursor: cursor, Changes: []shared.Change{}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(srv.Close)

	var streams atomic.Int32
	gaveUp := make(chan edge, 16)
	updates := make(chan update, 4096)
	var dropped atomic.Int32
	var applied []shared.Change
	appliedCh := make(chan []shared.Change, 4096)

	e := NewEngine(&client.Client{Base: srv.URL}, "lobby", "", time.Time{})
	e.OpenTimeout, e.SSEFailLimit, e.SSERetry, e.PollWait = openTimeout, 2, sseRetry, 1
	e.BackoffMin, e.BackoffMax = time.Millisecond, 2*time.Millisecond
	e.Stream = func(ctx context.Context, url string, on StreamEvents) error {
		if streams.Add(1) == 3 {
			holdForever.Store(true)
		}
		edges <- edge{"stream " + url, time.Now()}
		<-ctx.Done() // never opens
		gaveUp <- edge{"gave up on " + url, time.Now()}
		return ctx.Err()
	}
	rep, status := Replica{Board: "lobby"}, Status{} // Run's goroutine only
	push := func() {
		select {
		case updates <- update{rep.Clone(), status}:
		default:
			dropped.Add(1)
		}
	}
	e.OnReset = func(snap shared.Snapshot) { rep.Reset(snap); push() }
	e.OnChanges = func(cs []shared.Change) { rep.Apply(cs...); appliedCh <- slices.Clone(cs); push() }
	e.OnStatus = func(s Status) { status = s; push() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	nextEdge := func(want string) edge {
		t.Helper()
		select {
		case ed := <-edges:
			if ed.what != want {
				t.Fatalf("the engine did %q, want %q", ed.what, want)
			}
			return ed
		case <-deadline.C:
			t.Fatalf("timed out waiting for %q", want)
		}
		return edge{}
	}
	streamURL := srv.URL + "/api/boards/lobby/events?v=2"

	// SSE first, SSEFailLimit times, each given up after OpenTimeout.
	nextEdge("stream " + streamURL)
	nextEdge("stream " + streamURL)
	// (The exact OpenTimeout is checked in fake time, in
	// TestEngineGivesUpOnAStreamThatDoesNotGoLive; here the engine's
	// watchdog starts a moment before the fake's clock, so only that the
	// engine gave up on its own is checked.)
	var sseGivenUp time.Time
	for range 2 {
		select {
		case g := <-gaveUp:
			sseGivenUp = g.at
		case <-deadline.C:
			t.Fatal("the engine did not give up on a stream that never opened")
		}
	}
	// Then long polling, page after page from the reset on, each poll
	// asking from the cursor of the page before; after SSERetry (wherever
	// polling has got to by then: a slow machine may not have reached the
	// head yet) one SSE attempt from that same cursor, then polling again.
	// This ends with a poll at the head after the retry, which the server
	// holds until the request goes away.
	following := func(c string) string {
		if c == snap.Cursor {
			return log[0].Cursor
		}
		for i := range log[:len(log)-1] {
			if c == log[i].Cursor {
				return log[i+1].Cursor
			}
		}
		if c == head {
			return head
		}
		return snap.Cursor // after a reset
	}
	cursor := "" // what the engine must ask from next
	var retry edge
	for {
		var ed edge
		select {
		case ed = <-edges:
		case <-deadline.C:
			t.Fatalf("timed out while polling (retried SSE: %v)", retry.what != "")
		}
		if ed.what == "poll "+cursor {
			if retry.what != "" && cursor == head {
				break
			}
			cursor = following(cursor)
			continue
		}
		if retry.what == "" && ed.what == "stream "+streamURL+"&cursor="+cursor {
			retry = ed
			continue
		}
		t.Fatalf("the engine did %q; want a poll from %q (retried SSE: %v)", ed.what, cursor, retry.what != "")
	}
	if d := retry.at.Sub(sseGivenUp); d < sseRetry {
		t.Fatalf("SSE retried %v after it was given up, before SSERetry", d)
	}

	// The engine showed it was polling, with the replica of the whole log.
	var sawPolling bool
	want := lobby(head, topic(3, "three", 0), topic(1, "one, edited", 1))
drain:
	for {
		select {
		case u := <-updates:
			u.r.SyncedAt = time.Time{}
			if liveOn(u.s, Polling) && reflect.DeepEqual(u.r, want) {
				sawPolling = true
			}
		default:
			break drain
		}
	}
	if !sawPolling || dropped.Load() > 0 {
		t.Fatalf("no update showed %q with %+v (%d updates dropped)", Live, want, dropped.Load())
	}
	for len(appliedCh) > 0 {
		applied = append(applied, <-appliedCh...)
	}
	if got, want := cursors(applied), cursors(log); !slices.Equal(got, want) {
		t.Fatalf("OnChanges saw %v, want %v", got, want)
	}

	// The engine is now in a long poll that the server holds: a cancel
	// ends it at once.
	cancelled := time.Now()
	cancel()
	select {
	case <-done:
	case <-deadline.C:
		t.Fatal("Run did not return after its context was cancelled during a long poll")
	}
	if d := time.Since(cancelled); d > 2*time.Second {
		t.Fatalf("Run returned %v after the cancel", d)
	}
	if streams.Load() != 3 {
		t.Fatalf("%d streams, want 3", streams.Load())
	}
}

// A device that says it is offline is believed, but not for ever: after
// BackoffMax without news (or on a Kick) the engine tries once, and says
// "connecting" while it does.
func TestEngineTriesOnceAfterALongOfflineSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) { e.BackoffMin, e.BackoffMax = time.Second, time.Minute })
		r.e.Network(false)
		c := r.next(t) // the first attempt had started already
		c.given(t)
		if u := r.last(t); u.s.Mode != Offline {
			t.Fatalf("status %+v, want offline", u.s)
		}
		went := time.Now()
		c = r.next(t)
		if d := c.at.Sub(went); d != r.e.BackoffMax {
			t.Fatalf("tried after %v offline, want BackoffMax (%v)", d, r.e.BackoffMax)
		}
		if u := r.last(t); u.s.Mode != Connecting {
			t.Fatalf("while trying: status %+v, want connecting", u.s)
		}
		c.fail(errors.New("network is unreachable"))
		if u := r.last(t); u.s.Mode != Offline {
			t.Fatalf("after the try: status %+v, want offline again", u.s)
		}
	})
}

// Streams that reach nothing (a network that just changed, a server that
// is down) do not send the engine to long polling: that is for SSE that
// does not work where the server is reached.
func TestEngineKeepsToSSEWhenNothingWasReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, lobby("ep0ch.1"), func(e *Engine) {
			e.SSEFailLimit, e.BackoffMin, e.BackoffMax = 2, time.Second, time.Second
		})
		for range 4 {
			r.next(t).fail(errors.New("net::ERR_NETWORK_CHANGED"))
		}
		c := r.next(t) // still SSE, not a long poll
		c.open(t)
		if u := r.last(t); !liveOn(u.s, SSE) {
			t.Fatalf("status %+v, want live over SSE", u.s)
		}
	})
}
