package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Mode is what the engine is doing, as the page shows it.
type Mode string

// Modes. Offline and Unreachable are told apart because the person can do
// something about the first (find a network) and not the second.
const (
	Connecting   Mode = "connecting"   // the first attempt is under way
	Live         Mode = "live"         // following the board now
	Reconnecting Mode = "reconnecting" // the last attempt failed; the next starts at RetryAt
	Offline      Mode = "offline"      // the device has no network
	Unreachable  Mode = "unreachable"  // the device is online, the server does not answer
)

// Transport is how a live engine follows the board.
type Transport string

// Transports.
const (
	SSE     Transport = "sse"
	Polling Transport = "polling"
)

// Status is the connection state shown to the person.
type Status struct {
	Mode Mode `json:"mode"`
	// Transport is set while Live.
	Transport Transport `json:"transport,omitempty"`
	// RetryAt is when the next attempt starts, while waiting to retry.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// LastLive is when the engine last knew the board was current.
	LastLive time.Time `json:"last_live,omitzero"`
}

// StreamEvents are what an event stream reports, on the stream's caller's
// goroutine.
type StreamEvents struct {
	Open  func()                     // the server answered with an event stream
	Bytes func()                     // bytes arrived: an event or the server's ping
	Event func(typ, id, data string) // one event
}

// StreamFunc follows an SSE stream at url until it ends (its error) or ctx
// is done. Platform code: stream_native.go, stream_wasm.go.
type StreamFunc func(ctx context.Context, url string, on StreamEvents) error

// Engine follows one board: it holds only the cursor and reports what it
// receives (OnReset, OnChanges) and how it is doing (OnStatus); whoever
// runs it holds the replica. Callbacks run on Run's goroutine, in order.
// Kick and Network are safe from any goroutine.
type Engine struct {
	Client *client.Client
	Board  string
	// Stream is the SSE transport; nil uses the platform's.
	Stream StreamFunc
	// OnReset replaces the replica with a snapshot.
	OnReset func(shared.Snapshot)
	// OnChanges applies changes, in cursor order. A long poll that brings
	// none still reports its page (an empty slice) so the cursor holder
	// knows the board is current.
	OnChanges func([]shared.Change)
	// OnStatus reports every change of status.
	OnStatus func(Status)

	// Tuning; zero values take the defaults below.
	OpenTimeout  time.Duration // SSE must open (and reset) within this
	Silence      time.Duration // an open stream with no bytes this long is dead
	PollMargin   time.Duration // a long poll may outlive its wait by this much
	SSEFailLimit int           // failed SSE attempts before polling
	SSERetry     time.Duration // how long to poll healthily before trying SSE again
	PollWait     int           // long-poll wait, seconds
	BackoffMin   time.Duration
	BackoffMax   time.Duration

	cursor   string
	lastLive time.Time
	status   Status
	kick     chan struct{}
	network  chan bool // the device's network came or went
	offline  atomic.Bool
	reached  bool // the last attempt got an answer from the server
	mu       gosync.Mutex
	abortCur context.CancelFunc // ends the current attempt (the network went away)
}

const (
	defaultOpenTimeout = 5 * time.Second
	// The server pings after two silent 7 s ticks (≤ 14 s of silence);
	// 2.5 times that without a byte means the connection is gone, even if
	// the socket says nothing (a phone that changed networks, a proxy
	// that holds the connection open).
	defaultSilence     = 35 * time.Second
	defaultPollMargin  = 10 * time.Second
	defaultSSEFailures = 2
	defaultSSERetry    = 30 * time.Second
	defaultPollWait    = 25
	defaultBackoffMin  = 500 * time.Millisecond
	defaultBackoffMax  = 20 * time.Second
)

// NewEngine returns an engine that resumes after cursor ("" starts from a
// snapshot) and was last live at lastLive.
func NewEngine(c *client.Client, board, cursor string, lastLive time.Time) *Engine {
	return &Engine{Client: c, Board: board, cursor: cursor, lastLive: lastLive,
		kick: make(chan struct{}, 1), network: make(chan bool, 1)}
}

