package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kairan/kairan/shared"
)

// writeChanges posts n topics, alternating between the boards "lobby" and
// "night" (odd seqs on lobby, even on night when the log starts empty).
func writeChanges(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		board := "lobby"
		if i%2 == 1 {
			board = "night"
		}
		mustCreate(t, s, board, fmt.Sprint("topic ", i))
	}
}

func mustPrune(t *testing.T, s *Store, keep int64, maxAge time.Duration, want int64) {
	t.Helper()
	got, err := s.PruneHistory(context.Background(), keep, maxAge)
	if err != nil {
		t.Fatalf("PruneHistory(%d, %v): %v", keep, maxAge, err)
	}
	if got != want {
		t.Fatalf("PruneHistory(%d, %v) = %d, want %d", keep, maxAge, got, want)
	}
	if through := mustPrunedThrough(t, s); through != want {
		t.Fatalf("PrunedThrough = %d after PruneHistory returned %d", through, want)
	}
}

func mustPrunedThrough(t *testing.T, s *Store) int64 {
	t.Helper()
	through, err := s.PrunedThrough(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return through
}

func seqs(changes []shared.Change) []int64 {
	out := make([]int64, len(changes))
	for i, c := range changes {
		cur, _ := shared.ParseCursor(c.Cursor)
		out[i] = cur.Seq
	}
	return out
}

// wantLogFrom checks the retained log is exactly first..head, contiguous.
func wantLogFrom(t *testing.T, s *Store, first, head int64) {
	t.Helper()
	changes, err := s.ChangesSince(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	got := seqs(changes)
	if int64(len(got)) != head-first+1 {
		t.Fatalf("log holds %d changes (%v…), want %d..%d", len(got), got[:min(len(got), 3)], first, head)
	}
	for i, seq := range got {
		if seq != first+int64(i) {
			t.Fatalf("log[%d] has seq %d, want %d", i, seq, first+int64(i))
		}
	}
}

func TestPrunedThroughStartsAtZero(t *testing.T) {
	s := newStore(t)
	if through := mustPrunedThrough(t, s); through != 0 {
		t.Fatalf("PrunedThrough of a new database = %d", through)
	}
	mustPrune(t, s, 100, time.Hour, 0) // empty log: nothing to prune
	writeChanges(t, s, 10)
	mustPrune(t, s, 100, 0, 0)
	wantLogFrom(t, s, 1, 10)
}

func TestPruneHistoryByCount(t *testing.T) {
	s := newStore(t)
	writeChanges(t, s, 150)
	mustPrune(t, s, 120, 0, 30) // keep the newest 120 of 150
	wantLogFrom(t, s, 31, 150)

	// Same bound again: nothing more to do, the old mark stays.
	mustPrune(t, s, 120, 0, 30)
	// A larger keep never brings anything back nor lowers the mark.
	mustPrune(t, s, 1000, 0, 30)
	wantLogFrom(t, s, 31, 150)

	writeChanges(t, s, 20) // head 170
	mustPrune(t, s, 120, 0, 50)
	wantLogFrom(t, s, 51, 170)
}

func TestPruneHistoryNeverPrunesTheNewest100(t *testing.T) {
	s := newStore(t)
	writeChanges(t, s, 100)
	mustPrune(t, s, 1, 0, 0)
	mustPrune(t, s, 0, time.Nanosecond, 0)
	s.Now = func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }
	mustPrune(t, s, 1, time.Nanosecond, 0) // everything is old, and still kept
	wantLogFrom(t, s, 1, 100)

	writeChanges(t, s, 50) // head 150
	mustPrune(t, s, 1, time.Nanosecond, 50)
	wantLogFrom(t, s, 51, 150)
	mustPrune(t, s, 0, time.Nanosecond, 50)
}

func TestPruneHistoryByAge(t *testing.T) {
	s := newStore(t)
	// Whole minutes, so created_at has no fractional second: the textual
	// timestamps must still compare in time order.
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := base
	s.Now = func() time.Time { return now }
	for i := 1; i <= 250; i++ {
		now = base.Add(time.Duration(i) * time.Minute) // change i written at base+i min
		if i%7 == 0 {
			now = now.Add(123456 * time.Microsecond) // and some with a fraction
		}
		mustCreate(t, s, "lobby", fmt.Sprint("topic ", i))
	}

	now = base.Add(100 * time.Minute)
	// Older than 1 h means written before base+40 min: changes 1..39. Change
	// 40 is exactly one hour old and stays (strictly older only). The count
	// bound (keep 1000) prunes nothing by itself.
	mustPrune(t, s, 1000, time.Hour, 39)
	wantLogFrom(t, s, 40, 250)

	// The fraction counts. Change 42 was written at base+42m0.123456s: at
	// base+100m it is not older than 58 min (a whole-second bound against a
	// fractional timestamp), at base+100m0.2s it is; change 43 is not.
	now = base.Add(100 * time.Minute)
	mustPrune(t, s, 1000, 58*time.Minute, 41)
	now = base.Add(100*time.Minute + 200*time.Millisecond)
	mustPrune(t, s, 1000, 58*time.Minute, 42)
	// Change 49 was written at base+49m0.123456s: not older than 51 min at
	// base+100m0.1s, but older at base+100m0.2s.
	now = base.Add(100*time.Minute + 100*time.Millisecond)
	mustPrune(t, s, 1000, 51*time.Minute, 48)
	now = base.Add(100*time.Minute + 200*time.Millisecond)
	mustPrune(t, s, 1000, 51*time.Minute, 49)

	// Count and age together: whichever prunes more wins.
	mustPrune(t, s, 190, 51*time.Minute, 60) // count: 250-190
	mustPrune(t, s, 1000, 51*time.Minute, 60)

	// Age never cuts into the newest 100.
	now = base.Add(24 * time.Hour)
	mustPrune(t, s, 1000, time.Hour, 150)
	wantLogFrom(t, s, 151, 250)
}

func TestPrunedThroughSurvivesReopen(t *testing.T) {
	path := newTarget(t)
	s := mustOpen(t, path)
	writeChanges(t, s, 130)
	mustPrune(t, s, 100, 0, 30)
	epoch := s.Epoch()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path)
	if s.Epoch() != epoch {
		t.Fatalf("epoch changed across reopen: %s → %s", epoch, s.Epoch())
	}
	if through := mustPrunedThrough(t, s); through != 30 {
		t.Fatalf("PrunedThrough after reopen = %d, want 30", through)
	}
	head, err := s.Head(context.Background())
	if err != nil || head != 130 {
		t.Fatalf("Head after reopen = %d, %v; want 130", head, err)
	}
	wantLogFrom(t, s, 31, 130)
	// Pruning goes on from the remembered mark.
	writeChanges(t, s, 5)
	mustPrune(t, s, 100, 0, 35)
	wantLogFrom(t, s, 36, 135)
}

