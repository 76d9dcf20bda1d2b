package httpapi

import (
	"runtime"

	"github.com/kairan/kairan/api/internal/uring"
)

// BreakRings puts into h's ring pool, before any worker takes a ring, one
// ring per possible worker that refuses every batch: each is closed, so
// SendAll fails before anything is handed to the kernel and leaves every
// write ErrNotSent. Every ring a worker takes is then a failing one, so a
// test sees what send does when a ring fails, with no healthy ring beside
// it. (A failure inside io_uring_enter, part of a batch handed over,
// cannot be provoked from a test.)
func BreakRings(h *Handler) error {
	p := &h.api.runq.rings
	p.mu.Lock()
	defer p.mu.Unlock()
	for range runtime.GOMAXPROCS(0) {
		r, err := uring.Open(workBatch)
		if err != nil {
			return err
		}
		if err := r.Close(); err != nil {
			return err
		}
		p.free = append(p.free, r)
	}
	return nil
}

// PooledRings is how many rings h's pool keeps for the next busy spell.
func PooledRings(h *Handler) int {
	p := &h.api.runq.rings
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
