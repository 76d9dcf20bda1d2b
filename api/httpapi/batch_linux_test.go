package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/logtest"
	"github.com/kairan/kairan/api/internal/uring"
	"github.com/kairan/kairan/shared"
)

// TestFailingRingCostsNoDelivery: when a ring fails in use (here each
// worker's ring has had its descriptor closed), the round's writes go out
// by write(2), batches are turned off with one warning, and every stream
// still gets every change, once and in order.
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
			t.Fatalf("no round met a broken ring in %d changes to %d streams", len(want), streams)
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
	if batched, _ := e.metric(t, "kairan_stream_writes_batched_total"); batched != 0 {
		t.Fatalf("%v writes counted as batched, though every ring failed", batched)
	}
	if n := len(logtest.Saying(rec.Records(), failed)); n != 1 {
		t.Fatalf("%q logged %d times, want once", failed, n)
	}
}
