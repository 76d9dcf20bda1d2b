package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// The change log is pruned so it does not grow for ever. What was pruned is
// remembered as meta "pruned_through": a cursor at or after it can still be
// followed change by change; an older one must start over from a snapshot.

const prunedKey = "pruned_through"

// PrunedThrough is the highest seq removed from the change log (0 if none).
// A cursor with seq >= PrunedThrough misses nothing.
func (s *Store) PrunedThrough(ctx context.Context) (int64, error) {
	return prunedThrough(ctx, s.reader)
}

func prunedThrough(ctx context.Context, db bun.IDB) (int64, error) {
	var row metaRow
	err := db.NewSelect().Model(&row).Where("key = ?", prunedKey).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read %s: %w", prunedKey, err)
	}
	return strconv.ParseInt(row.Value, 10, 64)
}

// PruneHistory removes changes beyond the newest keep, and changes older
// than maxAge, but never the newest keepMin (so a client that was away
// for a while on a quiet board can still catch up). It returns the new
// PrunedThrough.
func (s *Store) PruneHistory(ctx context.Context, keep int64, maxAge time.Duration) (int64, error) {
	const keepMin = 100
	var through int64
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		head, err := headSeq(ctx, tx)
		if err != nil {
			return err
		}
		if through, err = prunedThrough(ctx, tx); err != nil {
			return err
		}
		cut := head - keep // by count
		if maxAge > 0 {
			var newestOld int64 // by age: the newest change older than maxAge
			err := tx.NewSelect().Model((*changeRow)(nil)).ColumnExpr("COALESCE(MAX(seq), 0)").
				Where("created_at < ?", s.now().Add(-maxAge)).Scan(ctx, &newestOld)
			if err != nil {
				return fmt.Errorf("store: find old changes: %w", err)
			}
			cut = max(cut, newestOld)
		}
		cut = min(cut, head-keepMin)
		if cut <= through {
			return nil
		}
		if err := forgetKeys(ctx, tx, cut); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*changeRow)(nil)).Where("seq <= ?", cut).Exec(ctx); err != nil {
			return fmt.Errorf("store: prune changes: %w", err)
		}
		if _, err := tx.NewInsert().Model(&metaRow{Key: prunedKey, Value: strconv.FormatInt(cut, 10)}).
			On("CONFLICT (key) DO UPDATE").Set("value = EXCLUDED.value").Exec(ctx); err != nil {
			return fmt.Errorf("store: record %s: %w", prunedKey, err)
		}
		through = cut
		return nil
	})
	return through, err
}

// forgetKeys deletes the idempotency keys of posts whose change is about to
// be pruned, so keys, which hold a copy of each post, last as long as the
// history and no longer (DESIGN.md §3): without it every post ever made
// would stay on disk, whatever caps the topics. Topic ids grow with seq
// (on PostgreSQL a key may go a little early when posts committed out of
// id order; its retry is then a new post).
func forgetKeys(ctx context.Context, tx bun.Tx, cut int64) error {
	var newest int64
	if err := tx.NewSelect().Model((*changeRow)(nil)).ColumnExpr("COALESCE(MAX(topic_id), 0)").
		Where("seq <= ? AND kind = ?", cut, shared.ChangeCreated).Scan(ctx, &newest); err != nil {
		return fmt.Errorf("store: find keys to forget: %w", err)
	}
	if _, err := tx.NewDelete().Model((*idempotencyRow)(nil)).Where("topic_id <= ?", newest).Exec(ctx); err != nil {
		return fmt.Errorf("store: forget idempotency keys: %w", err)
	}
	return nil
}