// Kick makes a waiting engine try again at once (the tab became visible).
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Network tells the engine the device went offline (the browser's
// "offline" event: the current attempt ends, the status says so at once)
// or online (the next attempt starts at once).
func (e *Engine) Network(online bool) {
	e.offline.Store(!online)
	if !online {
		e.mu.Lock()
		if e.abortCur != nil {
			e.abortCur()
		}
		e.mu.Unlock()
	}
	select { // keep only the newest news
	case <-e.network:
	default:
	}
	e.network <- online
}

func (e *Engine) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&e.OpenTimeout, defaultOpenTimeout)
	set(&e.Silence, defaultSilence)
	set(&e.PollMargin, defaultPollMargin)
	set(&e.SSERetry, defaultSSERetry)
	set(&e.BackoffMin, defaultBackoffMin)
	set(&e.BackoffMax, defaultBackoffMax)
	if e.SSEFailLimit <= 0 {
		e.SSEFailLimit = defaultSSEFailures
	}
	if e.PollWait <= 0 {
		e.PollWait = defaultPollWait
	}
	if e.Stream == nil {
		e.Stream = platformStream
	}
	if e.kick == nil {
		e.kick = make(chan struct{}, 1)
	}
	if e.network == nil {
		e.network = make(chan bool, 1)
	}
	if e.OnReset == nil {
		e.OnReset = func(shared.Snapshot) {}
	}
	if e.OnChanges == nil {
		e.OnChanges = func([]shared.Change) {}
	}
}

// Run follows the board until ctx is done: SSE first, long polling when
// SSE does not open or keeps failing, SSE again after SSERetry of healthy
// polling; after an error it waits with exponential backoff and full
// jitter, and while the device is offline it waits for the network.
func (e *Engine) Run(ctx context.Context) {
	e.defaults()
	e.setStatus(Status{Mode: Connecting, LastLive: e.lastLive})
	failures, sseFailures, unreachable := 0, 0, 0
	tryAnyway := false // the device said offline for long: try once regardless
	for ctx.Err() == nil {
		if e.offline.Load() && !tryAnyway {
			e.setStatus(Status{Mode: Offline, LastLive: e.lastLive})
			tryAnyway = e.waitForNetwork(ctx)
			failures, unreachable = 0, 0
			continue
		}
		tryAnyway = false
		if e.status.Mode != Live && e.status.Mode != Connecting {
			// Whatever the status said while waiting is over: say what
			// happens now, not what happened last.
			e.setStatus(Status{Mode: Connecting, LastLive: e.lastLive})
		}
		attempt, abort := context.WithCancel(ctx)
		e.mu.Lock()
		e.abortCur = abort
		e.mu.Unlock()
		var healthy bool
		var err error
		e.reached = false
		if sseFailures < e.SSEFailLimit {
			healthy, err = e.followSSE(attempt)
			switch {
			case healthy:
				sseFailures = 0
			case e.reached || errors.Is(err, errNotOpen) || errors.Is(err, ErrStreamRefused):
				// SSE itself did not work (the server answered, or the
				// stream would not open in time): count it towards polling.
				// A request that reached nothing (a network that just
				// changed, a server that is down) says nothing about SSE.
				sseFailures++
			}
		} else {
			healthy, err = e.followPolling(attempt)
			if errors.Is(err, errTrySSE) {
				abort()
				sseFailures = e.SSEFailLimit - 1 // one SSE attempt, then back here
				continue
			}
		}
		abort()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrStreamRefused) {
			e.reached = true // an answer, if not the one wanted: the server is there
		}
		if e.offline.Load() {
			continue // shown as offline at the top of the loop
		}
		if healthy {
			failures = 0
		}
		failures++
		if e.reached {
			unreachable = 0
		} else {
			unreachable++
		}
		// Two attempts in a row without any answer: the server is out of
		// reach (it is down, or a network in between is).
		e.wait(ctx, e.backoff(failures), unreachable >= 2)
	}
}

// backoff is full jitter: uniform in [0, min(max, min·2^(n-1))].
func (e *Engine) backoff(n int) time.Duration {
	return rand.N(ceiling(n, e.BackoffMin, e.BackoffMax) + 1)
}

// ceiling is min(hi, lo·2^(n-1)). It doubles only while that stays within
// hi: lo·2^s ≤ hi exactly when lo ≤ hi>>s, and the shift then cannot
// overflow.
func ceiling(n int, lo, hi time.Duration) time.Duration {
	if s := uint(n - 1); s < 63 && lo <= hi>>s {
		return lo << s
	}
	return hi
}

// wait shows "reconnecting in N s" (or that the server is out of reach)
// until the delay passes, a Kick comes or the network changes.
func (e *Engine) wait(ctx context.Context, d time.Duration, unreachable bool) {
	mode := Reconnecting
	if unreachable {
		mode = Unreachable
	}
	e.setStatus(Status{Mode: mode, RetryAt: time.Now().Add(d), LastLive: e.lastLive})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-e.kick:
	case <-e.network:
	}
}

// waitForNetwork waits while the device is offline. A device that says it
// is offline is believed, but not for ever: after BackoffMax, or on a
// Kick, it reports that one attempt should be made anyway (the "online"
// news may never come).
func (e *Engine) waitForNetwork(ctx context.Context) (tryAnyway bool) {
	t := time.NewTimer(e.BackoffMax)
	defer t.Stop()
	for e.offline.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-e.kick:
			return true
		case <-e.network:
		}
	}
	return false
}

