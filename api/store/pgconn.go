package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
)

// Dead pooled connections. When PostgreSQL restarts or an operator ends
// kairan's sessions (pg_terminate_backend), every idle connection in the
// pool is dead, but pgdriver only finds out when a statement fails on it,
// and it reports that failure as the statement's error, not as
// driver.ErrBadConn, so database/sql does not try another connection.
// Without help each replica would fail one request per pooled connection.
//
// Two things help. checkConn looks at the socket before database/sql
// hands a pooled connection out: a session PostgreSQL ended has its last
// message or EOF waiting there, and the connection is dropped unused
// (database/sql then takes another, or dials). And a write that still met
// a dead connection runs once more (writePG): safe only because it failed
// before COMMIT was sent, so it cannot have committed.

// checkConn is pgdriver's ResetSessionFunc: driver.ErrBadConn makes
// database/sql discard the connection and use another.
func checkConn(_ context.Context, cn *pgdriver.Conn) error {
	if err := idleConnAlive(cn.Conn()); err != nil {
		return driver.ErrBadConn
	}
	return nil
}

// writePG runs fn in a transaction of its own. If the connection turns
// out dead before COMMIT is sent, PostgreSQL rolls the transaction back
// with the session, so fn runs once more on a live connection. A
// connection lost at COMMIT leaves the outcome unknown: never retried,
// and said so.
func (s *Store) writePG(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	committing, err := s.txPG(ctx, fn)
	if err != nil && !committing && connLost(err) && ctx.Err() == nil {
		s.log.Info("database connection lost before commit; running the write again on another connection", "err", err)
		committing, err = s.txPG(ctx, fn)
	}
	if err != nil && committing && connLost(err) {
		return newOutage(Unreachable, msgCommitUnknown, err)
	}
	return s.classify(err)
}

// txPG runs one transaction; committing says whether COMMIT was sent.
func (s *Store) txPG(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) (committing bool, err error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	if err := run(ctx, tx, fn); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return false, err
	}
	return true, tx.Commit()
}

// connLost reports whether err says the connection (or the session on
// it) is gone, rather than that a statement failed on a live one. A
// refused dial is not a lost connection: trying again at once is no use.
func connLost(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		code := pgErr.Field('C')
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op != "dial" && !opErr.Timeout()
}

// pgReason is the Outage reason for a PostgreSQL error, or "".
func pgReason(err error) Reason {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		switch code := pgErr.Field('C'); {
		case code == "53100": // disk_full
			return DiskFull
		case code == "25006": // read_only_sql_transaction: a standby, or default_transaction_read_only
			return ReadOnly
		case strings.HasPrefix(code, "08"), // connection exceptions
			code == "57P01", code == "57P02", code == "57P03", // admin or crash shutdown, cannot connect now
			code == "53300": // too_many_connections
			return Unreachable
		}
		return ""
	}
	var netErr net.Error
	if connLost(err) || errors.As(err, &netErr) {
		return Unreachable // refused, reset, timed out, or cut
	}
	return ""
}
