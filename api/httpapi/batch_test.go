package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/kairan/kairan/api/httpapi"
	"github.com/kairan/kairan/api/internal/uring"
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
			first := e.post(t, "fan", "Ann", "before the streams")
			const streams, changes = 64, 20
			all := make([]*stream, streams)
			for i := range all {
				all[i] = e.open(t, eventsPath("fan", e.cursor(1)), nil)
			}
			e.waitMetric(t, "kairan_sse_subscribers", equals(streams))
			want := []created{first}
			for i := range changes {
				want = append(want, e.post(t, "fan", "Ann", fmt.Sprintf("change %d", i)))
			}
			for i, s := range all {
				for seq := int64(2); seq <= changes+1; seq++ {
					c := want[seq-1]
					got := wantChange(t, s.next(t))
					if got.Cursor != e.cursor(seq) || got.Topic.Comment != c.topic.Comment {
						t.Fatalf("stream %d: got %s %q, want %s %q", i, got.Cursor, got.Topic.Comment, e.cursor(seq), c.topic.Comment)
					}
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
			t.Logf("%v of %d writes batched", batched, streams*changes)
		})
	}
}