var (
	errTrySSE   = errors.New("sync: time to try SSE again")
	errSilent   = errors.New("sync: the event stream went silent")
	errNotOpen  = errors.New("sync: the event stream did not go live in time")
	errBadEvent = errors.New("sync: an event could not be read")
)

// ErrStreamRefused is what a StreamFunc wraps when the server (or a proxy
// in between) answered, but not with an event stream: SSE does not work
// there, and after SSEFailLimit such answers the engine long-polls.
var ErrStreamRefused = errors.New("sync: the event stream was refused")

// followSSE runs one SSE stream. healthy reports whether it proved to
// work: it went live (opened, and delivered the reset it owed) in time, and
// then delivered events or stayed up for OpenTimeout. Until it is live the
// stream has OpenTimeout in all; once live, it must bring a byte (an event
// or the server's ping) every Silence.
func (e *Engine) followSSE(ctx context.Context) (healthy bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var liveAt time.Time
	events := 0
	needReset := e.cursor == ""
	watchdog := time.AfterFunc(e.OpenTimeout, func() { cancel(errNotOpen) })
	defer func() { watchdog.Stop() }() // the one running at the end: goLive replaces it
	goLive := func() {
		if needReset || !liveAt.IsZero() {
			return
		}
		liveAt = time.Now()
		watchdog.Stop()
		watchdog = time.AfterFunc(e.Silence, func() { cancel(errSilent) })
		e.lastLive = liveAt
		e.setStatus(Status{Mode: Live, Transport: SSE, LastLive: liveAt})
	}
	on := StreamEvents{
		Open: func() { e.reached = true; goLive() },
		Bytes: func() {
			if !liveAt.IsZero() {
				watchdog.Reset(e.Silence)
				e.lastLive = time.Now()
			}
		},
		Event: func(typ, id, data string) {
			switch typ {
			case "reset":
				var snap shared.Snapshot
				if json.Unmarshal([]byte(data), &snap) != nil {
					cancel(errBadEvent) // never skip an event: resume from the cursor
					return
				}
				e.cursor = snap.Cursor
				needReset = false
				e.OnReset(snap)
			case "created", "updated", "deleted":
				// A lean frame (?v=2): the id is the seq, the epoch the
				// one this stream follows.
				cur, _ := shared.ParseCursor(e.cursor)
				c, err := shared.DecodeLeanChange(typ, id, data, e.Board, cur.Epoch)
				if err != nil {
					cancel(errBadEvent)
					return
				}
				e.cursor = c.Cursor
				e.OnChanges([]shared.Change{c})
			case "change":
				// The first framing: what a server without lean frames
				// sends (a replica not yet upgraded).
				var c shared.Change
				if json.Unmarshal([]byte(data), &c) != nil {
					cancel(errBadEvent)
					return
				}
				e.cursor = c.Cursor
				e.OnChanges([]shared.Change{c})
			default:
				return
			}
			events++
			goLive()
			e.lastLive = time.Now()
		},
	}
	err = e.Stream(ctx, e.Client.EventsURL(e.Board, e.cursor), on)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	healthy = !liveAt.IsZero() && (events > 0 || time.Since(liveAt) >= e.OpenTimeout)
	return healthy, err
}

// followPolling long-polls until an error, or until it has been healthy
// for SSERetry. Each poll may outlive its wait by PollMargin; a poll that
// does not answer by then is abandoned (a connection that went dead
// without a word).
func (e *Engine) followPolling(ctx context.Context) (healthy bool, err error) {
	var healthySince time.Time
	for ctx.Err() == nil {
		wait := e.PollWait
		if !healthySince.IsZero() {
			left := e.SSERetry - time.Since(healthySince)
			if left <= 0 {
				return true, errTrySSE
			}
			wait = min(wait, max(1, int((left+time.Second-1)/time.Second)))
		}
		pollCtx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second+e.PollMargin)
		page, err := e.Client.Changes(pollCtx, e.Board, e.cursor, wait)
		cancel()
		if err != nil {
			e.reached = e.reached || shared.ErrorCode(err) != shared.CodeNetwork
			return healthy, fmt.Errorf("long poll: %w", err)
		}
		healthy, e.reached = true, true
		if healthySince.IsZero() {
			healthySince = time.Now()
		}
		if page.Reset != nil {
			e.OnReset(*page.Reset)
		}
		e.cursor = page.Cursor
		e.OnChanges(page.Changes)
		e.lastLive = time.Now()
		if e.status.Mode != Live || e.status.Transport != Polling {
			e.setStatus(Status{Mode: Live, Transport: Polling, LastLive: e.lastLive})
		}
	}
	return healthy, ctx.Err()
}

func (e *Engine) setStatus(s Status) {
	e.status = s
	if e.OnStatus != nil {
		e.OnStatus(s)
	}
}
