package limit

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func fakeWrites(t *testing.T, perMinute int) (*Writes, *fakeClock) {
	t.Helper()
	w := NewWrites(perMinute)
	if w == nil {
		t.Fatalf("NewWrites(%d) = nil", perMinute)
	}
	c := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	w.now = c.now
	return w, c
}

// spend calls Allow n times and fails unless every call passes.
func spend(t *testing.T, w *Writes, client string, n int) {
	t.Helper()
	for i := range n {
		if ok, wait, _ := w.Allow(cl(client)); !ok {
			t.Fatalf("%s: write %d of %d refused (retry after %v)", client, i+1, n, wait)
		}
	}
}

// refused fails unless Allow refuses, and returns the wait it gives.
func refused(t *testing.T, w *Writes, client string) time.Duration {
	t.Helper()
	ok, wait, _ := w.Allow(cl(client))
	if ok {
		t.Fatalf("%s: write allowed, want refused", client)
	}
	if wait <= 0 {
		t.Fatalf("%s: refused with retryAfter %v, want > 0", client, wait)
	}
	return wait
}

func TestNewWritesOff(t *testing.T) {
	for _, perMinute := range []int{0, -1, -60} {
		w := NewWrites(perMinute)
		if w != nil {
			t.Errorf("NewWrites(%d) = %+v, want nil", perMinute, w)
		}
		for range 1000 {
			if ok, wait, _ := w.Allow(cl("a")); !ok || wait != 0 {
				t.Fatalf("nil Writes: Allow = %v, %v; want true, 0", ok, wait)
			}
		}
		if n := w.Clients(); n != 0 {
			t.Errorf("nil Writes: Clients = %d", n)
		}
	}
}

func TestWritesBurstThenRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		perMinute int
		burst     int
		wait      time.Duration // 60s / perMinute
	}{
		{perMinute: 1, burst: 1, wait: time.Minute},
		{perMinute: 2, burst: 2, wait: 30 * time.Second},
		{perMinute: 5, burst: 5, wait: 12 * time.Second},
		{perMinute: 10, burst: 10, wait: 6 * time.Second},
		{perMinute: 12, burst: 10, wait: 5 * time.Second},
		{perMinute: 30, burst: 10, wait: 2 * time.Second},
		{perMinute: 60, burst: 10, wait: time.Second},
		{perMinute: 120, burst: 10, wait: 500 * time.Millisecond},
		{perMinute: 600, burst: 10, wait: 100 * time.Millisecond},
		{perMinute: 6000, burst: 10, wait: 10 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tc.perMinute), func(t *testing.T) {
			if got := min(tc.perMinute, WriteBurst); got != tc.burst {
				t.Fatalf("table: burst %d, want min(rate, WriteBurst) = %d", tc.burst, got)
			}
			w, clock := fakeWrites(t, tc.perMinute)
			spend(t, w, "a", tc.burst)
			wait := refused(t, w, "a")
			if d := wait - tc.wait; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("retryAfter = %v, want ≈ %v", wait, tc.wait)
			}
			// Just short of the wait: still refused, with the rest to wait.
			clock.advance(wait - wait/10)
			if rest := refused(t, w, "a"); rest > wait/10+time.Millisecond || rest < wait/10-time.Millisecond {
				t.Fatalf("after 90%% of the wait: retryAfter = %v, want ≈ %v", rest, wait/10)
			}
			clock.advance(wait / 10)
			spend(t, w, "a", 1)
			refused(t, w, "a")
		})
	}
}

// Waiting exactly the retryAfter Allow gave is enough, also for rates
// whose period is not a whole number of nanoseconds.
func TestWritesRetryAfterIsEnough(t *testing.T) {
	for _, perMinute := range []int{1, 7, 9, 11, 13, 17, 33, 59, 61, 97, 100, 101, 997} {
		t.Run(fmt.Sprint(perMinute), func(t *testing.T) {
			w, clock := fakeWrites(t, perMinute)
			spend(t, w, "a", min(perMinute, WriteBurst))
			for i := range 5 {
				wait := refused(t, w, "a")
				clock.advance(wait)
				if ok, again, _ := w.Allow(cl("a")); !ok {
					t.Fatalf("round %d: waited the %v Allow asked for, still refused (retry after %v)", i, wait, again)
				}
			}
		})
	}
}

