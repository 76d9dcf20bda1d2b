package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// Pictures live in the images table, written in the same transaction
// discipline as topics (DESIGN.md section 3): an upload is a row of its
// own with no topic; a post attaches it in the post's transaction (only
// an unused upload of the same board); a topic's delete, by its owner, the
// moderator or the board's cap, deletes its picture in the same
// transaction; uploads never attached are swept after UnusedImageTTL.
// Uploads write no change: nobody sees a picture until a post shows it.

// UnusedImageTTL is how long an upload waits for its post: long enough for
// a phone to upload, lose its network and post later in the day, short
// enough that pictures nobody posted do not pile up.
const UnusedImageTTL = 24 * time.Hour

// NewImage is a picture the server has re-encoded, ready to keep.
type NewImage struct {
	Board         string
	Type          string
	Width, Height int
	Full, Preview []byte
	// IdempotencyKey, when set, makes a retry with the same body (BodyHash,
	// a hash of the bytes as sent) answer with the first upload.
	IdempotencyKey string
	BodyHash       string
}

// CreatedImage is the result of CreateImage; Replayed when the key had
// been used before for the same body.
type CreatedImage struct {
	shared.UploadedImage
	Replayed bool
}

// ImageFile is a stored picture or preview as it is served.
type ImageFile struct {
	Type  string
	ETag  string // hex SHA-256 of Bytes
	Bytes []byte
}

// CreateImage keeps an upload. Its id is 128 random bits, so one picture's
// URL tells nothing about another's.
func (s *Store) CreateImage(ctx context.Context, in NewImage) (CreatedImage, error) {
	s.retakeDisk()
	out, err := s.createImage(ctx, in)
	if err != nil && in.IdempotencyKey != "" && uniqueViolation(err) {
		// A concurrent upload with the same key committed first.
		return s.createImage(ctx, in)
	}
	return out, err
}

func (s *Store) createImage(ctx context.Context, in NewImage) (CreatedImage, error) {
	var out CreatedImage
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if in.IdempotencyKey != "" {
			var prior imageRow
			err := tx.NewSelect().Model(&prior).Column("id", "board", "type", "width", "height", "bytes", "upload_hash").
				Where("board = ? AND key_hash = ?", in.Board, keyHash(in.IdempotencyKey)).Scan(ctx)
			switch {
			case err == nil && prior.UploadHash != uploadHash(in.IdempotencyKey, in.BodyHash):
				return shared.Errorf(shared.CodeIdempotencyMismatch,
					"This Idempotency-Key was already used for a different picture on this board; use a new key for a new upload.")
			case err == nil:
				out = CreatedImage{UploadedImage: prior.uploaded(), Replayed: true}
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("store: read image idempotency key: %w", err)
			}
		}
		if err := s.roomForPost(); err != nil {
			return err
		}
		if err := s.roomForUnused(ctx, tx, int64(len(in.Full))); err != nil {
			return err
		}
		row := &imageRow{ID: newImageID(), Board: in.Board, Type: in.Type, Width: in.Width, Height: in.Height,
			Bytes: int64(len(in.Full)), ETag: etag(in.Full), PreviewETag: etag(in.Preview),
			CreatedAt: s.now(), Full: in.Full, Preview: in.Preview}
		if in.IdempotencyKey != "" {
			row.KeyHash, row.UploadHash = keyHash(in.IdempotencyKey), uploadHash(in.IdempotencyKey, in.BodyHash)
		}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("store: insert image: %w", err)
		}
		out = CreatedImage{UploadedImage: row.uploaded()}
		return nil
	})
	return out, err
}

// roomForUnused refuses an upload that would take the unused uploads past
// maxUnused. Uploads wait unused only between their upload and their post,
// so a full pool means someone uploads without posting: the cap keeps that
// from filling the disk in the day before the sweep, at the cost of
// pictures until the oldest unused upload expires, which the refusal's
// Retry-After names. (On PostgreSQL two racing uploads may both pass: the
// pool overshoots by at most the uploads in flight.)
func (s *Store) roomForUnused(ctx context.Context, tx bun.Tx, n int64) error {
	if s.maxUnused <= 0 {
		return nil
	}
	var pool struct {
		Bytes  int64
		Oldest time.Time
	}
	if err := tx.NewSelect().Model((*imageRow)(nil)).ColumnExpr("COALESCE(SUM(bytes), 0) AS bytes").
		ColumnExpr("MIN(created_at) AS oldest").Where("topic_id IS NULL").Scan(ctx, &pool.Bytes, &pool.Oldest); err != nil {
		return fmt.Errorf("store: sum unused images: %w", err)
	}
	if pool.Bytes+n <= s.maxUnused {
		return nil
	}
	wait := max(time.Minute, pool.Oldest.Add(UnusedImageTTL).Sub(s.now()))
	return &shared.Error{Code: shared.CodeRateLimited, RetryAfter: wait, Message: fmt.Sprintf(
		"The server holds as many pictures waiting for their posts as it keeps (%d MiB); try again in %s, or post without a picture.",
		s.maxUnused>>20, wait.Round(time.Minute))}
}

