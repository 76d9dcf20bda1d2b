package load

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/kairan/kairan/shared/sse"
)

// RivalsConfig is one run of the rivals benchmark (issue 14): kairan,
// Centrifugo and Mercure, each started fresh per run, driven by the same
// subscribers and publisher: K subscribers over SSE on one channel, one
// message per Interval, then Idle with no messages; rounds interleave the
// servers so drifts of the machine fall on all of them.
type RivalsConfig struct {
	Binaries    map[string]string // contender name → its binary
	Only        []string          // contenders to run, in Contenders order (default all)
	Subscribers []int             // K per run (default 1,000 and 10,000)
	Rounds      int               // default 3
	Messages    int               // per run (default 30)
	Interval    time.Duration     // between messages (default 1 s)
	Idle        time.Duration     // after the last delivery (default 60 s)
	Settle      time.Duration     // at most this long for the last deliveries (default 30 s)
	ConnectRate float64           // subscribers opened per second (default 2000)
	Sources     int               // loopback source addresses (0: one per 20,000 subscribers)
	// ServerCPUs, when set, gives each server the last ServerCPUs CPUs
	// and this client the others, as if they ran on two machines: the
	// servers' figures without the client's work on their cores.
	ServerCPUs int
	Log        io.Writer

	cpus string // the servers' CPUs as taskset names them
}

