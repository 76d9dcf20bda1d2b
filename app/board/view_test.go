package board

import (
	"testing"
	"time"

	"github.com/kairan/kairan/app/fake"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// The View is derived from the session's state alone; these build that
// state by hand (the loop's own fields) and read the View.

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func topic(id int64, comment string) shared.Topic {
	at := t0.Add(time.Duration(id) * time.Minute)
	return shared.Topic{ID: id, Board: "lobby", Author: "ann", Comment: comment, CreatedAt: at, UpdatedAt: at}
}

func session(topics ...shared.Topic) *Session {
	return &Session{board: "lobby", cfg: Config{Storage: fake.NewStorage()}, replica: sync.Replica{Board: "lobby", Cursor: "e.1", Topics: topics},
		sent: map[int64]shared.Topic{}, deleted: map[int64]bool{}, queuedEdit: map[int64]string{}, owned: map[int64]string{}, problems: map[string]bool{}}
}

func ids(v View) []int64 {
	var out []int64
	for _, t := range v.Topics {
		out = append(out, t.ID)
	}
	return out
}

func TestViewShowsDeliveredWritesUntilTheReplicaHasThem(t *testing.T) {
	s := session(topic(1, "old"))
	s.delivered(sync.Op{Kind: sync.OpPost}, &shared.CreatedTopic{Topic: topic(2, "new"), OwnerToken: "t2"}, nil)
	s.owned[1] = "t1"
	s.delivered(sync.Op{Kind: sync.OpDelete, TopicID: 1}, nil, nil)
	v := s.view()
	if got := ids(v); len(got) != 1 || got[0] != 2 || !v.Topics[0].Owned {
		t.Fatalf("view %v (owned %v), want only the new topic, owned", got, v.Topics)
	}
	if _, ok := s.owned[1]; ok {
		t.Fatal("the deleted topic's token is kept")
	}
	s.apply([]shared.Change{
		{Cursor: "e.2", Board: "lobby", Kind: shared.ChangeCreated, Topic: topic(2, "new")},
		{Cursor: "e.3", Board: "lobby", Kind: shared.ChangeDeleted, Topic: shared.Topic{ID: 1, Board: "lobby"}},
	})
	if len(s.sent) != 0 || len(s.deleted) != 0 || len(s.view().Topics) != 1 || s.replica.Cursor != "e.3" {
		t.Fatalf("overlays after the replica caught up: sent %v deleted %v", s.sent, s.deleted)
	}
	if len(s.delta) != 0 {
		t.Fatalf("a tab without other tabs keeps %d changes for them", len(s.delta))
	}
	// With other tabs, they are owed the changes since the cursor they have.
	s = session(topic(1, "old"))
	s.tabs = &sync.Tabs{}
	s.apply([]shared.Change{{Cursor: "e.2", Board: "lobby", Kind: shared.ChangeCreated, Topic: topic(2, "new")}})
	s.apply([]shared.Change{{Cursor: "e.3", Board: "lobby", Kind: shared.ChangeCreated, Topic: topic(3, "newer")}})
	if len(s.delta) != 2 || s.deltaBase != "e.1" {
		t.Fatalf("followers are owed %d changes from %q, want 2 from e.1", len(s.delta), s.deltaBase)
	}
}

// An answer that comes after the stream already showed its change leaves
// no overlay behind, and a reset drops every overlay.
func TestViewLeavesNoOverlayTheReplicaCovers(t *testing.T) {
	s := session(topic(2, "new"), topic(1, "old"))
	s.delivered(sync.Op{Kind: sync.OpPost}, &shared.CreatedTopic{Topic: topic(2, "new"), OwnerToken: "t2"}, nil)
	if len(s.sent) != 0 || s.owned[2] != "t2" {
		t.Fatalf("sent %v owned %v", s.sent, s.owned)
	}
	s.delivered(sync.Op{Kind: sync.OpDelete, TopicID: 9}, nil, nil) // not in the replica
	if len(s.deleted) != 0 {
		t.Fatalf("deleted %v", s.deleted)
	}
	s.sent[5] = topic(5, "answered, change not seen")
	s.reset(shared.Snapshot{Board: "lobby", Cursor: "e.9", Topics: []shared.Topic{topic(1, "old")}})
	if len(s.sent) != 0 || len(s.view().Topics) != 1 {
		t.Fatalf("after a reset: sent %v, view %v", s.sent, s.view().Topics)
	}
}

func TestViewMarksQueuedAndRefusedWritesOnTheirTopics(t *testing.T) {
	s := session(topic(4, "mine"), topic(3, "also mine"), topic(2, "going"), topic(1, "other"))
	s.queue = sync.NewQueue(sync.Outbox{Ops: []sync.Op{
		{Key: "p", Kind: sync.OpPost, Board: "lobby", Comment: "queued"},
		{Key: "e", Kind: sync.OpEdit, Board: "lobby", TopicID: 4, Comment: "mine, edited", Token: "secret-4"},
		{Key: "x", Kind: sync.OpEdit, Board: "lobby", TopicID: 3, Comment: "blocked words", Token: "secret-3", Failed: "Blocked."},
		{Key: "d", Kind: sync.OpDelete, Board: "lobby", TopicID: 2, Token: "secret-2"},
		{Key: "q", Kind: sync.OpPost, Board: "lobby", Comment: "refused", Failed: "Too long."},
	}}, nil)
	v := s.view()
	if v.Waiting != 3 || len(v.Posts) != 2 || v.Posts[0].Key != "q" || v.Posts[1].Key != "p" {
		t.Fatalf("waiting %d, posts %+v", v.Waiting, v.Posts)
	}
	byID := map[int64]Topic{}
	for _, tp := range v.Topics {
		byID[tp.ID] = tp
		if tp.Failed.Token != "" {
			t.Fatalf("a token in the view: %+v", tp.Failed)
		}
	}
	if tp := byID[4]; tp.State != "saving" || tp.Comment != "mine, edited" {
		t.Errorf("queued edit: %+v", tp)
	}
	if tp := byID[3]; tp.State != "" || tp.Comment != "also mine" || tp.Failed.Key != "x" {
		t.Errorf("a refused edit changes how its topic shows: %+v", tp)
	}
	if tp := byID[2]; tp.State != "deleting" {
		t.Errorf("queued delete: %+v", tp)
	}
	if tp := byID[1]; tp.State != "" || tp.Failed.Key != "" {
		t.Errorf("untouched topic: %+v", tp)
	}
}

func TestViewSaysARefusedModeratorDelete(t *testing.T) {
	s := session(topic(1, "spam"))
	s.modToken, s.mod = "token", ModOn
	s.queue = sync.NewQueue(sync.Outbox{Ops: []sync.Op{
		{Key: "m", Kind: sync.OpDelete, Board: "lobby", TopicID: 1, Token: "token", Moderator: true, Failed: "The moderator token was not accepted, so this topic was not deleted."},
	}}, nil)
	if v := s.view(); v.Moderation != ModRefused {
		t.Fatalf("moderation %q, want refused", v.Moderation)
	}
}

func TestStorageProblemsAreSaidWorstFirst(t *testing.T) {
	s := session()
	s.stored(ProblemReplica, errFull)
	s.stored(ProblemToken, errFull)
	if p := s.view().Problem; p != ProblemToken {
		t.Fatalf("problem %q, want the lost token first", p)
	}
	s.stored(ProblemToken, nil)
	if p := s.view().Problem; p != ProblemReplica {
		t.Fatalf("problem %q, want the replica's", p)
	}
}

var errFull = &shared.Error{Code: shared.CodeInternal, Message: "full."}

// The stream often brings a post before its answer: it shows once, as the
// topic, not also as the pending post.
func TestViewShowsAPostOnceWhenTheStreamBeatsTheAnswer(t *testing.T) {
	s := session(topic(1, "old"))
	queued := t0.Add(2 * time.Minute)
	s.queue = sync.NewQueue(sync.Outbox{Ops: []sync.Op{
		{Key: "p", Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "hello", Queued: queued},
	}}, nil)
	if v := s.view(); len(v.Posts) != 1 || len(v.Topics) != 1 {
		t.Fatalf("before the change: posts %v topics %v", v.Posts, v.Topics)
	}
	arrived := topic(3, "hello") // created at t0+3 min, by ann
	s.apply([]shared.Change{{Cursor: "e.2", Board: "lobby", Kind: shared.ChangeCreated, Topic: arrived}})
	v := s.view()
	if len(v.Posts) != 0 || len(v.Topics) != 2 || v.Waiting != 1 {
		t.Fatalf("after the change, before the answer: posts %v, %d topics, waiting %d", v.Posts, len(v.Topics), v.Waiting)
	}
	// Someone else's identical older topic does not hide a new post.
	s = session(topic(1, "hello"))
	s.queue = sync.NewQueue(sync.Outbox{Ops: []sync.Op{
		{Key: "p", Kind: sync.OpPost, Board: "lobby", Author: "ann", Comment: "hello", Queued: t0.Add(time.Hour)},
	}}, nil)
	if v := s.view(); len(v.Posts) != 1 {
		t.Fatalf("an old identical topic hid the post: %v", v.Posts)
	}
}
