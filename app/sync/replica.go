// Package sync is the client's sync engine: it keeps one board's replica
// and cursor, follows the board over SSE or long polling, reconnects with
// backoff, and tells the UI what it has. It runs the same natively (tests,
// tools) and in the browser; only the stream transport differs
// (stream_native.go, stream_wasm.go).
package sync

import (
	"slices"
	"time"

	"github.com/kairan/kairan/shared"
)

// Replica is a client's copy of a board: its newest topics and the cursor
// they are current up to.
type Replica struct {
	Board  string         `json:"board"`
	Cursor string         `json:"cursor"`
	Topics []shared.Topic `json:"topics"` // newest first
	// SyncedAt is when the replica was last known to be current.
	SyncedAt time.Time `json:"synced_at"`
	// Complete: the replica reaches the board's oldest topic (no older
	// page to fetch).
	Complete bool `json:"complete,omitempty"`
}

// Reset replaces the replica with a snapshot.
func (r *Replica) Reset(s shared.Snapshot) {
	r.Board, r.Cursor = s.Board, s.Cursor
	r.Topics = slices.Clone(s.Topics)
}

// Apply applies changes idempotently by topic id: applying a change twice,
// or an older "created" after an "updated", leaves the same replica.
// Changes of other boards are ignored.
func (r *Replica) Apply(changes ...shared.Change) {
	for _, c := range changes {
		if c.Board != r.Board {
			continue
		}
		r.Cursor = c.Cursor
		i := slices.IndexFunc(r.Topics, func(t shared.Topic) bool { return t.ID == c.Topic.ID })
		switch {
		case c.Kind == shared.ChangeDeleted:
			if i >= 0 {
				r.Topics = slices.Delete(r.Topics, i, i+1)
			}
		case i >= 0:
			if !c.Topic.UpdatedAt.Before(r.Topics[i].UpdatedAt) {
				r.Topics[i] = c.Topic
			}
		default:
			at, _ := slices.BinarySearchFunc(r.Topics, c.Topic.ID, func(t shared.Topic, id int64) int {
				switch { // newest (highest id) first
				case t.ID > id:
					return -1
				case t.ID < id:
					return 1
				}
				return 0
			})
			r.Topics = slices.Insert(r.Topics, at, c.Topic)
		}
	}
}

// Clone returns a copy that shares nothing with r.
func (r Replica) Clone() Replica {
	r.Topics = slices.Clone(r.Topics)
	return r
}
