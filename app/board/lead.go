package board

import (
	"context"
	"slices"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// Of all tabs open on one board, one leads (sync.Tabs): it alone runs the
// engine (the one event stream) and the courier (the outbox), and tells
// the others what changed; they show what they hear and hand their writes
// to it. Everything below runs on the session's loop.

func (s *Session) newTabs(ch sync.Channel) *sync.Tabs {
	t := sync.NewTabs(s.cfg.TabID, s.board, ch, s.cfg.Elect)
	t.Lead = func(ctx context.Context) { s.do(func() { s.lead(ctx) }) }
	t.Enqueue = func(op sync.Op, stored func()) {
		s.do(func() {
			s.queue.Add(op)
			s.saveOutbox() // kept before the writing tab is told so
			if stored != nil {
				stored()
			}
		})
	}
	t.Discard = func(key string) { s.do(func() { s.queue.Discard(key) }) }
	t.OnHello = func() { s.do(func() { s.fullDue, s.dirty = true, true }) }
	t.OnAck = func(key string) { s.do(func() { s.acked[key] = true }) }
	t.OnState = func(m sync.Message) { s.do(func() { s.follow(m) }) }
	return t
}

// lead starts this tab's engine and courier, bound to ctx (leadership).
func (s *Session) lead(ctx context.Context) {
	s.leader = true
	saved := loadOutbox(s.cfg.Storage, s.board) // what the last leader left
	for _, op := range s.handed {               // what no leader confirmed is ours to send
		saved.Add(op)
	}
	s.handed, s.acked, s.remote = nil, map[string]bool{}, sync.Outbox{}
	s.queue = sync.NewQueue(saved, s.outboxChanged)
	s.outboxDirty.Store(true)
	s.outboxChanged()

	e := sync.NewEngine(s.cfg.Client, s.board, s.replica.Cursor, s.replica.SyncedAt)
	e.OnReset = func(snap shared.Snapshot) { s.do(func() { s.reset(snap) }) }
	e.OnChanges = func(cs []shared.Change) { s.do(func() { s.apply(cs) }) }
	e.OnStatus = func(st sync.Status) { s.do(func() { s.setStatus(st) }) }
	if !s.online {
		e.Network(false)
	}
	c := sync.NewCourier(s.cfg.Client, s.queue)
	if !s.online {
		c.Network(false)
	}
	c.OnSent = func(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
		s.do(func() { s.delivered(op, created, edited) })
	}
	if s.cfg.Tune != nil {
		s.cfg.Tune(e, c)
	}
	s.engine, s.courier = e, c
	s.spawn(func() { e.Run(ctx) })
	s.spawn(func() { c.Run(ctx) })
	s.fullDue, s.dirty = true, true
}

// outboxChanged is the queue's news, from any goroutine (the loop's
// included, so it must not wait on the loop).
func (s *Session) outboxChanged() {
	s.outboxDirty.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Session) reset(snap shared.Snapshot) {
	s.replica.Reset(snap)
	s.replica.Complete = len(snap.Topics) < shared.DefaultSnapshotLen
	s.replica.SyncedAt = s.status.LastLive
	// The snapshot is the board as it is: what this tab delivered is in it,
	// or its change follows the reset. An overlay kept longer could show a
	// topic deleted meanwhile.
	clear(s.sent)
	clear(s.deleted)
	s.replicaDirty, s.fullDue, s.delta, s.dirty = true, true, nil, true
}

// apply takes the engine's changes; an empty page from a long poll only
// says the replica is current.
func (s *Session) apply(cs []shared.Change) {
	if len(cs) == 0 {
		return
	}
	if s.tabs != nil { // followers are owed these
		if len(s.delta) == 0 {
			s.deltaBase = s.replica.Cursor
		}
		s.delta = append(s.delta, cs...)
	}
	s.replica.Apply(cs...)
	for _, c := range cs { // the replica has caught up with what this tab sent
		delete(s.sent, c.Topic.ID)
		delete(s.deleted, c.Topic.ID)
		if s.olderBusy && c.Kind == shared.ChangeDeleted {
			s.tombstones[c.Topic.ID] = true
		}
	}
	s.replicaDirty, s.dirty = true, true
	s.refill()
}

func (s *Session) setStatus(st sync.Status) {
	wasLive := s.status.Mode == sync.Live
	s.status, s.dirty = st, true
	if st.Mode == sync.Live {
		s.replica.SyncedAt = st.LastLive
		if !wasLive {
			s.courier.Kick() // the server is back: send what waits
			if s.mod == ModUnverified {
				s.check(s.modToken)
			}
		}
	}
}

// delivered records a write the server took: a new owner token, and the
// topic as the server answered until the replica shows it.
func (s *Session) delivered(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
	// The change often comes over the stream before the answer: an
	// overlay the replica already covers would never be cleared.
	shown := func(t shared.Topic) bool {
		for _, have := range s.replica.Topics {
			if have.ID == t.ID {
				return !have.UpdatedAt.Before(t.UpdatedAt)
			}
		}
		return false
	}
	switch {
	case created != nil:
		s.owned[created.Topic.ID] = created.OwnerToken
		s.saveTokens()
		if !shown(created.Topic) {
			s.sent[created.Topic.ID] = created.Topic
		}
	case edited != nil:
		if !shown(*edited) {
			s.sent[edited.ID] = *edited
		}
	case op.Kind == sync.OpDelete:
		if _, ok := s.owned[op.TopicID]; ok {
			delete(s.owned, op.TopicID)
			s.saveTokens()
		}
		delete(s.sent, op.TopicID)
		if shown(shared.Topic{ID: op.TopicID}) { // still in the replica: hide it until its change
			s.deleted[op.TopicID] = true
		}
	}
	s.dirty = true
}

// follow shows a follower what the leader said: the whole replica, or the
// changes since the cursor this tab has (else it asks for the whole).
func (s *Session) follow(m sync.Message) {
	if s.leader {
		return
	}
	switch {
	case m.Replica != nil: // copies: in tests, tabs share one message
		s.replica = m.Replica.Clone()
	case len(m.Changes) > 0 && m.Base == s.replica.Cursor:
		s.replica.Apply(m.Changes...)
	case len(m.Changes) > 0:
		s.tabs.Hello() // a message was lost: ask for the whole replica
	}
	if m.Status != nil {
		if m.Status.Mode == sync.Live && s.status.Mode != sync.Live && s.mod == ModUnverified {
			s.check(s.modToken) // the server can be asked now
		}
		s.status = *m.Status
	}
	if m.Outbox != nil {
		s.remote = m.Outbox.Clone()
		// A write handed over shows until the leader's outbox has it, or,
		// once acknowledged, until the leader's outbox no longer does
		// (delivered: the replica will show it).
		s.handed = slices.DeleteFunc(s.handed, func(op sync.Op) bool { return s.remote.Has(op.Key) || s.acked[op.Key] })
	}
	if m.Tokens != s.tokenSaves { // the leader stored tokens of new topics
		s.tokenSaves = m.Tokens
		if owned, err := loadTokens(s.cfg.Storage, s.board); err == nil {
			s.owned = owned
		}
	}
	s.dirty = true
}

func (s *Session) dropHanded(key string) {
	s.handed = slices.DeleteFunc(s.handed, func(op sync.Op) bool { return op.Key == key })
	delete(s.acked, key)
	s.dirty = true
}
