package hub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
)

// The hub under test always reads a real store on a SQLite file.

// patience bounds every wait for something that should happen promptly; it
// only matters when the code under test is broken.
const patience = 20 * time.Second

func openStore(t testing.TB) *store.Store {
	t.Helper()
	dialect, target := pgtest.Target(t) // SQLite, or PostgreSQL with KAIRAN_STORE_DIALECT=pg
	st, err := store.Open(context.Background(), store.Options{Dialect: store.Dialect(dialect), Target: target})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newHub(t testing.TB, log hub.Log, cfg hub.Config) *hub.Hub {
	t.Helper()
	cfg.Log = log
	h, err := hub.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func seqOf(t *testing.T, cursor string) int64 {
	t.Helper()
	c, ok := shared.ParseCursor(cursor)
	if !ok {
		t.Fatalf("bad cursor %q", cursor)
	}
	return c.Seq
}

// seq is seqOf for goroutines other than the test's: -1 when malformed.
func seq(cursor string) int64 {
	c, ok := shared.ParseCursor(cursor)
	if !ok {
		return -1
	}
	return c.Seq
}

func cursorAt(st *store.Store, seq int64) string {
	return shared.Cursor{Epoch: st.Epoch(), Seq: seq}.String()
}

// model is what the boards hold, as the test's own writes say.
type model map[string]map[int64]shared.Topic

func (m model) apply(c shared.Change) {
	if m[c.Board] == nil {
		m[c.Board] = map[int64]shared.Topic{}
	}
	if c.Kind == shared.ChangeDeleted {
		delete(m[c.Board], c.Topic.ID)
	} else {
		m[c.Board][c.Topic.ID] = c.Topic
	}
}

// newestFirst is the board as a snapshot shows it.
func (m model) newestFirst(board string, limit int) []shared.Topic {
	topics := []shared.Topic{}
	for _, tp := range m[board] {
		topics = append(topics, tp)
	}
	slices.SortFunc(topics, func(a, b shared.Topic) int { return int(b.ID - a.ID) })
	return topics[:min(limit, len(topics))]
}

// writer performs writes through the store and wakes the hub after each
// commit, as the HTTP layer does.
type writer struct {
	t      *testing.T
	st     *store.Store
	h      *hub.Hub // nil: do not notify
	model  model
	tokens map[int64]string
	n      int
}

func newWriter(t *testing.T, st *store.Store, h *hub.Hub) *writer {
	return &writer{t: t, st: st, h: h, model: model{}, tokens: map[int64]string{}}
}

func (w *writer) done(c shared.Change) shared.Change {
	w.model.apply(c)
	if w.h != nil {
		w.h.Notify(seqOf(w.t, c.Cursor))
	}
	return c
}

func (w *writer) post(board string) shared.Change {
	w.t.Helper()
	w.n++
	c, err := w.st.CreateTopic(context.Background(), store.NewTopic{Board: board, Author: "ann",
		Comment: fmt.Sprintf("comment %d on %s", w.n, board)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.tokens[c.Topic.ID] = c.OwnerToken
	return w.done(c.Change)
}

func (w *writer) edit(board string, id int64) shared.Change {
	w.t.Helper()
	w.n++
	_, c, err := w.st.EditTopic(context.Background(), board, id, fmt.Sprint("edit ", w.n), store.Actor{Token: w.tokens[id]})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.done(c)
}

func (w *writer) del(board string, id int64) shared.Change {
	w.t.Helper()
	c, err := w.st.DeleteTopic(context.Background(), board, id, store.Actor{Token: w.tokens[id]})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.done(c)
}

func next(t *testing.T, sub *hub.Subscription) hub.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	b, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return b
}

// nextChanges collects changes until it has n of them.
func nextChanges(t *testing.T, sub *hub.Subscription, n int) []shared.Change {
	t.Helper()
	var got []shared.Change
	for len(got) < n {
		b := next(t, sub)
		if b.Reset != nil {
			t.Fatalf("reset at %s while waiting for changes", b.Reset.Cursor)
		}
		got = append(got, b.Changes...)
		if b.Cursor() != got[len(got)-1].Cursor || sub.Cursor() != b.Cursor() {
			t.Fatalf("batch cursor %s, subscription cursor %s, last change %s", b.Cursor(), sub.Cursor(), got[len(got)-1].Cursor)
		}
	}
	if len(got) != n {
		t.Fatalf("got %d changes, want %d", len(got), n)
	}
	return got
}

func sameTopic(a, b shared.Topic) bool {
	return a.ID == b.ID && a.Board == b.Board && a.Author == b.Author && a.Comment == b.Comment &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func sameChange(a, b shared.Change) bool {
	return a.Cursor == b.Cursor && a.Board == b.Board && a.Kind == b.Kind && sameTopic(a.Topic, b.Topic)
}

func wantChanges(t *testing.T, got, want []shared.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d changes %v, want %d %v", len(got), cursors(got), len(want), cursors(want))
	}
	for i := range want {
		if !sameChange(got[i], want[i]) {
			t.Fatalf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func cursors(changes []shared.Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Cursor
	}
	return out
}

func wantTopics(t *testing.T, got, want []shared.Topic) {
	t.Helper()
	if got == nil {
		t.Fatal("snapshot topics are nil, want a list")
	}
	if len(got) != len(want) {
		t.Fatalf("snapshot has %d topics, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameTopic(got[i], want[i]) {
			t.Fatalf("snapshot topic %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func head(t *testing.T, st *store.Store) int64 {
	t.Helper()
	n, err := st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logOf reads the whole retained change log.
func logOf(t *testing.T, st *store.Store) []shared.Change {
	t.Helper()
	all, err := st.ChangesSince(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// boardAfter is the board's changes in the log with after < seq <= upTo.
func boardAfter(t *testing.T, log []shared.Change, board string, after, upTo int64) []shared.Change {
	t.Helper()
	var out []shared.Change
	for _, c := range log {
		if seq := seqOf(t, c.Cursor); c.Board == board && seq > after && seq <= upTo {
			out = append(out, c)
		}
	}
	return out
}

// fill writes a mix of creates, edits and deletes on lobby and night.
func fill(w *writer, n int) {
	var lobby []int64
	for i := range n {
		switch {
		case i%2 == 1:
			w.post("night")
		case i%10 == 4 && len(lobby) > 0:
			w.edit("lobby", lobby[len(lobby)/2])
		case i%10 == 8 && len(lobby) > 1:
			w.del("lobby", lobby[0])
			lobby = lobby[1:]
		default:
			lobby = append(lobby, w.post("lobby").Topic.ID)
		}
	}
}

func TestUnusableCursorGetsReset(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	fill(w, 140)
	through, err := st.PruneHistory(context.Background(), 10, 0)
	if err != nil || through != 40 {
		t.Fatalf("PruneHistory = %d, %v; want 40 (it keeps the newest 100)", through, err)
	}
	const limit = 20
	h := newHub(t, st, hub.Config{SnapshotLimit: limit})
	w.h = h

	for _, tc := range []struct{ name, cursor string }{
		{"no cursor", ""},
		{"malformed", "not a cursor"},
		{"malformed seq", st.Epoch() + ".12x"},
		{"negative seq", st.Epoch() + ".-1"},
		{"two dots", st.Epoch() + ".1.2"},
		{"no epoch", ".5"},
		{"seq out of range", st.Epoch() + ".99999999999999999999"},
		{"another epoch", "otherepoch0.50"},
		{"ahead of the head", "ahead"},
		{"far ahead", "far ahead"},
		{"pruned", cursorAt(st, 0)},
		{"one before the retained history", cursorAt(st, through-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cursor := tc.cursor
			switch cursor {
			case "ahead":
				cursor = cursorAt(st, head(t, st)+1)
			case "far ahead":
				cursor = cursorAt(st, 1<<62)
			}
			ctx := context.Background()
			sub, err := h.Subscribe(ctx, "lobby", cursor)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			now := head(t, st)
			b := next(t, sub)
			if b.Reset == nil || len(b.Changes) != 0 {
				t.Fatalf("first batch for cursor %q = %+v, want a reset", cursor, b)
			}
			if b.Reset.Board != "lobby" || b.Reset.Cursor != cursorAt(st, now) {
				t.Fatalf("reset of board %q at %s, want lobby at %s", b.Reset.Board, b.Reset.Cursor, cursorAt(st, now))
			}
			wantTopics(t, b.Reset.Topics, w.model.newestFirst("lobby", limit))
			if b.Cursor() != b.Reset.Cursor || sub.Cursor() != b.Reset.Cursor {
				t.Fatalf("cursors after the reset: batch %s, subscription %s", b.Cursor(), sub.Cursor())
			}

			// Then live changes of this board only.
			other := w.post("night")
			live := w.post("lobby")
			if seqOf(t, other.Cursor) != now+1 || seqOf(t, live.Cursor) != now+2 {
				t.Fatalf("unexpected seqs %s %s after head %d", other.Cursor, live.Cursor, now)
			}
			wantChanges(t, nextChanges(t, sub, 1), []shared.Change{live})
		})
	}
}

func TestValidCursorReplaysThenFollows(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	fill(w, 60)
	h := newHub(t, st, hub.Config{})
	w.h = h
	top := head(t, st)

	for _, from := range []int64{0, 1, 2, 17, 30, 59, top} {
		t.Run(strconv.FormatInt(from, 10), func(t *testing.T) {
			sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, from))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			now := head(t, st)
			want := boardAfter(t, logOf(t, st), "lobby", from, now)
			if from < top && len(want) == 0 {
				t.Fatal("test setup: nothing to replay")
			}
			var got []shared.Change
			if len(want) > 0 {
				b := next(t, sub)
				if b.Reset != nil {
					t.Fatalf("reset for a valid cursor at %d", from)
				}
				got = b.Changes // the whole replay comes as one batch
				if b.Cursor() != want[len(want)-1].Cursor {
					t.Fatalf("batch cursor %s, want %s", b.Cursor(), want[len(want)-1].Cursor)
				}
			}
			wantChanges(t, got, want)
			// Live: a change of night is not seen, lobby's are, in order.
			w.post("night")
			a := w.post("lobby")
			b := w.edit("lobby", a.Topic.ID)
			wantChanges(t, nextChanges(t, sub, 2), []shared.Change{a, b})
		})
	}
}

// A cursor the database has but the hub has not fanned out yet (the
// writer has committed and not yet called Notify) is valid: no reset, and
// the change it names is not delivered again.
func TestCursorAheadOfTheHubButNotTheDatabase(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	h := newHub(t, st, hub.Config{})
	first := w.post("lobby") // committed, hub not told
	if h.Last() != 0 {
		t.Fatalf("hub.Last = %d before any Notify", h.Last())
	}
	sub, err := h.Subscribe(context.Background(), "lobby", first.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Cursor() != first.Cursor {
		t.Fatalf("subscription stands at %s, want %s", sub.Cursor(), first.Cursor)
	}
	w.h = h
	h.Notify(1) // fans out change 1, which the subscriber has
	second := w.post("lobby")
	wantChanges(t, nextChanges(t, sub, 1), []shared.Change{second})
}

// The board's replay after a pruned prefix: a cursor exactly at
// PrunedThrough misses nothing.
func TestCursorAtPrunedThroughReplays(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	fill(w, 130)
	through, err := st.PruneHistory(context.Background(), 100, 0)
	if err != nil || through != 30 {
		t.Fatalf("PruneHistory = %d, %v", through, err)
	}
	h := newHub(t, st, hub.Config{})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, through))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	b := next(t, sub)
	if b.Reset != nil {
		t.Fatal("reset for a cursor at PrunedThrough")
	}
	want := boardAfter(t, logOf(t, st), "lobby", through, 130)
	if seqOf(t, want[0].Cursor) > through+2 {
		t.Fatalf("test setup: first lobby change after %d is %s", through, want[0].Cursor)
	}
	wantChanges(t, b.Changes, want)
}

// More than one read page: the hub's catch-up after one wake-up pages
// through 500 rows at a time, a subscriber's replay through ReplayPage
// (here 200), one page per batch.
func TestLargeBacklog(t *testing.T) {
	st := openStore(t)
	const page = 200
	h := newHub(t, st, hub.Config{Buffer: 2000, ReplayPage: page})
	live, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	w := newWriter(t, st, nil) // no Notify per write
	const n = 520
	for range n {
		w.post("lobby")
	}
	w.post("night")
	h.Notify(n + 1) // one wake-up for all of them
	log := logOf(t, st)
	want := boardAfter(t, log, "lobby", 0, n+1)
	wantChanges(t, nextChanges(t, live, n), want)

	for _, from := range []int64{0, 7, 500, 501} {
		sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, from))
		if err != nil {
			t.Fatal(err)
		}
		want := boardAfter(t, log, "lobby", from, n+1)
		var got []shared.Change
		for batches := 1; len(got) < len(want); batches++ {
			b := next(t, sub)
			if len(b.Changes) > page || b.Reset != nil {
				t.Fatalf("replay batch %d from %d: %d changes, reset %v", batches, from, len(b.Changes), b.Reset != nil)
			}
			got = append(got, b.Changes...)
			if wantBatches := (len(want) + page - 1) / page; len(got) == len(want) && batches != wantBatches {
				t.Fatalf("replay of %d changes came in %d batches, want %d", len(want), batches, wantBatches)
			}
		}
		wantChanges(t, got, want)
		sub.Close()
	}
	if h.Last() != n+1 {
		t.Fatalf("hub.Last = %d, want %d", h.Last(), n+1)
	}
}

// TestSubscribeIsRaceFree writes from several goroutines while
// subscriptions start from all kinds of cursors, and checks that each
// subscriber sees exactly its board's changes after where it started.
func TestSubscribeIsRaceFree(t *testing.T) {
	st := openStore(t)
	// The buffer holds every change, so nobody is dropped for being slow;
	// small replay pages make replays span many pages while writes go on.
	h := newHub(t, st, hub.Config{Buffer: 1024, SnapshotLimit: shared.MaxSnapshotLen, ReplayPage: 7})
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	boards := []string{"lobby", "night"}

	type record struct {
		board, cursor string
		wantReset     bool
		reset         *shared.Snapshot
		got           []shared.Change
		err           error
	}
	var (
		final    = make(chan struct{}) // closed when all writes are done
		lastSeq  map[string]int64      // per board, set before final is closed
		mu       sync.Mutex
		records  []*record
		subs     sync.WaitGroup
		errs     = make(chan error, 100)
		subCount atomic.Int64
	)
	consume := func(r *record, sub *hub.Subscription, pos int64) {
		defer sub.Close()
		tick := (<-chan struct{})(final)
		for {
			if tick == nil && pos >= lastSeq[r.board] {
				return
			}
			b, err := sub.Wait(ctx, tick)
			if err != nil {
				r.err = err
				return
			}
			switch {
			case b.Reset != nil:
				if r.reset != nil || len(r.got) > 0 {
					r.err = errors.New("reset after the first batch")
					return
				}
				r.reset = b.Reset
				pos = seq(b.Reset.Cursor)
			case len(b.Changes) > 0:
				r.got = append(r.got, b.Changes...)
				pos = seq(b.Cursor())
			default: // final was closed
				tick = nil
			}
		}
	}
	subscribe := func(board, cursor string, wantReset bool) {
		sub, err := h.Subscribe(ctx, board, cursor)
		if err != nil {
			errs <- err
			return
		}
		subCount.Add(1)
		r := &record{board: board, cursor: cursor, wantReset: wantReset}
		mu.Lock()
		records = append(records, r)
		mu.Unlock()
		pos := int64(-1)
		if !wantReset {
			pos = seq(cursor)
		}
		subs.Go(func() { consume(r, sub, pos) })
	}
	for _, board := range boards {
		subscribe(board, "", true)
		subscribe(board, cursorAt(st, 0), false)
	}

	const writers, ops = 4, 75
	var wg sync.WaitGroup
	for wi := range writers {
		wg.Go(func() {
			mine := map[string][]shared.Topic{}
			tokens := map[int64]string{}
			for i := range ops {
				board := boards[(wi+i)%2]
				var c shared.Change
				var err error
				switch topics := mine[board]; {
				case i%3 == 1 && len(topics) > 0:
					tp := topics[i%len(topics)]
					_, c, err = st.EditTopic(ctx, board, tp.ID, fmt.Sprintf("edit %d/%d", wi, i), store.Actor{Token: tokens[tp.ID]})
				case i%5 == 2 && len(topics) > 0:
					k := i % len(topics)
					c, err = st.DeleteTopic(ctx, board, topics[k].ID, store.Actor{Token: tokens[topics[k].ID]})
					mine[board] = slices.Delete(topics, k, k+1)
				default:
					var created store.Created
					created, err = st.CreateTopic(ctx, store.NewTopic{Board: board, Author: "w",
						Comment: fmt.Sprintf("post %d/%d", wi, i)})
					c = created.Change
					mine[board] = append(mine[board], created.Topic)
					tokens[created.Topic.ID] = created.OwnerToken
				}
				if err != nil {
					errs <- err
					return
				}
				at := seq(c.Cursor)
				// Subscribe between the commit and the Notify, from all
				// kinds of cursors.
				if i%5 == wi%5 {
					sb := boards[(wi+i/5)%2]
					switch (wi + i/5) % 7 {
					case 0:
						subscribe(sb, "", true)
					case 1:
						subscribe(sb, c.Cursor, false) // ahead of the hub, not of the database
					case 2:
						subscribe(sb, cursorAt(st, max(0, at-int64(i%23))), false)
					case 3:
						subscribe(sb, "otherepoch."+strconv.FormatInt(at, 10), true)
					case 4:
						subscribe(sb, cursorAt(st, at+100_000), true)
					case 5:
						subscribe(sb, "garbage", true)
					case 6:
						subscribe(sb, cursorAt(st, at/2), false)
					}
				}
				h.Notify(at)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	log := logOf(t, st)
	if len(log) != writers*ops {
		t.Fatalf("log holds %d changes, want %d", len(log), writers*ops)
	}
	top := int64(len(log))
	lastSeq = map[string]int64{}
	for i, c := range log {
		if seqOf(t, c.Cursor) != int64(i+1) {
			t.Fatalf("log[%d] is %s", i, c.Cursor)
		}
		lastSeq[c.Board] = int64(i + 1)
	}
	close(final)
	subs.Wait()

	if subCount.Load() < 50 {
		t.Fatalf("only %d subscriptions; the test should start many", subCount.Load())
	}
	resets := 0
	for _, r := range records {
		if r.err != nil {
			t.Fatalf("subscriber of %s from %q: %v", r.board, r.cursor, r.err)
		}
		if (r.reset != nil) != r.wantReset {
			t.Fatalf("subscriber of %s from %q: reset %v, want %v", r.board, r.cursor, r.reset != nil, r.wantReset)
		}
		start := int64(0)
		if r.reset != nil {
			resets++
			start = seqOf(t, r.reset.Cursor)
			// The snapshot is the board exactly as of its cursor.
			m := model{}
			for _, c := range log[:start] {
				m.apply(c)
			}
			if r.reset.Board != r.board {
				t.Fatalf("reset of %s for a subscriber of %s", r.reset.Board, r.board)
			}
			wantTopics(t, r.reset.Topics, m.newestFirst(r.board, shared.MaxSnapshotLen))
		} else {
			start = seqOf(t, r.cursor)
		}
		want := boardAfter(t, log, r.board, start, top)
		// The same, as the store reads it for one board.
		fromStore, err := st.BoardChanges(context.Background(), r.board, start, top, 1000)
		if err != nil {
			t.Fatal(err)
		}
		wantChanges(t, fromStore, want)
		for i := 1; i < len(r.got); i++ {
			if seqOf(t, r.got[i].Cursor) <= seqOf(t, r.got[i-1].Cursor) {
				t.Fatalf("subscriber of %s from %q: %s after %s", r.board, r.cursor, r.got[i].Cursor, r.got[i-1].Cursor)
			}
		}
		wantChanges(t, r.got, want)
	}
	if resets == 0 || resets == len(records) {
		t.Fatalf("%d of %d subscriptions started with a reset; the test should mix both", resets, len(records))
	}
}

func TestSlowSubscriberIsDroppedAndResumes(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	w.post("lobby")
	start := cursorAt(st, 1)
	// The hub starts after the first post, so no change the subscribers
	// already have takes a place in their buffers.
	var dropped atomic.Int64
	h := newHub(t, st, hub.Config{Buffer: 4, Metrics: hub.Metrics{Dropped: func() { dropped.Add(1) }}})
	w.h = h
	slow, err := h.Subscribe(context.Background(), "lobby", start)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, err := h.Subscribe(context.Background(), "lobby", start)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()

	var written []shared.Change
	for i := range 10 {
		c := w.post("lobby")
		written = append(written, c)
		// fast keeps up: each change is consumed before the next is written
		wantChanges(t, nextChanges(t, fast, 1), []shared.Change{c})
		if i < 4 {
			select {
			case <-slow.Done():
				t.Fatalf("slow subscriber dropped after %d changes with a buffer of 4", i+1)
			default:
			}
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(patience):
		t.Fatal("slow subscriber not dropped")
	}
	if dropped.Load() != 1 {
		t.Fatalf("Dropped reported %d times, want 1", dropped.Load())
	}

	// What was buffered may still be handed out; then ErrSlow.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	var consumed []shared.Change
	for {
		b, err := slow.Next(ctx)
		if err != nil {
			if !errors.Is(err, hub.ErrSlow) {
				t.Fatalf("slow subscriber ended with %v, want ErrSlow", err)
			}
			break
		}
		consumed = append(consumed, b.Changes...)
	}
	if len(consumed) > 4 {
		t.Fatalf("slow subscriber consumed %d changes with a buffer of 4", len(consumed))
	}
	wantChanges(t, consumed, written[:len(consumed)])
	if want := start; len(consumed) > 0 {
		want = consumed[len(consumed)-1].Cursor
		if slow.Cursor() != want {
			t.Fatalf("slow subscriber stands at %s, want %s", slow.Cursor(), want)
		}
	} else if slow.Cursor() != want {
		t.Fatalf("slow subscriber stands at %s, want %s", slow.Cursor(), want)
	}

	// Resuming from where it stood loses nothing.
	resumed, err := h.Subscribe(context.Background(), "lobby", slow.Cursor())
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	b := next(t, resumed)
	if b.Reset != nil {
		t.Fatal("resume after a drop got a reset")
	}
	wantChanges(t, append(consumed, b.Changes...), written)
	c := w.post("lobby")
	wantChanges(t, nextChanges(t, resumed, 1), []shared.Change{c})
	wantChanges(t, nextChanges(t, fast, 1), []shared.Change{c})
	if dropped.Load() != 1 {
		t.Fatalf("Dropped reported %d times, want 1", dropped.Load())
	}
}

func TestClose(t *testing.T) {
	st := openStore(t)
	h, err := hub.New(context.Background(), hub.Config{Log: st, Heartbeat: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	// Waiting subscribers on several boards: each first sees a heartbeat,
	// so it is known to be in its loop, then waits in Next.
	var wg sync.WaitGroup
	ended := make(chan error, 6)
	waiting := make(chan struct{}, 6)
	for i := range 6 {
		sub, err := h.Subscribe(context.Background(), fmt.Sprint("board-", i%3), cursorAt(st, 0))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer sub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			if _, err := sub.Wait(ctx, h.Heartbeat()); err != nil {
				ended <- err
				return
			}
			waiting <- struct{}{}
			_, err := sub.Next(ctx)
			ended <- err
		})
	}
	for range 6 {
		select {
		case <-waiting:
		case err := <-ended:
			t.Fatalf("a subscription ended before closing: %v", err)
		case <-time.After(patience):
			t.Fatal("subscribers never got their first batch")
		}
	}
	// A subscription that has not yet read its reset still gets it first.
	pending, err := h.Subscribe(context.Background(), "board-0", "")
	if err != nil {
		t.Fatal(err)
	}

	var closers sync.WaitGroup
	for range 3 {
		closers.Go(h.Close) // concurrently, and more than once
	}
	closers.Wait()
	wg.Wait()
	close(ended)
	for err := range ended {
		if !errors.Is(err, hub.ErrClosed) {
			t.Fatalf("waiting subscriber ended with %v, want ErrClosed", err)
		}
	}
	select {
	case <-pending.Done():
	default:
		t.Fatal("Done not closed by Close")
	}
	if b := next(t, pending); b.Reset == nil {
		t.Fatalf("pending subscription's first batch = %+v, want its reset", b)
	}
	if _, err := pending.Next(context.Background()); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	pending.Close()

	if sub, err := h.Subscribe(context.Background(), "board-0", ""); !errors.Is(err, hub.ErrClosed) || sub != nil {
		t.Fatalf("Subscribe after Close = %v, %v; want nil, ErrClosed", sub, err)
	}
	h.Close()
	h.Notify(1) // harmless after Close
}

func TestHeartbeat(t *testing.T) {
	st := openStore(t)
	h := newHub(t, st, hub.Config{Heartbeat: 20 * time.Millisecond})
	tick := h.Heartbeat()
	select {
	case <-tick:
	case <-time.After(patience):
		t.Fatal("no heartbeat tick")
	}
	if h.Heartbeat() == tick {
		t.Fatal("Heartbeat returns the closed channel after the tick")
	}

	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for range 3 {
		b, err := sub.Wait(ctx, h.Heartbeat())
		if err != nil || b.Reset != nil || b.Changes != nil || b.Cursor() != "" {
			t.Fatalf("Wait on a heartbeat = %+v, %v; want an empty batch", b, err)
		}
	}
	if sub.Cursor() != cursorAt(st, 0) {
		t.Fatalf("heartbeats moved the cursor to %s", sub.Cursor())
	}

	// A first batch (the reset) comes before a tick that is already due.
	fired := make(chan struct{})
	close(fired)
	resetSub, err := h.Subscribe(context.Background(), "lobby", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resetSub.Close()
	if b, err := resetSub.Wait(ctx, fired); err != nil || b.Reset == nil {
		t.Fatalf("Wait = %+v, %v; want the reset first", b, err)
	}
	if b, err := resetSub.Wait(ctx, fired); err != nil || b.Reset != nil || len(b.Changes) != 0 {
		t.Fatalf("Wait = %+v, %v; want an empty batch", b, err)
	}

	// Without a tick, Wait ends with its context.
	short, cancelShort := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancelShort()
	if _, err := sub.Wait(short, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait without tick = %v, want DeadlineExceeded", err)
	}
}

func TestBatchCursor(t *testing.T) {
	if c := (hub.Batch{}).Cursor(); c != "" {
		t.Fatalf("empty batch cursor = %q", c)
	}
	reset := hub.Batch{Reset: &shared.Snapshot{Board: "lobby", Cursor: "ep.7", Topics: []shared.Topic{}}}
	if c := reset.Cursor(); c != "ep.7" {
		t.Fatalf("reset batch cursor = %q", c)
	}
	changes := hub.Batch{Changes: []shared.Change{{Cursor: "ep.8"}, {Cursor: "ep.11"}}}
	if c := changes.Cursor(); c != "ep.11" {
		t.Fatalf("changes batch cursor = %q", c)
	}

	// And as the hub makes them.
	st := openStore(t)
	h := newHub(t, st, hub.Config{})
	w := newWriter(t, st, h)
	w.post("lobby")
	sub, err := h.Subscribe(context.Background(), "lobby", "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if b := next(t, sub); b.Cursor() != cursorAt(st, 1) {
		t.Fatalf("reset batch cursor = %q, want %s", b.Cursor(), cursorAt(st, 1))
	}
	w.post("lobby")
	if b := next(t, sub); b.Cursor() != cursorAt(st, 2) {
		t.Fatalf("change batch cursor = %q, want %s", b.Cursor(), cursorAt(st, 2))
	}
}

// countingLog counts the hub's reads and passes them to the real store.
type countingLog struct {
	*store.Store
	epoch, head, pruned, since, board, snapshot atomic.Int64
	// beforeBoardChanges, when set, runs before each BoardChanges read.
	beforeBoardChanges func()
}

func (l *countingLog) Epoch() string { l.epoch.Add(1); return l.Store.Epoch() }
func (l *countingLog) Head(ctx context.Context) (int64, error) {
	l.head.Add(1)
	return l.Store.Head(ctx)
}
func (l *countingLog) PrunedThrough(ctx context.Context) (int64, error) {
	l.pruned.Add(1)
	return l.Store.PrunedThrough(ctx)
}
func (l *countingLog) ChangesSince(ctx context.Context, after int64, limit int) ([]shared.Change, error) {
	l.since.Add(1)
	return l.Store.ChangesSince(ctx, after, limit)
}
func (l *countingLog) BoardChanges(ctx context.Context, board string, after, upTo int64, limit int) ([]shared.Change, error) {
	l.board.Add(1)
	if l.beforeBoardChanges != nil {
		l.beforeBoardChanges()
	}
	return l.Store.BoardChanges(ctx, board, after, upTo, limit)
}
func (l *countingLog) Snapshot(ctx context.Context, board string, limit int) (shared.Snapshot, error) {
	l.snapshot.Add(1)
	return l.Store.Snapshot(ctx, board, limit)
}

// counts is every counter; since is the first.
func (l *countingLog) counts() [6]int64 {
	return [6]int64{l.since.Load(), l.epoch.Load(), l.head.Load(), l.pruned.Load(), l.board.Load(), l.snapshot.Load()}
}

var _ hub.Log = (*countingLog)(nil)

func TestIdleSubscribersCostNothing(t *testing.T) {
	st := openStore(t)
	log := &countingLog{Store: st}
	h := newHub(t, log, hub.Config{Heartbeat: 5 * time.Millisecond})
	w := newWriter(t, st, h)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()

	beats := make(chan int, 1000)
	received := make(chan shared.Change, 1000)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	ids := 0
	start := func(n int, board string) {
		for range n {
			id := ids
			ids++
			sub, err := h.Subscribe(ctx, board, cursorAt(st, head(t, st)))
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer sub.Close()
				for {
					b, err := sub.Wait(ctx, h.Heartbeat())
					if err != nil {
						return
					}
					if len(b.Changes) == 0 {
						select {
						case beats <- id:
						default: // nobody is counting now
						}
					}
					for _, c := range b.Changes {
						received <- c
					}
				}
			})
		}
	}
	// idle waits until every one of n subscribers has seen three heartbeats.
	idle := func(n int) {
		for len(beats) > 0 {
			<-beats // from before
		}
		seen := map[int]int{}
		for done := 0; done < n; {
			select {
			case i := <-beats:
				if seen[i]++; seen[i] == 3 {
					done++
				}
			case <-ctx.Done():
				t.Fatal("subscribers saw no heartbeats")
			}
		}
	}
	// postAndCount writes one change and checks it reached all n
	// subscribers after exactly one ChangesSince read and nothing else.
	postAndCount := func(n int) {
		t.Helper()
		before := log.counts()
		c := w.post("lobby")
		for range n {
			select {
			case got := <-received:
				if !sameChange(got, c) {
					t.Fatalf("received %s, want %s", got.Cursor, c.Cursor)
				}
			case <-ctx.Done():
				t.Fatal("change did not reach every subscriber")
			}
		}
		after := log.counts()
		want := before
		want[0]++
		if after != want {
			t.Fatalf("reads for one post with %d subscribers: %v → %v, want one ChangesSince only", n, before, after)
		}
	}

	start(50, "lobby")
	start(10, "night") // other boards cost nothing either
	before := log.counts()
	idle(60)
	if after := log.counts(); after != before {
		t.Fatalf("log reads while idle: %v → %v", before, after)
	}
	for range 3 {
		postAndCount(50)
	}
	start(50, "lobby")
	idle(110)
	postAndCount(100)
	before = log.counts()
	idle(110)
	if after := log.counts(); after != before {
		t.Fatalf("log reads while idle: %v → %v", before, after)
	}
}

// A prune that commits while a subscription reads its replay must not make
// the replay skip changes: the subscriber gets the rest in full, or a reset.
func TestPruneDuringReplay(t *testing.T) {
	st := openStore(t)
	w := newWriter(t, st, nil)
	for range 150 {
		w.post("lobby")
	}
	var once sync.Once
	log := &countingLog{Store: st, beforeBoardChanges: func() {
		once.Do(func() {
			if through, err := st.PruneHistory(context.Background(), 100, 0); err != nil || through != 50 {
				t.Errorf("PruneHistory = %d, %v", through, err)
			}
		})
	}}
	h := newHub(t, log, hub.Config{SnapshotLimit: 500})
	sub, err := h.Subscribe(context.Background(), "lobby", cursorAt(st, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	b := next(t, sub)
	if log.board.Load() == 0 {
		t.Fatal("test setup: the replay was not read")
	}
	switch {
	case b.Reset != nil:
		if b.Reset.Cursor != cursorAt(st, 150) || len(b.Reset.Topics) != 150 {
			t.Fatalf("reset at %s with %d topics", b.Reset.Cursor, len(b.Reset.Topics))
		}
	default:
		if len(b.Changes) == 0 || b.Changes[0].Cursor != cursorAt(st, 11) {
			t.Fatalf("replay from cursor 10 starts at %v; changes 11..50 were lost", cursors(b.Changes[:min(1, len(b.Changes))]))
		}
	}
}
