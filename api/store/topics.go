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

// NewTopic is a validated post (see shared.CreateTopic.Normalize).
type NewTopic struct {
	Board   string
	Author  string
	Comment string
	// ImageID attaches an unused upload of the same board (images.go).
	ImageID string
	// IdempotencyKey, when set, makes a retry of the same post answer with
	// the first result instead of posting twice.
	IdempotencyKey string
}

// Created is the result of CreateTopic. Replayed is true when the
// idempotency key had been used before for the same post; no new change
// was written then.
type Created struct {
	shared.CreatedTopic
	Replayed bool
	Change   shared.Change
}

// Actor is who asks for an edit or a delete: the bearer token presented,
// and whether that token is the moderator's (which may delete, not edit).
type Actor struct {
	Token     string
	Moderator bool
}

// CreateTopic stores a topic and its "created" change in one transaction.
func (s *Store) CreateTopic(ctx context.Context, in NewTopic) (Created, error) {
	s.retakeDisk()
	out, err := s.createTopic(ctx, in)
	if err != nil && in.IdempotencyKey != "" && uniqueViolation(err) {
		// A concurrent post with the same key committed first (PostgreSQL
		// lets both transactions miss the key): this one replays it.
		return s.createTopic(ctx, in)
	}
	return out, err
}

func (s *Store) createTopic(ctx context.Context, in NewTopic) (Created, error) {
	var out Created
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if in.IdempotencyKey != "" {
			replay, found, err := s.replay(ctx, tx, in)
			if err != nil || found {
				out = replay
				return err
			}
		}
		// After the replay: a retry of a post that was saved is answered
		// even on a full disk.
		if err := s.roomForPost(); err != nil {
			return err
		}
		now := s.now()
		token := newOwnerToken()
		if in.IdempotencyKey != "" {
			token = s.idempotentOwnerToken(in.Board, in.IdempotencyKey)
		}
		row := &topicRow{Board: in.Board, Author: in.Author, Comment: in.Comment,
			OwnerHash: hashToken(token), CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("store: insert topic: %w", err)
		}
		if in.ImageID != "" {
			if err := attachImage(ctx, tx, row, in.ImageID); err != nil {
				return err
			}
		}
		if in.IdempotencyKey != "" {
			key := &idempotencyRow{Board: in.Board, KeyHash: keyHash(in.IdempotencyKey),
				PostHash: postHash(in.IdempotencyKey, in.Author, in.Comment, in.ImageID), TopicID: row.ID, CreatedAt: now}
			if _, err := tx.NewInsert().Model(key).Exec(ctx); err != nil {
				return fmt.Errorf("store: insert idempotency key: %w", err)
			}
		}
		trimmed, err := s.trimBoard(ctx, tx, in.Board)
		if err != nil {
			return err
		}
		for _, id := range trimmed {
			if _, err := s.appendChange(ctx, tx, shared.ChangeDeleted, shared.Topic{ID: id, Board: in.Board}); err != nil {
				return err
			}
		}
		// The created change comes last, so its seq is the transaction's
		// highest: waking the feed with it covers the deletes too.
		topic := row.topic()
		change, t, err := s.appendCounted(ctx, tx, shared.ChangeCreated, topic)
		if err != nil {
			return err
		}
		if err := s.checkGrowth(ctx, tx, in.Board, t); err != nil {
			return err
		}
		out.CreatedTopic = shared.CreatedTopic{Topic: topic, OwnerToken: token}
		out.Change = change
		return nil
	})
	return out, err
}

// maxTrim bounds the topics one post deletes, so lowering the cap on a big
// board spreads the deletes over the next posts instead of one long
// transaction.
const maxTrim = 100

// trimBoard deletes the board's oldest topics beyond the cap, oldest first,
// and returns the ids it deleted. Two concurrent posts on PostgreSQL may
// pick the same topic: the second finds it gone (no row deleted) and writes
// no change for it, and the board is trimmed fully by the next post.
func (s *Store) trimBoard(ctx context.Context, tx bun.Tx, board string) ([]int64, error) {
	if s.maxTopics <= 0 {
		return nil, nil
	}
	var excess []int64
	if err := tx.NewSelect().Model((*topicRow)(nil)).Column("id").Where("board = ?", board).
		Order("id DESC").Offset(int64(s.maxTopics)).Limit(maxTrim).Scan(ctx, &excess); err != nil {
		return nil, fmt.Errorf("store: find topics over the cap: %w", err)
	}
	var deleted []int64
	for i := len(excess) - 1; i >= 0; i-- {
		res, err := tx.NewDelete().Model((*topicRow)(nil)).Where("id = ?", excess[i]).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: delete topic over the cap: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			deleted = append(deleted, excess[i])
			// A trimmed topic takes its picture along.
			if err := deleteTopicImage(ctx, tx, excess[i]); err != nil {
				return nil, err
			}
		}
	}
	return deleted, nil
}

