package hub_test

import (
	"context"
	"testing"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// A change carries its seq beside its cursor, and Notify uses it: a seq
// the hub has already fanned out wakes nothing, so a burst of commits that
// one read covered costs no further reads of the log.
func TestNotifySkipsWhatTheHubHasRead(t *testing.T) {
	st := openStore(t)
	log := &countingLog{Store: st}
	h := newHub(t, log, hub.Config{})
	w := newWriter(t, st, h)
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, head(t, st)))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	a := w.post("lobby")
	if cur, ok := shared.ParseCursor(a.Cursor); !ok || a.Seq != cur.Seq || a.Seq == 0 {
		t.Fatalf("change seq %d, cursor %q: want the cursor's seq", a.Seq, a.Cursor)
	}
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{a})
	if h.Last() < a.Seq {
		t.Fatalf("hub last %d after delivering seq %d", h.Last(), a.Seq)
	}
	before := log.since.Load()
	for range 10 {
		h.Notify(a.Seq) // already read: no wake-up
	}
	// The next change costs one read of the log, not one per stale notice
	// (a notice that woke the hub would be read while b's commit syncs).
	b := w.post("lobby")
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{b})
	if reads := log.since.Load() - before; reads != 1 {
		t.Errorf("%d reads of the log for one new change after stale notices, want 1", reads)
	}
}

// Publish hands the hub the change its writer just committed: the next one
// in seq order is fanned out as it is, with no read of the log; one that
// is not next (a change committed in between was not published yet) makes
// the hub read the log, so nothing is skipped; one already fanned out is
// not delivered again.
func TestPublishFansOutWithoutReadingTheLog(t *testing.T) {
	st := openStore(t)
	log := &countingLog{Store: st}
	h := newHub(t, log, hub.Config{})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, head(t, st)))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	create := func(comment string) shared.Change {
		t.Helper()
		c, err := st.CreateTopic(context.Background(), store.NewTopic{Board: "lobby", Author: "ann", Comment: comment})
		if err != nil {
			t.Fatal(err)
		}
		return c.Change
	}

	before := log.since.Load()
	a := create("next in line")
	h.Publish(a)
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{a})
	if reads := log.since.Load() - before; reads != 0 {
		t.Errorf("%d reads of the log for a published next change, want 0", reads)
	}

	// b is committed but its writer has not published it yet; c overtakes it.
	b := create("committed, not yet published")
	c := create("published first")
	h.Publish(c)
	wantChanges(t, nextChanges(t, sub, 2), []shared.Change{b, c})
	if log.since.Load() == before {
		t.Error("a change published out of order was fanned out without reading the log")
	}
	h.Publish(b) // late: already fanned out
	d := create("after the late one")
	h.Publish(d)
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{d})
}
