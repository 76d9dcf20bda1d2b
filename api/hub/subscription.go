package hub

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/kairan/kairan/shared"
)

// Batch is what a subscriber gets next: a reset (start over from this
// snapshot) or one or more changes in cursor order.
type Batch struct {
	Reset   *shared.Snapshot
	Changes []shared.Change
	// JSON holds each change's wire encoding when the hub made it: live
	// changes are encoded once for all subscribers; replays come without
	// (JSON is then shorter than Changes, or an entry is nil). Use Encoded.
	JSON [][]byte
	// Lean holds the lean frame data (DESIGN.md section 3, ?v=2) in the
	// same way. Use EncodedLean.
	Lean [][]byte
}

// Encoded returns change i as JSON: the hub's shared encoding when there
// is one, else a fresh one (replays are read per subscriber anyway).
func (b Batch) Encoded(i int) []byte {
	if i < len(b.JSON) && b.JSON[i] != nil {
		return b.JSON[i]
	}
	return encode(b.Changes[i])
}

// EncodedLean returns change i's lean frame data, shared as Encoded's.
func (b Batch) EncodedLean(i int) []byte {
	if i < len(b.Lean) && b.Lean[i] != nil {
		return b.Lean[i]
	}
	return shared.EncodeLeanChange(b.Changes[i])
}

// encode is a change's wire JSON.
func encode(c shared.Change) []byte {
	data, err := json.Marshal(c)
	if err != nil {
		panic(err) // shared types always marshal
	}
	return data
}

// event is one change as the hub fans it out: decoded, its seq, and its
// JSON in both framings, made once and shared (read-only) by every
// subscriber. The queues
// hold pointers, so a subscriber 256 changes behind holds 2 KiB, not 40.
type event struct {
	change shared.Change
	seq    int64
	json   []byte
	lean   []byte
}

func newEvent(c shared.Change) event {
	return event{change: c, seq: c.Seq, json: encode(c), lean: shared.EncodeLeanChange(c)}
}

// Cursor is where the consumer stands after applying the batch.
func (b Batch) Cursor() string {
	if n := len(b.Changes); n > 0 {
		return b.Changes[n-1].Cursor
	}
	if b.Reset != nil {
		return b.Reset.Cursor
	}
	return ""
}

// Subscription follows one board from a cursor. One goroutine consumes it
// (Next). It starts by replaying the log a page at a time (replay.go);
// once caught up it is live and the hub feeds it through a bounded
// channel.
type Subscription struct {
	hub   *Hub
	board string
	// queue holds the live changes the hub has handed over and the
	// consumer has not yet taken, at most Buffer of them; ready has a
	// token while it is not empty. A slice grown on demand instead of a
	// channel of Buffer slots: an idle subscriber holds nothing (a
	// 256-slot channel was 2 KiB each, a tenth of a subscriber's memory).
	qmu     sync.Mutex
	queue   []*event
	ready   chan struct{}
	onReady func()       // see OnReady; guarded by qmu
	seq     atomic.Int64 // last seq handed to the consumer
	first   *Batch       // the reset or first replay page, served before the rest
	live    bool         // guarded by hub.mu: the hub offers it new changes

	// The replay, touched only by the consumer: the board's changes in the
	// log have been read through seq read; reading goes on up to upTo,
	// then until the hub has fanned out nothing newer.
	read, upTo int64
	caughtUp   bool

	endOnce sync.Once
	ended   chan struct{}
	over    atomic.Bool // ended is closed; err is set before
	err     error
}

