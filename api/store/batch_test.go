package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/kairan/kairan/shared"
)

// TestRefusedWritesInABatchRollBackAlone: writes that share a group
// commit with refused ones (wrong token, unknown topic, idempotency
// mismatch) land whole, the refused ones leave nothing, and each caller
// gets its own answer. Run with -race: the writers really queue together.
func TestRefusedWritesInABatchRollBackAlone(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	victim := mustCreate(t, s, "b", "victim")
	keyed, err := s.CreateTopic(ctx, NewTopic{Board: "b", Comment: "keyed", IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	before := len(allChanges(t, s))

	const rounds = 40
	var wg sync.WaitGroup
	created := make(chan int64, rounds)
	for i := range rounds {
		wg.Go(func() { // succeeds
			c, err := s.CreateTopic(ctx, NewTopic{Board: "b", Comment: fmt.Sprint("ok ", i)})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			created <- c.Topic.ID
		})
		wg.Go(func() { // refused: wrong owner
			_, _, err := s.EditTopic(ctx, "b", victim.Topic.ID, "hijacked", Actor{Token: "wrong"})
			if shared.ErrorCode(err) != shared.CodeForbidden {
				t.Errorf("edit with a wrong token: %v", err)
			}
		})
		wg.Go(func() { // refused: no such topic
			_, err := s.DeleteTopic(ctx, "b", 1_000_000+int64(i), Actor{Token: "x"})
			if shared.ErrorCode(err) != shared.CodeNotFound {
				t.Errorf("delete unknown: %v", err)
			}
		})
		wg.Go(func() { // refused: same key, other text
			_, err := s.CreateTopic(ctx, NewTopic{Board: "b", Comment: fmt.Sprint("other ", i), IdempotencyKey: "k1"})
			if shared.ErrorCode(err) != shared.CodeIdempotencyMismatch {
				t.Errorf("mismatched key: %v", err)
			}
		})
		wg.Go(func() { // replayed: same key, same text
			c, err := s.CreateTopic(ctx, NewTopic{Board: "b", Comment: "keyed", IdempotencyKey: "k1"})
			if err != nil || !c.Replayed || c.Topic.ID != keyed.Topic.ID {
				t.Errorf("replay: %+v, %v", c, err)
			}
		})
	}
	wg.Wait()
	close(created)
	if s.batch != nil && s.batch.largest.Load() < 2 {
		t.Fatalf("the writes never shared a commit (largest batch %d): this test did not test batching", s.batch.largest.Load())
	}

	changes := allChanges(t, s)[before:]
	if len(changes) != rounds {
		t.Fatalf("%d new changes, want exactly the %d creates", len(changes), rounds)
	}
	ids := map[int64]bool{}
	for id := range created {
		ids[id] = true
	}
	for _, c := range changes {
		if c.Kind != shared.ChangeCreated || !ids[c.Topic.ID] {
			t.Fatalf("unexpected change %+v", c)
		}
	}
	snap, err := s.Snapshot(ctx, "b", 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Topics) != rounds+2 {
		t.Fatalf("board holds %d topics, want %d", len(snap.Topics), rounds+2)
	}
	for _, topic := range snap.Topics {
		if topic.ID == victim.Topic.ID && topic.Comment != "victim" {
			t.Fatalf("a refused edit landed: %q", topic.Comment)
		}
	}
}

// TestWritesAfterCloseFail: a write after Close is an error, not a hang.
func TestWritesAfterCloseFail(t *testing.T) {
	s := mustOpen(t, newTarget(t))
	s.Close()
	if _, err := s.CreateTopic(context.Background(), NewTopic{Board: "b", Comment: "late"}); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

// TestPanickingWriteFailsAlone: a write that panics is answered with an
// error and rolled back; the process and the other writes carry on.
func TestPanickingWriteFailsAlone(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	err := s.write(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&topicRow{Board: "b", Comment: "half-done", OwnerHash: "x"}).Exec(ctx); err != nil {
			return err
		}
		panic("a bug in a write")
	})
	if err == nil || !strings.Contains(err.Error(), "a bug in a write") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
	mustCreate(t, s, "b", "after the panic")
	snap, err := s.Snapshot(ctx, "b", 10)
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].Comment != "after the panic" {
		t.Fatalf("board %+v, %v; want only the later post (the panicked write rolled back)", snap.Topics, err)
	}
}
