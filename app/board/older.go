package board

import (
	"context"
	"time"

	"github.com/kairan/kairan/shared"
)

// Older topics. The replica starts with the board's newest page; the
// person pages further with Older until the oldest topic is shown, and a
// leading tab that loses topics to deletes fills back up to a page. The
// changes of older topics arrive like any other (edits, deletes), since
// the replica applies every change of the board by topic id.

// Older fetches the page of topics before the oldest shown.
func (s *Session) Older() { s.do(func() { s.fetchOlder(shared.DefaultSnapshotLen) }) }

// refill keeps a leading tab's replica at a page of topics while older
// ones exist: deletes take topics away, the next older ones take their place.
func (s *Session) refill() {
	if s.leader && !s.replica.Complete && len(s.replica.Topics) < shared.DefaultSnapshotLen {
		s.fetchOlder(shared.DefaultSnapshotLen - len(s.replica.Topics))
	}
}

// fetchOlder asks for n topics older than the oldest in the replica.
func (s *Session) fetchOlder(n int) {
	if s.olderBusy || s.replica.Complete || s.replica.Cursor == "" {
		return
	}
	s.olderBusy, s.olderErr, s.tombstones, s.dirty = true, "", map[int64]bool{}, true
	before := s.oldest()
	s.spawn(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		page, err := s.cfg.Client.Older(ctx, s.board, before, n)
		cancel()
		s.do(func() { s.merge(page, n, err) })
	})
}

// oldest is the id of the oldest topic in the replica, or 0 for none
// (then the page is the newest).
func (s *Session) oldest() int64 {
	if len(s.replica.Topics) == 0 {
		return 0
	}
	return s.replica.Topics[len(s.replica.Topics)-1].ID
}

// merge appends an older page below the replica. A topic deleted while the
// page was on its way (a change the replica applied, newer than the page
// or not) stays deleted; a topic changed after the page's cursor gets its
// change from the stream like any other.
func (s *Session) merge(page shared.Snapshot, n int, err error) {
	s.olderBusy, s.dirty = false, true
	tombstones := s.tombstones
	s.tombstones = nil
	if err != nil {
		s.olderErr = shared.Message(err)
		return
	}
	if !sameEpoch(page.Cursor, s.replica.Cursor) {
		return // the database was replaced: a reset is on its way
	}
	oldest := s.oldest()
	for _, t := range page.Topics {
		if (oldest == 0 || t.ID < oldest) && !tombstones[t.ID] {
			s.replica.Topics = append(s.replica.Topics, t)
		}
	}
	s.replica.Complete = len(page.Topics) < n
	s.replicaDirty, s.fullDue = true, true
	s.refill() // deletes while it was on its way may have left it short
}

func sameEpoch(a, b string) bool {
	ca, okA := shared.ParseCursor(a)
	cb, okB := shared.ParseCursor(b)
	return okA && okB && ca.Epoch == cb.Epoch
}
