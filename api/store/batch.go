package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// Group commit. On SQLite every commit waits for an fsync of the WAL, and
// the one writer connection makes writers queue for it: at ~0.1–1 ms per
// fsync that alone caps durable writes at a few thousand a second. The
// batcher runs the writes waiting in the queue in one transaction, each
// inside a SAVEPOINT so one refused write (not_found, forbidden, a
// mismatch) rolls back alone, and commits once: one fsync for all. No write
// is answered before the commit that holds it, so "acknowledged" still
// means "durable". With one writer waiting the batch is that one write:
// nothing waits for a batch to fill.
//
// PostgreSQL needs none of this: its writers run in parallel and its
// commits are group-committed by the server.

// maxBatch bounds one transaction, so a burst cannot make it hold the
// writer (and its readers' WAL view) for long.
const maxBatch = 128

// batchTimeout bounds one batch's statements; the callers' contexts do
// not apply inside a shared transaction (one caller giving up must not
// abort the others' writes).
const batchTimeout = 30 * time.Second

type writeJob struct {
	fn   func(ctx context.Context, tx bun.Tx) error
	done chan error
}

type batcher struct {
	db   *bun.DB
	jobs chan *writeJob
	quit chan struct{}
	exit chan struct{}
	stop sync.Once
	// largest is the biggest batch committed so far (for tests).
	largest atomic.Int64
}

func newBatcher(db *bun.DB) *batcher {
	b := &batcher{db: db, jobs: make(chan *writeJob), quit: make(chan struct{}), exit: make(chan struct{})}
	go b.run()
	return b
}

// errStoreClosed answers writes that arrive after Close.
var errStoreClosed = errors.New("store: closed")

// do runs fn in a transaction shared with other waiting writes and returns
// its result once that transaction has committed (or failed). Once handed
// over, a write is waited for even if ctx ends: its result vars are the
// batcher's until then.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	job := &writeJob{fn: fn, done: make(chan error, 1)}
	select {
	case b.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return errStoreClosed
	}
	return <-job.done
}

// close stops the batcher after the batch in progress; later calls wait
// for the same.
func (b *batcher) close() {
	b.stop.Do(func() { close(b.quit) })
	<-b.exit
}

func (b *batcher) run() {
	defer close(b.exit)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		select {
		case <-b.quit:
			return
		case job := <-b.jobs:
			batch = append(batch[:0], job)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case job := <-b.jobs:
				batch = append(batch, job)
			default:
				break drain
			}
		}
		if n := int64(len(batch)); n > b.largest.Load() {
			b.largest.Store(n)
		}
		b.commit(batch)
	}
}

// commit runs the batch. Each job gets its own error; a failed commit
// fails them all.
func (b *batcher) commit(batch []*writeJob) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	err := b.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if len(batch) == 1 {
			errs[0] = run(ctx, tx, batch[0].fn)
			return errs[0] // no savepoint needed: the transaction is the job's
		}
		for i, job := range batch {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				return fmt.Errorf("store: savepoint: %w", err)
			}
			errs[i] = run(ctx, tx, job.fn)
			if errs[i] != nil {
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
					return fmt.Errorf("store: roll back savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
				return fmt.Errorf("store: release savepoint: %w", err)
			}
		}
		return nil
	})
	// A lone job's own error is the transaction's (it rolled back whole).
	for i, job := range batch {
		if err != nil {
			job.done <- err
		} else {
			job.done <- errs[i]
		}
	}
}

// run calls the job's function. A panic in it becomes that job's error
// (its savepoint is rolled back like any failed write's): no handler's
// recover is above the batcher's goroutine, and one bad write must not
// take the process and the rest of its batch with it.
func run(ctx context.Context, tx bun.Tx, fn func(ctx context.Context, tx bun.Tx) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("store: write panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return fn(ctx, tx)
}