func (c *RivalsConfig) defaults() {
	if len(c.Only) == 0 {
		c.Only = Contenders
	}
	if len(c.Subscribers) == 0 {
		c.Subscribers = []int{1000, 10000}
	}
	if c.Rounds == 0 {
		c.Rounds = 3
	}
	if c.Messages == 0 {
		c.Messages = 30
	}
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Idle == 0 {
		c.Idle = time.Minute
	}
	if c.Settle == 0 {
		c.Settle = 30 * time.Second
	}
	if c.ConnectRate == 0 {
		c.ConnectRate = 2000
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// clientMemoryLimit is the heap at which the rivals client collects
// garbage: a 10,000-subscriber run allocates a few hundred MB at most.
const clientMemoryLimit = 4 << 30

// RivalRun is one server's figures in one run.
type RivalRun struct {
	Server string `json:"server"`
	K      int    `json:"subscribers"`
	Round  int    `json:"round"`

	Ready          int     `json:"ready"`
	ConnectSeconds float64 `json:"connect_s"`
	Published      int     `json:"published"` // messages answered
	PublishErrors  int     `json:"publish_errors"`
	Delivery       Dist    `json:"delivery"` // receive − send over every (subscriber, message) pair
	// LastDelivery is over the messages: each one's latest delivery, when
	// its fan-out had reached every subscriber. At 1,000 subscribers the
	// p99 above is the slowest 300 samples, fewer than one message's, so
	// one message held up sets it; this says whether one did.
	LastDelivery  Dist    `json:"last_delivery_per_message"`
	PublishAnswer Dist    `json:"publish_answer"`  // send → answer read
	Missed        int64   `json:"missed"`          // (subscriber, answered message) pairs never received
	Duplicates    int64   `json:"duplicates"`      // a message a subscriber already had
	StreamErrors  int64   `json:"stream_errors"`   // streams that failed or were refused
	RSSPerSubKiB  float64 `json:"rss_per_sub_kib"` // (RSS connected − RSS before) / K
	IdleCPUPerSub float64 `json:"idle_cpu_us_per_sub_min"`
	PingSeconds   float64 `json:"ping_interval_s"`          // median gap before a ping, from the streams
	IdlePings     float64 `json:"idle_pings_per_sub"`       // pings each subscriber received in the idle window
	PingCPUPerSub float64 `json:"idle_cpu_us_per_ping_sub"` // idle CPU ÷ pings received in the idle window
	IdleBytes     float64 `json:"idle_bytes_per_sub_min"`   // TCP payload
	MessageBytes  float64 `json:"message_bytes_per_sub"`    // TCP payload while the messages were delivered
	// CPU per delivery while the messages were delivered, the server's
	// and this client's: on one machine they share the cores, so a
	// server whose messages cost the client more is slower for it.
	ServerCPUPerDelivery float64 `json:"server_cpu_us_per_delivery"`
	ClientCPUPerDelivery float64 `json:"client_cpu_us_per_delivery"`
	Load                 string  `json:"loadavg"` // /proc/loadavg's 1-minute figure at start → end
	LoadEnd              float64 `json:"loadavg_end"`
	Notes                []string
}

// Rivals runs every round and prints the figures of each run and then
// one table of medians over rounds with kairan ÷ the best rival.
func Rivals(ctx context.Context, c RivalsConfig, out io.Writer) error {
	c.defaults()
	for _, name := range c.Only {
		if !slices.Contains(Contenders, name) {
			return fmt.Errorf("no contender %q; choose from %s", name, strings.Join(Contenders, ", "))
		}
		if _, err := os.Stat(c.Binaries[name]); err != nil {
			return fmt.Errorf("the %s binary: %w (go tool task bench:rivals builds it; docs/BENCHMARKS.md says how)", name, err)
		}
	}
	need := slices.Max(c.Subscribers) + descriptorMargin
	if _, err := raiseFileLimit(uint64(need)); err != nil {
		return fmt.Errorf("%w (every subscriber is held in this process)", err)
	}
	machine := machineInfo(c.Binaries["kairan"])
	if c.ServerCPUs > 0 {
		client := runtime.NumCPU() - c.ServerCPUs
		if err := pinSelf(client); err != nil {
			return fmt.Errorf("--server-cpus %d: %w", c.ServerCPUs, err)
		}
		c.cpus = strconv.Itoa(client)
		if c.ServerCPUs > 1 {
			c.cpus += "-" + strconv.Itoa(runtime.NumCPU()-1)
		}
		machine += fmt.Sprintf("; servers pinned to CPU %s, this client to the other %d", c.cpus, client)
	}
	for _, name := range c.Only {
		switch name {
		case "centrifugo":
			machine += "; " + serverVersion(c.Binaries[name])
		case "mercure":
			machine += "; " + mercureVersion(c.Binaries[name])
		}
	}
	// This one process holds every subscriber, so its heap is tens of
	// thousands of connections' buffers, and a collection in the middle of
	// a fan-out, at a cost in proportion to that heap, would be measured as
	// the server's latency: a cost no real subscriber (one connection per
	// device) has, and one that falls on whichever server's frames leave
	// the most garbage. The client collects only near a memory limit far
	// above what a run allocates, the same for every server.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(clientMemoryLimit))
	machine += fmt.Sprintf("; client GC off below %d GiB", clientMemoryLimit>>30)
	fmt.Fprintf(c.Log, "rivals: %s\n", machine)
	runs, err := rivalRounds(ctx, c)
	fmt.Fprintf(out, "kairan-load rivals: %s\n\n", machine)
	writeRuns(out, runs)
	fmt.Fprintln(out)
	writeRivalsTable(out, runs, c.Only, c.Subscribers)
	if err != nil {
		return err
	}
	return ctx.Err()
}

// mercureVersion names the Mercure module a caddy/mercure binary was built
// with (its `version` command tells Caddy's).
func mercureVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "build-info").Output()
	if err != nil {
		return fmt.Sprintf("%s (version unknown: %v)", bin, err)
	}
	mercureV, caddyV := "(version unknown)", "unknown"
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "dep" {
			switch f[1] {
			case "github.com/dunglas/mercure":
				mercureV = f[2]
			case "github.com/caddyserver/caddy/v2":
				caddyV = f[2]
			}
		}
	}
	return fmt.Sprintf("Mercure %s (Caddy %s)", mercureV, caddyV)
}

