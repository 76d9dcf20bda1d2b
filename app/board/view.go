package board

import (
	"slices"
	"sort"

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
	// Problem is trouble the person should know of (storage that could not
	// be written), in words; "" when there is none.
	Problem string
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

// newestFirst orders topics by descending id. (sort.Sort, not
// slices.SortFunc: sort's code is in app.wasm anyway, while SortFunc adds
// a sort specialised to Topic, ~5 KB brotli.)
type newestFirst []Topic

func (s newestFirst) Len() int           { return len(s) }
func (s newestFirst) Less(i, j int) bool { return s[i].ID > s[j].ID }
func (s newestFirst) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

// view derives the View. Loop goroutine only.
func (s *Session) view() View {
	outbox := s.outbox()
	v := View{Board: s.board, Loaded: s.replica.Cursor != "" || len(s.replica.Topics) > 0,
		Status: s.status, Online: s.online, Leader: s.leader, Moderation: s.mod, ModNote: s.modNote,
		Author: s.author, Problem: s.problem()}
	if v.Moderation.Moderating() && refusedModeration(outbox) {
		v.Moderation = ModRefused // the token stopped being the moderator's
	}

	byID := make(map[int64]shared.Topic, len(s.replica.Topics)+len(s.sent))
	for _, t := range s.replica.Topics {
		byID[t.ID] = t
	}
	for id, t := range s.sent {
		if have, ok := byID[id]; !ok || t.UpdatedAt.After(have.UpdatedAt) {
			byID[id] = t
		}
	}
	for id := range s.deleted {
		delete(byID, id)
	}
	states, failed := map[int64]string{}, map[int64]sync.Op{}
	for _, op := range outbox.Ops {
		op.Token = "" // the view never carries a secret
		if op.Failed == "" {
			v.Waiting++
		}
		if op.Kind == sync.OpPost {
			v.Posts = append(v.Posts, op)
			continue
		}
		switch t, ok := byID[op.TopicID]; {
		case !ok:
		case op.Failed != "":
			failed[op.TopicID] = op
		case op.Kind == sync.OpEdit:
			t.Comment = op.Comment
			byID[op.TopicID], states[op.TopicID] = t, "saving"
		case op.Kind == sync.OpDelete:
			states[op.TopicID] = "deleting"
		}
	}
	slices.Reverse(v.Posts)
	topics := make(newestFirst, 0, len(byID))
	for id, t := range byID {
		_, owned := s.owned[id]
		topics = append(topics, Topic{Topic: t, Owned: owned, State: states[id], Failed: failed[id]})
	}
	sort.Sort(topics)
	v.Topics = topics
	return v
}
