package board

import (
	"slices"
	"time"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// View is everything the page shows of one board, derived from the
// session's state after every change. It shares nothing with the session:
// the UI may keep it as long as it likes.
type View struct {
	Board string
	// Loaded: a replica (saved or live) is known, so an empty Topics means
	// an empty board.
	Loaded bool
	// Topics are the replica with what this tab knows and the replica does
	// not show yet (writes delivered, edits and deletes queued), newest first.
	Topics []Topic
	// Posts are the posts still in the outbox, newest first.
	Posts  []sync.Op
	Status sync.Status
	// Online is the device's network (the browser's online/offline events).
	Online bool
	// Waiting counts the writes still to send (not those refused).
	Waiting int
	// Leader: this tab follows the board for all of the board's tabs.
	Leader     bool
	Moderation Moderation
	// ModNote says more about Moderation when there is more to say.
	ModNote string
	// Author is the name the person last posted under.
	Author string
	// Draft is the text being written when the board was last left.
	Draft string
	// Problem is trouble the person should know of: storage that could not
	// be written (ProblemToken, ProblemOutbox, ProblemReplica); "" when
	// there is none.
	Problem string
	// Complete: the board's oldest topic is shown (no older ones to fetch).
	Complete bool
	// OlderBusy: older topics are on their way; OlderErr says why the last
	// fetch failed.
	OlderBusy bool
	OlderErr  string
}

// ViewOf is the view of a board snapshot alone: what the server renders
// before any tab has the board.
func ViewOf(snap shared.Snapshot) View {
	v := View{Board: snap.Board, Loaded: true, Online: true, Status: sync.Status{Mode: sync.Connecting},
		Complete: len(snap.Topics) < shared.DefaultSnapshotLen}
	for _, t := range snap.Topics {
		v.Topics = append(v.Topics, Topic{Topic: t})
	}
	return v
}

// Topic is a topic as shown.
type Topic struct {
	shared.Topic
	// Owned: this browser holds its owner token (it may edit and delete).
	Owned bool
	// State is "" or a write on its way: "saving" (an edit), "deleting".
	State string
	// Failed is an edit or delete of it the server refused (Key "" if none).
	Failed sync.Op
}

// Moderation is where the moderator token stands.
type Moderation string

// Moderation states.
const (
	ModOff        Moderation = ""           // no token
	ModChecking   Moderation = "checking"   // asking the server
	ModOn         Moderation = "on"         // the server accepted it
	ModUnverified Moderation = "unverified" // kept, but the server could not be asked yet
	ModRefused    Moderation = "refused"    // the server said it is not the moderator token
)

// Moderating reports whether deletes are offered as moderator.
func (m Moderation) Moderating() bool { return m == ModOn || m == ModUnverified }

// view derives the View. Loop goroutine only.
func (s *Session) view() View {
	outbox := s.outbox()
	v := View{Board: s.board, Loaded: s.replica.Cursor != "" || len(s.replica.Topics) > 0,
		Status: s.status, Online: s.online, Leader: s.leader, Moderation: s.mod, ModNote: s.modNote,
		Author: s.author, Draft: s.draft, Problem: s.problem(),
		Complete: s.replica.Complete, OlderBusy: s.olderBusy, OlderErr: s.olderErr}
	if v.Moderation.Moderating() && refusedModeration(outbox) {
		v.Moderation = ModRefused // the token stopped being the moderator's
	}

	states, failed := map[int64]string{}, map[int64]sync.Op{}
	clear(s.queuedEdit)
	for _, op := range outbox.Ops {
		op.Token = "" // the view never carries a secret
		if op.Failed == "" {
			v.Waiting++
		}
		if op.Kind == sync.OpPost {
			if !s.arrived(op) {
				v.Posts = append(v.Posts, op)
			}
			continue
		}
		switch {
		case op.Failed != "":
			failed[op.TopicID] = op
		case op.Kind == sync.OpEdit:
			states[op.TopicID] = "saving"
			s.queuedEdit[op.TopicID] = op.Comment
		case op.Kind == sync.OpDelete:
			states[op.TopicID] = "deleting"
		}
	}
	slices.Reverse(v.Posts)
	v.Topics = s.merged(states, failed)
	return v
}

// arrived reports whether a post still waiting for its answer is in the
// replica already: the stream often brings the change before the POST's
// answer, and showing both would show the post twice. Until the answer
// names its id, the match is by author and text among topics this browser
// does not own yet, created after the post was queued (less ten minutes
// of clock skew). At worst an identical post by someone else at the same
// moment hides this one until its answer comes.
func (s *Session) arrived(op sync.Op) bool {
	if op.Failed != "" {
		return false
	}
	since := op.Queued.Add(-10 * time.Minute)
	author := op.Author
	if author == "" {
		author = shared.AnonymousAuthor
	}
	for _, t := range s.replica.Topics {
		if _, owned := s.owned[t.ID]; !owned && t.Comment == op.Comment && t.Author == author && t.CreatedAt.After(since) &&
			samePicture(op.Image, t.Image) {
			return true
		}
	}
	return false
}

// merged is the replica (already newest first) with this tab's delivered
// writes laid over it: no map of all topics and no sort on every change,
// only a walk of the replica and a place found for each of the few topics
// it does not show yet.
func (s *Session) merged(states map[int64]string, failed map[int64]sync.Op) []Topic {
	out := make([]Topic, 0, len(s.replica.Topics)+len(s.sent))
	shown := func(t shared.Topic) Topic {
		_, owned := s.owned[t.ID]
		if op, ok := states[t.ID]; ok && op == "saving" {
			t.Comment = s.queuedEdit[t.ID]
		}
		return Topic{Topic: t, Owned: owned, State: states[t.ID], Failed: failed[t.ID]}
	}
	for _, t := range s.replica.Topics {
		if s.deleted[t.ID] {
			continue
		}
		if sent, ok := s.sent[t.ID]; ok && sent.UpdatedAt.After(t.UpdatedAt) {
			t = sent
		}
		out = append(out, shown(t))
	}
	for id, t := range s.sent {
		at := 0 // plain loops, not slices.Insert: each generic instance costs app.wasm bytes
		for at < len(out) && out[at].ID > id {
			at++
		}
		if (at == len(out) || out[at].ID != id) && !s.deleted[id] {
			out = append(out, Topic{})
			copy(out[at+1:], out[at:])
			out[at] = shown(t)
		}
	}
	return out
}

// samePicture reports whether a topic's picture can be a queued post's:
// both have none, or the topic's is the post's upload (by id once the
// upload answered; any picture before, as with the text).
func samePicture(op *sync.OpImage, t *shared.Image) bool {
	if op == nil || t == nil {
		return op == nil && t == nil
	}
	return op.ID == "" || op.ID == t.ID
}
