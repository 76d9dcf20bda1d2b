// Package load drives a kairan server on this machine with SSE and
// long-poll subscribers and paced or flat-out writers, and reports what
// DESIGN.md section 6 promises: delivery latency of posts and deletes per
// transport, missed and duplicated deliveries, the cost of an idle client,
// write throughput, and the server's CPU and memory (read from /proc).
//
// It backs the two subcommands of api/cmd/kairan-load: `load` (one
// configurable run, see Run) and `bench` (the standard set against fresh
// servers, see Bench). It only ever connects to loopback.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/kairan/kairan/shared"
)

// Limits that keep every run finite.
const (
	MaxDuration = 10 * time.Minute
	MaxSettle   = 2 * time.Minute
	// connectGrace is how long past the paced connection time clients may
	// take to get their first reset before the run measures anyway.
	connectGrace = time.Minute
)

// Options describe one run. The zero value of a field means its default.
type Options struct {
	URL   string // the server's base URL, loopback only (default http://127.0.0.1:8080)
	Board string // default "load"
	// WriteURL, when set, takes the posts and deletes while subscribers
	// follow URL: another replica on the same PostgreSQL database, to
	// measure the way between replicas. Loopback only, like URL.
	WriteURL string

	SSE      int // SSE subscribers
	Poll     int // long-polling subscribers
	PollWait int // the long poll's wait in seconds (default 25, as the client engine uses)

	Rate        float64       // posts per second overall; 0 with Writers > 0 is flat out, 0 with no writers an idle run
	Posts       int           // posts to make (0: until Duration ends)
	Duration    time.Duration // how long writes (or an idle run) last; default 30 s, or MaxDuration when Posts bounds the run
	Settle      time.Duration // how long to wait for the last deliveries after the writes (default 10 s)
	DeleteEvery int           // after every K-th acknowledged post, delete the oldest topic the tool created (0: never)
	Writers     int           // posting goroutines (default 4 when Rate > 0)
	Seed        int           // topics to create before subscribers connect (the oldest, deleted first)

	PID         int     // the server's process id, to sample its CPU and memory (0: not sampled)
	Metrics     string  // the server's /metrics URL (default URL+"/metrics"; "off": not read)
	ConnectRate float64 // subscribers opened per second (default 2000), so a big run does not flood the listen queue

	// Sources is how many loopback source addresses each process spreads
	// its subscribers over, from 127.0.0.1 on (a worker takes the next
	// ones), when the URL is an IPv4 loopback address: one address has one
	// ephemeral port range. 0: one per 20,000 subscribers.
	Sources int
	// MaxConnsPerProcess is how many subscribers one process holds; more
	// are split over worker processes, copies of Exec started with
	// WorkerEnv, while the posts stay in this one (one clock for the send
	// times). 0: the open-file limit less a margin.
	MaxConnsPerProcess int
	// Exec is the program a worker runs (default: this one). It must call
	// ServeWorker when WorkerEnv is set, as kairan-load does.
	Exec string

	// Progress, when set, receives a line per phase.
	Progress io.Writer
}

// Check says whether Run would accept o, without running.
func (o Options) Check() error { return o.normalize() }

func (o *Options) normalize() error {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:8080"
	}
	base, err := CheckURL(o.URL)
	if err != nil {
		return err
	}
	o.URL = base
	if o.WriteURL == "" {
		o.WriteURL = base
	} else if o.WriteURL, err = CheckURL(o.WriteURL); err != nil {
		return err
	}
	if o.Board == "" {
		o.Board = "load"
	}
	switch o.Metrics {
	case "off":
	case "":
		o.Metrics = o.URL + "/metrics"
	default:
		if o.Metrics, err = metricsURL(o.Metrics); err != nil {
			return err
		}
	}
	if err := shared.ValidateBoard(o.Board); err != nil {
		return fmt.Errorf("--board %q: %s", o.Board, shared.ErrorCode(err))
	}
	switch {
	case o.SSE < 0 || o.Poll < 0 || o.Posts < 0 || o.Seed < 0 || o.DeleteEvery < 0 || o.Writers < 0 || o.PID < 0:
		return errors.New("counts (--sse, --poll, --posts, --seed, --delete-every, --writers, --pid) cannot be negative")
	case o.Sources < 0 || o.Sources > MaxSources:
		return fmt.Errorf("--sources is 0 (one per %d subscribers) to %d", portsPerSource, MaxSources)
	case o.MaxConnsPerProcess < 0:
		return errors.New("the subscribers per process cannot be negative")
	case o.Rate < 0 || o.ConnectRate < 0:
		return errors.New("--rate and --connect-rate cannot be negative")
	case o.Duration < 0 || o.Settle < 0:
		return errors.New("--duration and --settle cannot be negative")
	case o.Duration > MaxDuration:
		return fmt.Errorf("--duration %v is above the %v every run stays under", o.Duration, MaxDuration)
	case o.Settle > MaxSettle:
		return fmt.Errorf("--settle %v is above %v", o.Settle, MaxSettle)
	case o.PollWait < 0 || o.PollWait > 30:
		return errors.New("--poll-wait is 1 to 30 seconds")
	}
	if o.Rate > 0 && o.Writers == 0 {
		o.Writers = 4 // a slow answer should not hold up the next paced post
	}
	if o.Posts > 0 && o.Writers == 0 {
		return errors.New("--posts needs --rate (posts per second) or --writers (flat out)")
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Second
		if o.Posts > 0 {
			o.Duration = MaxDuration // the post count ends the run
		}
	}
	if o.Settle == 0 {
		o.Settle = 10 * time.Second
	}
	if o.PollWait == 0 {
		o.PollWait = 25
	}
	if o.ConnectRate == 0 {
		o.ConnectRate = 2000
	}
	return nil
}

