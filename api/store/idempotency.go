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
// deleted topic. Rows expire after Options.IdempotencyTTL (PruneIdempotency):
// a retry later than that posts again.

// DefaultIdempotencyTTL is how long a key is remembered: a phone's outbox
// may wait out a weekend offline, and a week more than covers it.
const DefaultIdempotencyTTL = 7 * 24 * time.Hour

// keyHash is what the database keeps of a key.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte("idempotency-key\x00" + key))
	return hex.EncodeToString(sum[:])
}

// postHash binds a key to what was posted under it. The key is part of
// it, so without the key the hash cannot confirm a guess of the text.
func postHash(key, author, comment string) string {
	sum := sha256.Sum256([]byte("idempotent-post\x00" + key + "\x00" + author + "\x00" + comment))
	return hex.EncodeToString(sum[:])
}

// PruneIdempotency forgets keys older than ttl and reports how many.
func (s *Store) PruneIdempotency(ctx context.Context, ttl time.Duration) (int64, error) {
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
// and comments in the clear. It moves every row to the hashed form in one
// transaction (SQL alone cannot compute SHA-256 on SQLite).
func hashIdempotencyKeys(timestamp string) migrate.Migration {
	return migrate.Migration{
		Name:    "20261207000001",
		Comment: "hash_idempotency_keys",
		Up: func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
			return m.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				type oldRow struct {
					Board, Key, Author, Comment string
					TopicID                     int64
					CreatedAt                   time.Time
				}
				var old []oldRow
				if err := tx.NewRaw("SELECT board, key, author, comment, topic_id, created_at FROM idempotency_keys").Scan(ctx, &old); err != nil {
					return fmt.Errorf("read idempotency keys: %w", err)
				}
				for _, q := range []string{
					`CREATE TABLE idempotency_keys_hashed (
						board      VARCHAR(64) NOT NULL,
						key_hash   VARCHAR(64) NOT NULL,
						post_hash  VARCHAR(64) NOT NULL,
						topic_id   BIGINT NOT NULL,
						created_at ` + timestamp + ` NOT NULL,
						PRIMARY KEY (board, key_hash))`,
				} {
					if _, err := tx.ExecContext(ctx, q); err != nil {
						return err
					}
				}
				for _, r := range old {
					row := &idempotencyRow{Board: r.Board, KeyHash: keyHash(r.Key), PostHash: postHash(r.Key, r.Author, r.Comment),
						TopicID: r.TopicID, CreatedAt: r.CreatedAt}
					if _, err := tx.NewInsert().Model(row).ModelTableExpr("idempotency_keys_hashed").Exec(ctx); err != nil {
						return fmt.Errorf("move idempotency key: %w", err)
					}
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
			})
		},
	}
}
