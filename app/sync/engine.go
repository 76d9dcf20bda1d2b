package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
)

// Mode is what the engine is doing, as the page shows it.
type Mode string

// Modes.
const (
	Connecting   Mode = "connecting"
	LiveSSE      Mode = "live (SSE)"
	LivePolling  Mode = "live (polling)"
	Reconnecting Mode = "reconnecting"
	Offline      Mode = "offline"
)

// Status is the connection state shown to the person.
type Status struct {
	Mode Mode
	// RetryAt is when the next attempt starts, while Reconnecting.
	RetryAt time.Time
	// LastLive is when the engine last knew the replica was current.
	LastLive time.Time
}

// StreamFunc opens an SSE stream at url and calls onOpen once the server
// has answered, then onEvent for each event, until the stream ends (its
// error) or ctx is done. Platform code: stream_native.go, stream_wasm.go.
type StreamFunc func(ctx context.Context, url string, onOpen func(), onEvent func(typ, data string)) error

// Engine follows one board. Its methods other than Kick must be called
// from one goroutine: Run's.
type Engine struct {
	Client *client.Client
	Board  string
	// Stream is the SSE transport; nil uses the platform's.
	Stream StreamFunc
	// OnUpdate receives a copy of the replica and the status after every
	// change of either. It runs on Run's goroutine.
	OnUpdate func(Replica, Status)
	// OnChanges, when set, sees every change applied, in order (after a
	// reset, only the changes that follow it). It runs on Run's goroutine.
	OnChanges func([]shared.Change)
	// Online reports whether the device has a network (navigator.onLine);
	// nil means always.
	Online func() bool

	// Tuning; zero values take the defaults below.
	OpenTimeout  time.Duration // SSE must open (and reset) within this
	SSEFailLimit int           // failed SSE attempts before polling
	SSERetry     time.Duration // how long to poll before trying SSE again
	PollWait     int           // long-poll wait, seconds
	BackoffMin   time.Duration
	BackoffMax   time.Duration

	replica Replica
	status  Status
	kick    chan struct{}
	reached bool // the last attempt got an answer from the server
}

const (
	defaultOpenTimeout = 5 * time.Second
	defaultSSEFailures = 2
	defaultSSERetry    = 2 * time.Minute
	defaultPollWait    = 25
	defaultBackoffMin  = 500 * time.Millisecond
	defaultBackoffMax  = 20 * time.Second
)

// NewEngine returns an engine starting from a replica (say, one restored
// from local storage; its cursor is where following resumes).
func NewEngine(c *client.Client, board string, from Replica) *Engine {
	from.Board = board
	return &Engine{Client: c, Board: board, replica: from.Clone(), kick: make(chan struct{}, 1)}
}

// Kick makes a waiting engine try again at once (the browser came online,
// the tab became visible). Safe from any goroutine.
func (e *Engine) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Engine) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&e.OpenTimeout, defaultOpenTimeout)
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
}

// Run follows the board until ctx is done: SSE first, long polling when
// SSE does not open or keeps failing, SSE again after SSERetry; after an
// error it waits with exponential backoff and full jitter.
func (e *Engine) Run(ctx context.Context) {
	e.defaults()
	e.setStatus(Status{Mode: Connecting, LastLive: e.replica.SyncedAt})
	failures, sseFailures, unreachable := 0, 0, 0
	for ctx.Err() == nil {
		var healthy bool
		var err error
		e.reached = false
		if sseFailures < e.SSEFailLimit {
			healthy, err = e.followSSE(ctx)
			if healthy {
				sseFailures = 0
			} else {
				sseFailures++
			}
		} else {
			healthy, err = e.followPolling(ctx)
			if errors.Is(err, errTrySSE) {
				sseFailures = e.SSEFailLimit - 1 // one SSE attempt, then back here
				continue
			}
		}
		if ctx.Err() != nil {
			return
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
		// reach (no network, or it is down), which the person sees as offline.
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

// wait shows "reconnecting in N s" (or "offline") until the delay passes
// or a Kick comes.
func (e *Engine) wait(ctx context.Context, d time.Duration, unreachable bool) {
	mode := Reconnecting
	if unreachable || e.Online != nil && !e.Online() {
		mode = Offline
	}
	e.setStatus(Status{Mode: mode, RetryAt: time.Now().Add(d), LastLive: e.status.LastLive})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-e.kick:
	}
}

var errTrySSE = errors.New("sync: time to try SSE again")

// followSSE runs one SSE stream. healthy reports whether it proved to
// work: it went live (opened, and delivered the reset it owed) in time, and
// then delivered events or stayed up for OpenTimeout.
func (e *Engine) followSSE(ctx context.Context) (healthy bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var liveAt time.Time
	events := 0
	needReset := e.replica.Cursor == ""
	watchdog := time.AfterFunc(e.OpenTimeout, cancel) // stopped once the stream is live
	defer watchdog.Stop()
	goLive := func() {
		if needReset || !liveAt.IsZero() {
			return
		}
		watchdog.Stop()
		liveAt = time.Now()
		e.replica.SyncedAt = liveAt
		e.setStatus(Status{Mode: LiveSSE, LastLive: liveAt})
	}
	opened := func() { e.reached = true; goLive() }
	err = e.Stream(ctx, e.Client.EventsURL(e.Board, e.replica.Cursor), opened,
		func(typ, data string) {
			switch typ {
			case "reset":
				var snap shared.Snapshot
				if json.Unmarshal([]byte(data), &snap) != nil {
					return
				}
				e.replica.Reset(snap)
				needReset = false
			case "change":
				var c shared.Change
				if json.Unmarshal([]byte(data), &c) != nil {
					return
				}
				e.replica.Apply(c)
				e.applied(c)
			default:
				return
			}
			events++
			goLive()
			e.status.LastLive = time.Now()
			e.replica.SyncedAt = e.status.LastLive
			e.update()
		})
	healthy = !liveAt.IsZero() && (events > 0 || time.Since(liveAt) >= e.OpenTimeout)
	return healthy, err
}

// followPolling long-polls until an error, or until SSERetry has passed.
func (e *Engine) followPolling(ctx context.Context) (healthy bool, err error) {
	started := time.Now()
	for ctx.Err() == nil {
		if time.Since(started) >= e.SSERetry {
			return true, errTrySSE
		}
		page, err := e.Client.Changes(ctx, e.Board, e.replica.Cursor, e.PollWait)
		if err != nil {
			e.reached = e.reached || shared.ErrorCode(err) != shared.CodeNetwork
			return healthy, fmt.Errorf("long poll: %w", err)
		}
		healthy, e.reached = true, true
		if page.Reset != nil {
			e.replica.Reset(*page.Reset)
		}
		e.replica.Apply(page.Changes...)
		e.applied(page.Changes...)
		e.replica.Cursor = page.Cursor
		e.status = Status{Mode: LivePolling, LastLive: time.Now()}
		e.replica.SyncedAt = e.status.LastLive
		e.update()
	}
	return healthy, ctx.Err()
}

func (e *Engine) applied(changes ...shared.Change) {
	if e.OnChanges != nil && len(changes) > 0 {
		e.OnChanges(changes)
	}
}

func (e *Engine) setStatus(s Status) {
	e.status = s
	e.update()
}

func (e *Engine) update() {
	if e.OnUpdate != nil {
		e.OnUpdate(e.replica.Clone(), e.status)
	}
}
