package main

// Benchmarks for the targets in DESIGN.md section 6 that one process on
// loopback can measure: delivery latency of posts and deletes to 50
// subscribers (SSE and long polling), and the cost of an idle client.
//
// Each benchmark runs a fixed workload once per call, whatever b.N is, and
// reports its figures with b.ReportMetric (ns/op is suppressed: one "op"
// is the whole workload). They assert delivery, never wall-clock times.
//
//	go tool task build >/dev/null
//	go test -run '^$' -bench 'Delivery|Idle' -benchtime 1x ./api/
//
// KAIRAN_BENCH_IDLE (a Go duration, default 60s) sets BenchmarkIdleCost's
// idle window, e.g. KAIRAN_BENCH_IDLE=15s for a quick run.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

const (
	benchBoard       = "bench"
	benchSubscribers = 50
	benchPosts       = 200
	benchDeleteEvery = 4 // one delete of an older topic after every 4th post: 50 deletes
	// benchSeed topics exist before the subscribers connect; the oldest
	// are beyond the first page (shared.DefaultSnapshotLen), so deleting
	// them is the "older topic" case that polling-the-newest designs miss.
	benchSeed = 150
	// benchPause separates one change from the next, after every
	// subscriber has it, so changes are measured one by one, not batched.
	benchPause = 10 * time.Millisecond
	// benchDeliveryDeadline only bounds a broken run; it is not a target.
	benchDeliveryDeadline = 10 * time.Second
	benchIdleClients      = 20
	benchPollWait         = 25 // seconds, as the client engine uses
)

// changeKey names one change: a topic created or deleted.
type changeKey struct {
	kind shared.ChangeKind
	id   int64
}

func keyOf(c shared.Change) changeKey { return changeKey{c.Kind, c.Topic.ID} }

// arrivals records when each subscriber decoded each change, and lets the
// writer wait until every subscriber has one.
type arrivals struct {
	mu      sync.Mutex
	at      []map[changeKey]time.Time // per subscriber
	count   map[changeKey]int
	waiters map[changeKey]chan struct{} // closed when every subscriber has the change
}

func newArrivals(subs int) *arrivals {
	a := &arrivals{count: map[changeKey]int{}, waiters: map[changeKey]chan struct{}{}}
	for range subs {
		a.at = append(a.at, map[changeKey]time.Time{})
	}
	return a
}

func (a *arrivals) saw(sub int, k changeKey, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.at[sub][k]; dup {
		return
	}
	a.at[sub][k] = at
	a.count[k]++
	if a.count[k] == len(a.at) {
		if ch, ok := a.waiters[k]; ok {
			close(ch)
		} else {
			ch := make(chan struct{})
			close(ch)
			a.waiters[k] = ch
		}
	}
}

func (a *arrivals) all(k changeKey) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch, ok := a.waiters[k]
	if !ok {
		ch = make(chan struct{})
		a.waiters[k] = ch
	}
	return ch
}

// meter counts the bytes that cross one client's TCP connections (HTTP
// headers and chunk framing included; TCP/IP headers not).
type meter struct{ read, written atomic.Int64 }

type meteredConn struct {
	net.Conn
	m *meter
}

func (c meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.m.read.Add(int64(n))
	return n, err
}

func (c meteredConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.m.written.Add(int64(n))
	return n, err
}

// clientFor is one simulated client: its own transport, so its own
// keep-alive connection, metered.
func clientFor(m *meter) (*http.Client, *http.Transport) {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return meteredConn{c, m}, nil
		},
		MaxIdleConnsPerHost: 1,
	}
	return &http.Client{Transport: tr}, tr
}

// countingReader counts the body bytes an SSE decoder consumes.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// sseClient follows the board's event stream until ctx ends. onReset runs
// at each reset, onChange at each change, with the instant the decoder
// returned the event.
type sseClient struct {
	base    string
	m       meter
	body    atomic.Int64 // stream bytes read (after HTTP de-chunking)
	pings   atomic.Int64
	onReset func(at time.Time)
	onEvent func(c shared.Change, at time.Time)
}

func (s *sseClient) run(ctx context.Context) error {
	hc, tr := clientFor(&s.m)
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", (&client.Client{Base: s.base}).EventsURL(benchBoard, ""), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		return fmt.Errorf("GET events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := sse.NewDecoder(countingReader{resp.Body, &s.body}, 1<<20)
	dec.OnComment(func(string) { s.pings.Add(1) })
	for {
		ev, err := dec.Next()
		at := time.Now()
		if err != nil {
			return err
		}
		switch ev.Type {
		case "reset":
			if s.onReset != nil {
				s.onReset(at)
			}
		case "change":
			var c shared.Change
			if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
				return err
			}
			if s.onEvent != nil {
				s.onEvent(c, at)
			}
		}
	}
}

