package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// Idempotency keys. A key is as good as a password for its post: a retry
// with it gets the post's owner token back (owner.go derives that token
// from the key). So the database keeps neither the key nor the post's
// text: a row holds a hash of the key (to find it) and a hash of the key
// with the author and comment (to tell a replay from a different post
// under the same key, idempotency_mismatch). A copy of the database
// therefore names no key, derives no owner token and keeps no text of a
// deleted topic. Rows expire after a TTL (PruneIdempotency, run every
// minute with --idempotency-ttl): a retry later than that posts again.

// DefaultIdempotencyTTL is how long a key is remembered: a phone's outbox
// may wait out a weekend offline, and a week more than covers it.
const DefaultIdempotencyTTL = 7 * 24 * time.Hour

// keyHash is what the database keeps of a key.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte("idempotency-key\x00" + key))
	return hex.EncodeToString(sum[:])
}

// postHash binds a key to what was posted under it. The key is part of
// it, so without the key the hash cannot confirm a guess of the text. A
// picture's id is added only when there is one, so the hashes of posts
// without pictures are those kept before pictures existed.
func postHash(key, author, comment, imageID string) string {
	post := "idempotent-post\x00" + key + "\x00" + author + "\x00" + comment
	if imageID != "" {
		post += "\x00image\x00" + imageID
	}
	sum := sha256.Sum256([]byte(post))
	return hex.EncodeToString(sum[:])
}

// PruneIdempotency forgets keys older than ttl and reports how many.
func (s *Store) PruneIdempotency(ctx context.Context, ttl time.Duration) (int64, error) {
	if s.disk != nil {
		// Like PruneHistory: deleting writes WAL pages, which on a full
		// disk would come out of the reserve kept for people's deletes.
		if err := s.disk.room(); err != nil {
			return 0, err
		}
	}
	var n int64
	cutoff := s.now().Add(-ttl)
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*idempotencyRow)(nil)).Where("created_at < ?", cutoff).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: prune idempotency keys: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// hashIdempotencyKeys is a Go migration: earlier databases kept keys, authors
// and comments in the clear. It moves the rows to the hashed form in one
// transaction (SQL alone cannot compute SHA-256 on SQLite), a page at a
// time so a large table does not have to fit in memory, and drops rows
// past the default TTL first (they would be pruned within a minute). Run
// again after a crash between its commit and its record, it finds the
// table hashed and does nothing.
func hashIdempotencyKeys(timestamp string) migrate.Migration {
	return migrate.Migration{
		Name:    "20261207000001",
		Comment: "hash_idempotency_keys",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			// Outside the transaction: on PostgreSQL a failed statement
			// would abort it.
			if _, err := m.DB().ExecContext(ctx, "SELECT key_hash FROM idempotency_keys WHERE 1 = 0"); err == nil {
				return nil
			}
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return moveToHashes(ctx, tx, timestamp)
			})
		},
	}
}

func moveToHashes(ctx context.Context, tx bun.Tx, timestamp string) error {
	cutoff := time.Now().UTC().Add(-DefaultIdempotencyTTL)
	if _, err := tx.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", cutoff); err != nil {
		return fmt.Errorf("drop expired idempotency keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE idempotency_keys_hashed (
		board      VARCHAR(64) NOT NULL,
		key_hash   VARCHAR(64) NOT NULL,
		post_hash  VARCHAR(64) NOT NULL,
		topic_id   BIGINT NOT NULL,
		created_at `+timestamp+` NOT NULL,
		PRIMARY KEY (board, key_hash))`); err != nil {
		return err
	}
	type oldRow struct {
		Board, Key, Author, Comment string
		TopicID                     int64
		CreatedAt                   time.Time
	}
	const page = 1000
	var afterBoard, afterKey string
	for {
		var old []oldRow
		if err := tx.NewRaw(`SELECT board, key, author, comment, topic_id, created_at FROM idempotency_keys
			WHERE board > ? OR (board = ? AND key > ?) ORDER BY board, key LIMIT ?`,
			afterBoard, afterBoard, afterKey, page).Scan(ctx, &old); err != nil {
			return fmt.Errorf("read idempotency keys: %w", err)
		}
		if len(old) == 0 {
			break
		}
		rows := make([]idempotencyRow, len(old))
		for i, r := range old {
			rows[i] = idempotencyRow{Board: r.Board, KeyHash: keyHash(r.Key), PostHash: postHash(r.Key, r.Author, r.Comment, ""),
				TopicID: r.TopicID, CreatedAt: r.CreatedAt}
		}
		if _, err := tx.NewInsert().Model(&rows).ModelTableExpr("idempotency_keys_hashed").Exec(ctx); err != nil {
			return fmt.Errorf("move idempotency keys: %w", err)
		}
		last := old[len(old)-1]
		afterBoard, afterKey = last.Board, last.Key
	}
	for _, q := range []string{
		"DROP TABLE idempotency_keys",
		"ALTER TABLE idempotency_keys_hashed RENAME TO idempotency_keys",
		"CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
