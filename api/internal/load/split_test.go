package load

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// TestMain lets Run re-execute the test binary as a worker process, as it
// re-executes kairan-load.
func TestMain(m *testing.M) {
	if spec := os.Getenv(WorkerEnv); spec != "" {
		os.Exit(ServeWorker(context.Background(), spec, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestSourcesSpreadConnections: with three sources, six connections to a
// loopback server come from 127.0.0.1, .2 and .3 in turn.
func TestSourcesSpreadConnections(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		mu.Lock()
		seen[host]++
		mu.Unlock()
	}))
	defer srv.Close()
	d := newSourceDialer(0, 3)
	hc := &http.Client{Transport: &http.Transport{DialContext: d.dial, DisableKeepAlives: true}}
	for range 6 {
		resp, err := hc.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := map[string]int{"127.0.0.1": 2, "127.0.0.2": 2, "127.0.0.3": 2}
	if len(seen) != len(want) {
		t.Fatalf("source addresses seen: %v, want %v", seen, want)
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("source addresses seen: %v, want %v", seen, want)
		}
	}
	// A worker's sources follow the ones before it.
	if got := newSourceDialer(3, 2).source(1).String(); got != "127.0.0.5" {
		t.Errorf("second source of a worker starting at 3 = %s, want 127.0.0.5", got)
	}
	if newSourceDialer(0, 1) != nil {
		t.Error("one source should leave the choice to the kernel")
	}
}

// TestLoadRunSplitsOverWorkers holds at most 3 subscribers per process, so
// 6 SSE and 2 long-poll subscribers run in 3 worker processes, each on two
// source addresses of its own; the merged report must have every
// subscriber and every (subscriber, change) pair once, with a latency
// sample for each, deletes included (their send times are the parent's).
func TestLoadRunSplitsOverWorkers(t *testing.T) {
	srv := startServer(t)
	const clients, posts, deletes = 8, 12, 3
	rep, err := Run(context.Background(), Options{
		URL: srv.URL, Board: "split", SSE: 6, Poll: 2, Rate: 50, Posts: posts, DeleteEvery: 4,
		MaxConnsPerProcess: 3, Sources: 2,
		Settle: time.Minute, // only a bound for a broken run
	})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	if rep.Processes != 3 || rep.Sources != 2 {
		t.Errorf("processes %d, sources %d; want 3 and 2", rep.Processes, rep.Sources)
	}
	if rep.Ready != clients || rep.Interrupted || len(rep.Errors) != 0 || len(rep.Notes) != 0 {
		t.Errorf("ready %d of %d, interrupted %v, errors %v, notes %v", rep.Ready, clients, rep.Interrupted, rep.Errors, rep.Notes)
	}
	d, l := rep.Delivery, rep.Latency
	if d.Expected != clients*(posts+deletes) || d.Received != d.Expected || d.Missed != 0 || d.Duplicates != 0 {
		t.Errorf("delivery: %+v, want all %d pairs exactly once", d, clients*(posts+deletes))
	}
	for name, got := range map[string][2]int{
		"SSE created":  {l.SSECreated.N, 6 * posts},
		"SSE deleted":  {l.SSEDeleted.N, 6 * deletes},
		"poll created": {l.PollCreated.N, 2 * posts},
		"poll deleted": {l.PollDeleted.N, 2 * deletes},
		"per change":   {l.PerChange.Changes, posts + deletes},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d, want %d", name, got[0], got[1])
		}
	}
	if !(l.Deleted.Max > 0) || !(l.Created.Max > 0) || !(rep.Idle.SSEBytesPerMin > 0) {
		t.Errorf("latency %+v, idle %+v: want positive figures from the workers", l, rep.Idle)
	}
	if m := rep.Metrics; m == nil || m.SSESubscribers != 6 {
		t.Errorf("server metrics %+v, want the 6 SSE streams of the workers", m)
	}
}

func TestPartDividesEvenly(t *testing.T) {
	got := []int{part(8, 3, 0), part(8, 3, 1), part(8, 3, 2)}
	if got[0] != 3 || got[1] != 3 || got[2] != 2 {
		t.Errorf("8 over 3 = %v, want [3 3 2]", got)
	}
}