// replay answers a post whose idempotency key was seen before: the first
// answer again when the post is the same, idempotency_mismatch when not.
// The topic is rebuilt from the key's row and the post (whose author and
// comment match the row's hash), so the answer is the first one even after
// the topic was edited or deleted.
func (s *Store) replay(ctx context.Context, tx bun.Tx, in NewTopic) (Created, bool, error) {
	var key idempotencyRow
	err := tx.NewSelect().Model(&key).
		Where("board = ? AND key_hash = ?", in.Board, keyHash(in.IdempotencyKey)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Created{}, false, nil
	}
	if err != nil {
		return Created{}, false, fmt.Errorf("store: read idempotency key: %w", err)
	}
	if key.PostHash != postHash(in.IdempotencyKey, in.Author, in.Comment, in.ImageID) {
		return Created{}, true, shared.Errorf(shared.CodeIdempotencyMismatch,
			"This Idempotency-Key was already used for a different post on this board; use a new key for a new post.")
	}
	created := key.CreatedAt.UTC()
	var image *shared.Image
	if in.ImageID != "" {
		if image, err = topicImage(ctx, tx, key.TopicID); err != nil {
			return Created{}, true, err
		}
	}
	return Created{Replayed: true, CreatedTopic: shared.CreatedTopic{
		Topic: shared.Topic{ID: key.TopicID, Board: key.Board, Author: in.Author,
			Comment: in.Comment, CreatedAt: created, UpdatedAt: created, Image: image},
		OwnerToken: s.idempotentOwnerToken(in.Board, in.IdempotencyKey),
	}}, true, nil
}

// EditTopic replaces a topic's comment; only its owner may.
func (s *Store) EditTopic(ctx context.Context, board string, id int64, comment string, who Actor) (shared.Topic, shared.Change, error) {
	s.retakeDisk()
	var topic shared.Topic
	var change shared.Change
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.authorize(ctx, tx, board, id, Actor{Token: who.Token})
		if err != nil {
			return err
		}
		if err := s.roomForPost(); err != nil {
			return err
		}
		row.Comment, row.UpdatedAt = comment, s.now()
		if _, err := tx.NewUpdate().Model(row).Column("comment", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store: update topic: %w", err)
		}
		topic = row.topic()
		change, err = s.appendChange(ctx, tx, shared.ChangeUpdated, topic)
		return err
	})
	return topic, change, err
}

// DeleteTopic removes a topic; its owner or the moderator may.
func (s *Store) DeleteTopic(ctx context.Context, board string, id int64, who Actor) (shared.Change, error) {
	change, err := s.deleteTopic(ctx, board, id, who)
	if s.disk != nil && ReasonOf(err) == DiskFull {
		// The write that found the disk full may have been this one, or
		// its batch: the reserve was given up then, so try once more (a
		// write refused by SQLITE_FULL did not commit). Refused again,
		// the space is gone: say so for a delete.
		if change, err = s.deleteTopic(ctx, board, id, who); ReasonOf(err) == DiskFull {
			err = newOutage(DiskFull, msgDiskFullDelete, err)
		}
	}
	return change, err
}

func (s *Store) deleteTopic(ctx context.Context, board string, id int64, who Actor) (shared.Change, error) {
	var change shared.Change
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.authorize(ctx, tx, board, id, who)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("store: delete topic: %w", err)
		}
		if row.ImageID != "" {
			if err := deleteTopicImage(ctx, tx, row.ID); err != nil {
				return err
			}
		}
		change, err = s.appendChange(ctx, tx, shared.ChangeDeleted, shared.Topic{ID: row.ID, Board: row.Board})
		return err
	})
	return change, err
}

// authorize loads the topic and checks the actor, in the contract's order:
// an unknown topic is not_found whatever the token, then a missing token is
// unauthorized, then a wrong one forbidden.
func (s *Store) authorize(ctx context.Context, tx bun.Tx, board string, id int64, who Actor) (*topicRow, error) {
	row := new(topicRow)
	err := tx.NewSelect().Model(row).Where("id = ? AND board = ?", id, board).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, shared.Errorf(shared.CodeNotFound, fmt.Sprintf(
			"There is no topic %d on board %q; it may have been deleted.", id, board))
	}
	if err != nil {
		return nil, fmt.Errorf("store: read topic: %w", err)
	}
	switch {
	case who.Token == "":
		return nil, shared.Errorf(shared.CodeUnauthorized,
			"Send the topic's owner token as 'Authorization: Bearer <token>'.")
	case who.Moderator || tokenMatches(who.Token, row.OwnerHash):
		return row, nil
	default:
		return nil, shared.Errorf(shared.CodeForbidden,
			"This token does not own topic "+strconv.FormatInt(id, 10)+"; only its author can change it.")
	}
}

// Snapshot returns the board's newest topics and the cursor to follow it
// from. The head is read in the same read transaction as the topics, so
// every change after the cursor is one the snapshot does not yet show.
func (s *Store) Snapshot(ctx context.Context, board string, limit int) (shared.Snapshot, error) {
	return s.page(ctx, board, 0, limit)
}

// Older returns up to limit of board's topics with ids below before,
// newest first, with the board's current cursor: the next page of a
// board past what a snapshot showed.
func (s *Store) Older(ctx context.Context, board string, before int64, limit int) (shared.Snapshot, error) {
	return s.page(ctx, board, before, limit)
}

// page reads topics below before (0: from the newest) and the head in one
// read transaction, so the cursor is exactly the state the topics show.
func (s *Store) page(ctx context.Context, board string, before int64, limit int) (shared.Snapshot, error) {
	snap := shared.Snapshot{Board: board, Topics: []shared.Topic{}}
	err := s.readTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		head, err := headSeq(ctx, tx)
		if err != nil {
			return err
		}
		var rows []topicRow
		q := tx.NewSelect().Model(&rows).Where("board = ?", board)
		if before > 0 {
			q = q.Where("id < ?", before)
		}
		if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
			return fmt.Errorf("store: read topics: %w", err)
		}
		snap.Seq, snap.Cursor = head, s.cursor(head)
		for i := range rows {
			snap.Topics = append(snap.Topics, rows[i].topic())
		}
		return nil
	})
	return snap, err
}