// rivalRounds makes every run of c, in order, and returns those that
// completed.
func rivalRounds(ctx context.Context, c RivalsConfig) ([]*RivalRun, error) {
	var runs []*RivalRun
	for round := 1; round <= c.Rounds; round++ {
		for _, k := range c.Subscribers {
			// Each round starts with the next server, so none always
			// runs first (or right after the biggest one).
			for i := range c.Only {
				name := c.Only[(i+round-1)%len(c.Only)]
				if ctx.Err() != nil {
					return runs, ctx.Err()
				}
				fmt.Fprintf(c.Log, "rivals: round %d, %s subscribers, %s\n", round, thousands(k), name)
				r, err := runRival(ctx, contenderNamed(name), c.Binaries[name], k, c)
				if err != nil {
					return runs, fmt.Errorf("%s, %d subscribers, round %d: %w", name, k, round, err)
				}
				r.Round = round
				fmt.Fprintf(c.Log, "rivals: %s\n", r.summary())
				runs = append(runs, r)
			}
		}
	}
	return runs, nil
}

func (r *RivalRun) summary() string {
	s := fmt.Sprintf("%s K=%d: %d/%d ready in %.1f s; delivery p50 %s p99 %s ms (a message's last: median %s, slowest %s ms); publish p50 %s ms; RSS %.1f KiB/sub; idle %.0f µs CPU/sub/min, ping %.1f s (%.2f per sub in the idle window), %.0f B/sub/min; %.0f B/sub for the messages; missed %d, dups %d, stream errors %d; load %s",
		r.Server, r.K, r.Ready, r.K, r.ConnectSeconds, num(r.Delivery.P50), num(r.Delivery.P99), num(r.LastDelivery.P50), num(r.LastDelivery.Max), num(r.PublishAnswer.P50),
		r.RSSPerSubKiB, r.IdleCPUPerSub, r.PingSeconds, r.IdlePings, r.IdleBytes, r.MessageBytes, r.Missed, r.Duplicates, r.StreamErrors, r.Load)
	for _, n := range r.Notes {
		s += "; note: " + n
	}
	return s
}

