package shared

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
	lt, err := decodeLeanData(data)
	if err != nil {
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

// decodeLeanData reads a lean frame's data: by decodeLeanPlain when it
// can, else by encoding/json, into a fresh topic.
func decodeLeanData(data string) (leanTopic, error) {
	if lt, plain := decodeLeanPlain(data); plain {
		return lt, nil
	}
	var lt leanTopic
	err := json.Unmarshal([]byte(data), &lt)
	return lt, err
}

// decodeLeanPlain reads lean data written as EncodeLeanChange writes a
// topic without a picture: its fields in that order, no spaces, an id of
// at most 18 digits and strings that need no unescaping. That is nearly
// every frame, and reading it this way costs a client a fifth of what
// encoding/json's reflection does (BenchmarkDecodeChange; it matters most
// in the browser's WebAssembly). Anything else (an escape, a picture,
// another order, a space, bytes that are not UTF-8) is left to
// encoding/json: plain is false. When plain is true, lt is what
// json.Unmarshal would give; FuzzLeanPlainMatchesJSON holds it to that.
func decodeLeanPlain(data string) (lt leanTopic, plain bool) {
	r := leanReader{rest: data, ok: true}
	r.ok = r.key(`{"id":`)
	lt.ID = r.id()
	if r.key(`,"author":`) {
		lt.Author = r.text()
	}
	if r.key(`,"comment":`) {
		lt.Comment = r.text()
	}
	if r.key(`,"created_at":`) {
		lt.CreatedAt = r.time()
	}
	if r.key(`,"updated_at":`) {
		lt.UpdatedAt = r.time()
	}
	return lt, r.ok && r.rest == "}"
}

// leanReader is what is left of lean data to read; ok turns false at the
// first thing that is not plain, and from then on nothing more is read.
type leanReader struct {
	rest string
	ok   bool
}

// key consumes prefix if the data goes on with it.
func (r *leanReader) key(prefix string) bool {
	if !r.ok || !strings.HasPrefix(r.rest, prefix) {
		return false
	}
	r.rest = r.rest[len(prefix):]
	return true
}

// id reads a positive integer without a leading zero, short enough that
// it cannot overflow an int64.
func (r *leanReader) id() int64 {
	n := 0
	for n < len(r.rest) && '0' <= r.rest[n] && r.rest[n] <= '9' {
		n++
	}
	if !r.ok || n == 0 || n > 18 || r.rest[0] == '0' {
		r.ok = false
		return 0
	}
	v, err := strconv.ParseInt(r.rest[:n], 10, 64)
	r.rest, r.ok = r.rest[n:], err == nil
	return v
}

// quoted reads a JSON string that holds no escape and no control
// character, quotes and all.
func (r *leanReader) quoted() string {
	if !r.ok || !strings.HasPrefix(r.rest, `"`) {
		r.ok = false
		return ""
	}
	end := strings.IndexByte(r.rest[1:], '"') + 1
	r.ok = end > 0 && unescaped(r.rest[1:end])
	if !r.ok {
		return ""
	}
	q := r.rest[:end+1]
	r.rest = r.rest[end+1:]
	return q
}

// unescaped is whether a string's body holds no escape and no control
// character, so that it is its own value.
func unescaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == '\\' {
			return false
		}
	}
	return true
}

// text reads a string; encoding/json would replace bytes that are not
// UTF-8, so such a string is not plain.
func (r *leanReader) text() string {
	q := r.quoted()
	if !r.ok || !utf8.ValidString(q) {
		r.ok = false
		return ""
	}
	return q[1 : len(q)-1]
}

// time reads a time as encoding/json does: by the quoted literal's
// UnmarshalJSON.
func (r *leanReader) time() *time.Time {
	q := r.quoted()
	t := new(time.Time)
	if !r.ok || t.UnmarshalJSON([]byte(q)) != nil {
		r.ok = false
		return nil
	}
	return t
}
