package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/kairan/kairan/shared"
)

// Lean frames (?v=2, DESIGN.md section 3): the same changes in the same
// order as the first framing, each said once, decoded back to exactly the
// Change the first framing sends.

// wantLean reads the next event of a lean stream and decodes it.
func (e *streamEnv) wantLean(t *testing.T, s *stream, board string) shared.Change {
	t.Helper()
	ev := s.next(t)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("lean frame %q: %v: %s", ev.Type, err, ev.Data)
	}
	for _, repeated := range []string{"cursor", "board", "kind", "topic"} {
		if _, ok := m[repeated]; ok {
			t.Fatalf("lean frame %q carries %q: %s", ev.Type, repeated, ev.Data)
		}
	}
	c, err := shared.DecodeLeanChange(ev.Type, ev.ID, ev.Data, board, e.st.Epoch())
	if err != nil {
		t.Fatalf("lean frame %q id %q %s: %v", ev.Type, ev.ID, ev.Data, err)
	}
	c.Seq = 0 // as wantNext's changes: the cursor says it
	return c
}

func TestLeanStreamMatchesTheFirstFraming(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	a := e.post(t, "lobby", "Ada", "a")     // 1
	e.post(t, "other", "Xi", "x")           // 2
	b := e.post(t, "lobby", "Bob", "こんにちは") // 3
	e.edit(t, b, "b, edited", 4)            // 4

	// A replay from 1 and the live changes after it, both framings side
	// by side.
	v1 := e.open(t, eventsPath("lobby", e.cursor(1)), nil)
	v2 := e.open(t, "/api/boards/lobby/events?v=2&cursor="+e.cursor(1), nil)
	e.edit(t, a, "a, edited", 5)
	e.remove(t, a, 6)
	e.post(t, "other", "Yu", "y")  // 7, unseen
	e.post(t, "lobby", "Dee", "d") // 8
	for range []int64{3, 4, 5, 6, 8} {
		want := wantChange(t, v1.next(t))
		if got := e.wantLean(t, v2, "lobby"); got != want {
			t.Fatalf("lean change\n got %+v\nwant %+v", got, want)
		}
	}
	v2.nothingPending(t)

	// Without a cursor the stream starts with the same reset as before:
	// its id is the whole cursor, so a client learns the epoch there.
	s := e.open(t, "/api/boards/lobby/events?v=2", nil)
	ev := s.next(t)
	snap := e.wantReset(t, ev, "lobby")
	if ev.ID != e.cursor(8) || snap.Cursor != e.cursor(8) {
		t.Fatalf("reset id %q, cursor %q, want %q", ev.ID, snap.Cursor, e.cursor(8))
	}
	f := e.post(t, "lobby", "Fa", "f") // 9
	if got, want := e.wantLean(t, s, "lobby"), e.createdChange(f, 9); got != want {
		t.Fatalf("live lean change\n got %+v\nwant %+v", got, want)
	}
}

// A browser's EventSource reconnects to the same URL with the last id it
// saw: on a lean stream a seq alone, which takes the epoch of ?cursor=;
// without a cursor to take it from, or from another epoch, it gets a
// reset, never a wrong resume.
func TestLeanStreamResumesFromLastEventID(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	e.post(t, "lobby", "Ada", "a")     // 1
	e.post(t, "lobby", "Bob", "b")     // 2
	c := e.post(t, "lobby", "Cy", "c") // 3

	s := e.open(t, "/api/boards/lobby/events?v=2&cursor="+e.cursor(0), hdr("Last-Event-ID", "2"))
	if got, want := e.wantLean(t, s, "lobby"), e.createdChange(c, 3); got != want {
		t.Fatalf("resume from Last-Event-ID 2: got %+v, want %+v", got, want)
	}
	for name, req := range map[string]struct {
		query string
		h     http.Header
	}{
		"a seq without a cursor":    {"", hdr("Last-Event-ID", "2")},
		"a cursor of another epoch": {"&cursor=0ther.1", hdr("Last-Event-ID", "2")},
		"an id that is no seq":      {"&cursor=" + e.cursor(1), hdr("Last-Event-ID", "2x")},
	} {
		t.Run(name, func(t *testing.T) {
			s := e.open(t, "/api/boards/lobby/events?v=2"+req.query, req.h)
			e.wantReset(t, s.next(t), "lobby")
		})
	}
	// A whole cursor in Last-Event-ID (the reset's id) is used as it is.
	s = e.open(t, "/api/boards/lobby/events?v=2", hdr("Last-Event-ID", e.cursor(2)))
	if got := e.wantLean(t, s, "lobby"); got.Cursor != e.cursor(3) {
		t.Fatalf("resume from the reset's id: got %s, want %s", got.Cursor, e.cursor(3))
	}
}

func TestStreamVersionRefused(t *testing.T) {
	e := newStreamEnv(t, hubOptions{})
	before := e.state(t, "lobby")
	for _, v := range []string{"0", "3", "2.0", "v2", "%00", strconv.Itoa(1 << 20)} {
		r := e.do(t, "GET", "/api/boards/lobby/events?v="+v, "", nil)
		wantError(t, r, http.StatusBadRequest, shared.CodeInvalidVersion)
	}
	e.unchanged(t, "lobby", before)
}
