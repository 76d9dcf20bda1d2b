package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store/migrations"
	"github.com/kairan/kairan/shared"
)

// The suite runs on SQLite; with KAIRAN_STORE_DIALECT=pg (go tool task
// test does this when KAIRAN_TEST_POSTGRES is set) the same tests run on
// PostgreSQL, each on a database of its own.
func testDialect() Dialect {
	if os.Getenv("KAIRAN_STORE_DIALECT") == "pg" {
		return Postgres
	}
	return SQLite
}

// newTarget returns a fresh, empty database to open: a file, or a new
// PostgreSQL database.
func newTarget(t testing.TB) string {
	t.Helper()
	if testDialect() == Postgres {
		return pgtest.NewDatabase(t)
	}
	return filepath.Join(t.TempDir(), "kairan test.db")
}

func mustOpen(t testing.TB, target string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dialect: testDialect(), Target: target})
	if err != nil {
		t.Fatalf("open %s: %v", target, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t *testing.T) *Store {
	return mustOpen(t, newTarget(t))
}

func mustCreate(t *testing.T, s *Store, board, comment string) Created {
	t.Helper()
	c, err := s.CreateTopic(context.Background(), NewTopic{Board: board, Author: "ann", Comment: comment})
	if err != nil {
		t.Fatalf("create %q: %v", comment, err)
	}
	return c
}

func wantCode(t *testing.T, err error, code shared.Code) {
	t.Helper()
	var e *shared.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

// allChanges reads the whole change log and checks seq runs 1, 2, 3, … with
// no gap and no duplicate.
func allChanges(t *testing.T, s *Store) []shared.Change {
	t.Helper()
	changes, err := s.ChangesSince(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range changes {
		cur, ok := shared.ParseCursor(c.Cursor)
		if !ok || cur.Epoch != s.Epoch() || cur.Seq != int64(i+1) {
			t.Fatalf("change %d has cursor %q, want %s.%d", i, c.Cursor, s.Epoch(), i+1)
		}
	}
	return changes
}

func TestOpenTunesSQLite(t *testing.T) {
	if testDialect() != SQLite {
		t.Skip("SQLite pragmas and pools: not applicable to PostgreSQL")
	}
	s := newStore(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000",
	} {
		var got string
		if err := s.writer.NewRaw("PRAGMA "+pragma).Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	var queryOnly string
	if err := s.reader.NewRaw("PRAGMA query_only").Scan(ctx, &queryOnly); err != nil || queryOnly != "1" {
		t.Errorf("reader query_only = %q (%v), want 1", queryOnly, err)
	}
	if _, err := s.reader.NewRaw("DELETE FROM topics").Exec(ctx); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestReopenKeepsEpochAndData(t *testing.T) {
	path := newTarget(t)
	s1, err := Open(context.Background(), Options{Dialect: testDialect(), Target: path})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s1, "lobby", "hello")
	epoch := s1.Epoch()
	s1.Close()

	s2 := mustOpen(t, path)
	if s2.Epoch() != epoch || epoch == "" {
		t.Fatalf("epoch after reopen = %q, want %q", s2.Epoch(), epoch)
	}
	snap, err := s2.Snapshot(context.Background(), "lobby", 10)
	if err != nil || len(snap.Topics) != 1 || snap.Cursor != epoch+".1" {
		t.Fatalf("snapshot after reopen = %+v, %v", snap, err)
	}

	other := newStore(t)
	if other.Epoch() == epoch {
		t.Fatal("two databases share an epoch")
	}
}

func TestEachWriteAppendsOneChange(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := mustCreate(t, s, "lobby", "first")
	if c.Topic.ID == 0 || c.OwnerToken == "" || c.Replayed {
		t.Fatalf("created = %+v", c)
	}
	if c.Topic.CreatedAt.Location() != time.UTC || !c.Topic.CreatedAt.Equal(c.Topic.UpdatedAt) {
		t.Fatalf("times = %v / %v, want equal and UTC", c.Topic.CreatedAt, c.Topic.UpdatedAt)
	}
	edited, _, err := s.EditTopic(ctx, "lobby", c.Topic.ID, "second", Actor{Token: c.OwnerToken})
	if err != nil || edited.Comment != "second" || edited.Author != "ann" {
		t.Fatalf("edit = %+v, %v", edited, err)
	}
	if _, err := s.DeleteTopic(ctx, "lobby", c.Topic.ID, Actor{Token: c.OwnerToken}); err != nil {
		t.Fatal(err)
	}

	changes := allChanges(t, s)
	kinds := []shared.ChangeKind{shared.ChangeCreated, shared.ChangeUpdated, shared.ChangeDeleted}
	comments := []string{"first", "second", ""}
	if len(changes) != 3 {
		t.Fatalf("%d changes, want 3: %+v", len(changes), changes)
	}
	for i, ch := range changes {
		if ch.Kind != kinds[i] || ch.Topic.ID != c.Topic.ID || ch.Board != "lobby" || ch.Topic.Comment != comments[i] {
			t.Errorf("change %d = %+v, want %s of topic %d with comment %q", i, ch, kinds[i], c.Topic.ID, comments[i])
		}
	}
	snap, _ := s.Snapshot(ctx, "lobby", 10)
	if len(snap.Topics) != 0 || snap.Cursor != s.Epoch()+".3" {
		t.Fatalf("snapshot after delete = %+v", snap)
	}
}

func TestFailedWritesAppendNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := mustCreate(t, s, "lobby", "mine")
	_, _, err := s.EditTopic(ctx, "lobby", c.Topic.ID, "x", Actor{Token: "wrong"})
	wantCode(t, err, shared.CodeForbidden)
	_, err = s.DeleteTopic(ctx, "lobby", c.Topic.ID+1, Actor{Token: c.OwnerToken})
	wantCode(t, err, shared.CodeNotFound)
	if n := len(allChanges(t, s)); n != 1 {
		t.Fatalf("%d changes after refused writes, want 1", n)
	}
}

func TestAuthorization(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	c := mustCreate(t, s, "lobby", "mine")
	other := mustCreate(t, s, "lobby", "theirs")

	t.Run("unknown id is not_found with any token", func(t *testing.T) {
		for _, who := range []Actor{{}, {Token: c.OwnerToken}, {Token: "x", Moderator: true}} {
			_, err := s.DeleteTopic(ctx, "lobby", 999, who)
			wantCode(t, err, shared.CodeNotFound)
		}
	})
	t.Run("topic of another board is not_found", func(t *testing.T) {
		_, _, err := s.EditTopic(ctx, "other", c.Topic.ID, "x", Actor{Token: c.OwnerToken})
		wantCode(t, err, shared.CodeNotFound)
	})
	t.Run("no token is unauthorized", func(t *testing.T) {
		_, _, err := s.EditTopic(ctx, "lobby", c.Topic.ID, "x", Actor{})
		wantCode(t, err, shared.CodeUnauthorized)
	})
	t.Run("another topic's token is forbidden", func(t *testing.T) {
		_, err := s.DeleteTopic(ctx, "lobby", c.Topic.ID, Actor{Token: other.OwnerToken})
		wantCode(t, err, shared.CodeForbidden)
	})
	t.Run("moderator edits nothing", func(t *testing.T) {
		// EditTopic never honours the moderator flag: the moderator deletes, never edits.
		_, _, err := s.EditTopic(ctx, "lobby", c.Topic.ID, "x", Actor{Token: "mod", Moderator: true})
		wantCode(t, err, shared.CodeForbidden)
	})
	t.Run("moderator deletes", func(t *testing.T) {
		if _, err := s.DeleteTopic(ctx, "lobby", other.Topic.ID, Actor{Token: "mod", Moderator: true}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	in := NewTopic{Board: "lobby", Author: "ann", Comment: "once", IdempotencyKey: "k-1"}
	first, err := s.CreateTopic(ctx, in)
	if err != nil || first.Replayed {
		t.Fatalf("first = %+v, %v", first, err)
	}
	again, err := s.CreateTopic(ctx, in)
	if err != nil || !again.Replayed || again.CreatedTopic != first.CreatedTopic {
		t.Fatalf("replay = %+v, %v; want %+v", again, err, first.CreatedTopic)
	}
	// The replayed token is a working owner token.
	if _, _, err := s.EditTopic(ctx, "lobby", first.Topic.ID, "edited", Actor{Token: again.OwnerToken}); err != nil {
		t.Fatal(err)
	}
	// The answer stays the first one after an edit.
	if late, _ := s.CreateTopic(ctx, in); late.CreatedTopic != first.CreatedTopic {
		t.Fatalf("replay after edit = %+v", late.CreatedTopic)
	}

	changed := in
	changed.Comment = "twice"
	_, err = s.CreateTopic(ctx, changed)
	wantCode(t, err, shared.CodeIdempotencyMismatch)

	// Keys are scoped to the board.
	elsewhere := in
	elsewhere.Board = "other"
	o, err := s.CreateTopic(ctx, elsewhere)
	if err != nil || o.Replayed || o.Topic.ID == first.Topic.ID || o.OwnerToken == first.OwnerToken {
		t.Fatalf("same key on another board = %+v, %v", o, err)
	}
	if n := len(allChanges(t, s)); n != 3 {
		t.Fatalf("%d changes, want 3 (two creates and one edit)", n)
	}
}

func TestIdempotentCreateRace(t *testing.T) {
	s := newStore(t)
	const n = 16
	results := make([]Created, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.CreateTopic(context.Background(),
				NewTopic{Board: "lobby", Author: "ann", Comment: "race", IdempotencyKey: "same"})
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !results[i].Replayed {
			fresh++
		}
		if results[i].CreatedTopic != results[0].CreatedTopic {
			t.Fatalf("answers differ: %+v vs %+v", results[i].CreatedTopic, results[0].CreatedTopic)
		}
	}
	if fresh != 1 || len(allChanges(t, s)) != 1 {
		t.Fatalf("%d fresh creates, want exactly 1", fresh)
	}
}

func TestConcurrentWritersKeepTheLogContiguous(t *testing.T) {
	s := newStore(t)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				c, err := s.CreateTopic(context.Background(),
					NewTopic{Board: "lobby", Author: "w", Comment: fmt.Sprintf("%d-%d", w, i)})
				if err != nil {
					errs <- err
					return
				}
				if i%4 == 0 {
					if _, err := s.DeleteTopic(context.Background(), "lobby", c.Topic.ID, Actor{Token: c.OwnerToken}); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	changes := allChanges(t, s) // contiguous seq 1..N
	wantChanges := writers*each + writers*each/4
	if len(changes) != wantChanges {
		t.Fatalf("%d changes, want %d", len(changes), wantChanges)
	}
	created := map[int64]int{}
	for _, c := range changes {
		if c.Kind == shared.ChangeCreated {
			created[c.Topic.ID]++
		}
	}
	for id, n := range created {
		if n != 1 {
			t.Fatalf("topic %d has %d created changes", id, n)
		}
	}
	snap, err := s.Snapshot(context.Background(), "lobby", 500)
	if err != nil || len(snap.Topics) != writers*each*3/4 {
		t.Fatalf("snapshot has %d topics (%v), want %d", len(snap.Topics), err, writers*each*3/4)
	}
}

func TestSnapshotNewestFirstPerBoard(t *testing.T) {
	s := newStore(t)
	for i := range 5 {
		mustCreate(t, s, "lobby", fmt.Sprint("lobby ", i))
		mustCreate(t, s, "night", fmt.Sprint("night ", i))
	}
	snap, err := s.Snapshot(context.Background(), "lobby", 3)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, tp := range snap.Topics {
		got = append(got, tp.Comment)
		if tp.Board != "lobby" {
			t.Fatalf("topic of board %q in lobby snapshot", tp.Board)
		}
	}
	if fmt.Sprint(got) != "[lobby 4 lobby 3 lobby 2]" || snap.Cursor != s.Epoch()+".10" {
		t.Fatalf("snapshot = %v at %s", got, snap.Cursor)
	}
	empty, err := s.Snapshot(context.Background(), "nobody", 3)
	if err != nil || empty.Topics == nil || len(empty.Topics) != 0 {
		t.Fatalf("empty board snapshot = %#v, %v", empty.Topics, err)
	}
}

// Replicas starting at the same moment on one PostgreSQL database must
// migrate one after another (advisory lock) and agree on the epoch.
func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	if testDialect() != Postgres {
		t.Skip("several processes on one database: PostgreSQL only (run with KAIRAN_STORE_DIALECT=pg)")
	}
	target := newTarget(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), Options{Dialect: Postgres, Target: target}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		defer stores[i].Close()
		if stores[i].Epoch() != stores[0].Epoch() {
			t.Fatalf("replicas disagree on the epoch: %s vs %s", stores[i].Epoch(), stores[0].Epoch())
		}
	}
	files, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	want := len(files) + 1 // and the one Go migration, hashIdempotencyKeys
	if err := stores[0].writer.NewRaw("SELECT count(*) FROM bun_migrations").Scan(context.Background(), &applied); err != nil || applied != want {
		t.Fatalf("bun_migrations has %d rows (%v), want one per migration: %d", applied, err, want)
	}
	mustCreate(t, stores[1], "lobby", "works")
}