// pollClient long-polls the board until ctx ends.
type pollClient struct {
	base     string
	m        meter
	mu       sync.Mutex
	requests []time.Time // when each request after the first answer was sent
	onReset  func(at time.Time)
	onEvent  func(c shared.Change, at time.Time)
}

func (p *pollClient) run(ctx context.Context) error {
	hc, tr := clientFor(&p.m)
	defer tr.CloseIdleConnections()
	cursor, answered := "", false
	for {
		u := p.base + "/api/boards/" + benchBoard + "/changes?wait=" + fmt.Sprint(benchPollWait) + "&cursor=" + url.QueryEscape(cursor)
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return err
		}
		if answered {
			p.mu.Lock()
			p.requests = append(p.requests, time.Now())
			p.mu.Unlock()
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		at := time.Now()
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET changes: %d %.200s", resp.StatusCode, body)
		}
		answered = true
		var page shared.ChangesPage
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		if page.Reset != nil && p.onReset != nil {
			p.onReset(at)
		}
		for _, c := range page.Changes {
			if p.onEvent != nil {
				p.onEvent(c, at)
			}
		}
		cursor = page.Cursor
	}
}

// runner is a client loop started in its own goroutine.
type runner interface {
	run(ctx context.Context) error
}

// startClients runs each client in its own goroutine until the returned
// stop is called; stop waits for every goroutine, and fails b for a client
// that ended before it was stopped.
func startClients(b *testing.B, clients []runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var early []error
	for i, c := range clients {
		wg.Go(func() {
			err := c.run(ctx)
			if ctx.Err() == nil {
				mu.Lock()
				early = append(early, fmt.Errorf("client %d ended early: %v", i, err))
				mu.Unlock()
			}
		})
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			for _, err := range early {
				b.Error(err)
			}
		})
	}
}

// signalReady reports a client's reset without ever blocking it (a second
// reset, which these benchmarks do not expect, must not hang a client).
func signalReady(ready chan<- time.Time, at time.Time) {
	select {
	case ready <- at:
	default:
	}
}

// waitReady waits until n resets have arrived on ready.
func waitReady(b *testing.B, ready <-chan time.Time, n int) time.Time {
	b.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	var last time.Time
	for i := range n {
		select {
		case at := <-ready:
			last = at
		case <-deadline.C:
			b.Fatalf("only %d of %d clients got their first reset", i, n)
		}
	}
	return last
}

// op is one write and the instant just before its request was sent.
type op struct {
	key       changeKey
	sent, ack time.Time // just before the request; when its answer was read
}

// runDelivery seeds the board, starts the subscribers newClient makes,
// waits until every one has its reset, then posts (and deletes older
// topics) one change at a time, and reports the latencies.
func runDelivery(b *testing.B, newClient func(i int, base string, arr *arrivals, ready chan<- time.Time) runner) {
	m := startServer(b, unlimited)
	runDeliveryOn(b, m.URL(), m.URL(), newClient)
}

