// Package hub fans committed changes out to the subscribers of each board.
// After a commit the writer hands its change to the hub's one loop, which
// gives it to every subscriber of its board; when changes came in between
// (or another replica's commit is notified), the loop reads the new change
// rows once instead.
// Nothing runs per subscriber while the board is quiet: no queries, no
// timers.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/shared"
)

// Log is what the hub reads from the database.
type Log interface {
	Epoch() string
	Head(ctx context.Context) (int64, error)
	PrunedThrough(ctx context.Context) (int64, error)
	ChangesSince(ctx context.Context, after int64, limit int) ([]shared.Change, error)
	BoardChanges(ctx context.Context, board string, after, upTo int64, limit int) ([]shared.Change, error)
	Snapshot(ctx context.Context, board string, limit int) (shared.Snapshot, error)
}

// Metrics receives counts; nil fields are skipped.
type Metrics struct {
	Published func(n int) // changes fanned out
	Dropped   func()      // slow subscribers dropped
}

// Config tunes a hub.
type Config struct {
	Log    Log
	Logger *slog.Logger
	// Buffer is how many changes a subscriber may lag behind before it is
	// dropped (it then resumes from its cursor).
	Buffer int
	// Heartbeat is the period of the shared keep-alive tick.
	Heartbeat time.Duration
	// SnapshotLimit is how many topics a reset carries.
	SnapshotLimit int
	// ReplayPage is how many changes a subscriber's replay reads from the
	// log at a time (see replay.go).
	ReplayPage int
	Metrics    Metrics
}

// Errors that end a subscription.
var (
	// ErrSlow: the subscriber fell more than Buffer changes behind.
	ErrSlow = errors.New("hub: subscriber too slow, resume from the cursor")
	// ErrClosed: the hub is shutting down.
	ErrClosed = errors.New("hub: closed")
	// ErrPruned: the log was pruned past a replay under way; the
	// subscriber's cursor now gets a reset.
	ErrPruned = errors.New("hub: history pruned during the replay, resume from the cursor")
)

const readBatch = 500

// Hub is the in-process fan-out.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	epoch string
	wake  chan struct{}
	// publish carries writers' committed changes to the loop, which fans
	// them out: the writer answers its client at once instead of after a
	// fan-out to every subscriber (measured: a post's answer at 10,000
	// subscribers took 29 ms p50 when the writer fanned out itself, 5 ms
	// otherwise).
	publish chan event
	done    chan struct{}
	exit    chan struct{} // closed when run and beat have both ended

	// beats holds the heartbeat channel, closed and replaced on every tick
	// (beat). Streams load it often, so it is an atomic, not under mu:
	// thousands of streams woken by one change used to queue on the lock
	// the fan-out still held (seen in a goroutine profile at 10,000
	// subscribers: two thirds of them waiting on it).
	beats atomic.Pointer[chan struct{}]
	// last is the newest seq fanned out; committed changes may be newer.
	// Written under mu (offerLocked), read without it.
	last atomic.Int64

	mu     sync.Mutex
	boards map[string]map[*Subscription]struct{}
	closed bool
}

// New starts a hub whose loop resumes after the log's current head.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 7 * time.Second
	}
	if cfg.SnapshotLimit <= 0 {
		cfg.SnapshotLimit = shared.DefaultSnapshotLen
	}
	if cfg.ReplayPage <= 0 {
		cfg.ReplayPage = 128
	}
	head, err := cfg.Log.Head(ctx)
	if err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, epoch: cfg.Log.Epoch(),
		wake: make(chan struct{}, 1), publish: make(chan event, 64), done: make(chan struct{}), exit: make(chan struct{}),
		boards: map[string]map[*Subscription]struct{}{}}
	h.last.Store(head)
	beat := make(chan struct{})
	h.beats.Store(&beat)
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); h.run() }()
	go func() { defer loops.Done(); h.beat() }()
	go func() { loops.Wait(); close(h.exit) }()
	return h, nil
}

