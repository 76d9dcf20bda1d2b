package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// BenchConfig is one run of the standard set.
type BenchConfig struct {
	Server  string   // the kairan binary each scenario starts with `serve`
	Quick   bool     // a smoke run: shorter windows, fewer clients and posts
	Writers []int    // writer counts for the throughput scenario; the best is kept (default 32, 64)
	Only    []string // scenario keys to run (a to d); empty runs them all
	Log     io.Writer
}

// ScenarioKeys are the keys BenchConfig.Only accepts.
var ScenarioKeys = []string{"a", "b", "c", "d"}

// Bench runs the standard load set of DESIGN.md section 6, each scenario
// against a fresh server (BenchConfig.Server as a child process with a new
// SQLite file and every limit off), and prints one table with the machine
// it ran on to out. It returns an error when a scenario failed or ctx
// ended; the table holds what ran.
func Bench(ctx context.Context, c BenchConfig, out io.Writer) error {
	if c.Log == nil {
		c.Log = io.Discard
	}
	if len(c.Writers) == 0 {
		c.Writers = []int{32, 64}
	}
	b := &bench{bin: c.Server, quick: c.Quick, writers: c.Writers, log: c.Log}
	scenarios := b.scenarios()
	if len(c.Only) > 0 {
		var keep []scenario
		for _, s := range scenarios {
			if slices.Contains(c.Only, s.key) {
				keep = append(keep, s)
			}
		}
		scenarios = keep
	}
	// The 10,000-subscriber scenario needs that many descriptors here and
	// in the server, which inherits this limit.
	if _, err := raiseFileLimit(64); err != nil {
		fmt.Fprintln(c.Log, "bench:", err)
	}

	machine := machineInfo(c.Server)
	fmt.Fprintf(c.Log, "bench: %s\n", machine)
	var rows []row
	var failed []string
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(c.Log, "bench: scenario %s: %s\n", s.key, s.name)
		got, err := s.run(ctx)
		if err != nil {
			fmt.Fprintf(c.Log, "bench: scenario %s failed: %v\n", s.key, err)
			got = append(got, row{metric: "run", value: "failed: " + err.Error(), met: "no"})
			failed = append(failed, s.key)
		}
		for i := range got {
			got[i].scenario = s.name
		}
		rows = append(rows, got...)
	}
	fmt.Fprintf(out, "kairan bench%s: %s\n\n", map[bool]string{true: " --quick", false: ""}[c.Quick], machine)
	writeTable(out, rows)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenario %s failed", strings.Join(failed, ", "))
	}
	return nil
}

type bench struct {
	bin     string
	quick   bool
	writers []int
	log     io.Writer
}

type scenario struct {
	key, name string
	run       func(ctx context.Context) ([]row, error)
}

// row is one line of the table. met is "yes", "no" or "" (no target).
type row struct {
	scenario, metric, value, target, met string
}

func (b *bench) pick(full, quick int) int {
	if b.quick {
		return quick
	}
	return full
}

func (b *bench) scenarios() []scenario {
	return []scenario{
		{"a", "50 SSE + 50 long-poll", b.delivery},
		{"b", fmt.Sprintf("idle %d s", b.pick(60, 10)), b.idle},
		{"c", fmt.Sprintf("%s SSE", thousands(b.pick(10000, 1000))), b.manySSE},
		{"d", "write throughput", b.throughput},
	}
}

// withServer starts a fresh server, runs o against it (with the server's
// pid for sampling) and stops the server.
func (b *bench) withServer(ctx context.Context, o Options) (*Report, error) {
	srv, err := StartServer(ctx, b.bin, b.log)
	if err != nil {
		return nil, err
	}
	o.URL, o.PID, o.Board = srv.URL, srv.PID(), "bench"
	o.Progress = b.log
	rep, runErr := Run(ctx, o)
	stopErr := srv.Stop()
	if runErr != nil {
		return nil, runErr
	}
	if stopErr != nil {
		rep.note("server did not stop cleanly: %v", stopErr)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(b.log, "bench: note: %s\n", n)
	}
	return rep, nil
}

// common are the rows every scenario ends with.
func common(rep *Report, loadBefore string) []row {
	d := rep.Delivery
	rows := []row{
		{metric: "missed / duplicates / errors", value: fmt.Sprintf("%d / %d / %d", d.Missed, d.Duplicates, sum(rep.Errors)),
			target: "0 / 0 / 0", met: yesNo(d.Missed == 0 && d.Duplicates == 0 && sum(rep.Errors) == 0)},
	}
	if n := sum(rep.Errors); n > 0 {
		var parts []string
		for _, k := range sortedKinds(rep.Errors) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, rep.Errors[k]))
		}
		rows = append(rows, row{metric: "errors by kind", value: strings.Join(parts, ", ")})
	}
	if m := rep.Metrics; m != nil && (m.Dropped > 0 || m.ServerErrors > 0) {
		rows = append(rows, row{metric: "server /metrics: slow subscribers dropped / 5xx answers", value: fmt.Sprintf("%.0f / %.0f", m.Dropped, m.ServerErrors)})
	}
	if rep.Interrupted {
		rows = append(rows, row{metric: "run", value: "interrupted", met: "no"})
	}
	rows = append(rows, row{metric: "machine load average (1 min) before", value: loadBefore})
	return rows
}

