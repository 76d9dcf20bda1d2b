package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// serverBinary builds bin/kairan's source once per test binary, into a
// directory of its own, so these tests drive the real server as a
// separate process exactly as the command does.
var serverBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "kairan-load-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kairan")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/kairan/kairan/api").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startServer serves a fresh SQLite database from the real binary until
// the test ends.
func startServer(t *testing.T) *Child {
	t.Helper()
	bin, err := serverBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartServer(context.Background(), bin, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("server stop: %v", err)
		}
	})
	return srv
}

// testLog passes the server's warnings to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// TestLoadRunDeliversEveryChangeOnce runs the load tool against the real
// server, a child process: 5 SSE and 5 long-poll subscribers, 20 posts at 50/s with a
// delete of the oldest post after every 4th. Every client must get every
// change exactly once; timings are reported, never asserted.
func TestLoadRunDeliversEveryChangeOnce(t *testing.T) {
	srv := startServer(t)
	const clients, posts, deletes = 10, 20, 5
	rep, err := Run(context.Background(), Options{
		URL: srv.URL, Board: "load", SSE: 5, Poll: 5, Rate: 50, Posts: posts, DeleteEvery: 4,
		PID: srv.PID(),
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
	if s := rep.Server; s == nil || s.PID != srv.PID() || s.RSSBefore <= 0 || s.RSSConnected <= 0 || s.RSSEnd <= 0 ||
		s.RSSPeak < s.RSSEnd || s.CPUWindowSeconds < 0 {
		t.Errorf("server figures: %+v", rep.Server)
	}
	// The server's own counts, from its /metrics, agree with the clients'.
	if m := rep.Metrics; m == nil {
		t.Errorf("no server metrics; notes: %v", rep.Notes)
	} else if m.SSESubscribers != 5 || m.Published != posts+deletes || m.Delivered < float64(clients*(posts+deletes)) ||
		m.Dropped != 0 || m.ServerErrors != 0 {
		t.Errorf("server metrics: %+v, want 5 SSE streams, %d changes published, at least %d delivered, none dropped, no 5xx",
			m, posts+deletes, clients*(posts+deletes))
	}
	if rep.FileLimit == 0 {
		t.Error("the open-file limit was not reported")
	}
	// The JSON report holds the same figures.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Delivery != rep.Delivery || back.Latency != rep.Latency {
		t.Errorf("JSON round trip: %v\n%s", err, b)
	}
}
