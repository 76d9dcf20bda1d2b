-- Tallies for the growth caps (store/growth.go), kept in the same write
-- transactions as the change log they follow: the counter row also counts
-- every topic, and boards counts each board's topics while it has any.
ALTER TABLE change_counter ADD COLUMN topics BIGINT NOT NULL DEFAULT 0;

--bun:split

UPDATE change_counter SET topics = (SELECT COUNT(*) FROM topics) WHERE id = 1;

--bun:split

CREATE TABLE boards (
	name   VARCHAR(64) PRIMARY KEY,
	topics BIGINT NOT NULL
);

--bun:split

INSERT INTO boards (name, topics) SELECT board, COUNT(*) FROM topics GROUP BY board;