func (o *Options) connectBudget() time.Duration {
	return time.Duration(float64(o.SSE+o.Poll)/o.ConnectRate*float64(time.Second)) + connectGrace
}

func (o *Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "load: "+format+"\n", args...)
	}
}

// Run makes one run and reports it. It returns an error only when the run
// cannot start (bad options, no server, too few file descriptors); what
// goes wrong during the run is counted in the report. Cancelling ctx ends
// the run early with a report marked Interrupted.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	nClients := o.SSE + o.Poll
	fileLimit, err := raiseFileLimit(uint64(o.Writers + descriptorMargin))
	if err != nil {
		return nil, err
	}
	perProcess := o.MaxConnsPerProcess
	if perProcess == 0 {
		perProcess = max(1, int(fileLimit)-o.Writers-descriptorMargin)
	}
	shares := max(1, (nClients+perProcess-1)/perProcess)
	sources := o.Sources
	if sources == 0 {
		sources = sourcesFor((nClients + shares - 1) / shares)
	}
	exe := o.Exec
	if shares > 1 && exe == "" {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%d subscribers need %d processes, but this program cannot find itself to start them: %w", nClients, shares, err)
		}
	}
	// The hard bound: whatever happens, the run ends.
	ctx, cancel := context.WithTimeout(ctx, o.connectBudget()+o.Duration+o.Settle+time.Minute)
	defer cancel()

	t := newTracker(nClients)
	w := newWriter(o.WriteURL, o.Board, t, o.Writers, o.DeleteEvery)
	defer w.close()
	if err := w.ping(ctx); err != nil {
		return nil, fmt.Errorf("%s does not answer as a kairan server: %w", o.URL, err)
	}
	if o.Seed > 0 {
		o.logf("seeding %d topics on %s", o.Seed, o.Board)
		if err := w.seed(ctx, o.Seed); err != nil {
			return nil, err
		}
	}
	var smp *sampler
	if o.PID > 0 {
		if _, err := readProc(o.PID); err != nil {
			return nil, fmt.Errorf("--pid %d: %w", o.PID, err)
		}
		smp = startSampler(o.PID)
		defer smp.stop()
	}
	rep := &Report{URL: o.URL, Board: o.Board, SSE: o.SSE, Poll: o.Poll, PollWait: o.PollWait, FileLimit: fileLimit,
		Processes: shares, Sources: sources,
		Writes: Writes{Rate: o.Rate, Writers: o.Writers, DeleteEvery: o.DeleteEvery, Seeded: w.seeded}}
	before := smp.sample()
	// The server's own counts: read when /metrics answers, else noted.
	scrapeNow := func() (series, bool) { return series{}, false }
	if o.Metrics != "off" {
		if _, err := scrape(ctx, w.hc, o.Metrics); err != nil {
			rep.note("server metrics not read: %v", err)
		} else {
			scrapeNow = func() (series, bool) {
				s, err := scrape(ctx, w.hc, o.Metrics)
				if err != nil {
					rep.note("server metrics: %v", err)
				}
				return s, err == nil
			}
		}
	}
	metricsBefore, okBefore := scrapeNow()

	// Connect, paced, and wait until every client has its first reset.
	if nClients > 0 {
		o.logf("connecting %d SSE and %d long-poll subscribers at %.0f/s from %d process(es), %d source address(es) each",
			o.SSE, o.Poll, o.ConnectRate, shares, sources)
	}
	connectStart := time.Now()
	readyBy := time.NewTimer(o.connectBudget())
	defer readyBy.Stop()
	var subs subscribers
	if shares > 1 {
		ws, err := startWorkers(ctx, exe, shares, &o, t.tag, sources)
		if err != nil {
			return nil, err
		}
		subs = ws
	} else {
		subs = startLocal(ctx, t, o.URL, o.Board, o.SSE, o.Poll, o.PollWait, o.ConnectRate, newSourceDialer(0, sources))
	}
	var fin *finished
	finish := func() finished {
		if fin == nil {
			f := subs.finish()
			fin = &f
		}
		return *fin
	}
	defer finish()
	select {
	case <-subs.allReady():
	case <-readyBy.C:
		rep.note("only %d of %d subscribers had their first reset %v after connecting began; measuring anyway",
			subs.readyCount(), nClients, o.connectBudget().Round(time.Second))
	case <-ctx.Done():
	}
	rep.Ready = subs.readyCount()
	rep.ConnectSeconds = time.Since(connectStart).Seconds()
	connected := smp.sample()
	metricsReady, okReady := scrapeNow()
	if nClients > 0 {
		o.logf("%d of %d subscribers ready in %.2f s", rep.Ready, nClients, rep.ConnectSeconds)
	}

	// The window: writes (or idle time), then the settle for the last
	// deliveries.
	windowStart := time.Now()
	self0 := selfCPU()
	atStart := smp.sample()
	writeWindow, stopWriting := context.WithTimeout(ctx, o.Duration)
	if o.Writers > 0 {
		o.logf("writing: %s", describeWrites(o))
		w.run(ctx, writeWindow, o.Writers, o.Rate, int64(o.Posts))
	} else {
		o.logf("idle for %v", o.Duration)
		<-writeWindow.Done()
	}
	stopWriting()
	writeEnd := time.Now()
	w.mu.Lock()
	subs.expect(int64(len(w.created) + len(w.deleted)))
	w.mu.Unlock()
	settle := time.NewTimer(o.Settle)
	select {
	case <-subs.settled():
	case <-settle.C:
	case <-ctx.Done():
	}
	settle.Stop()
	windowEnd := time.Now()
	atEnd := smp.sample()
	metricsEnd, okEnd := scrapeNow()
	self1 := selfCPU()
	f := finish()
	clients, meters := f.clients, f.meters
	for _, n := range f.notes {
		rep.note("%s", n)
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
		rep.note("the run was interrupted (%v); figures cover the part that ran", context.Cause(ctx))
	}

	rep.WindowSeconds = windowEnd.Sub(windowStart).Seconds()
	rep.WriteSeconds = writeEnd.Sub(windowStart).Seconds()
	rep.SettleSeconds = windowEnd.Sub(writeEnd).Seconds()
	rep.LoadCPUSeconds = (self1 - self0 + f.cpu).Seconds()
	rep.Errors = t.errs.snapshot()
	for k, v := range f.errs {
		rep.Errors[k] += v
	}
	rep.fillWrites(w)
	rep.fillDeliveries(w, clients)
	rep.fillIdle(clients, meters, windowEnd)
	if okBefore && okReady && okEnd {
		rep.Metrics = &ServerMetrics{URL: o.Metrics}
		rep.Metrics.fill(metricsBefore, metricsReady, metricsEnd)
	}
	if smp != nil {
		s := &Server{PID: o.PID, RSSBefore: before.RSS, RSSConnected: connected.RSS, RSSEnd: atEnd.RSS, RSSPeak: smp.peak(),
			CPUConnectSeconds: (atStart.CPU - before.CPU).Seconds(), CPUWindowSeconds: (atEnd.CPU - atStart.CPU).Seconds()}
		s.CPUPercentOfCore = 100 * s.CPUWindowSeconds / rep.WindowSeconds
		if nClients > 0 {
			s.RSSPerSubscriber = float64(connected.RSS-before.RSS) / float64(nClients)
		}
		if err := smp.failure(); err != nil {
			rep.note("server sampling failed: %v (did the process exit?)", err)
		}
		rep.Server = s
	}
	o.logf("done: %d posts acknowledged, %d deliveries missed", rep.Writes.PostsAcked, rep.Delivery.Missed)
	return rep, nil
}

