package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/kairan/kairan/shared"
)

func openCapped(t *testing.T, max int) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dialect: testDialect(), Target: newTarget(t), MaxTopicsPerBoard: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTopicCapPrunesOldestAsDeletes: a post beyond the cap deletes the
// board's oldest topic in the same transaction, and the delete is an
// ordinary change in the log (before the post's own), so every follower
// sees the board shrink. Other boards are not touched.
func TestTopicCapPrunesOldestAsDeletes(t *testing.T) {
	s := openCapped(t, 3)
	ctx := context.Background()
	var ids []int64
	for i := range 5 {
		ids = append(ids, mustCreate(t, s, "small", fmt.Sprint("post ", i)).Topic.ID)
	}
	other := mustCreate(t, s, "other", "not capped by small's posts")

	snap, err := s.Snapshot(ctx, "small", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kept []int64
	for _, topic := range snap.Topics {
		kept = append(kept, topic.ID)
	}
	if fmt.Sprint(kept) != fmt.Sprint([]int64{ids[4], ids[3], ids[2]}) {
		t.Fatalf("board keeps %v, want the newest three of %v", kept, ids)
	}
	var log []string
	for _, c := range allChanges(t, s) {
		log = append(log, fmt.Sprintf("%s:%s:%d", c.Board, c.Kind, c.Topic.ID))
	}
	want := []string{
		fmt.Sprintf("small:created:%d", ids[0]), fmt.Sprintf("small:created:%d", ids[1]), fmt.Sprintf("small:created:%d", ids[2]),
		fmt.Sprintf("small:deleted:%d", ids[0]), fmt.Sprintf("small:created:%d", ids[3]),
		fmt.Sprintf("small:deleted:%d", ids[1]), fmt.Sprintf("small:created:%d", ids[4]),
		fmt.Sprintf("other:created:%d", other.Topic.ID),
	}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("log\n%v\nwant\n%v", log, want)
	}
	// The post's own change is the transaction's last: waking the feed
	// with its seq covers the delete too.
	last := allChanges(t, s)[6]
	if last.Kind != shared.ChangeCreated || last.Topic.ID != ids[4] {
		t.Fatalf("last change of the 5th post is %+v", last)
	}
}

// TestTopicCapUnderConcurrentPosts: writers racing on one board never leave
// it above the cap once they are done, never write two deletes for one
// topic, and the log stays contiguous.
func TestTopicCapUnderConcurrentPosts(t *testing.T) {
	const max, writers, each = 10, 6, 20
	s := openCapped(t, max)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.CreateTopic(context.Background(), NewTopic{Board: "busy", Comment: fmt.Sprint(w, "-", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// One more post settles any topic two racing posts both chose (on
	// PostgreSQL the second finds it gone and leaves it to the next post).
	mustCreate(t, s, "busy", "settle")
	snap, err := s.Snapshot(context.Background(), "busy", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Topics) != max {
		t.Fatalf("board holds %d topics, want the cap %d", len(snap.Topics), max)
	}
	deleted := map[int64]int{}
	live := map[int64]bool{}
	for _, c := range allChanges(t, s) {
		switch c.Kind {
		case shared.ChangeCreated:
			live[c.Topic.ID] = true
		case shared.ChangeDeleted:
			deleted[c.Topic.ID]++
			delete(live, c.Topic.ID)
		}
	}
	for id, n := range deleted {
		if n != 1 {
			t.Errorf("topic %d deleted %d times in the log", id, n)
		}
	}
	if len(live) != max {
		t.Fatalf("replaying the log leaves %d topics, want %d", len(live), max)
	}
	for _, topic := range snap.Topics {
		if !live[topic.ID] {
			t.Errorf("topic %d is on the board but deleted in the log", topic.ID)
		}
	}
}

// TestTopicCapOffKeepsEverything: 0 is no cap.
func TestTopicCapOffKeepsEverything(t *testing.T) {
	s := openCapped(t, 0)
	for i := range 30 {
		mustCreate(t, s, "b", fmt.Sprint(i))
	}
	snap, err := s.Snapshot(context.Background(), "b", 100)
	if err != nil || len(snap.Topics) != 30 {
		t.Fatalf("%d topics, %v", len(snap.Topics), err)
	}
}