func TestWritesClientsAreIndependent(t *testing.T) {
	w, clock := fakeWrites(t, 60)
	spend(t, w, "a", 10)
	refused(t, w, "a")
	spend(t, w, "b", 10) // a's empty bucket costs b nothing
	refused(t, w, "b")
	spend(t, w, "c", 5)
	clock.advance(time.Second)
	spend(t, w, "a", 1)
	refused(t, w, "a")
	spend(t, w, "c", 5) // 5 left + 1 refilled, capped at the burst of 10
	spend(t, w, "c", 1)
	refused(t, w, "c")
	if n := w.Clients(); n != 3 {
		t.Errorf("Clients = %d, want 3", n)
	}
}

func TestWritesRefusedCallsSpendNothing(t *testing.T) {
	w, clock := fakeWrites(t, 60)
	spend(t, w, "a", 10)
	first := refused(t, w, "a")
	for range 1000 {
		if wait := refused(t, w, "a"); wait != first {
			t.Fatalf("retryAfter grew from %v to %v with refused calls", first, wait)
		}
	}
	// Refused calls spread over the wait do not push it back either.
	for range 9 {
		clock.advance(100 * time.Millisecond)
		refused(t, w, "a")
	}
	clock.advance(100 * time.Millisecond)
	spend(t, w, "a", 1)
	refused(t, w, "a")

	// After a long pause the whole burst is back, and no more.
	clock.advance(time.Hour)
	spend(t, w, "a", 10)
	refused(t, w, "a")
}

func TestWritesSteadyRate(t *testing.T) {
	for _, perMinute := range []int{6, 60, 600} {
		t.Run(fmt.Sprint(perMinute), func(t *testing.T) {
			w, clock := fakeWrites(t, perMinute)
			allowed := 0
			const step, span = 50 * time.Millisecond, 10 * time.Minute
			for elapsed := time.Duration(0); elapsed < span; elapsed += step {
				for {
					ok, _, _ := w.Allow(cl("a"))
					if !ok {
						break
					}
					allowed++
				}
				clock.advance(step)
			}
			want := min(perMinute, WriteBurst) + perMinute*int(span/time.Minute)
			if allowed < want-1 || allowed > want {
				t.Errorf("%d writes in %v at %d/min, want %d (burst + rate)", allowed, span, perMinute, want)
			}
		})
	}
}

// With buckets refilling between clients, the table stays bounded however
// many distinct clients come by.
func TestWritesSweepBoundsTheTable(t *testing.T) {
	for _, tc := range []struct {
		perMinute int
		step      time.Duration // long enough to refill the one write spent
	}{
		{perMinute: 60, step: time.Second},
		{perMinute: 1, step: time.Minute},
		{perMinute: 600, step: 100 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tc.perMinute), func(t *testing.T) {
			w, clock := fakeWrites(t, tc.perMinute)
			most := 0
			for i := range 10000 {
				spend(t, w, fmt.Sprintf("client-%d", i), 1)
				most = max(most, w.Clients())
				clock.advance(tc.step)
			}
			if most > 2048 {
				t.Errorf("the table held %d clients at most, want ≤ 2048", most)
			}
			if n := w.Clients(); n > 1024 {
				t.Errorf("Clients = %d after 10,000 refilled clients, want ≤ 1024", n)
			}
		})
	}
}

// Without refills nothing may be forgotten, so the table grows: a limit is
// never lifted to save memory.
func TestWritesSweepForgetsNoActiveClient(t *testing.T) {
	w, _ := fakeWrites(t, 60)
	for i := range 3000 {
		spend(t, w, fmt.Sprintf("client-%d", i), 1)
	}
	if n := w.Clients(); n != 3000 {
		t.Fatalf("Clients = %d, want all 3000 (none has refilled)", n)
	}
	for i := range 3000 {
		spend(t, w, fmt.Sprintf("client-%d", i), 9)
		refused(t, w, fmt.Sprintf("client-%d", i))
	}
}

func TestWritesSweepKeepsPartlyEmptyBuckets(t *testing.T) {
	w, clock := fakeWrites(t, 60)
	for i := range 1023 {
		spend(t, w, fmt.Sprintf("client-%d", i), 1)
	}
	spend(t, w, "hog", 10)
	refused(t, w, "hog")
	if n := w.Clients(); n != 1024 {
		t.Fatalf("Clients = %d, want 1024", n)
	}
	clock.advance(2 * time.Second) // the others are full again; hog has 2 of 10
	spend(t, w, "newcomer", 1)     // the table is at sweepAt: sweep
	if n := w.Clients(); n != 2 {
		t.Errorf("after the sweep Clients = %d, want 2 (hog and newcomer)", n)
	}
	spend(t, w, "hog", 2)
	refused(t, w, "hog") // a forgotten hog would have had 10 again
}

