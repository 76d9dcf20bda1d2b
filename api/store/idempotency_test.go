package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/migrate"

	"github.com/kairan/kairan/api/store/migrations"
	"github.com/kairan/kairan/shared"
)

// The database never holds an idempotency key or the text posted under
// it: a copy of the file derives no owner token and keeps no text of a
// deleted topic.
func TestIdempotencyRowsHoldNoKeyAndNoText(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const key = "Secret-Key-0123456789abcdef"
	in := NewTopic{Board: "lobby", Author: "Aiko", Comment: "words only the poster knows", IdempotencyKey: key}
	c, err := s.CreateTopic(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteTopic(ctx, "lobby", c.Topic.ID, Actor{Token: c.OwnerToken}); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := s.reader.NewRaw("SELECT * FROM idempotency_keys").Scan(ctx, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d idempotency rows, want 1", len(rows))
	}
	for col, v := range rows[0] {
		text := strings.ToLower(strings.TrimSpace(strings.Trim(strings.ReplaceAll(string(asBytes(v)), "\x00", ""), " ")))
		for _, secret := range []string{key, "words only the poster knows", "aiko", c.OwnerToken} {
			if strings.Contains(text, strings.ToLower(secret)) {
				t.Fatalf("column %s holds %q", col, secret)
			}
		}
	}
	// The replay still answers with the first answer, text included (it
	// comes from the retry, which matches the hash).
	again, err := s.CreateTopic(ctx, in)
	if err != nil || !again.Replayed || again.CreatedTopic != c.CreatedTopic {
		t.Fatalf("replay = %+v, %v; want %+v", again, err, c.CreatedTopic)
	}
	other := in
	other.Author = "Tom"
	_, err = s.CreateTopic(ctx, other)
	wantCode(t, err, shared.CodeIdempotencyMismatch)
}

func asBytes(v any) []byte {
	switch v := v.(type) {
	case string:
		return []byte(v)
	case []byte:
		return v
	}
	return nil
}

// Keys older than the TTL are forgotten; younger ones still replay.
func TestPruneIdempotency(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	oldIn := NewTopic{Board: "lobby", Comment: "old", IdempotencyKey: "old-key-0123456789abcdef"}
	if _, err := s.CreateTopic(ctx, oldIn); err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * 24 * time.Hour)
	youngIn := NewTopic{Board: "lobby", Comment: "young", IdempotencyKey: "young-key-0123456789abcdef"}
	young, err := s.CreateTopic(ctx, youngIn)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * 24 * time.Hour) // the old key is 8 days old, the young one 2
	n, err := s.PruneIdempotency(ctx, DefaultIdempotencyTTL)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1", n, err)
	}
	if again, err := s.CreateTopic(ctx, youngIn); err != nil || !again.Replayed || again.Topic.ID != young.Topic.ID {
		t.Fatalf("young key after pruning = %+v, %v", again, err)
	}
	// The forgotten key posts anew: the TTL is the limit of exactly-once.
	if again, err := s.CreateTopic(ctx, oldIn); err != nil || again.Replayed {
		t.Fatalf("old key after pruning = %+v, %v; want a new post", again, err)
	}
}

