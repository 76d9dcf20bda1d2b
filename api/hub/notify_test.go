package hub_test

import (
	"context"
	"testing"

	"github.com/kairan/kairan/api/hub"
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
