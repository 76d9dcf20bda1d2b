package store

import (
	"time"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// Row structs mirror the migrations; they never leave this package.

type metaRow struct {
	bun.BaseModel `bun:"table:meta"`
	Key           string `bun:"key,pk"`
	Value         string `bun:"value,notnull"`
}

type counterRow struct {
	bun.BaseModel `bun:"table:change_counter"`
	ID            int   `bun:"id,pk"`
	Last          int64 `bun:"last,notnull"`
	// Topics is how many topics exist (growth.go).
	Topics int64 `bun:"topics,notnull"`
}

type topicRow struct {
	bun.BaseModel `bun:"table:topics"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Board         string    `bun:"board,notnull"`
	Author        string    `bun:"author,notnull"`
	Comment       string    `bun:"comment,notnull"`
	OwnerHash     string    `bun:"owner_hash,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	// The picture, when the topic has one (images.go); NULL otherwise.
	ImageID     string `bun:"image_id,nullzero"`
	ImageType   string `bun:"image_type,nullzero"`
	ImageWidth  int    `bun:"image_width,nullzero"`
	ImageHeight int    `bun:"image_height,nullzero"`
}

func (r *topicRow) topic() shared.Topic {
	t := shared.Topic{
		ID: r.ID, Board: r.Board, Author: r.Author, Comment: r.Comment,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.ImageID != "" {
		t.Image = &shared.Image{ID: r.ImageID, Type: r.ImageType, Width: r.ImageWidth, Height: r.ImageHeight}
	}
	return t
}

// imageRow is one upload (images.go). The byte columns are read only by
// ImageFile; every other read names its columns.
type imageRow struct {
	bun.BaseModel `bun:"table:images"`
	ID            string    `bun:"id,pk"`
	Board         string    `bun:"board,notnull"`
	Type          string    `bun:"type,notnull"`
	Width         int       `bun:"width,notnull"`
	Height        int       `bun:"height,notnull"`
	Bytes         int64     `bun:"bytes,notnull"`
	ETag          string    `bun:"etag,notnull"`
	PreviewETag   string    `bun:"preview_etag,notnull"`
	TopicID       int64     `bun:"topic_id,nullzero"`
	KeyHash       string    `bun:"key_hash,nullzero"`
	UploadHash    string    `bun:"upload_hash,nullzero"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	Full          []byte    `bun:"full_bytes,notnull"`
	Preview       []byte    `bun:"preview_bytes,notnull"`
}

func (r *imageRow) uploaded() shared.UploadedImage {
	return shared.UploadedImage{Bytes: r.Bytes,
		Image: shared.Image{ID: r.ID, Type: r.Type, Width: r.Width, Height: r.Height}}
}

type changeRow struct {
	bun.BaseModel `bun:"table:changes"`
	Seq           int64     `bun:"seq,pk"`
	Board         string    `bun:"board,notnull"`
	Kind          string    `bun:"kind,notnull"`
	TopicID       int64     `bun:"topic_id,notnull"`
	Topic         string    `bun:"topic,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

// idempotencyRow keeps hashes only (idempotency.go).
type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys"`
	Board         string    `bun:"board,pk"`
	KeyHash       string    `bun:"key_hash,pk"`
	PostHash      string    `bun:"post_hash,notnull"`
	TopicID       int64     `bun:"topic_id,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}
