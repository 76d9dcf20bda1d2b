-- Pictures (DESIGN.md section 3) live in the database beside their topics,
-- so a backup holds both and replicas need nothing more. One row per
-- upload: the picture and its preview as the server re-encoded them, the
-- facts every topic carries (type, width, height), a hash of each for its
-- ETag, and the topic that uses it (NULL until a post attaches it; unused
-- uploads are removed after a day). The byte columns come last, so SQLite
-- reads the small columns without walking a picture's overflow pages.
-- key_hash and upload_hash are an Idempotency-Key's hash and the hash of
-- the key with the body sent under it, as for posts (idempotency.go).
CREATE TABLE images (
	id            VARCHAR(32) PRIMARY KEY,
	board         VARCHAR(64) NOT NULL,
	type          VARCHAR(16) NOT NULL,
	width         INTEGER NOT NULL,
	height        INTEGER NOT NULL,
	bytes         BIGINT NOT NULL,
	etag          VARCHAR(64) NOT NULL,
	preview_etag  VARCHAR(64) NOT NULL,
	topic_id      BIGINT,
	key_hash      VARCHAR(64),
	upload_hash   VARCHAR(64),
	created_at    {{.Timestamp}} NOT NULL,
	full_bytes    {{if eq .Dialect "pg"}}BYTEA{{else}}BLOB{{end}} NOT NULL,
	preview_bytes {{if eq .Dialect "pg"}}BYTEA{{else}}BLOB{{end}} NOT NULL
);

--bun:split

CREATE INDEX images_topic ON images (topic_id);

--bun:split

-- NULL keys do not collide (SQLite and PostgreSQL alike), so only uploads
-- sent with a key are unique per board.
CREATE UNIQUE INDEX images_board_key ON images (board, key_hash);

--bun:split

-- Unused uploads: the sweep finds them by age, and an upload sums their
-- bytes (store.Options.MaxUnusedImageBytes) from the index alone.
CREATE INDEX images_unused ON images (created_at, bytes) WHERE topic_id IS NULL;

--bun:split

-- A topic names its picture and repeats what every reader of it needs, so
-- a snapshot reads topics alone, without a join into the pictures' table.
ALTER TABLE topics ADD COLUMN image_id VARCHAR(32);

--bun:split

ALTER TABLE topics ADD COLUMN image_type VARCHAR(16);

--bun:split

ALTER TABLE topics ADD COLUMN image_width INTEGER;

--bun:split

ALTER TABLE topics ADD COLUMN image_height INTEGER;
