package board

import (
	"context"
	"slices"
	"time"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// What the person does. Writes are checked here with the server's own
// rules, so a mistake is said at once; then they go to the outbox, show
// as pending and are delivered — now, or when the server is back — once.

// Post queues a new topic; the error (if any) says what to fix.
func (s *Session) Post(author, comment string) error {
	in := shared.CreateTopic{Author: author, Comment: comment}
	if err := in.Normalize(); err != nil {
		return err
	}
	s.do(func() {
		s.author = author
		s.cfg.Storage.Set(AuthorKey, author) // a name not kept is typed again
		s.cfg.Storage.Del(draftKey(s.board))
		s.write(sync.Op{Kind: sync.OpPost, Author: in.Author, Comment: in.Comment})
	})
	return nil
}

// SaveDraft keeps the text being written for this board, so it survives
// a reload; "" forgets it.
func (s *Session) SaveDraft(text string) {
	s.do(func() {
		if text == "" {
			s.cfg.Storage.Del(draftKey(s.board))
			return
		}
		s.cfg.Storage.Set(draftKey(s.board), text) // a draft not kept costs only a retype
	})
}

// Edit queues a new comment for one of this browser's topics.
func (s *Session) Edit(id int64, comment string) error {
	comment, err := shared.NormalizeComment(comment)
	if err != nil {
		return err
	}
	s.do(func() {
		if token, ok := s.owned[id]; ok {
			s.write(sync.Op{Kind: sync.OpEdit, TopicID: id, Comment: comment, Token: token})
		}
	})
	return nil
}

// Delete queues the deletion of a topic: one of this browser's, or, as
// moderator, anyone's.
func (s *Session) Delete(id int64, asModerator bool) {
	s.do(func() {
		switch token, owned := s.owned[id]; {
		case asModerator && s.mod.Moderating():
			s.write(sync.Op{Kind: sync.OpDelete, TopicID: id, Token: s.modToken, Moderator: true})
		case owned:
			s.write(sync.Op{Kind: sync.OpDelete, TopicID: id, Token: token})
		}
	})
}

// Discard drops a write the server refused.
func (s *Session) Discard(key string) { s.do(func() { s.discard(key) }) }

// Network tells the session the device went offline or online (the
// browser's events): the status says so at once, and a returning network
// reconnects and sends what waits at once.
func (s *Session) Network(online bool) {
	s.do(func() {
		s.online, s.dirty = online, true
		if s.engine != nil {
			s.engine.Network(online)
		}
		if s.courier != nil {
			s.courier.Network(online) // offline: posts wait; online: they go at once
		}
	})
}

// Kick retries at once whatever waits (the tab became visible again).
func (s *Session) Kick() {
	s.do(func() {
		if s.engine != nil {
			s.engine.Kick()
			s.courier.Kick()
		}
	})
}

// Moderate starts moderating with token once the server has said it is
// the moderator token.
func (s *Session) Moderate(token string) {
	s.do(func() {
		s.modToken, s.mod, s.modNote, s.dirty = token, ModChecking, "", true
		s.check(token)
	})
}

// StopModerating forgets the moderator token on every board; deletes it
// got refused are dropped too, since they can never go through.
func (s *Session) StopModerating() {
	s.do(func() {
		for _, op := range s.outbox().Ops {
			if op.Moderator && op.Failed != "" {
				s.discard(op.Key)
			}
		}
		s.modToken, s.mod, s.modNote, s.dirty = "", ModOff, "", true
		s.cfg.Storage.Del(moderatorKey)
	})
}

// write queues op through the leader: this tab's queue, or the leader's
// through the tab channel (shown here at once, as handed over).
func (s *Session) write(op sync.Op) {
	op.Key, op.Queued, op.Board = sync.NewKey(), time.Now(), s.board
	s.dirty = true
	if s.queue != nil {
		s.queue.Add(op)
		return
	}
	s.handed = append(s.handed, op)
	s.tabs.Write(op)
}

func (s *Session) discard(key string) {
	s.dirty = true
	if s.queue != nil {
		s.queue.Discard(key)
		return
	}
	s.remote.Remove(key)
	s.dropHanded(key)
	s.tabs.Drop(key)
}

// check asks the server whether token is the moderator's, off the loop.
func (s *Session) check(token string) {
	s.spawn(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
		err := s.cfg.Client.CheckModerator(ctx, token)
		cancel()
		s.do(func() { s.checked(token, err) })
	})
}

func (s *Session) checked(token string, err error) {
	if s.modToken != token {
		return // stopped, or another token since
	}
	s.dirty = true
	switch code := shared.ErrorCode(err); {
	case err == nil:
		s.mod, s.modNote = ModOn, ""
		if err := s.cfg.Storage.Set(moderatorKey, token); err != nil {
			s.modNote = "This browser could not save the moderator token; you will be asked again after a reload."
		}
	case code == shared.CodeForbidden || code == shared.CodeUnauthorized:
		s.mod, s.modToken, s.modNote = ModRefused, "", ""
		s.cfg.Storage.Del(moderatorKey)
	case code == shared.CodeRateLimited:
		s.mod, s.modToken, s.modNote = ModRefused, "", shared.Message(err)
		s.cfg.Storage.Del(moderatorKey)
	default: // the server could not be asked: keep the token, ask again when live
		s.mod = ModUnverified
		s.cfg.Storage.Set(moderatorKey, token)
	}
}

// refusedModeration reports whether a moderator delete was refused: the
// token stopped being the server's after it was checked.
func refusedModeration(o sync.Outbox) bool {
	return slices.ContainsFunc(o.Ops, func(op sync.Op) bool { return op.Moderator && op.Failed != "" })
}
