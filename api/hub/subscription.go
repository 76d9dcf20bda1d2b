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
}

// Encoded returns change i as JSON: the hub's shared encoding when there
// is one, else a fresh one (replays are read per subscriber anyway).
func (b Batch) Encoded(i int) []byte {
	if i < len(b.JSON) && b.JSON[i] != nil {
		return b.JSON[i]
	}
	return encode(b.Changes[i])
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
// JSON, made once and shared (read-only) by every subscriber. The buffers
// hold pointers, so a subscriber's 256-slot buffer costs 2 KiB, not 40.
type event struct {
	change shared.Change
	seq    int64
	json   []byte
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
// (Next); the hub feeds it through a bounded channel.
type Subscription struct {
	hub   *Hub
	board string
	ch    chan *event
	seq   atomic.Int64 // last seq handed to the consumer
	first *Batch       // the reset or replay, served before live changes

	endOnce sync.Once
	ended   chan struct{}
	err     error
}

// Subscribe follows board from cursor. A cursor the hub cannot use —
// empty, malformed, another epoch, ahead of the log, or older than the
// retained history — starts with a reset carrying a snapshot.
//
// It is race-free: the subscription is registered first, so every change
// fanned out from then on reaches its channel; the changes between the
// cursor and that point are read from the log; anything seen twice is
// skipped by seq.
func (h *Hub) Subscribe(ctx context.Context, board, cursor string) (*Subscription, error) {
	s := &Subscription{hub: h, board: board, ch: make(chan *event, h.cfg.Buffer), ended: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	upTo := h.last
	subs := h.boards[board]
	if subs == nil {
		subs = map[*Subscription]struct{}{}
		h.boards[board] = subs
	}
	subs[s] = struct{}{}
	h.mu.Unlock()

	first, from, err := h.start(ctx, board, cursor, upTo)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.first = &first
	s.seq.Store(from)
	return s, nil
}

// start builds the first batch — the replay from a usable cursor up to
// upTo, or a reset — and returns the seq the consumer stands at after it.
func (h *Hub) start(ctx context.Context, board, cursor string, upTo int64) (Batch, int64, error) {
	cur, ok := shared.ParseCursor(cursor)
	usable := ok && cur.Epoch == h.epoch
	if usable && cur.Seq > upTo {
		// The hub may not have fanned out the newest commits yet; only a
		// cursor ahead of the database itself is unusable.
		head, err := h.cfg.Log.Head(ctx)
		if err != nil {
			return Batch{}, 0, err
		}
		usable = cur.Seq <= head
	}
	if usable {
		pruned, err := h.cfg.Log.PrunedThrough(ctx)
		if err != nil {
			return Batch{}, 0, err
		}
		usable = cur.Seq >= pruned
	}
	if !usable {
		return h.reset(ctx, board)
	}
	var replay []shared.Change
	for after := cur.Seq; after < upTo; {
		page, err := h.cfg.Log.BoardChanges(ctx, board, after, upTo, readBatch)
		if err != nil {
			return Batch{}, 0, err
		}
		replay = append(replay, page...)
		if len(page) < readBatch {
			break
		}
		after = seqOf(page[len(page)-1].Cursor)
	}
	if cur.Seq < upTo {
		// A prune that committed after the check above may have removed
		// changes the replay needed. Pruning raises PrunedThrough in the
		// same transaction as it deletes, so reading it again tells; if it
		// passed the cursor, start over from a snapshot.
		pruned, err := h.cfg.Log.PrunedThrough(ctx)
		if err != nil {
			return Batch{}, 0, err
		}
		if cur.Seq < pruned {
			return h.reset(ctx, board)
		}
	}
	if len(replay) == 0 {
		return Batch{}, cur.Seq, nil
	}
	return Batch{Changes: replay}, seqOf(replay[len(replay)-1].Cursor), nil
}

// reset starts the consumer over from a snapshot of the board.
func (h *Hub) reset(ctx context.Context, board string) (Batch, int64, error) {
	snap, err := h.cfg.Log.Snapshot(ctx, board, h.cfg.SnapshotLimit)
	if err != nil {
		return Batch{}, 0, err
	}
	return Batch{Reset: &snap}, seqOf(snap.Cursor), nil
}

// Next returns the next batch, waiting until there is one, the context
// ends, or the subscription ends (ErrSlow, ErrClosed).
func (s *Subscription) Next(ctx context.Context) (Batch, error) { return s.Wait(ctx, nil) }

// Wait is Next that also returns an empty batch when tick fires, so a
// stream can send keep-alives off the hub's shared heartbeat.
func (s *Subscription) Wait(ctx context.Context, tick <-chan struct{}) (Batch, error) {
	if first := s.first; first != nil {
		s.first = nil
		if first.Reset != nil || len(first.Changes) > 0 {
			return *first, nil
		}
	}
	for {
		select {
		case e := <-s.ch:
			var b Batch
			s.fresh(&b, e)
			for more := true; more && len(b.Changes) < cap(s.ch); {
				select {
				case e := <-s.ch:
					s.fresh(&b, e)
				default:
					more = false
				}
			}
			if len(b.Changes) > 0 {
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
	select {
	case s.ch <- e:
		return true
	default:
		return false
	}
}

func (s *Subscription) end(err error) {
	s.endOnce.Do(func() {
		s.err = err
		close(s.ended)
	})
}

func seqOf(cursor string) int64 {
	c, _ := shared.ParseCursor(cursor)
	return c.Seq
}