// runDeliveryOn writes through writeURL and subscribes at readURL (two
// replicas, or the same server).
func runDeliveryOn(b *testing.B, writeURL, base string, newClient func(i int, base string, arr *arrivals, ready chan<- time.Time) runner) {
	writer := &client.Client{Base: writeURL}
	ctx := context.Background()
	var seeds []shared.CreatedTopic
	for i := range benchSeed {
		c, err := writer.Post(ctx, benchBoard, shared.CreateTopic{Comment: fmt.Sprint("seed ", i)}, "")
		if err != nil {
			b.Fatal(err)
		}
		seeds = append(seeds, c)
	}

	arr := newArrivals(benchSubscribers)
	ready := make(chan time.Time, benchSubscribers)
	var clients []runner
	for i := range benchSubscribers {
		clients = append(clients, newClient(i, base, arr, ready))
	}
	stop := startClients(b, clients)
	defer stop()
	waitReady(b, ready, benchSubscribers)
	time.Sleep(100 * time.Millisecond) // let every long poll register again

	b.ResetTimer()
	var ops []op
	missed := 0
	await := func(o op) {
		ops = append(ops, o)
		select {
		case <-arr.all(o.key):
		case <-time.After(benchDeliveryDeadline):
			missed++
		}
		time.Sleep(benchPause)
	}
	oldest := 0
	for i := range benchPosts {
		sent := time.Now()
		c, err := writer.Post(ctx, benchBoard, shared.CreateTopic{Comment: fmt.Sprint("bench post ", i)}, "")
		if err != nil {
			b.Fatal(err)
		}
		await(op{changeKey{shared.ChangeCreated, c.Topic.ID}, sent, time.Now()})
		if (i+1)%benchDeleteEvery == 0 {
			old := seeds[oldest]
			oldest++
			sent = time.Now()
			if err := writer.Delete(ctx, benchBoard, old.Topic.ID, old.OwnerToken); err != nil {
				b.Fatal(err)
			}
			await(op{changeKey{shared.ChangeDeleted, old.Topic.ID}, sent, time.Now()})
		}
	}
	b.StopTimer()
	stop()

	lat := map[shared.ChangeKind][]time.Duration{}
	type slow struct {
		o      op
		spread []time.Duration // this op's latencies, sorted
	}
	var worst []slow
	arr.mu.Lock()
	for _, o := range ops {
		var d []time.Duration
		for sub := range arr.at {
			if at, ok := arr.at[sub][o.key]; ok {
				d = append(d, at.Sub(o.sent))
			}
		}
		lat[o.key.kind] = append(lat[o.key.kind], d...)
		slices.Sort(d)
		worst = append(worst, slow{o, d})
	}
	arr.mu.Unlock()
	// The slowest changes, to tell a slow write (every subscriber late)
	// from a slow subscriber (one late): logged, not reported.
	slices.SortFunc(worst, func(a, b slow) int { return cmp.Compare(percentile(b.spread, 1), percentile(a.spread, 1)) })
	for _, w := range worst[:min(3, len(worst))] {
		b.Logf("slowest: %s %d: answer after %.1f ms; subscribers first %.1f, median %.1f, last %.1f ms",
			w.o.key.kind, w.o.key.id, ms(w.o.ack.Sub(w.o.sent)), ms(percentile(w.spread, 0)),
			ms(percentile(w.spread, 0.5)), ms(percentile(w.spread, 1)))
	}
	for _, k := range []struct {
		kind shared.ChangeKind
		name string
	}{{shared.ChangeCreated, "post"}, {shared.ChangeDeleted, "del"}} {
		d := lat[k.kind]
		slices.Sort(d)
		b.ReportMetric(ms(percentile(d, 0.50)), k.name+"-p50-ms")
		b.ReportMetric(ms(percentile(d, 0.99)), k.name+"-p99-ms")
		b.ReportMetric(ms(percentile(d, 1)), k.name+"-max-ms")
		b.ReportMetric(float64(len(d)), k.name+"-samples")
	}
	b.ReportMetric(float64(missed), "missed")
	b.ReportMetric(0, "ns/op")
	if missed > 0 {
		b.Errorf("%d of %d changes did not reach every subscriber within %v", missed, len(ops), benchDeliveryDeadline)
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDeliverySSE50 measures how long a post, and a delete of an
// older topic, take to reach 50 SSE subscribers: from just before the
// request is sent until each subscriber has decoded the change.
func BenchmarkDeliverySSE50(b *testing.B) {
	runDelivery(b, func(i int, base string, arr *arrivals, ready chan<- time.Time) runner {
		return &sseClient{base: base,
			onReset: func(at time.Time) { signalReady(ready, at) },
			onEvent: func(c shared.Change, at time.Time) { arr.saw(i, keyOf(c), at) },
		}
	})
}

// BenchmarkDeliveryLongPoll50 is the same with 50 long-polling clients
// (wait=25), each timing a change when the answer holding it is read.
func BenchmarkDeliveryLongPoll50(b *testing.B) {
	runDelivery(b, func(i int, base string, arr *arrivals, ready chan<- time.Time) runner {
		return &pollClient{base: base,
			onReset: func(at time.Time) { signalReady(ready, at) },
			onEvent: func(c shared.Change, at time.Time) { arr.saw(i, keyOf(c), at) },
		}
	})
}

func idleWindow(b *testing.B) time.Duration {
	s := os.Getenv("KAIRAN_BENCH_IDLE")
	if s == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("KAIRAN_BENCH_IDLE=%q is not a positive duration such as 15s", s)
	}
	return d
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleCost opens 20 SSE streams and 20 long-polling clients on a
// quiet board and measures, over an idle window after each client's first
// reset, the bytes each SSE client receives and the requests (and bytes)
// each long-polling client spends, per minute.
func BenchmarkIdleCost(b *testing.B) {
	window := idleWindow(b)
	m := startServer(b, unlimited)
	base := m.URL()
	for i := range 5 {
		if _, err := (&client.Client{Base: base}).Post(context.Background(), benchBoard,
			shared.CreateTopic{Comment: fmt.Sprint("idle seed ", i)}, ""); err != nil {
			b.Fatal(err)
		}
	}

	type baseline struct {
		at          time.Time
		body, wire  int64
		read, wrote int64
	}
	ready := make(chan time.Time, 2*benchIdleClients)
	sseBase := make([]baseline, benchIdleClients)
	pollBase := make([]baseline, benchIdleClients)
	sses := make([]*sseClient, benchIdleClients)
	polls := make([]*pollClient, benchIdleClients)
	var clients []runner
	for i := range benchIdleClients {
		s := &sseClient{base: base}
		s.onReset = func(at time.Time) {
			// Runs on the client's goroutine before ready is sent: the
			// baseline is written before the window starts.
			sseBase[i] = baseline{at: at, body: s.body.Load(), wire: s.m.read.Load()}
			signalReady(ready, at)
		}
		s.onEvent = func(c shared.Change, _ time.Time) { b.Errorf("idle SSE client got a change: %+v", c) }
		sses[i] = s
		p := &pollClient{base: base}
		p.onReset = func(at time.Time) {
			pollBase[i] = baseline{at: at, read: p.m.read.Load(), wrote: p.m.written.Load()}
			signalReady(ready, at)
		}
		p.onEvent = func(c shared.Change, _ time.Time) { b.Errorf("idle long-poll client got a change: %+v", c) }
		polls[i] = p
		clients = append(clients, s, p)
	}
	stop := startClients(b, clients)
	defer stop()
	waitReady(b, ready, 2*benchIdleClients)

	b.ResetTimer()
	cpu0 := time.Now()
	cpuStart := cpuTime()
	time.Sleep(window)
	end := time.Now()
	cpu := cpuTime() - cpuStart
	cpuWall := end.Sub(cpu0)
	var sseBody, sseWire, pings, pollBytes, pollRate, rawReqs float64
	for i := range benchIdleClients {
		s, sb := sses[i], sseBase[i]
		perMin := float64(time.Minute) / float64(end.Sub(sb.at))
		sseBody += float64(s.body.Load()-sb.body) * perMin
		sseWire += float64(s.m.read.Load()-sb.wire) * perMin
		pings += float64(s.pings.Load()) * perMin

		p, pb := polls[i], pollBase[i]
		perMin = float64(time.Minute) / float64(end.Sub(pb.at))
		pollBytes += float64(p.m.read.Load()-pb.read+p.m.written.Load()-pb.wrote) * perMin
		p.mu.Lock()
		reqs := slices.Clone(p.requests)
		p.mu.Unlock()
		var inWindow []time.Time
		for _, t := range reqs {
			if !t.After(end) {
				inWindow = append(inWindow, t)
			}
		}
		rawReqs += float64(len(inWindow)) * perMin
		// The steady rate: one minute over the mean time between polls.
		if n := len(inWindow); n >= 2 {
			pollRate += float64(time.Minute) / (float64(inWindow[n-1].Sub(inWindow[0])) / float64(n-1))
		} else {
			pollRate = math.NaN()
		}
	}
	b.StopTimer()
	stop()
	n := float64(benchIdleClients)
	b.ReportMetric(sseBody/n, "sse-B/min")
	b.ReportMetric(sseWire/n, "sse-wire-B/min")
	b.ReportMetric(pings/n, "sse-pings/min")
	b.ReportMetric(pollRate/n, "lp-req/min")
	b.ReportMetric(rawReqs/n, "lp-req-in-window/min")
	b.ReportMetric(pollBytes/n, "lp-wire-B/min")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)*float64(time.Minute)/float64(cpuWall), "proc-cpu-ms/min")
	b.ReportMetric(window.Seconds(), "window-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCrossReplicaSSE50 writes through replica A and measures delivery
// to 50 SSE subscribers on replica B, both on one PostgreSQL database
// (KAIRAN_TEST_POSTGRES): the LISTEN/NOTIFY path end to end.
func BenchmarkCrossReplicaSSE50(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	a := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	r := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	runDeliveryOn(b, a.URL(), r.URL(), func(i int, base string, arr *arrivals, ready chan<- time.Time) runner {
		return &sseClient{base: base,
			onReset: func(at time.Time) { signalReady(ready, at) },
			onEvent: func(c shared.Change, at time.Time) { arr.saw(i, keyOf(c), at) },
		}
	})
}

// BenchmarkSameReplicaSSE50OnPostgres is the same on one replica, the
// baseline for the cross-replica figure.
func BenchmarkSameReplicaSSE50OnPostgres(b *testing.B) {
	dsn := pgtest.NewDatabase(b)
	a := startServer(b, unlimited, func(c *config.Config) { c.DB = dsn })
	runDeliveryOn(b, a.URL(), a.URL(), func(i int, base string, arr *arrivals, ready chan<- time.Time) runner {
		return &sseClient{base: base,
			onReset: func(at time.Time) { signalReady(ready, at) },
			onEvent: func(c shared.Change, at time.Time) { arr.saw(i, keyOf(c), at) },
		}
	})
}