// a: delivery of posts and of deletes of older topics to 50 + 50 clients.
func (b *bench) delivery(ctx context.Context) ([]row, error) {
	load := loadAverage()
	posts := b.pick(100, 40)
	rep, err := b.withServer(ctx, Options{SSE: 50, Poll: 50, Seed: 150, Posts: posts, Rate: 10, DeleteEvery: 4})
	if err != nil {
		return nil, err
	}
	l := rep.Latency
	rows := []row{
		{metric: fmt.Sprintf("workload: %d posts at 10/s, %d deletes of seeded topics beyond the first page", rep.Writes.PostsAcked, rep.Writes.DeletesAcked)},
		latencyRow("SSE post", l.SSECreated),
		latencyRow("SSE delete of an older topic", l.SSEDeleted),
		latencyRow("long-poll post", l.PollCreated),
		latencyRow("long-poll delete of an older topic", l.PollDeleted),
	}
	return append(rows, common(rep, load)...), nil
}

func latencyRow(what string, d Dist) row {
	return row{metric: what + ": p50 / p99 / max (" + thousands(d.N) + " samples)",
		value:  fmt.Sprintf("%s / %s / %s ms", num(d.P50), num(d.P99), num(d.Max)),
		target: "≤ 5 / — / ≤ 50 ms", met: yesNo(d.N > 0 && d.P50 <= 5 && d.Max <= 50)}
}

// b: what idle clients cost.
func (b *bench) idle(ctx context.Context) ([]row, error) {
	load := loadAverage()
	window := time.Duration(b.pick(60, 10)) * time.Second
	rep, err := b.withServer(ctx, Options{SSE: 100, Poll: 100, Duration: window})
	if err != nil {
		return nil, err
	}
	id, s := rep.Idle, rep.Server
	lp := row{metric: "long-poll requests/min per client (steady)", target: "≤ 2.5"}
	if id.PollSteadyPerMin != nil {
		lp.value = fmt.Sprintf("%.2f", *id.PollSteadyPerMin)
		lp.met = yesNo(*id.PollSteadyPerMin <= 2.5)
	} else {
		lp.value = "n/a: window shorter than two polls"
	}
	rows := []row{
		{metric: "SSE bytes/min per client (stream)", value: fmt.Sprintf("%.0f B", id.SSEBytesPerMin), target: "≤ 205 B (0.2 KiB)", met: yesNo(id.SSEBytesPerMin <= 204.8)},
		{metric: "SSE bytes/min per client (TCP payload)", value: fmt.Sprintf("%.0f B", id.SSEWireBytesPerMin)},
		lp,
		{metric: "long-poll requests/min per client (sent in the window)", value: fmt.Sprintf("%.2f", id.PollRequestsPerMin)},
		{metric: "long-poll bytes/min per client (TCP payload, both ways)", value: fmt.Sprintf("%.0f B", id.PollWireBytesPerMin)},
		{metric: fmt.Sprintf("server CPU in the %.0f s window", rep.WindowSeconds),
			value:  fmt.Sprintf("%.2f s (%.2f%% of a core)", s.CPUWindowSeconds, s.CPUPercentOfCore),
			target: "~0 (< 1% of a core)", met: yesNo(s.CPUPercentOfCore < 1)},
	}
	return append(rows, common(rep, load)...), nil
}

