package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/load"
)

// TestLoadRunDeliversEveryChangeOnce runs the load tool against the real
// server: 5 SSE and 5 long-poll subscribers, 20 posts at 50/s with a
// delete of the oldest post after every 4th. Every client must get every
// change exactly once; timings are reported, never asserted.
func TestLoadRunDeliversEveryChangeOnce(t *testing.T) {
	m := startServer(t, func(c *config.Config) {
		c.RateLimit, c.MaxStreams, c.MaxStreamsPerClient, c.MaxTopicsPerBoard = 0, 0, 0, 0
		c.MaxTopics, c.MaxBoards = 0, 0
	})
	const clients, posts, deletes = 10, 20, 5
	rep, err := load.Run(context.Background(), load.Options{
		URL: m.URL(), Board: "load", SSE: 5, Poll: 5, Rate: 50, Posts: posts, DeleteEvery: 4,
		// The server runs in this process: its figures include the clients.
		PID: os.Getpid(),
		// Only a bound for a broken run; a healthy one settles at once.
		Settle: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())

	w, d, l := rep.Writes, rep.Delivery, rep.Latency
	if rep.Ready != clients || rep.Interrupted {
		t.Errorf("ready %d of %d, interrupted %v", rep.Ready, clients, rep.Interrupted)
	}
	if w.PostsSent != posts || w.PostsAcked != posts || w.DeletesSent != deletes || w.DeletesAcked != deletes {
		t.Errorf("writes: %+v, want %d posts and %d deletes acknowledged", w, posts, deletes)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	if d.Expected != clients*(posts+deletes) || d.Received != d.Expected || d.Missed != 0 || d.Duplicates != 0 ||
		d.ResetsAfterFirst != 0 || d.Reconnects != 0 {
		t.Errorf("delivery: %+v, want all %d pairs exactly once", d, clients*(posts+deletes))
	}
	for name, got := range map[string][2]int{
		"created":      {l.Created.N, clients * posts},
		"deleted":      {l.Deleted.N, clients * deletes},
		"SSE created":  {l.SSECreated.N, 5 * posts},
		"SSE deleted":  {l.SSEDeleted.N, 5 * deletes},
		"poll created": {l.PollCreated.N, 5 * posts},
		"poll deleted": {l.PollDeleted.N, 5 * deletes},
	} {
		if got[0] != got[1] {
			t.Errorf("%s latency samples = %d, want %d", name, got[0], got[1])
		}
	}
	if l.Created.N+l.Deleted.N != clients*(posts+deletes) {
		t.Errorf("latency samples %d, want %d", l.Created.N+l.Deleted.N, clients*(posts+deletes))
	}
	for name, v := range map[string]float64{
		"created max": l.Created.Max, "deleted max": l.Deleted.Max, "deleted p50": l.Deleted.P50,
		"POST max": w.PostLatency.Max, "DELETE max": w.DeleteLatency.Max, "posts/s": w.PostsPerSecond,
		"SSE bytes/min": rep.Idle.SSEBytesPerMin, "poll requests/min": rep.Idle.PollRequestsPerMin,
		"poll bytes/min": rep.Idle.PollBytesPerMin, "window": rep.WindowSeconds, "connect": rep.ConnectSeconds,
	} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if s := rep.Server; s == nil || s.PID != os.Getpid() || s.RSSBefore <= 0 || s.RSSConnected <= 0 || s.RSSEnd <= 0 ||
		s.RSSPeak < s.RSSEnd || s.CPUWindowSeconds < 0 {
		t.Errorf("server figures: %+v", rep.Server)
	}
	if rep.FileLimit == 0 {
		t.Error("the open-file limit was not reported")
	}
	// The JSON report holds the same figures.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back load.Report
	if err := json.Unmarshal(b, &back); err != nil || back.Delivery != rep.Delivery || back.Latency != rep.Latency {
		t.Errorf("JSON round trip: %v\n%s", err, b)
	}
}

// TestLoadCommandRefusesOtherHosts: `kairan load` never sends anything off
// loopback, and says why.
func TestLoadCommandRefusesOtherHosts(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), []string{"load", "--url", "http://192.0.2.1:8080", "--sse", "1"}, func(string) string { return "" }, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "loopback") {
		t.Errorf("exit %d, stderr %q; want 2 and a loopback refusal", code, stderr.String())
	}
}