// Notify wakes the hub after the commit of seq (0: a commit of unknown
// seq, such as another replica's). It never blocks: wake-ups coalesce,
// and one read picks up every change committed since the last, so a seq
// the hub has already fanned out needs no wake-up (under a burst of
// writes, most commits land in a read another one started).
func (h *Hub) Notify(seq int64) {
	if seq > 0 && seq <= h.Last() {
		return
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Publish hands the hub a change its writer has just committed. The loop
// fans it out as it is, without reading it back from the log, when it is
// the next one; otherwise (a trim's deletes, or another writer's change,
// came in between) it reads the log, as after Notify(c.Seq). It never
// blocks.
// Commits are in seq order (the counter row's lock, DESIGN §2), so the
// change after the last one fanned out is never overtaken.
func (h *Hub) Publish(c shared.Change) {
	if c.Seq <= h.Last() {
		return // already fanned out
	}
	select {
	case h.publish <- newEvent(c):
	default: // the loop is far behind: it reads the log anyway
		h.Notify(c.Seq)
	}
}

// Close ends every subscription with ErrClosed and stops the loop. Every
// call returns only once the loop has stopped, so a caller may close the
// log next (shutdown calls Close twice, concurrently).
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.exit
		return
	}
	h.closed = true
	for _, subs := range h.boards {
		for s := range subs {
			s.end(ErrClosed)
		}
	}
	h.boards = map[string]map[*Subscription]struct{}{}
	h.mu.Unlock()
	close(h.done)
	<-h.exit
}

// Heartbeat returns a channel that is closed at the next shared tick.
// Streams use it for keep-alives instead of a timer each.
func (h *Hub) Heartbeat() <-chan struct{} { return *h.beats.Load() }

// Last is the newest seq fanned out.
func (h *Hub) Last() int64 { return h.last.Load() }

// beat closes the heartbeat channel on every tick, in a loop of its own:
// a read of the log that waits on a stalled database must not delay the
// streams' pings.
func (h *Hub) beat() {
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
			next := make(chan struct{})
			close(*h.beats.Swap(&next))
		}
	}
}

func (h *Hub) run() {
	tick := time.NewTicker(h.cfg.Heartbeat)
	defer tick.Stop()
	behind := false // the last read failed: retry on the next tick too
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
			if !behind {
				continue
			}
		case <-h.wake:
		case e := <-h.publish:
			if e.seq <= h.Last() || h.fanOutNext(e) {
				continue
			}
			// Not the next one: read the log from the last fanned out.
		}
		if err := h.CatchUp(); err != nil {
			// Once per outage, not once per try: the database may be away
			// for minutes, and every wake-up and tick tries again.
			level := slog.LevelDebug
			if !behind {
				level = slog.LevelError
			}
			h.log.Log(context.Background(), level, "hub: cannot read the change log; retrying on every wake-up and heartbeat", "err", err)
			behind = true
			continue
		}
		if behind {
			h.log.Info("hub: reading the change log again")
		}
		behind = false
	}
}

// CatchUp reads every change after the last one fanned out and fans them
// out now, in seq order, instead of waiting for the loop to be woken.
func (h *Hub) CatchUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		changes, err := h.cfg.Log.ChangesSince(ctx, h.Last(), readBatch)
		if err != nil || len(changes) == 0 {
			return err
		}
		h.fanOut(changes)
		if len(changes) < readBatch {
			return nil
		}
	}
}

func (h *Hub) fanOut(changes []shared.Change) {
	// Encode outside the lock, once per change for all its subscribers.
	events := make([]event, len(changes))
	for i, c := range changes {
		events[i] = newEvent(c)
	}
	h.mu.Lock()
	for i := range events {
		// The log was read from last on, so what is newer follows it.
		if events[i].seq > h.last.Load() {
			h.offerLocked(&events[i])
		}
	}
	h.mu.Unlock()
	if m := h.cfg.Metrics; m.Published != nil {
		m.Published(len(changes))
	}
}

// fanOutNext fans e out if it is the change right after the last one;
// false means it is not (the log must be read).
func (h *Hub) fanOutNext(e event) bool {
	h.mu.Lock()
	next := e.seq == h.last.Load()+1
	if next {
		h.offerLocked(&e)
	}
	h.mu.Unlock()
	if m := h.cfg.Metrics; next && m.Published != nil {
		m.Published(1)
	}
	return next
}

// offerLocked makes e the last change fanned out and offers it to every
// live subscriber of its board, dropping those too far behind.
func (h *Hub) offerLocked(e *event) {
	h.last.Store(e.seq)
	for s := range h.boards[e.change.Board] {
		if !s.live {
			continue // still replaying: it reads this change from the log
		}
		if s.offer(e) {
			continue
		}
		h.removeLocked(s)
		s.end(ErrSlow)
		if h.cfg.Metrics.Dropped != nil {
			h.cfg.Metrics.Dropped()
		}
		h.log.Info("hub: dropped slow subscriber", "board", e.change.Board, "cursor", s.Cursor())
	}
}

func (h *Hub) removeLocked(s *Subscription) {
	subs := h.boards[s.board]
	if _, ok := subs[s]; !ok {
		return
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(h.boards, s.board)
	}
}