// A database as the previous release left it (keys, authors and comments
// in the clear) is moved to hashes on open, and its keys still replay.
func TestIdempotencyKeysMigrateToHashes(t *testing.T) {
	ctx := context.Background()
	target := newTarget(t)
	old := openRaw(t, target)
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.FS); err != nil {
		t.Fatal(err)
	}
	timestamp := "TIMESTAMP"
	if testDialect() == Postgres {
		timestamp = "TIMESTAMPTZ"
	}
	m := migrate.NewMigrator(old, ms, migrate.WithMarkAppliedOnSuccess(true),
		migrate.WithTemplateData(map[string]string{"Dialect": string(testDialect()), "Timestamp": timestamp}))
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, q := range []string{
		"INSERT INTO topics (board, author, comment, owner_hash, created_at, updated_at) VALUES ('lobby', 'Aiko', 'kept in the clear', 'x', ?, ?)",
		"INSERT INTO idempotency_keys (board, key, topic_id, author, comment, created_at) VALUES ('lobby', 'legacy-key-0123456789abcdef', 1, 'Aiko', 'kept in the clear', ?)",
	} {
		args := []any{created, created}
		if strings.Count(q, "?") == 1 {
			args = args[:1]
		}
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// More than a page of rows, and one past the default TTL.
	tx, err := old.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO idempotency_keys (board, key, topic_id, author, comment, created_at) VALUES (?, ?, 1, 'a', 'c', ?)",
			fmt.Sprintf("b%d", i%7), fmt.Sprintf("bulk-key-0123456789abcdef-%04d", i), created); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO idempotency_keys (board, key, topic_id, author, comment, created_at) VALUES ('lobby', 'expired-key-0123456789abcdef', 1, 'a', 'c', ?)",
		created.Add(-30*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := mustOpen(t, target)
	var n int
	if err := s.reader.NewRaw("SELECT COUNT(*) FROM idempotency_keys").Scan(ctx, &n); err != nil || n != 1501 {
		t.Fatalf("%d keys after the migration (%v), want 1,501 (the expired one dropped)", n, err)
	}
	bulk := NewTopic{Board: "b2", Author: "a", Comment: "c", IdempotencyKey: "bulk-key-0123456789abcdef-1402"}
	if again, err := s.CreateTopic(ctx, bulk); err != nil || !again.Replayed {
		t.Fatalf("a key from the second page = %+v, %v", again, err)
	}
	// Run again (a crash between its commit and its record): nothing to do.
	mig := hashIdempotencyKeys("TIMESTAMP")
	if err := mig.Up(ctx, migrate.NewMigrator(s.writer, migrate.NewMigrations()), &mig); err != nil {
		t.Fatalf("the migration run twice: %v", err)
	}
	in := NewTopic{Board: "lobby", Author: "Aiko", Comment: "kept in the clear", IdempotencyKey: "legacy-key-0123456789abcdef"}
	again, err := s.CreateTopic(ctx, in)
	if err != nil || !again.Replayed || again.Topic.ID != 1 || !again.Topic.CreatedAt.Equal(created) ||
		again.OwnerToken != s.idempotentOwnerToken("lobby", in.IdempotencyKey) {
		t.Fatalf("legacy key after the migration = %+v, %v", again, err)
	}
	in.Comment = "something else"
	_, err = s.CreateTopic(ctx, in)
	wantCode(t, err, shared.CodeIdempotencyMismatch)
	var cols []map[string]any
	if err := s.reader.NewRaw("SELECT * FROM idempotency_keys WHERE board = 'lobby'").Scan(ctx, &cols); err != nil || len(cols) != 1 {
		t.Fatalf("rows %v, %v", cols, err)
	}
	for col, v := range cols[0] {
		if strings.Contains(string(asBytes(v)), "clear") || strings.Contains(string(asBytes(v)), "legacy") {
			t.Fatalf("column %s still holds the text or the key: %v", col, v)
		}
	}
}

// openRaw opens target with bun and no migrations.
func openRaw(t *testing.T, target string) *bun.DB {
	t.Helper()
	if testDialect() == Postgres {
		return bun.NewDB(sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(target))), pgdialect.New())
	}
	db, err := sql.Open(sqliteshim.ShimName, "file:"+target)
	if err != nil {
		t.Fatal(err)
	}
	return bun.NewDB(db, sqlitedialect.New())
}

// The database file and its WAL and shared-memory files are readable by
// their owner only: they hold the secret owner tokens derive from.
func TestDatabaseFilesArePrivate(t *testing.T) {
	if testDialect() != SQLite {
		t.Skip("file modes are SQLite's; PostgreSQL keeps its own files")
	}
	old := setUmask(0o022)
	defer setUmask(old)
	target := newTarget(t)
	s := mustOpen(t, target)
	mustCreate(t, s, "lobby", "written, so the WAL exists")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(target + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", target+suffix, mode)
		}
	}
}
