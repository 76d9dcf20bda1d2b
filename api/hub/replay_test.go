package hub_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/shared"
)

// A far-behind subscriber's replay reads one page per batch, only when
// the consumer asks for it, and is not offered live changes meanwhile: a
// consumer that stops reading holds one page, and a long replay never
// overflows its buffer (DESIGN.md §3, replay limits).
func TestReplayPagesOnDemand(t *testing.T) {
	st := openStore(t)
	log := &countingLog{Store: st}
	var dropped atomic.Int64
	h := newHub(t, log, hub.Config{ReplayPage: 10, Buffer: 4, Metrics: hub.Metrics{Dropped: func() { dropped.Add(1) }}})
	w := newWriter(t, st, h)
	for i := range 95 {
		w.post("lobby")
		if i%10 == 0 {
			w.post("night")
		}
	}
	settle(t, h, st)
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if n := log.board.Load(); n != 1 {
		t.Fatalf("Subscribe read %d pages, want the first one only", n)
	}
	// The consumer is not reading: live changes go by without it.
	for range 10 {
		w.post("lobby")
	}
	settle(t, h, st)
	if n := log.board.Load(); n != 1 || dropped.Load() != 0 {
		t.Fatalf("while the consumer was away: %d pages read, %d dropped; want 1 and 0", n, dropped.Load())
	}

	var got []shared.Change
	for batches := int64(1); len(got) < 105; batches++ {
		b := next(t, sub)
		if len(b.Changes) == 0 || len(b.Changes) > 10 {
			t.Fatalf("batch %d has %d changes, want 1 to 10", batches, len(b.Changes))
		}
		if n := log.board.Load(); n != batches {
			t.Fatalf("%d pages read for %d batches", n, batches)
		}
		got = append(got, b.Changes...)
	}
	wantChanges(t, got, boardAfter(t, logOf(t, st), "lobby", 0, head(t, st)))
	// Caught up: the next change comes live, once.
	c := w.post("lobby")
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{c})
	if dropped.Load() != 0 {
		t.Fatalf("%d subscribers dropped", dropped.Load())
	}
}

// A change committed before Subscribe is in the first batch even when the
// hub has not fanned it out: the first batch is ready at once, so a long
// poll with wait=0 answers every change committed before it.
func TestReplayReadsPastTheHub(t *testing.T) {
	st := openStore(t)
	h := newHub(t, st, hub.Config{})
	w := newWriter(t, st, nil) // commits, and the hub is not told
	a, b := w.post("lobby"), w.post("lobby")
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel() // wait=0: nothing may be waited for
	first, err := sub.Next(done)
	if err != nil {
		t.Fatalf("first batch with no time to wait: %v", err)
	}
	wantChanges(t, first.Changes, []shared.Change{a, b})
	w.h = h
	c := w.post("lobby") // the hub now fans out a, b and c; only c is new
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{c})
}

// A prune that passes a replay under way ends the subscription with
// ErrPruned; resuming from where it stood then gets a reset, as for any
// cursor older than the kept history.
func TestPruneDuringPagedReplay(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	for range 150 {
		w.post("lobby")
	}
	h := newHub(t, st, hub.Config{ReplayPage: 10})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	log := logOf(t, st)
	wantChanges(t, next(t, sub).Changes, boardAfter(t, log, "lobby", 10, 20))
	if through, err := st.PruneHistory(context.Background(), 100, 0); err != nil || through != 50 {
		t.Fatalf("PruneHistory = %d, %v", through, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if b, err := sub.Next(ctx); !errors.Is(err, hub.ErrPruned) {
		t.Fatalf("after the prune: %d changes from %s, err %v; want ErrPruned", len(b.Changes), b.Cursor(), err)
	}
	if sub.Cursor() != cursorAt(st, 20) {
		t.Fatalf("stands at %s, want %s", sub.Cursor(), cursorAt(st, 20))
	}
	resumed, err := h.Subscribe(context.Background(), "lobby", sub.Cursor())
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if b := next(t, resumed); b.Reset == nil || b.Reset.Cursor != cursorAt(st, 150) {
		t.Fatalf("resume from a pruned cursor: %+v, want a reset at 150", b.Cursor())
	}
}

// settle waits until the hub has fanned out every committed change.
func settle(t *testing.T, h *hub.Hub, st interface {
	Head(context.Context) (int64, error)
}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	want, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for h.Last() < want {
		if err := h.CatchUp(); err != nil || ctx.Err() != nil {
			t.Fatalf("hub at %d, head %d: %v %v", h.Last(), want, err, ctx.Err())
		}
	}
}
