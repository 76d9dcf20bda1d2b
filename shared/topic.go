// Package shared is the vocabulary the server and the WebAssembly client both
// compile: the wire types of DESIGN.md section 3, their validation, cursors
// and errors. It imports only the standard library so the wasm stays small.
package shared

import "time"

// Topic is one comment on a board.
type Topic struct {
	ID        int64     `json:"id"`
	Board     string    `json:"board"`
	Author    string    `json:"author"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Image is the topic's picture; nil (and absent on the wire) when it
	// has none.
	Image *Image `json:"image,omitempty"`
}

// Snapshot is a board's newest topics (newest first) and the cursor from
// which changes after the snapshot can be followed.
type Snapshot struct {
	Seq    int64   `json:"-"` // Cursor's position, as in Change
	Board  string  `json:"board"`
	Cursor string  `json:"cursor"`
	Topics []Topic `json:"topics"`
}

// ChangeKind says what happened to a topic.
type ChangeKind string

// The kinds of change.
const (
	ChangeCreated ChangeKind = "created"
	ChangeUpdated ChangeKind = "updated"
	ChangeDeleted ChangeKind = "deleted"
)

// Change is one entry of the change log as clients see it. For a deletion
// Topic carries at least ID and Board.
type Change struct {
	// Seq is Cursor's position in the change log, kept beside it inside
	// the server so nothing parses it back out of the string. It is not
	// on the wire (the cursor is, DESIGN.md section 3).
	Seq    int64      `json:"-"`
	Cursor string     `json:"cursor"`
	Board  string     `json:"board"`
	Kind   ChangeKind `json:"kind"`
	Topic  Topic      `json:"topic"`
}

// CreatedTopic is the answer to a successful post. OwnerToken lets its
// holder edit and delete the topic; it is shown nowhere else.
type CreatedTopic struct {
	Topic      Topic  `json:"topic"`
	OwnerToken string `json:"owner_token"`
}