// Subscribe follows board from cursor. A cursor the hub cannot use —
// empty, malformed, another epoch, ahead of the log, or older than the
// retained history — starts with a reset carrying a snapshot.
//
// It is race-free: the subscription is registered first and goes live,
// under the hub's lock, only once its replay has read the log through the
// newest change the hub has fanned out; anything seen twice is skipped by
// seq.
func (h *Hub) Subscribe(ctx context.Context, board, cursor string) (*Subscription, error) {
	s := &Subscription{hub: h, board: board, ready: make(chan struct{}, 1), ended: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	subs := h.boards[board]
	if subs == nil {
		subs = map[*Subscription]struct{}{}
		h.boards[board] = subs
	}
	subs[s] = struct{}{}
	h.mu.Unlock()

	if err := s.start(ctx, cursor); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Next returns the next batch, waiting until there is one, the context
// ends, or the subscription ends (ErrSlow, ErrClosed, ErrPruned).
func (s *Subscription) Next(ctx context.Context) (Batch, error) { return s.Wait(ctx, nil) }

// Wait is Next that also returns an empty batch when tick fires, so a
// stream can send keep-alives off the hub's shared heartbeat.
func (s *Subscription) Wait(ctx context.Context, tick <-chan struct{}) (Batch, error) {
	if b, err := s.Replay(ctx); err != nil || b.Reset != nil || len(b.Changes) > 0 {
		return b, err
	}
	for {
		select {
		case <-s.ready:
			if b := s.take(); len(b.Changes) > 0 {
				return b, nil
			}
		case <-tick:
			return Batch{}, nil
		case <-s.ended:
			return Batch{}, s.err
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		}
	}
}

// Replay is the start of a subscription for a consumer that will then be
// told when to look (OnReady, Poll) instead of waiting in Wait: the reset
// or the next page of the replay, read from the log, or an empty batch
// once the subscription has caught up and is live.
func (s *Subscription) Replay(ctx context.Context) (Batch, error) {
	if first := s.first; first != nil {
		s.first = nil
		return *first, nil
	}
	if s.caughtUp {
		return Batch{}, nil
	}
	return s.replay(ctx)
}

// Poll is Next without waiting, once Replay has returned an empty batch:
// the changes queued since the last call (an empty batch when there are
// none), or the error that ended the subscription.
func (s *Subscription) Poll() (Batch, error) {
	if s.over.Load() {
		return Batch{}, s.err
	}
	return s.take(), nil
}

// Live is one change as the hub fanned it out: decoded and in both
// framings' JSON, shared read-only by every subscriber.
type Live struct {
	Change     *shared.Change
	JSON, Lean []byte
}

// PollLive is Poll for a consumer that writes each change as it comes:
// it appends the changes queued since the last call to dst instead of
// building a Batch, so a delivery allocates nothing (on a busy board the
// fan-out is most of the server's work, and garbage there is GC work in
// the middle of the next fan-out).
func (s *Subscription) PollLive(dst []Live) ([]Live, error) {
	if s.over.Load() {
		return dst, s.err
	}
	var local [8]*event
	for _, e := range s.takeInto(local[:0]) {
		if e.seq <= s.seq.Load() {
			continue // replayed already
		}
		s.seq.Store(e.seq)
		dst = append(dst, Live{Change: &e.change, JSON: e.json, Lean: e.lean})
	}
	return dst, nil
}

// takeInto empties the queue into dst. The queue keeps its array when
// small, so the next offer does not allocate.
func (s *Subscription) takeInto(dst []*event) []*event {
	s.qmu.Lock()
	dst = append(dst, s.queue...)
	clear(s.queue)
	if cap(s.queue) > 16 {
		s.queue = nil // a burst's array is not kept by an idle subscriber
	} else {
		s.queue = s.queue[:0]
	}
	s.qmu.Unlock()
	return dst
}

// take empties the queue into a batch of the changes the consumer has not
// had yet.
func (s *Subscription) take() Batch {
	var local [8]*event
	var b Batch
	for _, e := range s.takeInto(local[:0]) {
		s.fresh(&b, e)
	}
	return b
}

// OnReady registers f, to be called whenever the hub queues a change for
// the subscription and when the subscription ends, so a consumer can
// Poll instead of holding a goroutine in Wait (which then no longer wakes
// for changes). f is called from the hub's fan-out with its lock held: it
// must return at once.
func (s *Subscription) OnReady(f func()) {
	s.qmu.Lock()
	s.onReady = f
	s.qmu.Unlock()
}

// fresh adds e to the batch unless the consumer has already had it (a
// change can be both replayed and fanned out live while the subscription
// starts).
func (s *Subscription) fresh(b *Batch, e *event) {
	if e.seq <= s.seq.Load() {
		return
	}
	s.seq.Store(e.seq)
	b.Changes = append(b.Changes, e.change)
	b.JSON = append(b.JSON, e.json)
	b.Lean = append(b.Lean, e.lean)
}

// Close unregisters the subscription. Call it when the stream ends.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	s.hub.removeLocked(s)
	s.hub.mu.Unlock()
	s.end(ErrClosed)
}

// Done is closed when the hub ends the subscription.
func (s *Subscription) Done() <-chan struct{} { return s.ended }

// Cursor is where the consumer stands.
func (s *Subscription) Cursor() string {
	return shared.Cursor{Epoch: s.hub.epoch, Seq: s.seq.Load()}.String()
}

// offer hands e to the subscriber without blocking; false means its buffer
// is full. Called with the hub's lock held.
func (s *Subscription) offer(e *event) bool {
	s.qmu.Lock()
	if len(s.queue) >= s.hub.cfg.Buffer {
		s.qmu.Unlock()
		return false
	}
	s.queue = append(s.queue, e)
	f := s.onReady
	s.qmu.Unlock()
	if f != nil {
		f() // a consumer that polls: nobody waits on ready
		return true
	}
	select {
	case s.ready <- struct{}{}:
	default: // a token is already there
	}
	return true
}

func (s *Subscription) end(err error) {
	s.endOnce.Do(func() {
		s.err = err
		s.over.Store(true)
		close(s.ended)
		s.qmu.Lock()
		f := s.onReady
		s.qmu.Unlock()
		if f != nil {
			f()
		}
	})
}
