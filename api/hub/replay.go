package hub

import (
	"context"
	"errors"

	"github.com/kairan/kairan/shared"
)

// Replays. A subscriber resuming from a cursor first gets the board's
// changes after it from the log, one page (Config.ReplayPage) per batch,
// each page read only when the consumer asks for the next batch, so a
// resume 9,500 changes back holds one page, however slowly its client
// reads. While replaying it is not offered live changes (it reads them
// from the log too), so a long replay cannot overflow its buffer. It goes
// live under the hub's lock once it has read the log through the newest
// change the hub has fanned out; from then on the hub offers it every
// newer one.
//
// The replay runs up to the database's head, not the hub's: a change that
// was committed and acknowledged before the request is in the answer even
// when the hub has not fanned it out yet (read-your-writes, also across
// replicas on PostgreSQL, where another replica's commit reaches this hub
// only after its notification).

// start places the subscription after cursor, or answers a cursor the hub
// cannot use with a reset, and reads the first page while the caller's
// context is at hand (a long poll with wait=0 answers with it).
func (s *Subscription) start(ctx context.Context, cursor string) error {
	h := s.hub
	head, err := h.cfg.Log.Head(ctx)
	if err != nil {
		return err
	}
	cur, ok := shared.ParseCursor(cursor)
	usable := ok && cur.Epoch == h.epoch && cur.Seq <= head
	if usable {
		pruned, err := h.cfg.Log.PrunedThrough(ctx)
		if err != nil {
			return err
		}
		usable = cur.Seq >= pruned
	}
	if usable {
		s.seq.Store(cur.Seq)
		s.read, s.upTo = cur.Seq, head
		first, err := s.replay(ctx)
		if !errors.Is(err, ErrPruned) {
			if err == nil && len(first.Changes) > 0 {
				s.first = &first
			}
			return err
		}
		// A prune passed the cursor after the check above: start over
		// from a snapshot after all.
	}
	snap, err := h.cfg.Log.Snapshot(ctx, s.board, h.cfg.SnapshotLimit)
	if err != nil {
		return err
	}
	at := snap.Seq
	s.seq.Store(at)
	s.read, s.upTo = at, at
	s.first = &Batch{Reset: &snap}
	s.goLive() // usually at once: the snapshot is as new as the hub
	return nil
}

// replay returns the next page of the replay, or an empty batch once the
// subscription has caught up and is live. ErrPruned means the log lost
// changes the replay still needed.
func (s *Subscription) replay(ctx context.Context) (Batch, error) {
	h := s.hub
	for {
		select {
		case <-s.ended:
			return Batch{}, s.err
		default:
		}
		if s.read >= s.upTo && s.goLive() {
			return Batch{}, nil
		}
		page, err := h.cfg.Log.BoardChanges(ctx, s.board, s.read, s.upTo, h.cfg.ReplayPage)
		if err != nil {
			return Batch{}, err
		}
		// Pruning deletes changes and raises PrunedThrough in one
		// transaction, so reading it after the page tells whether the
		// page may be missing some.
		pruned, err := h.cfg.Log.PrunedThrough(ctx)
		if err != nil {
			return Batch{}, err
		}
		if pruned > s.read {
			return Batch{}, ErrPruned
		}
		if len(page) < h.cfg.ReplayPage {
			s.read = s.upTo
		} else {
			s.read = page[len(page)-1].Seq
		}
		if len(page) > 0 {
			s.seq.Store(page[len(page)-1].Seq)
			return Batch{Changes: page}, nil
		}
	}
}

// goLive makes the subscription live when its replay has read everything
// the hub has fanned out; otherwise it extends the replay to that point.
func (s *Subscription) goLive() bool {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if last := h.last.Load(); last > s.read {
		s.upTo = last
		return false
	}
	s.live, s.caughtUp = true, true
	return true
}
