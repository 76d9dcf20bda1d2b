package store

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kairan/kairan/api/store/migrations"
	"github.com/kairan/kairan/shared"
)

func openGrowth(t *testing.T, opt Options) *Store {
	t.Helper()
	opt.Dialect, opt.Target = testDialect(), newTarget(t)
	s, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantTallies checks the store's tallies against the topics themselves:
// the counter's total, and one boards row per non-empty board with its
// count.
func wantTallies(t *testing.T, s *Store) (topics, boards int64) {
	t.Helper()
	ctx := context.Background()
	var rows []struct {
		Board string `bun:"board"`
		N     int64  `bun:"n"`
	}
	if err := s.reader.NewRaw("SELECT board, COUNT(*) AS n FROM topics GROUP BY board").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	truth := map[string]int64{}
	var total int64
	for _, r := range rows {
		truth[r.Board] = r.N
		total += r.N
	}
	var kept []struct {
		Name   string `bun:"name"`
		Topics int64  `bun:"topics"`
	}
	if err := s.reader.NewRaw("SELECT name, topics FROM boards").Scan(ctx, &kept); err != nil {
		t.Fatal(err)
	}
	tallied := map[string]int64{}
	for _, r := range kept {
		tallied[r.Name] = r.Topics
	}
	if !maps.Equal(truth, tallied) {
		t.Fatalf("boards table %v, topics say %v", tallied, truth)
	}
	topics, boards, err := s.Usage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics != total || boards != int64(len(truth)) {
		t.Fatalf("Usage = %d topics on %d boards, the topics table holds %d on %d", topics, boards, total, len(truth))
	}
	return topics, boards
}

func wantRefused(t *testing.T, s *Store, board string, code shared.Code) {
	t.Helper()
	ctx := context.Background()
	head, _ := s.Head(ctx)
	_, err := s.CreateTopic(ctx, NewTopic{Board: board, Comment: "one too many", IdempotencyKey: "k-" + board})
	wantCode(t, err, code)
	if msg := shared.Message(err); !strings.Contains(msg, "allows") || strings.Contains(msg, "store:") {
		t.Fatalf("%s message %q does not say the server's limit in words", code, msg)
	}
	if after, _ := s.Head(ctx); after != head {
		t.Fatalf("refused post moved the head from %d to %d", head, after)
	}
	if snap, _ := s.Snapshot(ctx, board, 100); len(snap.Topics) != 0 && code == shared.CodeTooManyBoards {
		t.Fatalf("refused board %q holds %d topics", board, len(snap.Topics))
	}
}

func deleteAll(t *testing.T, s *Store, posts ...Created) {
	t.Helper()
	for _, c := range posts {
		if _, err := s.DeleteTopic(context.Background(), c.Topic.Board, c.Topic.ID, Actor{Token: c.OwnerToken}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBoardCap: a post that would start a board beyond MaxBoards is
// refused and changes nothing; posts on boards that have topics pass; a
// board whose topics are all deleted frees its place.
func TestBoardCap(t *testing.T) {
	s := openGrowth(t, Options{MaxBoards: 2})
	a := mustCreate(t, s, "a", "first on a")
	b1 := mustCreate(t, s, "b", "first on b")
	b2 := mustCreate(t, s, "b", "second on b")
	wantRefused(t, s, "c", shared.CodeTooManyBoards)
	a2 := mustCreate(t, s, "a", "a still takes posts")
	wantTallies(t, s)

	deleteAll(t, s, b1)
	wantRefused(t, s, "c", shared.CodeTooManyBoards) // b still has a topic
	deleteAll(t, s, b2)
	if _, boards := wantTallies(t, s); boards != 1 {
		t.Fatalf("%d boards after b emptied, want 1", boards)
	}
	mustCreate(t, s, "c", "c takes b's place")
	wantRefused(t, s, "b", shared.CodeTooManyBoards)
	// The refused post's key was rolled back with it: the same post is
	// tried afresh once there is room.
	deleteAll(t, s, a, a2)
	c, err := s.CreateTopic(context.Background(), NewTopic{Board: "b", Comment: "one too many", IdempotencyKey: "k-b"})
	if err != nil || c.Replayed {
		t.Fatalf("post with a refused key: %+v, %v", c, err)
	}
	wantTallies(t, s)
}

// TestTopicCap: a post beyond MaxTopics in all is refused and changes
// nothing, until a delete makes room; a post that trims its board to the
// per-board cap does not grow the store and passes.
func TestTopicCap(t *testing.T) {
	s := openGrowth(t, Options{MaxTopics: 3, MaxTopicsPerBoard: 2})
	mustCreate(t, s, "a", "a1")
	a2 := mustCreate(t, s, "a", "a2")
	b1 := mustCreate(t, s, "b", "b1")
	wantRefused(t, s, "b", shared.CodeTooManyTopics)
	wantRefused(t, s, "c", shared.CodeTooManyTopics) // the total goes first
	a3 := mustCreate(t, s, "a", "a3 trims a1")
	if topics, _ := wantTallies(t, s); topics != 3 {
		t.Fatalf("%d topics, want 3", topics)
	}
	snap, _ := s.Snapshot(context.Background(), "a", 100)
	if len(snap.Topics) != 2 || snap.Topics[0].ID != a3.Topic.ID || snap.Topics[1].ID != a2.Topic.ID {
		t.Fatalf("board a holds %+v, want a3 and a2", snap.Topics)
	}
	deleteAll(t, s, b1)
	mustCreate(t, s, "c", "room again")
	wantRefused(t, s, "c", shared.CodeTooManyTopics)
	// Edits do not grow the count and are never refused by it.
	if _, _, err := s.EditTopic(context.Background(), "a", a3.Topic.ID, "edited", Actor{Token: a3.OwnerToken}); err != nil {
		t.Fatal(err)
	}
	wantTallies(t, s)
}

// TestGrowthCapsOff: 0 caps nothing, and the tallies are kept anyway (so a
// cap set later starts from the truth).
func TestGrowthCapsOff(t *testing.T) {
	s := openGrowth(t, Options{})
	var posts []Created
	for i := range 40 {
		posts = append(posts, mustCreate(t, s, fmt.Sprint("board-", i%13), fmt.Sprint(i)))
	}
	deleteAll(t, s, posts[:7]...)
	if topics, boards := wantTallies(t, s); topics != 33 || boards != 13 {
		t.Fatalf("%d topics on %d boards, want 33 on 13", topics, boards)
	}
}

// TestGrowthCapsUnderConcurrentPosts: writers racing for the last places
// (PostgreSQL's writers run in parallel, SQLite's share group commits)
// get exactly the caps' worth between them, never one more.
func TestGrowthCapsUnderConcurrentPosts(t *testing.T) {
	const writers, each, maxBoards, maxTopics = 8, 12, 10, 30
	s := openGrowth(t, Options{MaxBoards: maxBoards, MaxTopics: maxTopics})
	var boardsTaken, topicsTaken atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Each writer starts boards of its own, and also posts on a
				// shared one, so both caps are contended.
				board := "shared"
				if i%2 == 0 {
					board = fmt.Sprintf("w%d-%d", w, i)
				}
				_, err := s.CreateTopic(context.Background(), NewTopic{Board: board, Comment: fmt.Sprint(w, "-", i)})
				switch code := shared.ErrorCode(err); {
				case err == nil:
					topicsTaken.Add(1)
					if board != "shared" {
						boardsTaken.Add(1)
					}
				case code == shared.CodeTooManyBoards, code == shared.CodeTooManyTopics:
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	topics, boards := wantTallies(t, s)
	if topics != topicsTaken.Load() || topics > maxTopics || boards > maxBoards {
		t.Fatalf("%d topics on %d boards (caps %d, %d); %d posts were acknowledged",
			topics, boards, maxTopics, maxBoards, topicsTaken.Load())
	}
	if boards != maxBoards && topics != maxTopics {
		t.Fatalf("%d topics on %d boards: writers were refused before either cap was reached", topics, boards)
	}
	allChanges(t, s) // the log stays contiguous: refused posts took no seq
}

// TestGrowthTalliesOfAnOlderDatabase: a database made before the tallies
// existed is counted when the migration adds them, and the caps hold on it
// at once.
func TestGrowthTalliesOfAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	// The database as the first migration left it, with topics written
	// as the old code wrote them.
	target := newTarget(t)
	s := &Store{dialect: testDialect(), log: slog.New(slog.DiscardHandler)}
	var err error
	switch s.dialect {
	case SQLite:
		s.writer, s.reader, err = openSQLite(target)
	case Postgres:
		s.writer, err = openPostgres(target)
		s.reader = s.writer
	}
	if err != nil {
		t.Fatal(err)
	}
	first := fstest.MapFS{}
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "20261121000001_") {
			b, _ := fs.ReadFile(migrations.FS, e.Name())
			first[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	if len(first) != 1 {
		t.Fatalf("init migration not found among %v", entries)
	}
	if err := s.migrateFrom(ctx, s.dialect, first); err != nil {
		t.Fatal(err)
	}
	then := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for i, board := range []string{"x", "x", "y", "x", "z"} {
		if _, err := s.writer.NewInsert().Model(&topicRow{Board: board, Comment: fmt.Sprint(i), OwnerHash: "h",
			CreatedAt: then, UpdatedAt: then}).ExcludeColumn("image_id", "image_type", "image_width", "image_height").Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s.reader != s.writer {
		s.reader.Close()
	}
	s.writer.Close()

	up, err := Open(ctx, Options{Dialect: testDialect(), Target: target, MaxBoards: 3, MaxTopics: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if topics, boards := wantTallies(t, up); topics != 5 || boards != 3 {
		t.Fatalf("migrated tallies: %d topics on %d boards, want 5 on 3", topics, boards)
	}
	wantRefused(t, up, "w", shared.CodeTooManyBoards)
	mustCreate(t, up, "y", "the sixth")
	wantRefused(t, up, "y", shared.CodeTooManyTopics)
}