// ReadImage returns a picture, or its preview, for serving.
func (s *Store) ReadImage(ctx context.Context, id string, preview bool) (ImageFile, error) {
	var f ImageFile
	cols := []string{"type", "etag", "full_bytes"}
	if preview {
		cols = []string{"type", "preview_etag", "preview_bytes"}
	}
	err := s.read(ctx, func(ctx context.Context) error {
		return s.reader.NewSelect().Model((*imageRow)(nil)).Column(cols...).
			Where("id = ?", id).Scan(ctx, &f.Type, &f.ETag, &f.Bytes)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return ImageFile{}, shared.Errorf(shared.CodeNotFound,
			"There is no picture "+fmt.Sprintf("%q", clip(id))+"; it may have been deleted with its topic.")
	}
	if err != nil {
		return ImageFile{}, fmt.Errorf("store: read image: %w", err)
	}
	return f, nil
}

// attachImage gives the topic being posted its picture: an upload of the
// same board that no post uses yet. The row lock the UPDATE takes makes a
// second post racing for the same upload (PostgreSQL) find it used.
func attachImage(ctx context.Context, tx bun.Tx, row *topicRow, imageID string) error {
	var img imageRow
	err := tx.NewSelect().Model(&img).Column("type", "width", "height").
		Where("id = ? AND board = ? AND topic_id IS NULL", imageID, row.Board).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return errImageUnavailable
	}
	if err != nil {
		return fmt.Errorf("store: read image to attach: %w", err)
	}
	res, err := tx.NewUpdate().Model((*imageRow)(nil)).Set("topic_id = ?", row.ID).
		Where("id = ? AND topic_id IS NULL", imageID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: attach image: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errImageUnavailable
	}
	row.ImageID, row.ImageType, row.ImageWidth, row.ImageHeight = imageID, img.Type, img.Width, img.Height
	_, err = tx.NewUpdate().Model(row).Column("image_id", "image_type", "image_width", "image_height").WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("store: record topic's image: %w", err)
	}
	return nil
}

var errImageUnavailable = shared.Errorf(shared.CodeImageUnavailable,
	"This board has no unused picture with that id (it was used by another post, removed after a day unused, or uploaded to another board); upload the picture again.")

// deleteTopicImage removes the picture of a topic that is being deleted.
func deleteTopicImage(ctx context.Context, tx bun.Tx, topicID int64) error {
	if _, err := tx.NewDelete().Model((*imageRow)(nil)).Where("topic_id = ?", topicID).Exec(ctx); err != nil {
		return fmt.Errorf("store: delete topic's image: %w", err)
	}
	return nil
}

// topicImage is the picture a topic has, for replaying its post; nil once
// it is gone (the topic was deleted).
func topicImage(ctx context.Context, tx bun.Tx, topicID int64) (*shared.Image, error) {
	var img imageRow
	err := tx.NewSelect().Model(&img).Column("id", "type", "width", "height").Where("topic_id = ?", topicID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read topic's image: %w", err)
	}
	return &shared.Image{ID: img.ID, Type: img.Type, Width: img.Width, Height: img.Height}, nil
}

// PruneImages removes uploads no post attached within maxAge and reports
// how many; run beside PruneIdempotency.
func (s *Store) PruneImages(ctx context.Context, maxAge time.Duration) (int64, error) {
	if s.disk != nil {
		// As PruneIdempotency: on a full disk, leave the reserve to deletes.
		if err := s.disk.room(); err != nil {
			return 0, err
		}
	}
	var n int64
	cutoff := s.now().Add(-maxAge)
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*imageRow)(nil)).Where("topic_id IS NULL AND created_at < ?", cutoff).Exec(ctx)
		if err != nil {
			return fmt.Errorf("store: prune unused images: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

func newImageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// uploadHash binds a key to the body sent under it, as postHash does.
func uploadHash(key, bodyHash string) string {
	sum := sha256.Sum256([]byte("idempotent-upload\x00" + key + "\x00" + bodyHash))
	return hex.EncodeToString(sum[:])
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