// runRival is one run against a fresh server.
func runRival(ctx context.Context, ct contender, bin string, k int, c RivalsConfig) (*RivalRun, error) {
	r := &RivalRun{Server: ct.name, K: k}
	runtime.GC() // the last run's garbage, now, not during this one (see Rivals)
	load0 := loadAverage1()
	srv, err := ct.start(ctx, bin, c.Log, c.cpus)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(c.Log, "rivals: %s did not stop cleanly: %v\n", ct.name, err)
		}
	}()
	pid := srv.PID()
	before, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	budget := time.Duration(float64(k)/c.ConnectRate*float64(time.Second)) + connectGrace
	// The hard bound: whatever happens, the run ends.
	ctx, cancel := context.WithTimeout(ctx, budget+time.Duration(c.Messages)*c.Interval+c.Settle+c.Idle+time.Minute)
	defer cancel()

	t := newTracker(k)
	connectStart := time.Now() // startRivalSubs paces the opens: it returns after the last
	subs := startRivalSubs(ctx, ct, t, srv.URL, k, c.ConnectRate, newSourceDialer(0, cmp.Or(c.Sources, sourcesFor(k))))
	defer subs.stop()
	readyBy := time.NewTimer(budget)
	defer readyBy.Stop()
	select {
	case <-t.allReady:
	case <-readyBy.C:
		r.note("only %d of %d subscribers were subscribed after %v; measuring anyway", t.ready.Load(), k, budget.Round(time.Second))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.Ready, r.ConnectSeconds = int(t.ready.Load()), time.Since(connectStart).Seconds()
	connected, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	r.RSSPerSubKiB = float64(connected.RSS-before.RSS) / float64(k) / 1024

	// The messages, paced, one at a time.
	hc, tr := meteredClient(nil, new(atomic.Int64), new(atomic.Int64))
	defer tr.CloseIdleConnections()
	wire0, _ := subs.wire()
	server0, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	client0, err := readProc(os.Getpid())
	if err != nil {
		return nil, err
	}
	var answers []time.Duration
	start := time.Now()
	for i := range c.Messages {
		if !pause(ctx, time.Until(start.Add(time.Duration(i)*c.Interval))) {
			return nil, ctx.Err()
		}
		sent := time.Now()
		if err := ct.publish(ctx, hc, srv.URL, t.comment(sent, int64(i+1))); err != nil {
			r.PublishErrors++
			if r.PublishErrors == 1 {
				r.note("publish failed: %v", err)
			}
			continue
		}
		answers = append(answers, time.Since(sent))
	}
	r.Published = len(answers)
	r.PublishAnswer = distOf(answers)
	t.expect(int64(r.Published) * int64(k))
	settle := time.NewTimer(c.Settle)
	select {
	case <-t.settled:
	case <-settle.C:
		r.note("not every delivery had arrived %v after the last message", c.Settle)
	case <-ctx.Done():
	}
	settle.Stop()
	wire1, pings1 := subs.wire()
	r.MessageBytes = float64(wire1-wire0) / float64(k)
	server1, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	client1, err := readProc(os.Getpid())
	if err != nil {
		return nil, err
	}
	if n := t.received.Load(); n > 0 {
		r.ServerCPUPerDelivery = float64((server1.CPU - server0.CPU).Microseconds()) / float64(n)
		r.ClientCPUPerDelivery = float64((client1.CPU - client0.CPU).Microseconds()) / float64(n)
	}

	// Idle: no messages, only the servers' keep-alives.
	idle0, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	idleStart := time.Now()
	if !pause(ctx, c.Idle) {
		return nil, ctx.Err()
	}
	idle1, err := readProc(pid)
	if err != nil {
		return nil, err
	}
	minutes := time.Since(idleStart).Minutes()
	wire2, pings2 := subs.wire()
	subs.stop()
	r.IdleCPUPerSub = float64((idle1.CPU - idle0.CPU).Microseconds()) / float64(k) / minutes
	r.IdleBytes = float64(wire2-wire1) / float64(k) / minutes

	var lat []time.Duration
	var pingGaps, firstPingGaps []time.Duration
	for _, s := range subs.subs {
		lat = append(lat, s.got...)
		r.Duplicates += s.dups
		r.StreamErrors += s.failures
		pingGaps = append(pingGaps, s.pingGaps...)
		firstPingGaps = append(firstPingGaps, s.firstPingGaps...)
	}
	if errs := t.errs.snapshot(); len(errs) > 0 {
		var parts []string
		for _, kind := range sortedKinds(errs) {
			parts = append(parts, fmt.Sprintf("%s ×%d", kind, errs[kind]))
		}
		r.note("stream failures: %s", strings.Join(parts, ", "))
	}
	r.Delivery = distOf(lat)
	r.LastDelivery = distOf(lastDeliveries(subs.subs))
	r.Missed = int64(r.Published)*int64(k) - int64(len(lat))
	r.PingSeconds, r.PingCPUPerSub = math.NaN(), math.NaN()
	if p := pingInterval(pingGaps, firstPingGaps); p > 0 {
		r.PingSeconds = p.Seconds()
	}
	// Per ping actually sent in the idle window: a window of 60 s holds
	// one 40 s heartbeat but four 14 s pings, so the interval alone
	// would misattribute the CPU.
	r.IdlePings = float64(pings2-pings1) / float64(k)
	if pings2 > pings1 {
		r.PingCPUPerSub = float64((idle1.CPU - idle0.CPU).Microseconds()) / float64(pings2-pings1)
	} else {
		r.note("no ping arrived in the idle window: the idle time is shorter than the server's ping interval")
	}
	load1 := loadAverage1()
	r.Load = fmt.Sprintf("%.2f → %.2f", load0, load1)
	r.LoadEnd = load1
	return r, nil
}

func (r *RivalRun) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// pingInterval is the median gap between two pings on one stream; where no
// stream had two (a 40 s heartbeat in a 60 s idle window), the median gap
// between the last frame before a ping and the ping.
func pingInterval(between, after []time.Duration) time.Duration {
	d := between
	if len(d) == 0 {
		d = after
	}
	slices.Sort(d)
	return percentile(d, 0.5)
}

