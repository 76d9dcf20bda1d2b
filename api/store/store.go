// Package store persists boards through bun. Every write runs in one
// transaction that also appends a row to the change log, so the log is the
// single source the live fan-out reads from.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/kairan/kairan/api/store/migrations"
)

// Dialect names a supported database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "pg"
)

// Options say which database to open.
type Options struct {
	Dialect Dialect
	// Target is a file path for SQLite, a postgres:// DSN for PostgreSQL.
	Target string
	Logger *slog.Logger
	// MaxTopicsPerBoard caps each board: a post beyond it deletes the
	// board's oldest topics in the same transaction. 0 keeps every topic.
	MaxTopicsPerBoard int
	// DiskReserve is the size in bytes of the file kept beside a SQLite
	// database so deletes still work on a full disk (disk.go); 0 means
	// DefaultDiskReserve.
	DiskReserve int64
	// MaxTopics caps the topics of all boards together and MaxBoards the
	// boards that have topics: a post beyond either is refused
	// (growth.go). 0 is no cap.
	MaxTopics int
	MaxBoards int
	// MaxUnusedImageBytes caps the bytes of uploads no post uses yet
	// (images.go); 0 is no cap.
	MaxUnusedImageBytes int64
}

// Store is kairan's database. On SQLite, writes go through one writer
// connection (SQLite allows one writer; queueing in Go is fairer than
// SQLite's busy back-off), group-committed by the batcher (batch.go), and
// reads through a small pool of read-only connections. On PostgreSQL one
// pool serves both.
type Store struct {
	dialect Dialect
	writer  *bun.DB
	reader  *bun.DB
	log     *slog.Logger
	epoch   string
	secret  []byte
	// maxTopics is Options.MaxTopicsPerBoard.
	maxTopics int
	// maxTotal and maxBoards are Options.MaxTopics and MaxBoards.
	maxTotal, maxBoards int
	// maxUnused is Options.MaxUnusedImageBytes.
	maxUnused int64
	// batch group-commits SQLite writes (nil on PostgreSQL).
	batch *batcher
	// disk is the SQLite disk reserve (nil on PostgreSQL).
	disk *diskReserve

	// Now is the clock for created_at and updated_at; tests may replace it
	// before the first write.
	Now func() time.Time
}

// Open opens the database, runs the embedded migrations and loads the epoch.
func Open(ctx context.Context, opt Options) (*Store, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var writer, reader *bun.DB
	var err error
	switch opt.Dialect {
	case SQLite:
		writer, reader, err = openSQLite(opt.Target)
		if mode, loose := openToOthers(opt.Target); loose {
			opt.Logger.Warn("the database file may be read by other users of this machine, and it holds the secret owner tokens derive from; run chmod 600 on it and its -wal and -shm files",
				"file", opt.Target, "mode", mode.String())
		}
	case Postgres:
		writer, err = openPostgres(opt.Target)
		reader = writer
	default:
		return nil, fmt.Errorf("store: dialect %q is not supported", opt.Dialect)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{dialect: opt.Dialect, writer: writer, reader: reader, log: opt.Logger, Now: time.Now,
		maxTopics: opt.MaxTopicsPerBoard, maxTotal: opt.MaxTopics, maxBoards: opt.MaxBoards, maxUnused: opt.MaxUnusedImageBytes}
	if err := s.migrate(ctx, opt.Dialect); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadMeta(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opt.Dialect == SQLite {
		s.batch = newBatcher(writer)
		s.disk = newDiskReserve(opt.Target, opt.DiskReserve, s.log)
	}
	return s, nil
}

// write runs fn in a write transaction: on SQLite one shared with the
// other writes waiting (see batch.go), on PostgreSQL its own (pgconn.go).
// Storage trouble comes back as an *Outage (outage.go).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if s.batch != nil {
		return s.classify(s.batch.do(ctx, fn))
	}
	return s.writePG(ctx, fn)
}

