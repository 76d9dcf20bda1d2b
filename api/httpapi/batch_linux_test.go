package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/logtest"
	"github.com/kairan/kairan/api/internal/uring"
	"github.com/kairan/kairan/shared"
)

// TestFailingRingCostsNoDelivery: when a ring fails (here every worker's
// ring refuses its batch before sending any of it), the round's writes go
// out by write(2), batches are turned off with one warning, and every
// stream still gets every change, once and in order.
func TestFailingRingCostsNoDelivery(t *testing.T) {
	r, err := uring.Open(4)
	if err != nil {
		t.Skipf("io_uring is not available here, so the server writes one by one: %v", err)
	}
	r.Close()
	rec := logtest.New()
	e := newStreamEnv(t, hubOptions{configure: func(c *httpapi.Config) { c.Logger = rec.Logger() }})
	e.post(t, "lobby", "Ann", "before the streams") // seq 1
	const streams = 16
	all := make([]*stream, streams)
	for i := range all {
		all[i] = e.open(t, eventsPath("fall", e.cursor(1)), nil)
	}
	e.waitMetric(t, "kairan_sse_subscribers", equals(streams))
	// The streams' first writes are behind them (write(2), as always), so
	// the rings go into a pool no worker has taken from.
	if err := httpapi.BreakRings(e.handler); err != nil {
		t.Fatal(err)
	}

	// Post until a round of two or more writes has met a broken ring
	// (the hub wakes the streams together, so it is usually the first),
	// then a few more, on write(2) for good.
	const failed = "batched writes failed"
	var want []shared.Change
	post := func() {
		c := e.post(t, "fall", "Ann", fmt.Sprintf("change %d", len(want)))
		want = append(want, e.createdChange(c, int64(len(want)+2)))
		for _, s := range all {
			s.wantNext(t, want[len(want)-1])
		}
	}
	for len(logtest.Saying(rec.Records(), failed)) == 0 {
		if len(want) == 100 {
			t.Fatalf("no %q warning after %d changes to %d streams", failed, len(want), streams)
		}
		post()
	}
	t.Logf("a ring failed at change %d", len(want))
	for range 5 {
		post()
	}
	for _, s := range all {
		s.nothingPending(t)
	}
	if batched, found := e.metric(t, "kairan_stream_writes_batched_total"); !found || batched != 0 {
		t.Fatalf("%v writes counted as batched (metric found: %v), though every ring failed", batched, found)
	}
	// With batches off, no ring is kept for a spell that will not use it.
	if n := httpapi.PooledRings(e.handler); n != 0 {
		t.Fatalf("%d rings still pooled after batches were turned off", n)
	}
	if n := len(logtest.Saying(rec.Records(), failed)); n != 1 {
		t.Fatalf("%q logged %d times, want once", failed, n)
	}
}
