-- meta holds facts about this database: its random epoch (the first half of
-- every cursor) and the secret that derives owner tokens of idempotent posts.
CREATE TABLE meta (
	key   VARCHAR(64) PRIMARY KEY,
	value TEXT NOT NULL
);

--bun:split

-- One row whose update allocates the next change seq. On PostgreSQL its row
-- lock is held until commit, so seq order is commit order (DESIGN.md §2).
CREATE TABLE change_counter (
	id   INTEGER PRIMARY KEY,
	last BIGINT NOT NULL
);

--bun:split

INSERT INTO change_counter (id, last) VALUES (1, 0);

--bun:split

CREATE TABLE topics (
	id         {{if eq .Dialect "pg"}}BIGSERIAL PRIMARY KEY{{else}}INTEGER PRIMARY KEY AUTOINCREMENT{{end}},
	board      VARCHAR(64) NOT NULL,
	author     TEXT NOT NULL,
	comment    TEXT NOT NULL,
	owner_hash VARCHAR(64) NOT NULL,
	created_at {{.Timestamp}} NOT NULL,
	updated_at {{.Timestamp}} NOT NULL
);

--bun:split

CREATE INDEX topics_board_id ON topics (board, id);

--bun:split

-- The change log: one row per create, edit and delete, written in the same
-- transaction as the change itself. topic is the JSON the clients receive.
CREATE TABLE changes (
	seq        BIGINT PRIMARY KEY,
	board      VARCHAR(64) NOT NULL,
	kind       VARCHAR(16) NOT NULL,
	topic_id   BIGINT NOT NULL,
	topic      TEXT NOT NULL,
	created_at {{.Timestamp}} NOT NULL
);

--bun:split

CREATE INDEX changes_board_seq ON changes (board, seq);

--bun:split

-- Idempotency keys are scoped to a board. The row remembers what was posted
-- so a replay can be told apart from a different post under the same key.
CREATE TABLE idempotency_keys (
	board      VARCHAR(64) NOT NULL,
	key        VARCHAR(64) NOT NULL,
	topic_id   BIGINT NOT NULL,
	author     TEXT NOT NULL,
	comment    TEXT NOT NULL,
	created_at {{.Timestamp}} NOT NULL,
	PRIMARY KEY (board, key)
);
