package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kairan/kairan/api/internal/tmpfs"
	"github.com/kairan/kairan/shared"
)

// wantOutage checks that err is an Outage for reason that reads as
// unavailable, with a Retry-After and the given message.
func wantOutage(t *testing.T, err error, reason Reason, message string) {
	t.Helper()
	if got := ReasonOf(err); got != reason {
		t.Fatalf("error %v: reason %q, want %q", err, got, reason)
	}
	e := shared.AsError(err)
	if e == nil || e.Code != shared.CodeUnavailable || e.RetryAfter != retryAfter[reason] || e.Message != message {
		t.Fatalf("error %v reads as %+v, want unavailable after %v saying %q", err, e, retryAfter[reason], message)
	}
}

// fillUp posts on a disk with leave bytes free until the disk is full; it
// returns the topics that were saved and the function that frees the disk.
func fillUp(t *testing.T, s *Store, dir string, leave int64) (saved []Created, free func()) {
	t.Helper()
	free = tmpfs.Fill(t, dir, leave)
	for i := 0; ; i++ {
		c, err := s.CreateTopic(context.Background(), NewTopic{Board: "b", Comment: strings.Repeat("x", 1000)})
		if err != nil {
			wantOutage(t, err, DiskFull, msgDiskFull)
			return saved, free
		}
		if i > 10_000 {
			t.Fatal("the disk never filled")
		}
		saved = append(saved, c)
	}
}

// TestDeleteBeyondTheReserve: with the reserve used up, a delete is
// refused with a message saying so and changes nothing; once there is
// room, it goes through.
func TestDeleteBeyondTheReserve(t *testing.T) {
	if testDialect() != SQLite {
		t.Skip("the disk reserve is SQLite's")
	}
	dir := tmpfs.Mount(t, 4<<20)
	ctx := context.Background()
	s, err := Open(ctx, Options{Dialect: SQLite, Target: filepath.Join(dir, "k.db"), DiskReserve: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var owned []Created
	for range 40 {
		owned = append(owned, mustCreate(t, s, "b", strings.Repeat("o", 1000)))
	}
	_, free := fillUp(t, s, dir, 128<<10)

	deleted, refused := 0, error(nil)
	for _, c := range owned {
		_, err := s.DeleteTopic(ctx, "b", c.Topic.ID, Actor{Token: c.OwnerToken})
		if err != nil {
			refused = err
			break
		}
		deleted++
	}
	if refused == nil {
		t.Fatalf("all %d deletes fit in a 64 KiB reserve", deleted)
	}
	t.Logf("%d deletes fit in the 64 KiB reserve", deleted)
	wantOutage(t, refused, DiskFull, msgDiskFullDelete)
	victim := owned[deleted]
	snap, err := s.Snapshot(ctx, "b", 500)
	if err != nil {
		t.Fatal(err)
	}
	if !hasTopic(snap, victim.Topic.ID) {
		t.Fatalf("refused delete of %d removed it", victim.Topic.ID)
	}
	wantOutage(t, s.Ping(ctx), DiskFull, msgDiskFull)

	// Room again (the filler goes): deletes and posts go through.
	free()
	if _, err := s.DeleteTopic(ctx, "b", victim.Topic.ID, Actor{Token: victim.OwnerToken}); err != nil {
		t.Fatalf("delete with room: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping with room: %v", err)
	}
	mustCreate(t, s, "b", "room again")
	allChanges(t, s) // seq 1, 2, 3, … with no gap
}

func hasTopic(snap shared.Snapshot, id int64) bool {
	for _, t := range snap.Topics {
		if t.ID == id {
			return true
		}
	}
	return false
}

// TestReadOnlyIsAnOutage: SQLite's "attempt to write a readonly
// database" (here from a query_only reader connection, the one way to
// meet it at run time as root) is an Outage, not a bug.
func TestReadOnlyIsAnOutage(t *testing.T) {
	if testDialect() != SQLite {
		t.Skip("SQLite's error")
	}
	s := newStore(t)
	_, err := s.reader.NewInsert().Model(&metaRow{Key: "k", Value: "v"}).Exec(context.Background())
	if err == nil {
		t.Fatal("a query_only connection wrote")
	}
	wantOutage(t, s.classify(err), ReadOnly, msgReadOnly)
	if e := shared.AsError(s.classify(errors.New("something else"))); e != nil {
		t.Fatalf("an unknown error reads as %+v", e)
	}
}