// c: many SSE subscribers, one post a second.
func (b *bench) manySSE(ctx context.Context) ([]row, error) {
	load := loadAverage()
	subs, posts := b.pick(10000, 1000), b.pick(30, 10)
	rep, err := b.withServer(ctx, Options{SSE: subs, Posts: posts, Rate: 1, Settle: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	l, s := rep.Latency.Created, rep.Server
	cores := runtime.NumCPU()
	rows := []row{
		{metric: fmt.Sprintf("workload: %s subscribers ready in %.1f s, %d posts at 1/s", thousands(rep.Ready), rep.ConnectSeconds, rep.Writes.PostsAcked)},
		{metric: "delivery p50 / p99 / max (" + thousands(l.N) + " samples)", value: fmt.Sprintf("%s / %s / %s ms", num(l.P50), num(l.P99), num(l.Max)),
			target: "p99 ≤ 250 ms (on 2 cores)", met: yesNo(l.N > 0 && l.P99 <= 250)},
		{metric: "per post: first / last subscriber, median over posts", value: fmt.Sprintf("%s / %s ms (fan-out gap max %s ms)",
			num(rep.Latency.PerChange.FirstP50), num(rep.Latency.PerChange.LastP50), num(rep.Latency.PerChange.GapMax))},
		{metric: "server RSS per subscriber", value: fmt.Sprintf("%.1f KiB (%s → %s)", s.RSSPerSubscriber/1024, mib(s.RSSBefore), mib(s.RSSConnected)),
			target: "≤ 20 KiB", met: yesNo(s.RSSPerSubscriber <= 20*1024)},
		{metric: "server RSS end / peak", value: mib(s.RSSEnd) + " / " + mib(s.RSSPeak)},
		{metric: "server CPU: connecting / posting window", value: fmt.Sprintf("%.2f s / %.2f s (%.0f s window, %d cores)", s.CPUConnectSeconds, s.CPUWindowSeconds, rep.WindowSeconds, cores)},
		{metric: "load tool CPU in the window (same machine)", value: fmt.Sprintf("%.2f s", rep.LoadCPUSeconds)},
	}
	return append(rows, common(rep, load)...), nil
}

// d: acknowledged posts per second, flat out, on SQLite.
func (b *bench) throughput(ctx context.Context) ([]row, error) {
	window := time.Duration(b.pick(10, 3)) * time.Second
	type try struct {
		writers int
		rep     *Report
		load    string
	}
	var tries []try
	for _, w := range b.writers {
		load := loadAverage()
		rep, err := b.withServer(ctx, Options{Writers: w, Duration: window})
		if err != nil {
			return nil, err
		}
		tries = append(tries, try{w, rep, load})
	}
	best := tries[0]
	for _, t := range tries[1:] {
		if t.rep.Writes.PostsPerSecond > best.rep.Writes.PostsPerSecond {
			best = t
		}
	}
	wr := best.rep.Writes
	rows := []row{
		{metric: fmt.Sprintf("acknowledged posts/s, %d writers (best), SQLite", best.writers), value: fmt.Sprintf("%.0f", wr.PostsPerSecond),
			target: "≥ 2,000", met: yesNo(wr.PostsPerSecond >= 2000)},
		{metric: "POST answer p50 / p99 / max", value: fmt.Sprintf("%s / %s / %s ms", num(wr.PostLatency.P50), num(wr.PostLatency.P99), num(wr.PostLatency.Max))},
		{metric: "server CPU in the window", value: fmt.Sprintf("%.2f s of %.1f s", best.rep.Server.CPUWindowSeconds, best.rep.WindowSeconds)},
	}
	for _, t := range tries {
		if t.writers != best.writers {
			w := t.rep.Writes
			rows = append(rows, row{metric: fmt.Sprintf("acknowledged posts/s, %d writers (not kept)", t.writers),
				value: fmt.Sprintf("%.0f (POST p50 %s, p99 %s ms)", w.PostsPerSecond, num(w.PostLatency.P50), num(w.PostLatency.P99))})
		}
	}
	return append(rows, common(best.rep, best.load)...), nil
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// writeTable prints rows as a Markdown table with aligned columns, so it
// reads in a terminal and pastes into docs unchanged.
func writeTable(w io.Writer, rows []row) {
	cells := [][]string{{"scenario", "metric", "value", "target", "met?"}}
	last := ""
	for _, r := range rows {
		c := []string{r.scenario, r.metric, r.value, r.target, r.met}
		if r.scenario == last {
			c[0] = "" // the scenario's name once, on its first row
		}
		last = r.scenario
		cells = append(cells, c)
	}
	writeMarkdown(w, cells)
}

// writeMarkdown prints a header row and rows as a Markdown table with
// aligned columns.
func writeMarkdown(w io.Writer, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(c []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, s := range c {
			sb.WriteString(" " + s + strings.Repeat(" ", width[i]-utf8.RuneCountInString(s)) + " |")
		}
		fmt.Fprintln(w, sb.String())
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows[1:] {
		line(r)
	}
}

// machineInfo names the CPU, cores, memory, kernel and Go version.
func machineInfo(server string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) == 2 {
					if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						mem = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
					}
				}
			}
		}
	}
	kernel := runtime.GOOS
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s, %s, %s %s/%s, SQLite in %s (%s), %s", cpu, runtime.NumCPU(), mem, kernel,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, os.TempDir(), fsType(os.TempDir()), serverVersion(server))
}

// serverVersion is what `kairan version` says of the binary under test
// (its module, commit and Go release): the table is about that server,
// not about this tool.
func serverVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return fmt.Sprintf("%s (version unknown: %v)", bin, err)
	}
	return strings.TrimSpace(string(out))
}

// loadAverage is the 1-minute load average, to show how busy the machine
// was with other work when a scenario started.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return fmt.Sprintf("%s (%d cores)", f[0], runtime.NumCPU())
	}
	return "n/a"
}