func TestReadsAfterPruningStartAfterPrunedThrough(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	writeChanges(t, s, 141) // lobby: odd seqs 1..141, night: even seqs 2..140
	mustPrune(t, s, 100, 0, 41)

	all, err := s.ChangesSince(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(all); len(got) != 100 || got[0] != 42 || got[99] != 141 {
		t.Fatalf("ChangesSince(0) after pruning through 41 = %d changes %v…%v", len(got), got[:1], got[len(got)-1:])
	}
	// A reader at exactly PrunedThrough misses nothing.
	from41, err := s.ChangesSince(ctx, 41, 1000)
	if err != nil || len(from41) != 100 {
		t.Fatalf("ChangesSince(41) = %d changes, %v; want 100", len(from41), err)
	}
	// Limits still page in seq order.
	page, err := s.ChangesSince(ctx, 0, 3)
	if got := seqs(page); err != nil || fmt.Sprint(got) != "[42 43 44]" {
		t.Fatalf("ChangesSince(0, limit 3) = %v, %v", got, err)
	}

	for board, first := range map[string]int64{"lobby": 43, "night": 42} {
		changes, err := s.BoardChanges(ctx, board, 0, 141, 1000)
		if err != nil {
			t.Fatal(err)
		}
		got := seqs(changes)
		if len(got) != 50 || got[0] != first {
			t.Fatalf("BoardChanges(%s, 0, 141) = %d changes from %v, want 50 from %d", board, len(got), got[:min(1, len(got))], first)
		}
		for i, c := range changes {
			if c.Board != board || got[i] != first+2*int64(i) {
				t.Fatalf("BoardChanges(%s)[%d] = seq %d of %s", board, i, got[i], c.Board)
			}
		}
	}
	// upTo bounds the read from above.
	upTo, err := s.BoardChanges(ctx, "lobby", 0, 47, 1000)
	if got := seqs(upTo); err != nil || fmt.Sprint(got) != "[43 45 47]" {
		t.Fatalf("BoardChanges(lobby, 0, 47) = %v, %v", got, err)
	}
}

// TestPruneForgetsIdempotencyKeys: keys hold a copy of every post, so they
// go with the post's change when the history is pruned: a retry with a key
// older than the history is a new post, a newer key still replays.
func TestPruneForgetsIdempotencyKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	post := func(i int) Created {
		t.Helper()
		c, err := s.CreateTopic(ctx, NewTopic{Board: "lobby", Comment: fmt.Sprint("post ", i), IdempotencyKey: fmt.Sprint("key-", i)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var first []Created
	for i := range 150 {
		first = append(first, post(i))
	}
	mustPrune(t, s, 100, 0, 50)
	var keys int
	if err := s.reader.NewRaw("SELECT COUNT(*) FROM idempotency_keys").Scan(ctx, &keys); err != nil {
		t.Fatal(err)
	}
	if keys != 100 {
		t.Fatalf("%d idempotency keys after pruning 50 of 150 posts, want 100", keys)
	}
	if again := post(120); !again.Replayed || again.Topic.ID != first[120].Topic.ID {
		t.Fatalf("retry of a post still in the history: %+v, want the replay of topic %d", again, first[120].Topic.ID)
	}
	if again := post(49); again.Replayed || again.Topic.ID <= first[149].Topic.ID {
		t.Fatalf("retry of a pruned post: %+v, want a new topic", again)
	}
}
