package ui

import (
	"slices"
	"sort"

	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// What the page shows is the replica, plus what this page knows and the
// replica does not yet: topics it posted or edited (Sent), topics it
// deleted (Deleted), and writes still in the outbox. The overlays clear as
// the replica's changes arrive (forgetChanged).

// shownTopic is a topic as shown, with the state of a write on it.
type shownTopic struct {
	shared.Topic
	state  string  // "", "saving" (edit queued), "deleting" (delete queued)
	failed sync.Op // an edit or delete of it the server refused (Key "" if none)
}

// newestFirst orders topics by descending id.
type newestFirst []shownTopic

func (s newestFirst) Len() int           { return len(s) }
func (s newestFirst) Less(i, j int) bool { return s[i].ID > s[j].ID }
func (s newestFirst) Swap(i, j int)      { s[i], s[j] = s[j], s[i] }

// shown merges replica and overlays, newest first.
func (p *BoardPage) shown() []shownTopic {
	byID := map[int64]shared.Topic{}
	for _, t := range p.Topics {
		byID[t.ID] = t
	}
	for id, t := range p.Sent {
		if have, ok := byID[id]; !ok || t.UpdatedAt.After(have.UpdatedAt) {
			byID[id] = t
		}
	}
	for id := range p.Deleted {
		delete(byID, id)
	}
	states, failed := map[int64]string{}, map[int64]sync.Op{}
	for _, op := range p.Outbox.Ops {
		if op.Board != p.Board {
			continue
		}
		switch t, ok := byID[op.TopicID]; {
		case !ok: // posts have no id yet
		case op.Failed != "":
			failed[op.TopicID] = op
		case op.Kind == sync.OpEdit:
			t.Comment = op.Comment
			byID[op.TopicID], states[op.TopicID] = t, "saving"
		case op.Kind == sync.OpDelete:
			states[op.TopicID] = "deleting"
		}
	}
	out := make(newestFirst, 0, len(byID))
	for id, t := range byID {
		out = append(out, shownTopic{Topic: t, state: states[id], failed: failed[id]})
	}
	// sort.Sort, not slices.SortFunc: sort's code is in app.wasm anyway,
	// while slices.SortFunc would add a sort specialised to shownTopic
	// (~25 KB raw, ~5 KB brotli).
	sort.Sort(out)
	return out
}

// queuedPosts are this board's posts still in the outbox, newest first
// like the list they top.
func (p *BoardPage) queuedPosts() []sync.Op {
	var posts []sync.Op
	for _, op := range p.Outbox.Ops {
		if op.Board == p.Board && op.Kind == sync.OpPost {
			posts = append(posts, op)
		}
	}
	slices.Reverse(posts)
	return posts
}

// sent records a delivered write until the replica shows it.
func (p *BoardPage) sent(op sync.Op, created *shared.CreatedTopic, edited *shared.Topic) {
	if p.Sent == nil {
		p.Sent, p.Deleted = map[int64]shared.Topic{}, map[int64]bool{}
	}
	switch {
	case created != nil:
		p.Sent[created.Topic.ID] = created.Topic
	case edited != nil:
		p.Sent[edited.ID] = *edited
	case op.Kind == sync.OpDelete:
		delete(p.Sent, op.TopicID)
		p.Deleted[op.TopicID] = true
	}
}

// forgetChanged drops overlays the replica has caught up with.
func (p *BoardPage) forgetChanged(changes []shared.Change) {
	for _, c := range changes {
		delete(p.Sent, c.Topic.ID)
		delete(p.Deleted, c.Topic.ID)
	}
}