// A client kept busy while 10,000 others come and go is never forgotten.
func TestWritesSweepUnderChurnKeepsTheLimit(t *testing.T) {
	w, clock := fakeWrites(t, 60)
	spend(t, w, "hog", 10)
	for i := range 10000 {
		spend(t, w, fmt.Sprintf("client-%d", i), 1)
		clock.advance(time.Second)
		spend(t, w, "hog", 1) // the second's refill
		refused(t, w, "hog")
		if n := w.Clients(); n > 2048 {
			t.Fatalf("after %d clients the table holds %d", i+1, n)
		}
	}
}

func TestWritesConcurrent(t *testing.T) {
	// A frozen clock: however the calls interleave, each client gets
	// exactly its burst.
	t.Run("frozen clock", func(t *testing.T) {
		w, _ := fakeWrites(t, 60)
		const clients, goroutines, calls = 20, 16, 200
		var allowed [clients]atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range calls {
					c := (g + i) % clients
					if ok, wait, _ := w.Allow(cl(fmt.Sprintf("c%d", c))); ok {
						allowed[c].Add(1)
					} else if wait <= 0 {
						t.Errorf("refused with retryAfter %v", wait)
					}
				}
			})
		}
		wg.Wait()
		for c := range clients {
			if n := allowed[c].Load(); n != WriteBurst {
				t.Errorf("client c%d got %d writes, want the burst of %d", c, n, WriteBurst)
			}
		}
	})

	// A moving clock and thousands of clients, so sweeps run while other
	// goroutines write.
	t.Run("moving clock with sweeps", func(t *testing.T) {
		w, clock := fakeWrites(t, 60)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 1000 {
					w.Allow(cl(fmt.Sprintf("g%d-%d", g, i)))
					w.Allow(cl("shared"))
					clock.advance(10 * time.Millisecond)
				}
			})
			wg.Go(func() {
				for range 200 {
					_ = w.Clients()
				}
			})
		}
		wg.Wait()
		if n := w.Clients(); n < 1 || n > 8001 {
			t.Errorf("Clients = %d", n)
		}
	})

	// The real clock, as the server runs it.
	t.Run("real clock", func(t *testing.T) {
		w := NewWrites(60)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 16 {
			wg.Go(func() {
				for range 100 {
					if ok, _, _ := w.Allow(cl("one")); ok {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		limit := int64(WriteBurst) + int64(time.Since(start)/time.Second) + 1
		if n := allowed.Load(); n < WriteBurst || n > limit {
			t.Errorf("%d writes allowed, want %d to %d", n, WriteBurst, limit)
		}
	})
}

// A byte budget: the hour's bytes at once, then refilled at the hour's
// rate; a refusal takes nothing and says when the bytes will be there.
func TestBytesBudget(t *testing.T) {
	if NewBytes(0) != nil {
		t.Fatal("NewBytes(0) is a budget, want none")
	}
	w := NewBytes(3600 << 10) // 1 KiB a second
	c := &fakeClock{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	w.now = c.now
	if ok, _, _ := w.AllowN(cl("10.0.0.1"), 3000<<10); !ok {
		t.Fatal("first 3000 KiB refused")
	}
	ok, wait, _ := w.AllowN(cl("10.0.0.1"), 1000<<10)
	if ok || wait < 399*time.Second || wait > 401*time.Second {
		t.Fatalf("1000 KiB more: ok %v, wait %v; want refused for 400 s", ok, wait)
	}
	if ok, _, _ := w.AllowN(cl("10.0.0.1"), 600<<10); !ok {
		t.Fatal("the 600 KiB left refused: a refusal must take nothing")
	}
	c.advance(100 * time.Second)
	if ok, _, _ := w.AllowN(cl("10.0.0.1"), 100<<10); !ok {
		t.Fatal("100 KiB refilled in 100 s refused")
	}
	if ok, wait, _ := w.AllowN(cl("10.0.0.2"), 3601<<10); ok || wait <= 0 {
		t.Fatalf("more than the whole budget at once: ok %v, wait %v", ok, wait)
	}
	if ok, _, _ := w.AllowN(cl("10.0.0.2"), 3600<<10); !ok {
		t.Fatal("another client's budget is its own")
	}
}