// loadAverage1 is /proc/loadavg's 1-minute figure (NaN when unreadable).
func loadAverage1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// rivalSubs are one run's subscribers, all in this process (a run needs
// fewer descriptors than one process may hold here), reading their
// streams on one epoll loop (rawstream.go). One loop, not one per CPU:
// at 10,000 subscribers it keeps up with every server (8.7 µs of CPU per
// delivery), and a second one, idle half the time, doubled the sleeps and
// wake-ups (11–12 µs per delivery, p50 81–83 against 78–79 ms; the
// goroutine per stream before: 12.8 µs, 90 ms).
type rivalSubs struct {
	subs []*rivalSub
	stop func()
}

func startRivalSubs(ctx context.Context, ct contender, t *tracker, base string, k int, connectRate float64, dial *sourceDialer) *rivalSubs {
	ctx, cancel := context.WithCancel(ctx)
	loops, err := newStreamLoops(1)
	if err != nil {
		t.errs.add("stream loops: " + err.Error() + " (each stream read on a goroutine)")
	}
	var wg sync.WaitGroup
	rs := &rivalSubs{stop: sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if loops != nil {
			loops.close() // after it, no loop touches a subscriber
		}
	})}
	lim := rate.NewLimiter(rate.Limit(connectRate), max(1, int(connectRate/50)))
	for i := range k {
		if lim.Wait(ctx) != nil {
			break
		}
		s := &rivalSub{ct: ct, t: t, url: ct.stream(base), dial: dial.dial, loops: loops, loop: i}
		rs.subs = append(rs.subs, s)
		wg.Go(func() { s.run(ctx) })
	}
	return rs
}

// wire is the TCP payload every subscriber has received so far, and the
// pings.
func (rs *rivalSubs) wire() (bytes, pings int64) {
	for _, s := range rs.subs {
		bytes += s.wireIn.Load()
		pings += s.pings.Load()
	}
	return bytes, pings
}

// rivalSub is one SSE subscriber of a contender. The fields without a
// lock belong to whatever reads its stream (its goroutine, or a stream
// loop while the goroutine follows) and are read after the run's
// subscribers have stopped.
type rivalSub struct {
	ct   contender
	t    *tracker
	url  string
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// loops read the stream on loop number loop; nil: on run's goroutine.
	loops *streamLoops
	loop  int

	opened        bool
	seen          []bool // by message number
	got           []time.Duration
	gotSeq        []int64 // the message of each of got
	dups          int64
	failures      int64
	last          time.Time // the last frame the run counts
	lastWasPing   bool
	pingGaps      []time.Duration // ping after ping
	firstPingGaps []time.Duration // ping after an open or a message

	wireIn, wireOut atomic.Int64
	pings           atomic.Int64 // pings received, read while the run goes on
}

// run follows the stream until ctx ends, opening it again after a
// failure (without resuming: what was sent meanwhile counts as missed).
func (s *rivalSub) run(ctx context.Context) {
	hc, tr := meteredClient(s.dial, &s.wireIn, &s.wireOut)
	defer tr.CloseIdleConnections()
	failures := 0
	for ctx.Err() == nil {
		err := s.stream(ctx, hc)
		if ctx.Err() != nil {
			return
		}
		s.failures++
		s.t.errs.add(s.ct.name + " " + describe(err))
		failures++
		if !pause(ctx, backoff(failures)) {
			return
		}
	}
}

