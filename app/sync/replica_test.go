package sync

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kairan/kairan/shared"
)

// t0 has no monotonic reading, so topics compare with reflect.DeepEqual
// (also after a JSON round trip).
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// topic is topic id of board "lobby", created id minutes after t0 and
// edited edits minutes after that.
func topic(id int64, comment string, edits int) shared.Topic {
	created := t0.Add(time.Duration(id) * time.Minute)
	return shared.Topic{ID: id, Board: "lobby", Author: "ann", Comment: comment,
		CreatedAt: created, UpdatedAt: created.Add(time.Duration(edits) * time.Minute)}
}

func change(seq int, kind shared.ChangeKind, t shared.Topic) shared.Change {
	return shared.Change{Seq: int64(seq), Cursor: fmt.Sprintf("ep0ch.%d", seq), Board: t.Board, Kind: kind, Topic: t}
}

func idsOf(topics []shared.Topic) []int64 {
	ids := []int64{}
	for _, t := range topics {
		ids = append(ids, t.ID)
	}
	return ids
}

func lobby(cursor string, topics ...shared.Topic) Replica {
	return Replica{Board: "lobby", Cursor: cursor, Topics: topics}
}

func sameReplica(t *testing.T, what string, got, want Replica) {
	t.Helper()
	if len(got.Topics) == 0 && len(want.Topics) == 0 {
		got.Topics, want.Topics = nil, nil // empty and nil say the same
	}
	if !want.SyncedAt.IsZero() && !got.SyncedAt.Equal(want.SyncedAt) {
		t.Fatalf("%s: synced at %v, want %v", what, got.SyncedAt, want.SyncedAt)
	}
	got.SyncedAt, want.SyncedAt = time.Time{}, time.Time{} // compared above when asked for
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestApplyCreatesUpdatesAndDeletesByID(t *testing.T) {
	r := lobby("ep0ch.1", topic(1, "first", 0))

	r.Apply(change(2, shared.ChangeCreated, topic(2, "second", 0)))
	sameReplica(t, "after create", r, lobby("ep0ch.2", topic(2, "second", 0), topic(1, "first", 0)))

	r.Apply(change(3, shared.ChangeUpdated, topic(1, "first, edited", 1)))
	sameReplica(t, "after update", r, lobby("ep0ch.3", topic(2, "second", 0), topic(1, "first, edited", 1)))

	// A deletion carries at least the id and the board.
	r.Apply(shared.Change{Cursor: "ep0ch.4", Board: "lobby", Kind: shared.ChangeDeleted, Topic: shared.Topic{ID: 2, Board: "lobby"}})
	sameReplica(t, "after delete", r, lobby("ep0ch.4", topic(1, "first, edited", 1)))

	r.Apply(change(5, shared.ChangeDeleted, topic(1, "", 0)))
	sameReplica(t, "after deleting the last topic", r, lobby("ep0ch.5"))
}

// history is a board's log from empty: every kind, edits, a delete of a
// topic that is not the newest, and a topic deleted right after creation.
func history() []shared.Change {
	return []shared.Change{
		change(1, shared.ChangeCreated, topic(1, "one", 0)),
		change(2, shared.ChangeCreated, topic(2, "two", 0)),
		change(3, shared.ChangeUpdated, topic(1, "one, edited", 1)),
		change(4, shared.ChangeCreated, topic(3, "three", 0)),
		change(5, shared.ChangeDeleted, topic(2, "", 0)),
		change(6, shared.ChangeCreated, topic(4, "four", 0)),
		change(7, shared.ChangeDeleted, topic(4, "", 0)),
		change(8, shared.ChangeUpdated, topic(3, "three, edited", 2)),
		change(9, shared.ChangeUpdated, topic(1, "one, edited again", 3)),
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	want := lobby("ep0ch.9", topic(3, "three, edited", 2), topic(1, "one, edited again", 3))

	once := lobby("")
	once.Apply(history()...)
	sameReplica(t, "the history once", once, want)

	twice := lobby("")
	twice.Apply(history()...)
	twice.Apply(history()...)
	sameReplica(t, "the history twice", twice, want)

	doubled := lobby("")
	for _, c := range history() {
		doubled.Apply(c, c)
	}
	sameReplica(t, "every change twice in a row", doubled, want)

	// Each change applied twice at once, as a reconnect that overlaps by one
	// change would deliver it.
	overlap := lobby("")
	h := history()
	for i := range h {
		overlap.Apply(h[max(0, i-1) : i+1]...)
	}
	sameReplica(t, "every change again with the next", overlap, want)
}

func TestApplyKeepsNewestFirstWhateverOrderCreatesArriveIn(t *testing.T) {
	base := lobby("ep0ch.10", topic(9, "nine", 0), topic(5, "five", 0))
	ids := []int64{1, 3, 4, 6, 7, 11}
	for perm := range permutations(ids) {
		r := base.Clone()
		for i, id := range perm {
			r.Apply(change(11+i, shared.ChangeCreated, topic(id, fmt.Sprint(id), 0)))
		}
		if got, want := idsOf(r.Topics), []int64{11, 9, 7, 6, 5, 4, 3, 1}; !slices.Equal(got, want) {
			t.Fatalf("creates in order %v gave %v, want %v", perm, got, want)
		}
		if r.Cursor != fmt.Sprintf("ep0ch.%d", 10+len(perm)) {
			t.Fatalf("creates in order %v left the cursor at %q", perm, r.Cursor)
		}
	}
}

// permutations yields every order of s (a fresh slice each time).
func permutations(s []int64) func(yield func([]int64) bool) {
	return func(yield func([]int64) bool) {
		var rec func(k int) bool
		p := slices.Clone(s)
		rec = func(k int) bool {
			if k == len(p) {
				return yield(slices.Clone(p))
			}
			for i := k; i < len(p); i++ {
				p[k], p[i] = p[i], p[k]
				if !rec(k + 1) {
					return false
				}
				p[k], p[i] = p[i], p[k]
			}
			return true
		}
		rec(0)
	}
}

func TestApplyDoesNotOverwriteWithAnOlderVersion(t *testing.T) {
	edited := topic(1, "edited", 5)
	r := lobby("ep0ch.3", edited)

	r.Apply(change(4, shared.ChangeUpdated, topic(1, "an older edit", 2)))
	sameReplica(t, "after an older update", r, lobby("ep0ch.4", edited))

	r.Apply(change(5, shared.ChangeCreated, topic(1, "the original", 0)))
	sameReplica(t, "after the older create", r, lobby("ep0ch.5", edited))

	newer := topic(1, "edited later", 6)
	r.Apply(change(6, shared.ChangeUpdated, newer))
	sameReplica(t, "after a newer update", r, lobby("ep0ch.6", newer))
}

func TestApplyIgnoresOtherBoards(t *testing.T) {
	r := lobby("ep0ch.1", topic(1, "one", 0))
	other := func(seq int, kind shared.ChangeKind, id int64) shared.Change {
		tp := topic(id, "elsewhere", 1)
		tp.Board = "kitchen"
		return change(seq, kind, tp)
	}
	r.Apply(other(2, shared.ChangeCreated, 2), other(3, shared.ChangeUpdated, 1), other(4, shared.ChangeDeleted, 1))
	sameReplica(t, "after changes of another board", r, lobby("ep0ch.1", topic(1, "one", 0)))

	// The cursor stops at the last change of this board.
	r.Apply(change(5, shared.ChangeCreated, topic(5, "five", 0)), other(6, shared.ChangeCreated, 6))
	sameReplica(t, "after a mix", r, lobby("ep0ch.5", topic(5, "five", 0), topic(1, "one", 0)))
}

func TestApplyDeleteOfAnUnknownTopicIsHarmless(t *testing.T) {
	r := lobby("ep0ch.1", topic(2, "two", 0), topic(1, "one", 0))
	r.Apply(change(2, shared.ChangeDeleted, topic(7, "", 0)), change(3, shared.ChangeDeleted, shared.Topic{Board: "lobby"}))
	sameReplica(t, "after deleting unknown ids", r, lobby("ep0ch.3", topic(2, "two", 0), topic(1, "one", 0)))

	empty := lobby("")
	empty.Apply(change(1, shared.ChangeDeleted, topic(1, "", 0)))
	sameReplica(t, "an empty replica after a delete", empty, lobby("ep0ch.1"))
}

func TestApplyAdvancesTheCursorToTheLastChange(t *testing.T) {
	r := lobby("ep0ch.1", topic(1, "one", 0))
	r.Apply()
	if r.Cursor != "ep0ch.1" {
		t.Fatalf("no changes moved the cursor to %q", r.Cursor)
	}
	// Every change of the board counts, including those that change
	// nothing (a stale update, a delete of an unknown id): the cursor is a
	// position in the log.
	r.Apply(
		change(2, shared.ChangeCreated, topic(2, "two", 0)),
		change(3, shared.ChangeUpdated, topic(1, "stale", -1)),
		change(4, shared.ChangeDeleted, topic(9, "", 0)),
	)
	if r.Cursor != "ep0ch.4" {
		t.Fatalf("cursor %q, want ep0ch.4", r.Cursor)
	}
}

func TestResetReplacesEverythingAndKeepsNothingOfTheSnapshot(t *testing.T) {
	r := lobby("ep0ch.3", topic(3, "three", 0), topic(1, "one", 0))
	snap := shared.Snapshot{Board: "lobby", Cursor: "n3w.7", Topics: []shared.Topic{topic(7, "seven", 0), topic(5, "five", 1)}}
	r.Reset(snap)
	want := lobby("n3w.7", topic(7, "seven", 0), topic(5, "five", 1))
	sameReplica(t, "after reset", r, want)

	// The snapshot's owner changes it afterwards…
	snap.Topics[0].Comment = "changed in the snapshot"
	snap.Topics = append(snap.Topics[:1], topic(6, "appended to the snapshot", 0))
	snap.Cursor = "n3w.99"
	sameReplica(t, "after the snapshot changed", r, want)

	// …and the replica's own changes do not write into the snapshot.
	snap = shared.Snapshot{Board: "lobby", Cursor: "n3w.7", Topics: make([]shared.Topic, 2, 10)}
	snap.Topics[0], snap.Topics[1] = topic(7, "seven", 0), topic(5, "five", 0)
	r.Reset(snap)
	r.Apply(change(8, shared.ChangeUpdated, topic(7, "edited", 1)), change(9, shared.ChangeCreated, topic(6, "six", 0)))
	if snap.Topics[0].Comment != "seven" || snap.Topics[:3][2].ID != 0 {
		t.Fatalf("applying to the replica changed the snapshot: %+v", snap.Topics[:3])
	}

	r.Reset(shared.Snapshot{Board: "lobby", Cursor: "n3w.0"})
	sameReplica(t, "after an empty reset", r, lobby("n3w.0"))
}

func TestCloneSharesNothing(t *testing.T) {
	orig := lobby("ep0ch.3", topic(3, "three", 0), topic(1, "one", 0))
	orig.Topics = slices.Grow(orig.Topics, 10) // room to insert in place
	want := lobby("ep0ch.3", topic(3, "three", 0), topic(1, "one", 0))

	c := orig.Clone()
	sameReplica(t, "the clone", c, want)
	c.Topics[0].Comment = "changed in the clone"
	c.Apply(change(4, shared.ChangeCreated, topic(2, "two", 0)), change(5, shared.ChangeUpdated, topic(1, "edited", 1)))
	sameReplica(t, "the original after the clone changed", orig, want)
	if orig.Topics[:3][2].ID != 0 {
		t.Fatalf("the clone wrote into the original's spare capacity: %+v", orig.Topics[:3])
	}

	c = orig.Clone()
	orig.Topics[1].Comment = "changed in the original"
	orig.Apply(change(4, shared.ChangeDeleted, topic(3, "", 0)))
	sameReplica(t, "the clone after the original changed", c, want)
}
