package limit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// WriteBurst is how many writes a client may make at once before the
// per-minute rate applies: enough for a person flushing a few posts queued
// offline, far too few for a flood.
const WriteBurst = 10

// Writes is a token bucket per client: perMinute writes a minute, up to
// WriteBurst at once. It keeps no goroutine: buckets that have refilled
// are forgotten when the table grows, since a full bucket and a new one
// behave the same.
type Writes struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter
	sweepAt int
}

// NewWrites returns a limiter allowing perMinute writes per client; zero
// or less returns nil, which allows everything.
func NewWrites(perMinute int) *Writes {
	if perMinute <= 0 {
		return nil
	}
	return &Writes{
		every:   rate.Limit(float64(perMinute) / 60),
		burst:   min(perMinute, WriteBurst),
		now:     time.Now,
		clients: map[string]*rate.Limiter{},
		sweepAt: 1024,
	}
}

// Allow takes one write from the client's bucket. When the bucket is
// empty it takes nothing and says how long until a write would pass.
func (w *Writes) Allow(client string) (ok bool, retryAfter time.Duration) {
	if w == nil {
		return true, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now() // under the lock, so the buckets see time in order
	lim := w.clients[client]
	if lim == nil {
		w.sweep(now)
		lim = rate.NewLimiter(w.every, w.burst)
		w.clients[client] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets full buckets once the table reaches sweepAt, then lets it
// grow to twice what is left, so the cost per new client stays constant.
func (w *Writes) sweep(now time.Time) {
	if len(w.clients) < w.sweepAt {
		return
	}
	for c, lim := range w.clients {
		if lim.TokensAt(now) >= float64(w.burst) {
			delete(w.clients, c)
		}
	}
	w.sweepAt = max(1024, 2*len(w.clients))
}

// Clients is how many buckets are held (for tests).
func (w *Writes) Clients() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.clients)
}