func (s *rivalSub) stream(ctx context.Context, hc *http.Client) error {
	if s.loops != nil {
		conn, st, err := openRaw(ctx, s.dial, s.url, &s.wireIn, &s.wireOut)
		if err != nil {
			return err
		}
		st.events = sse.NewFeeder(1<<20, func(ev sse.Event) {
			f, text := s.ct.event(ev)
			s.on(f, text, st.at)
		})
		st.events.OnComment(func(text string) { s.on(s.ct.comment(text, s.opened), "", st.at) })
		return s.loops.follow(ctx, s.loop, conn, st)
	}
	resp, err := openStream(ctx, hc, s.url, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return s.read(resp.Body)
}

// read counts the frames of one stream until it fails.
func (s *rivalSub) read(body io.Reader) error {
	dec := sse.NewDecoder(body, 1<<20)
	dec.OnComment(func(text string) { s.on(s.ct.comment(text, s.opened), "", time.Now()) })
	for {
		ev, at, err := nextEvent(dec)
		if err != nil {
			return err
		}
		f, text := s.ct.event(ev)
		s.on(f, text, at)
	}
}

// on counts one frame that arrived at at.
func (s *rivalSub) on(f frame, text string, at time.Time) {
	switch f {
	case frameOther:
		return
	case frameOpen:
		if !s.opened {
			s.opened = true
			s.t.clientReady()
		}
	case framePing:
		s.pings.Add(1)
		if !s.last.IsZero() {
			if s.lastWasPing {
				s.pingGaps = append(s.pingGaps, at.Sub(s.last))
			} else {
				s.firstPingGaps = append(s.firstPingGaps, at.Sub(s.last))
			}
		}
	case frameMessage:
		sent, seq, ok := s.t.parseComment(text)
		if !ok {
			return // not this run's message
		}
		if seq < 0 || seq >= 1<<20 {
			return // not a number this run sends
		}
		if seq >= int64(len(s.seen)) {
			s.seen = append(s.seen, make([]bool, int(seq)+1-len(s.seen))...)
		}
		if s.seen[seq] {
			s.dups++
		} else {
			s.seen[seq] = true
			s.got = append(s.got, time.Duration(at.UnixNano()-sent))
			s.gotSeq = append(s.gotSeq, seq)
			s.t.delivered()
		}
	}
	s.last, s.lastWasPing = at, f == framePing
}

// lastDeliveries is each message's latest delivery to any subscriber.
func lastDeliveries(subs []*rivalSub) []time.Duration {
	last := map[int64]time.Duration{}
	for _, s := range subs {
		for i, d := range s.got {
			last[s.gotSeq[i]] = max(last[s.gotSeq[i]], d)
		}
	}
	return slices.Collect(maps.Values(last))
}

// The table.

// rivalFigure is one row of the table; every figure is better lower.
type rivalFigure struct {
	name  string
	get   func(*RivalRun) float64
	ratio bool // whether kairan ÷ best rival means something
}

var rivalFigures = []rivalFigure{
	{"delivery first (min) ms", func(r *RivalRun) float64 { return r.Delivery.Min }, true},
	{"delivery p50 ms", func(r *RivalRun) float64 { return r.Delivery.P50 }, true},
	{"delivery p99 ms", func(r *RivalRun) float64 { return r.Delivery.P99 }, true},
	{"last delivery per message, median ms", func(r *RivalRun) float64 { return r.LastDelivery.P50 }, true},
	{"last delivery per message, slowest ms", func(r *RivalRun) float64 { return r.LastDelivery.Max }, true},
	{"publish answered p50 ms", func(r *RivalRun) float64 { return r.PublishAnswer.P50 }, true},
	// A durable server's slowest commit: with 30 messages, the delivery
	// p99 at 1,000 is that message's.
	{"publish answered, slowest ms", func(r *RivalRun) float64 { return r.PublishAnswer.Max }, true},
	{"RSS per subscriber KiB", func(r *RivalRun) float64 { return r.RSSPerSubKiB }, true},
	{"server CPU per delivery µs (messages window)", func(r *RivalRun) float64 { return r.ServerCPUPerDelivery }, true},
	{"client CPU per delivery µs (messages window)", func(r *RivalRun) float64 { return r.ClientCPUPerDelivery }, false},
	{"idle CPU per subscriber per minute µs", func(r *RivalRun) float64 { return r.IdleCPUPerSub }, true},
	{"ping interval s (from the streams)", func(r *RivalRun) float64 { return r.PingSeconds }, false},
	{"idle CPU per ping per subscriber µs (pings in the window)", func(r *RivalRun) float64 { return r.PingCPUPerSub }, true},
	{"idle bytes per subscriber per minute (TCP)", func(r *RivalRun) float64 { return r.IdleBytes }, true},
	{"bytes per subscriber for the messages (TCP)", func(r *RivalRun) float64 { return r.MessageBytes }, true},
	{"missed / duplicated deliveries", func(r *RivalRun) float64 { return float64(r.Missed + r.Duplicates) }, false},
	{"load average (1 min) at run end", func(r *RivalRun) float64 { return r.LoadEnd }, false},
}

// median is the middle value (the mean of the two middle ones for an
// even count), NaNs left out; NaN for none.
func median(v []float64) float64 {
	s := known(v)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// known is v without its NaNs, in a new slice.
func known(v []float64) []float64 {
	var s []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	return s
}

// ratioToBest is kairan's figure over the lowest of the rivals' (NaN when
// there is no rival or the best is 0).
func ratioToBest(kairan float64, rivals []float64) float64 {
	best := math.Inf(1)
	for _, v := range rivals {
		if !math.IsNaN(v) {
			best = min(best, v)
		}
	}
	if math.IsInf(best, 1) || best == 0 || math.IsNaN(kairan) {
		return math.NaN()
	}
	return kairan / best
}

// rivalsTable is the summary: per K and figure, each server's median over
// rounds (with the range when rounds differ) and kairan ÷ best rival.
func rivalsTable(runs []*RivalRun, servers []string, ks []int) [][]string {
	head := append([]string{"K", "figure"}, servers...)
	head = append(head, "kairan ÷ best rival")
	rows := [][]string{head}
	for _, k := range ks {
		for _, f := range rivalFigures {
			row := []string{thousands(k), f.name}
			var kairan float64 = math.NaN()
			var rivals []float64
			for _, name := range servers {
				var v []float64
				for _, r := range runs {
					if r.K == k && r.Server == name {
						v = append(v, f.get(r))
					}
				}
				m := median(v)
				cell := figure(m)
				if v := known(v); len(v) > 1 && slices.Min(v) != slices.Max(v) {
					cell += " (" + figure(slices.Min(v)) + "–" + figure(slices.Max(v)) + ")"
				}
				row = append(row, cell)
				if name == "kairan" {
					kairan = m
				} else {
					rivals = append(rivals, m)
				}
			}
			ratio := "—"
			if f.ratio {
				if q := ratioToBest(kairan, rivals); !math.IsNaN(q) {
					ratio = fmt.Sprintf("%.2f×", q)
				}
			}
			rows = append(rows, append(row, ratio))
		}
	}
	return rows
}

// figure prints a value with three significant digits or so.
func figure(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return thousands(int(math.Round(v)))
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func writeRivalsTable(w io.Writer, runs []*RivalRun, servers []string, ks []int) {
	rounds := 0
	for _, r := range runs {
		rounds = max(rounds, r.Round)
	}
	fmt.Fprintf(w, "Medians over %d round(s) (range in brackets); every figure is better lower.\n\n", rounds)
	writeMarkdown(w, rivalsTable(runs, servers, ks))
}

// writeRuns lists every run, in the order they ran.
func writeRuns(w io.Writer, runs []*RivalRun) {
	rows := [][]string{{"round", "K", "server", "load avg", "ready", "delivery p50 / p99 ms", "publish p50 ms", "RSS KiB/sub",
		"idle CPU µs/sub/min", "ping s", "idle pings/sub", "idle B/sub/min", "msg B/sub", "missed / dup / stream errors"}}
	for _, r := range runs {
		rows = append(rows, []string{strconv.Itoa(r.Round), thousands(r.K), r.Server, r.Load, thousands(r.Ready),
			figure(r.Delivery.P50) + " / " + figure(r.Delivery.P99), figure(r.PublishAnswer.P50), figure(r.RSSPerSubKiB),
			figure(r.IdleCPUPerSub), figure(r.PingSeconds), figure(r.IdlePings), figure(r.IdleBytes), figure(r.MessageBytes),
			fmt.Sprintf("%d / %d / %d", r.Missed, r.Duplicates, r.StreamErrors)})
	}
	writeMarkdown(w, rows)
	for _, r := range runs {
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note: round %d, %s, K=%d: %s\n", r.Round, r.Server, r.K, n)
		}
	}
}
