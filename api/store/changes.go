package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// appendChange allocates the next seq from the counter row and writes the
// change row. It runs last in each write transaction: on PostgreSQL the
// counter's row lock is what makes seq order equal commit order, and taking
// it late keeps that serialised section short.
func (s *Store) appendChange(ctx context.Context, tx bun.Tx, kind shared.ChangeKind, topic shared.Topic) (shared.Change, error) {
	change, _, err := s.appendCounted(ctx, tx, kind, topic)
	return change, err
}

// appendCounted is appendChange that also keeps the tallies of what the
// log says exists (growth.go) and returns them as they stand after it.
func (s *Store) appendCounted(ctx context.Context, tx bun.Tx, kind shared.ChangeKind, topic shared.Topic) (shared.Change, tally, error) {
	var seq int64
	var t tally
	grow := growth(kind)
	if err := tx.NewUpdate().Model((*counterRow)(nil)).Set("last = last + 1").Set("topics = topics + ?", grow).
		Where("id = 1").Returning("last, topics").Scan(ctx, &seq, &t.topics); err != nil {
		return shared.Change{}, t, fmt.Errorf("store: allocate seq: %w", err)
	}
	if grow != 0 {
		var err error
		if t.newBoard, err = countBoard(ctx, tx, topic.Board, grow); err != nil {
			return shared.Change{}, t, err
		}
	}
	payload, err := json.Marshal(topic)
	if err != nil {
		return shared.Change{}, t, fmt.Errorf("store: encode change: %w", err)
	}
	row := &changeRow{Seq: seq, Board: topic.Board, Kind: string(kind), TopicID: topic.ID,
		Topic: string(payload), CreatedAt: s.now()}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return shared.Change{}, t, fmt.Errorf("store: insert change: %w", err)
	}
	if s.dialect == Postgres {
		// Delivered only if and when this transaction commits: a wake-up
		// for every replica's hub, which then reads the log.
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", NotifyChannel, strconv.FormatInt(seq, 10)); err != nil {
			return shared.Change{}, t, fmt.Errorf("store: notify: %w", err)
		}
	}
	return shared.Change{Seq: seq, Cursor: s.cursor(seq), Board: topic.Board, Kind: kind, Topic: topic}, t, nil
}

// Head is the seq of the newest committed change (0 for a new database).
func (s *Store) Head(ctx context.Context) (head int64, err error) {
	err = s.read(ctx, func(ctx context.Context) error {
		head, err = headSeq(ctx, s.reader)
		return err
	})
	return head, err
}

func headSeq(ctx context.Context, db bun.IDB) (int64, error) {
	var head int64
	if err := db.NewSelect().Model((*counterRow)(nil)).Column("last").
		Where("id = 1").Scan(ctx, &head); err != nil {
		return 0, fmt.Errorf("store: read head: %w", err)
	}
	return head, nil
}

// ChangesSince returns up to limit changes with seq > after, in seq order,
// across all boards.
func (s *Store) ChangesSince(ctx context.Context, after int64, limit int) ([]shared.Change, error) {
	var rows []changeRow
	if err := s.read(ctx, func(ctx context.Context) error {
		return s.reader.NewSelect().Model(&rows).Where("seq > ?", after).
			Order("seq ASC").Limit(int64(limit)).Scan(ctx)
	}); err != nil {
		return nil, fmt.Errorf("store: read changes: %w", err)
	}
	return s.toChanges(rows)
}

func (s *Store) toChanges(rows []changeRow) ([]shared.Change, error) {
	changes := make([]shared.Change, 0, len(rows))
	for _, r := range rows {
		var topic shared.Topic
		if err := json.Unmarshal([]byte(r.Topic), &topic); err != nil {
			return nil, fmt.Errorf("store: decode change %d: %w", r.Seq, err)
		}
		changes = append(changes, shared.Change{Seq: r.Seq, Cursor: s.cursor(r.Seq), Board: r.Board,
			Kind: shared.ChangeKind(r.Kind), Topic: topic})
	}
	return changes, nil
}

func (s *Store) cursor(seq int64) string { return shared.Cursor{Epoch: s.epoch, Seq: seq}.String() }

// BoardChanges returns the changes of one board with after < seq <= upTo,
// in seq order, at most limit of them.
func (s *Store) BoardChanges(ctx context.Context, board string, after, upTo int64, limit int) ([]shared.Change, error) {
	var rows []changeRow
	if err := s.read(ctx, func(ctx context.Context) error {
		return s.reader.NewSelect().Model(&rows).
			Where("board = ? AND seq > ? AND seq <= ?", board, after, upTo).
			Order("seq ASC").Limit(int64(limit)).Scan(ctx)
	}); err != nil {
		return nil, fmt.Errorf("store: read board changes: %w", err)
	}
	return s.toChanges(rows)
}