// read runs a read. On PostgreSQL a read that met a dead connection runs
// once more: reading twice changes nothing.
func (s *Store) read(ctx context.Context, fn func(ctx context.Context) error) error {
	err := fn(ctx)
	if err != nil && s.dialect == Postgres && connLost(err) && ctx.Err() == nil {
		err = fn(ctx)
	}
	return s.classify(err)
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.close()
	}
	if s.reader == s.writer {
		return s.writer.Close()
	}
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Ping reports whether the database serves reads and takes writes: nil,
// or an *Outage saying why not (or another error nobody foresaw).
func (s *Store) Ping(ctx context.Context) error {
	err := s.read(ctx, func(ctx context.Context) error {
		var one int
		return s.reader.NewRaw("SELECT 1").Scan(ctx, &one)
	})
	if err != nil {
		return err
	}
	if s.disk != nil {
		if err := s.disk.room(); err != nil {
			return err
		}
	}
	// An empty write transaction: on SQLite BEGIN IMMEDIATE takes the
	// write lock, which a read-only database refuses; PostgreSQL is asked.
	return s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if s.dialect != Postgres {
			return nil
		}
		var readOnly string
		if err := tx.NewRaw("SHOW transaction_read_only").Scan(ctx, &readOnly); err != nil {
			return err
		}
		if readOnly == "on" {
			return newOutage(ReadOnly, msgReadOnly, errors.New("store: PostgreSQL transactions are read-only (a standby, or default_transaction_read_only)"))
		}
		return nil
	})
}

// Epoch is the random id of this database, the first half of every cursor.
func (s *Store) Epoch() string { return s.epoch }

func (s *Store) migrate(ctx context.Context, dialect Dialect) error {
	return s.migrateFrom(ctx, dialect, migrations.FS)
}

// migrateFrom runs the migrations in fsys (tests start from older ones).
func (s *Store) migrateFrom(ctx context.Context, dialect Dialect, fsys fs.FS) error {
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return fmt.Errorf("store: discover migrations: %w", err)
	}
	timestamp := "TIMESTAMP"
	if dialect == Postgres {
		timestamp = "TIMESTAMPTZ"
	}
	ms.Add(hashIdempotencyKeys(timestamp))
	m := migrate.NewMigrator(s.writer, ms,
		migrate.WithMarkAppliedOnSuccess(true),
		migrate.WithTemplateData(map[string]string{"Dialect": string(dialect), "Timestamp": timestamp}))
	run := func() error {
		if err := m.Init(ctx); err != nil {
			return fmt.Errorf("store: init migrations: %w", err)
		}
		group, err := m.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if !group.IsZero() {
			s.log.Info("database migrated", "group", group.ID, "migrations", group.Migrations.String())
		}
		return nil
	}
	if dialect == Postgres {
		return withMigrationLock(ctx, s.writer, run)
	}
	return run()
}

// loadMeta reads the epoch and the token secret, creating them on first
// start. INSERT … ON CONFLICT DO NOTHING keeps two processes starting at once
// from disagreeing.
func (s *Store) loadMeta(ctx context.Context) error {
	for _, key := range []string{"epoch", "owner_secret"} {
		fresh := randomHex(16)
		if key == "epoch" {
			fresh = randomHex(8)
		}
		if _, err := s.writer.NewInsert().Model(&metaRow{Key: key, Value: fresh}).
			On("CONFLICT (key) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("store: create %s: %w", key, err)
		}
		var row metaRow
		if err := s.writer.NewSelect().Model(&row).Where("key = ?", key).Scan(ctx); err != nil {
			return fmt.Errorf("store: read %s: %w", key, err)
		}
		switch key {
		case "epoch":
			s.epoch = row.Value
		case "owner_secret":
			secret, err := hex.DecodeString(row.Value)
			if err != nil {
				return fmt.Errorf("store: owner secret: %w", err)
			}
			s.secret = secret
		}
	}
	return nil
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// readTx runs fn in a read transaction, so what it reads is one consistent
// snapshot of the database (SQLite's WAL snapshot; REPEATABLE READ on
// PostgreSQL).
func (s *Store) readTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.read(ctx, func(ctx context.Context) error { return s.reader.RunInTx(ctx, opts, fn) })
}
