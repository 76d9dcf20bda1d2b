package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// Growth caps. Without them a client could fill the disk by posting to ever
// new boards. The change log already says which topics exist — a created
// change adds one, a deleted change removes one — so appendCounted keeps
// two tallies from it in the same transaction, never by scanning topics:
// the counter row's topics (all of them) and the boards table (each board's
// topics; a board's row goes with its last topic, so an emptied board frees
// its place). A post that would take the store past MaxTopics, or start a
// board beyond MaxBoards, is refused and rolls back whole.
//
// Both checks run after the post's change took the counter row, whose lock
// orders every write (DESIGN.md §2): on PostgreSQL a concurrent post has
// either committed, and is counted, or waits for this one, so replicas
// racing for the last place never overshoot a cap.

// tally is what the store holds after a change: topics in all, and topics
// on the change's board.
type tally struct{ topics, board int64 }

// growth is how a change of kind moves the number of topics.
func growth(kind shared.ChangeKind) int64 {
	switch kind {
	case shared.ChangeCreated:
		return 1
	case shared.ChangeDeleted:
		return -1
	}
	return 0
}

// countBoard adds delta (1 or -1) to board's topics and returns the new
// count; a board's row exists while it has topics. The upsert lets two
// first posts on one board meet without a unique violation.
func countBoard(ctx context.Context, tx bun.Tx, board string, delta int64) (int64, error) {
	var n int64
	if delta > 0 {
		err := tx.NewRaw("INSERT INTO boards (name, topics) VALUES (?, 1) "+
			"ON CONFLICT (name) DO UPDATE SET topics = boards.topics + 1 RETURNING topics", board).Scan(ctx, &n)
		if err != nil {
			return 0, fmt.Errorf("store: count board: %w", err)
		}
		return n, nil
	}
	err := tx.NewRaw("UPDATE boards SET topics = topics - 1 WHERE name = ? RETURNING topics", board).Scan(ctx, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // not counted (cannot happen after the migration's count)
	}
	if err != nil {
		return 0, fmt.Errorf("store: count board: %w", err)
	}
	if n <= 0 {
		if _, err := tx.NewRaw("DELETE FROM boards WHERE name = ?", board).Exec(ctx); err != nil {
			return 0, fmt.Errorf("store: forget empty board: %w", err)
		}
	}
	return n, nil
}

// checkGrowth refuses a post whose change left t: beyond the topics cap,
// or the first topic of a board beyond the boards cap. Boards are counted
// only then, so the cost per post stays one upsert; the count reads at
// most MaxBoards rows.
func (s *Store) checkGrowth(ctx context.Context, tx bun.Tx, board string, t tally) error {
	if s.maxTotal > 0 && t.topics > int64(s.maxTotal) {
		return shared.Errorf(shared.CodeTooManyTopics, "This server holds as many topics as it allows ("+
			strconv.Itoa(s.maxTotal)+"), so your post was not saved; keep a copy and try again once older topics are deleted.")
	}
	if s.maxBoards <= 0 || t.board != 1 {
		return nil
	}
	var boards int64
	if err := tx.NewRaw("SELECT COUNT(*) FROM boards").Scan(ctx, &boards); err != nil {
		return fmt.Errorf("store: count boards: %w", err)
	}
	if boards > int64(s.maxBoards) {
		return shared.Errorf(shared.CodeTooManyBoards, "This server has as many boards as it allows ("+
			strconv.Itoa(s.maxBoards)+"), so board \""+board+"\" cannot start; post on a board that already has topics.")
	}
	return nil
}

// Usage is how many topics and non-empty boards the store holds.
func (s *Store) Usage(ctx context.Context) (topics, boards int64, err error) {
	err = s.readTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewSelect().Model((*counterRow)(nil)).Column("topics").Where("id = 1").Scan(ctx, &topics); err != nil {
			return fmt.Errorf("store: read topic count: %w", err)
		}
		if err := tx.NewRaw("SELECT COUNT(*) FROM boards").Scan(ctx, &boards); err != nil {
			return fmt.Errorf("store: count boards: %w", err)
		}
		return nil
	})
	return topics, boards, err
}
