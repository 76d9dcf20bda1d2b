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
// WriteBurst at once; and one per IPv6 network with a few clients' worth
// of both (see Client), so rotating through /64s does not escape the
// limit. It keeps no goroutine: buckets that have refilled are forgotten
// when the table grows, since a full bucket and a new one behave the same.
type Writes struct {
	every rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter // by client and by network
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

// NewBytes returns a budget of perHour bytes a client may send an hour,
// all of it at once at most (pictures: a person sends a few photos in a
// row, then nothing for a while); zero or less returns nil, no budget.
// Spend it with AllowN.
func NewBytes(perHour int64) *Writes {
	if perHour <= 0 {
		return nil
	}
	return &Writes{
		every:   rate.Limit(float64(perHour) / 3600),
		burst:   int(min(perHour, 1<<40)),
		now:     time.Now,
		clients: map[string]*rate.Limiter{},
		sweepAt: 1024,
	}
}

// Allow takes one write from each of the client's buckets. When any is
// empty it takes nothing and says how long until a write would pass, and
// which network's bucket is empty ("" when it is the client's own).
func (w *Writes) Allow(c Client) (ok bool, retryAfter time.Duration, network string) {
	return w.AllowN(c, 1)
}

// AllowN is Allow for n tokens (bytes, for a budget from NewBytes). More
// than a bucket holds is refused with the time a full bucket takes.
func (w *Writes) AllowN(c Client, n int) (ok bool, retryAfter time.Duration, network string) {
	if w == nil {
		return true, 0, ""
	}
	if n > w.burst {
		return false, time.Duration(float64(w.burst) / float64(w.every) * float64(time.Second)), ""
	}
	scopes := c.scopes()
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now() // under the lock, so the buckets see time in order
	taken := make([]*rate.Reservation, len(scopes))
	refused := -1 // the narrowest empty bucket, which the refusal names
	for i, sc := range scopes {
		taken[i] = w.bucket(sc, now).ReserveN(now, n)
		if d := taken[i].DelayFrom(now); d > 0 {
			retryAfter = max(retryAfter, d) // the longest wait passes every bucket
			if refused < 0 {
				refused = i
			}
		}
	}
	if refused < 0 {
		return true, 0, ""
	}
	for _, r := range taken {
		r.CancelAt(now)
	}
	if refused > 0 {
		network = scopes[refused].key
	}
	return false, retryAfter, network
}

// bucket is sc's bucket, made full when it has none.
func (w *Writes) bucket(sc scope, now time.Time) *rate.Limiter {
	lim := w.clients[sc.key]
	if lim == nil {
		w.sweep(now)
		lim = rate.NewLimiter(w.every*rate.Limit(sc.share), w.burst*sc.share)
		w.clients[sc.key] = lim
	}
	return lim
}

// sweep forgets full buckets once the table reaches sweepAt, then lets it
// grow to twice what is left, so the cost per new client stays constant.
func (w *Writes) sweep(now time.Time) {
	if len(w.clients) < w.sweepAt {
		return
	}
	for c, lim := range w.clients {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
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
