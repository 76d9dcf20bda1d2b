package httpapi

import (
	"runtime"

	"github.com/kairan/kairan/api/internal/uring"
)

// BreakRings puts into h's ring pool, before any worker takes a ring, one
// ring per possible worker that refuses its first batch: its descriptor
// is closed, as if the kernel had stopped serving it. Every ring a worker
// takes is then a failing one, so a test sees what send does when a ring
// fails in use, with no healthy ring beside it.
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