func describeWrites(o Options) string {
	s := fmt.Sprintf("%d writers", o.Writers)
	if o.Rate > 0 {
		s = fmt.Sprintf("%g posts/s by %s", o.Rate, s)
	} else {
		s += " flat out"
	}
	if o.Posts > 0 {
		s = fmt.Sprintf("%d posts at %s", o.Posts, s)
	}
	s += fmt.Sprintf(", for at most %v", o.Duration)
	if o.DeleteEvery > 0 {
		s += fmt.Sprintf(", a delete after every %d", o.DeleteEvery)
	}
	return s
}

// ping checks a kairan server answers on the board before anything else,
// so a wrong URL gives one clear error instead of thousands of failures.
func (w *writer) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", w.base+"/api/boards/"+w.board+"?limit=1", nil)
	if err != nil {
		return err
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return answerError(resp)
	}
	return nil
}

// sampler reads a process's CPU and RSS at chosen instants, and its RSS
// every 250 ms in between for the peak. A nil sampler does nothing.
type sampler struct {
	pid  int
	stop func()

	mu   sync.Mutex
	max  int64
	err  error
	last procSample
}

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.sample()
			}
		}
	}()
	s.stop = sync.OnceFunc(func() { cancel(); <-done })
	return s
}

// sample reads the process now; after a failure it repeats the last good
// reading, and failure reports the error.
func (s *sampler) sample() procSample {
	if s == nil {
		return procSample{}
	}
	p, err := readProc(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return s.last
	}
	s.last = p
	s.max = max(s.max, p.RSS)
	return p
}

func (s *sampler) peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

func (s *sampler) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
