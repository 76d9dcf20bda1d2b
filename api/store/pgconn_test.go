package store

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/shared"
)

func openPG(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dialect: Postgres, Target: pgtest.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// killSelf ends the transaction's own session, as PostgreSQL does to
// every session when it shuts down: the statement fails with 57P01.
const killSelf = "SELECT pg_terminate_backend(pg_backend_pid())"

// TestWriteRetriedAfterLostConnection: a write whose session ends before
// COMMIT runs once more on another connection, and is saved once.
func TestWriteRetriedAfterLostConnection(t *testing.T) {
	s := openPG(t)
	ctx := context.Background()
	runs := 0
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		runs++
		if _, err := s.appendChange(ctx, tx, shared.ChangeCreated, shared.Topic{ID: 1, Board: "b"}); err != nil {
			return err
		}
		if runs == 1 {
			_, err := tx.ExecContext(ctx, killSelf)
			return err
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("write: %v after %d runs, want success on the second", err, runs)
	}
	if head, err := s.Head(ctx); err != nil || head != 1 {
		t.Fatalf("head %d (%v): want the one change the retry saved", head, err)
	}
}

// TestCommitLostIsNotRetried: a session that ends during COMMIT may have
// committed, so the write is not run again and the error says so. (A
// deferred trigger ends the session at COMMIT.)
func TestCommitLostIsNotRetried(t *testing.T) {
	s := openPG(t)
	ctx := context.Background()
	if _, err := s.writer.ExecContext(ctx, `
		CREATE FUNCTION kill_self() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER kill_at_commit AFTER INSERT ON changes
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kill_self();`); err != nil {
		t.Fatal(err)
	}
	runs := 0
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		runs++
		_, err := s.appendChange(ctx, tx, shared.ChangeCreated, shared.Topic{ID: 1, Board: "b"})
		return err
	})
	if runs != 1 {
		t.Fatalf("the write ran %d times", runs)
	}
	wantOutage(t, err, Unreachable, msgCommitUnknown)
}
