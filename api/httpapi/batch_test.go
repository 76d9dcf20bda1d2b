package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/uring"
	"github.com/kairan/kairan/shared"
)

// TestFanOutWritesInBatches: a fan-out to many live streams reaches every
// stream with every change, once and in order, whether the workers hand a
// batch of writes to the kernel at once (io_uring) or write one at a
// time; and batches are really made where the kernel allows them, and
// never when they are turned off.
func TestFanOutWritesInBatches(t *testing.T) {
	for _, tc := range []struct {
		name     string
		oneByOne bool
	}{{"batched", false}, {"one by one", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.oneByOne {
				r, err := uring.Open(4)
				if err != nil {
					t.Skipf("io_uring is not available here, so the server writes one by one: %v", err)
				}
				r.Close()
			}
			e := newStreamEnv(t, hubOptions{configure: func(c *httpapi.Config) { c.WriteOneByOne = tc.oneByOne }})
			// Four boards, so a write handed to another stream's socket
			// shows as a change of the wrong board.
			boards := []string{"fan-a", "fan-b", "fan-c", "fan-d"}
			e.post(t, "lobby", "Ann", "before the streams") // seq 1
			const streams, changes = 64, 24
			all := make([]*stream, streams)
			for i := range all {
				all[i] = e.open(t, eventsPath(boards[i%len(boards)], e.cursor(1)), nil)
			}
			e.waitMetric(t, "kairan_sse_subscribers", equals(streams))
			want := map[string][]shared.Change{}
			for i := range changes {
				b := boards[i%len(boards)]
				c := e.post(t, b, "Ann", fmt.Sprintf("change %d on %s", i, b))
				want[b] = append(want[b], e.createdChange(c, int64(i+2)))
			}
			for i, s := range all {
				for _, w := range want[boards[i%len(boards)]] {
					s.wantNext(t, w)
				}
				s.nothingPending(t)
			}
			batched, _ := e.metric(t, "kairan_stream_writes_batched_total")
			if tc.oneByOne && batched != 0 {
				t.Fatalf("%v writes batched with batches turned off", batched)
			}
			if !tc.oneByOne && batched == 0 {
				t.Fatalf("no write was batched in %d changes to %d streams", changes, streams)
			}
			t.Logf("%v of %d writes batched", batched, streams/len(boards)*changes)
		})
	}
}
