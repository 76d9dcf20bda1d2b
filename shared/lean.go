package shared

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// The lean framing of a change on the event stream, asked for with ?v=2
// (DESIGN.md section 3). Every change frame of the first framing repeats
// what the stream already says: the cursor (also the event's id), the
// board (twice; a stream follows one board) and, on a create, an
// updated_at equal to created_at. The lean frame says each thing once:
//
//	event: <kind>                      created, updated or deleted
//	id: <seq>                          the cursor's seq; the epoch is the
//	                                   one the client follows
//	data: {"id":…,"author":…,"comment":…,"created_at":…}
//
// Its data is the topic without "board", without "updated_at" when that
// equals "created_at", and without fields that are empty (a deletion
// carries only the id). Given the board and the epoch it is lossless:
// DecodeLeanChange gives back the Change the first framing sends.

// LeanStreamVersion is the value of the events endpoint's ?v= that asks
// for lean change frames.
const LeanStreamVersion = "2"

// leanTopic is a Topic as a lean frame's data carries it.
type leanTopic struct {
	ID        int64      `json:"id"`
	Author    string     `json:"author,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	Image     *Image     `json:"image,omitempty"`
}

// EncodeLeanChange is the data of c's lean frame; its event type is
// c.Kind and its id c.Seq.
func EncodeLeanChange(c Change) []byte {
	t := c.Topic
	lt := leanTopic{ID: t.ID, Author: t.Author, Comment: t.Comment, Image: t.Image}
	if !t.CreatedAt.IsZero() {
		lt.CreatedAt = &t.CreatedAt
	}
	if !t.UpdatedAt.Equal(t.CreatedAt) {
		lt.UpdatedAt = &t.UpdatedAt
	}
	data, err := json.Marshal(lt)
	if err != nil {
		panic(err) // plain fields always marshal
	}
	return data
}

var errLeanFrame = errors.New("shared: not a lean change frame")

// DecodeLeanChange is the Change a lean frame stands for on board, in
// the change log of epoch. An unknown type, an id that is not a seq, or
// data that is not a topic is an error: the frame is not skipped but the
// stream resumed from the last cursor applied.
func DecodeLeanChange(typ, id, data, board, epoch string) (Change, error) {
	kind := ChangeKind(typ)
	if kind != ChangeCreated && kind != ChangeUpdated && kind != ChangeDeleted {
		return Change{}, errLeanFrame
	}
	seq, err := strconv.ParseInt(id, 10, 64)
	if err != nil || seq <= 0 || epoch == "" {
		return Change{}, errLeanFrame
	}
	var lt leanTopic
	if err := json.Unmarshal([]byte(data), &lt); err != nil {
		return Change{}, err
	}
	t := Topic{ID: lt.ID, Board: board, Author: lt.Author, Comment: lt.Comment, Image: lt.Image}
	if lt.CreatedAt != nil {
		t.CreatedAt = *lt.CreatedAt
	}
	t.UpdatedAt = t.CreatedAt
	if lt.UpdatedAt != nil {
		t.UpdatedAt = *lt.UpdatedAt
	}
	cur := Cursor{Epoch: epoch, Seq: seq}
	return Change{Seq: seq, Cursor: cur.String(), Board: board, Kind: kind, Topic: t}, nil
}
