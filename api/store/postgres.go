package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// NotifyChannel is the PostgreSQL channel every write transaction
// notifies with its seq; each replica LISTENs on it (api/hub/pgnotify).
const NotifyChannel = "kairan_changes"

const pgPoolSize = 20

// openPostgres opens one pool for reads and writes: PostgreSQL has no
// single-writer rule; the change counter's row lock orders the writes.
func openPostgres(dsn string) (*bun.DB, error) {
	// checkConn drops pooled connections whose session PostgreSQL ended
	// (pgconn.go).
	sqldb := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithApplicationName("kairan"),
		pgdriver.WithResetSessionFunc(checkConn)))
	sqldb.SetMaxOpenConns(pgPoolSize)
	sqldb.SetMaxIdleConns(pgPoolSize)
	if err := sqldb.Ping(); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// withMigrationLock holds a PostgreSQL advisory lock on one connection
// while fn runs, so replicas starting at once migrate one after another.
func withMigrationLock(ctx context.Context, db *bun.DB, fn func() error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('kairan_migrate'))"); err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(hashtext('kairan_migrate'))")
	return fn()
}

// uniqueViolation reports a PostgreSQL unique_violation (23505), which two
// racing posts with one Idempotency-Key meet: the loser retries and replays.
func uniqueViolation(err error) bool {
	var pgErr pgdriver.Error
	return errors.As(err, &pgErr) && pgErr.Field('C') == "23505"
}
