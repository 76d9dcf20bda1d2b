package load

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// Bench is `kairan bench`: the standard load set of DESIGN.md section 6,
// each scenario against a fresh server (this same binary, as a child
// process with a new SQLite file and every limit off), printed as one
// table with the machine it ran on.
func Bench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kairan bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a smoke run: shorter windows, fewer clients and posts")
	writersList := fs.String("writers", "32,64", "comma-separated writer counts for the throughput scenario; the best is kept")
	only := fs.String("only", "", "run only these scenarios, e.g. a,c (a: 50+50 delivery, b: idle, c: 10,000 SSE, d: writes)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: kairan bench [flags]

Runs the standard load set on this machine, each scenario against a fresh
server started from this binary on 127.0.0.1 with a temporary SQLite
database, and prints one table of figures against DESIGN.md's targets:

  a. 50 SSE + 50 long-poll: 100 posts at 10/s, a delete of an older topic after every 4th
  b. idle: 100 SSE + 100 long-poll clients for 60 s, no posts
  c. 10,000 SSE subscribers, one post per second for 30 s
  d. write throughput: 32 and 64 writers flat out for 10 s, no subscribers

It takes about two and a half minutes (--quick: about one). Other work on the machine
skews the figures; the table shows the load average before each scenario.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kairan bench: unexpected argument %q; every setting is a --flag\n", fs.Arg(0))
		return 2
	}
	var writers []int
	for _, f := range strings.Split(*writersList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "kairan bench: --writers %q must list whole numbers of 1 or more, such as 32,64\n", *writersList)
			return 2
		}
		writers = append(writers, n)
	}
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "kairan bench: cannot find this program's binary to start servers:", err)
		return 1
	}
	b := &bench{bin: bin, quick: *quick, writers: writers, log: stderr}
	scenarios := b.scenarios()
	if *only != "" {
		var keep []scenario
		for _, s := range scenarios {
			if strings.Contains(","+strings.ReplaceAll(*only, " ", "")+",", ","+s.key+",") {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			fmt.Fprintf(stderr, "kairan bench: --only %q names no scenario; use letters a to d\n", *only)
			return 2
		}
		scenarios = keep
	}
	// The 10,000-subscriber scenario needs that many descriptors here and
	// in the server, which inherits this limit.
	if _, err := raiseFileLimit(64); err != nil {
		fmt.Fprintln(stderr, "kairan bench:", err)
	}

	machine := machineInfo()
	fmt.Fprintf(stderr, "bench: %s\n", machine)
	var rows []row
	failed := false
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stderr, "bench: scenario %s: %s\n", s.key, s.name)
		got, err := s.run(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "bench: scenario %s failed: %v\n", s.key, err)
			got = append(got, row{metric: "run", value: "failed: " + err.Error(), met: "no"})
			failed = true
		}
		for i := range got {
			got[i].scenario = s.name
		}
		rows = append(rows, got...)
	}
	fmt.Fprintf(stdout, "kairan bench%s: %s\n\n", map[bool]string{true: " --quick", false: ""}[*quick], machine)
	writeTable(stdout, rows)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "bench: interrupted")
		return 1
	}
	if failed {
		return 1
	}
	return 0
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
func (b *bench) withServer(ctx context.Context, o Options) (*Report, *child, error) {
	srv, err := startChild(ctx, b.bin, b.log)
	if err != nil {
		return nil, nil, err
	}
	o.URL, o.PID, o.Board = srv.url, srv.cmd.Process.Pid, "bench"
	o.Progress = b.log
	rep, runErr := Run(ctx, o)
	stopErr := srv.stop()
	if runErr != nil {
		return nil, srv, runErr
	}
	if stopErr != nil {
		rep.note("server did not stop cleanly: %v", stopErr)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(b.log, "bench: note: %s\n", n)
	}
	return rep, srv, nil
}

// common are the rows every scenario ends with.
func common(rep *Report, srv *child, loadBefore string) []row {
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
	if w, dropped := srv.counts(); w > 0 || dropped > 0 {
		rows = append(rows, row{metric: "server log: warnings+errors / slow subscribers dropped", value: fmt.Sprintf("%d / %d", w, dropped)})
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
	rep, srv, err := b.withServer(ctx, Options{SSE: 50, Poll: 50, Seed: 150, Posts: posts, Rate: 10, DeleteEvery: 4})
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
	return append(rows, common(rep, srv, load)...), nil
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
	rep, srv, err := b.withServer(ctx, Options{SSE: 100, Poll: 100, Duration: window})
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
	return append(rows, common(rep, srv, load)...), nil
}

// c: many SSE subscribers, one post a second.
func (b *bench) manySSE(ctx context.Context) ([]row, error) {
	load := loadAverage()
	subs, posts := b.pick(10000, 1000), b.pick(30, 10)
	rep, srv, err := b.withServer(ctx, Options{SSE: subs, Posts: posts, Rate: 1, Settle: 30 * time.Second})
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
	return append(rows, common(rep, srv, load)...), nil
}

// d: acknowledged posts per second, flat out, on SQLite.
func (b *bench) throughput(ctx context.Context) ([]row, error) {
	window := time.Duration(b.pick(10, 3)) * time.Second
	type try struct {
		writers int
		rep     *Report
		srv     *child
		load    string
	}
	var tries []try
	for _, w := range b.writers {
		load := loadAverage()
		rep, srv, err := b.withServer(ctx, Options{Writers: w, Duration: window})
		if err != nil {
			return nil, err
		}
		tries = append(tries, try{w, rep, srv, load})
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
	return append(rows, common(best.rep, best.srv, best.load)...), nil
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
	head := row{"scenario", "metric", "value", "target", "met?"}
	cells := func(r row) []string { return []string{r.scenario, r.metric, r.value, r.target, r.met} }
	width := make([]int, 5)
	for _, r := range append([]row{head}, rows...) {
		for i, c := range cells(r) {
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
	line(cells(head))
	sep := make([]string, 5)
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	last := ""
	for _, r := range rows {
		c := cells(r)
		if r.scenario == last {
			c[0] = "" // the scenario's name once, on its first row
		}
		last = r.scenario
		line(c)
	}
}

// machineInfo names the CPU, cores, memory, kernel and Go version.
func machineInfo() string {
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
	return fmt.Sprintf("%s, %d cores%s, %s, %s %s/%s, SQLite in %s (%s), kairan %s", cpu, runtime.NumCPU(), mem, kernel,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, os.TempDir(), fsType(os.TempDir()), revision())
}

// revision is the commit this binary was built from, as go build records
// it, with "+changes" when the work tree had uncommitted edits.
func revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown build)"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "(no VCS stamp)"
	}
	rev = rev[:min(len(rev), 7)]
	if dirty {
		rev += "+changes"
	}
	return rev
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

// child is a server started for one scenario.
type child struct {
	cmd  *exec.Cmd
	url  string
	dir  string
	logs chan struct{} // closed when its stderr is drained (the process ended)

	mu       sync.Mutex
	warnings int // log lines at WARN or ERROR
	dropped  int // "dropped slow subscriber" lines
}

var servingLine = regexp.MustCompile(`msg="kairan serving" url=(\S+)`)

// startChild starts `serve` with a new SQLite file in a temporary
// directory and every limit off, and waits for its "kairan serving" line.
// The level is info, not warn, because that line is logged at info; info
// adds only start-up lines and dropped-subscriber notices.
func startChild(ctx context.Context, bin string, log io.Writer) (*child, error) {
	dir, err := os.MkdirTemp("", "kairan-bench-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "bench.db"),
		"--rate-limit", "0", "--max-streams", "0", "--max-streams-per-client", "0", "--max-topics-per-board", "0",
		"--max-topics", "0", "--max-boards", "0", "--log-level", "info")
	// Settings from this shell's KAIRAN_* variables would make runs
	// differ; the flags above are the whole configuration.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAIRAN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Dir = dir
	cmd.SysProcAttr = childAttrs()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	c := &child{cmd: cmd, dir: dir, logs: make(chan struct{})}
	urls := make(chan string, 1)
	// Drains the server's log until the process exits (the pipe closes):
	// a full pipe would block the server.
	go func() {
		defer close(c.logs)
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		shown := 0
		for lines.Scan() {
			line := lines.Text()
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
			c.mu.Lock()
			if strings.Contains(line, "dropped slow subscriber") {
				c.dropped++
			}
			serious := strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")
			if serious {
				c.warnings++
			}
			c.mu.Unlock()
			if serious && shown < 10 {
				shown++
				fmt.Fprintf(log, "bench: server: %s\n", line)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	select {
	case c.url = <-urls:
		if _, err := CheckURL(c.url); err != nil {
			c.stop()
			return nil, err
		}
		return c, nil
	case <-c.logs:
		err = errors.New("the server exited before it said where it listens")
	case <-wait.C:
		err = errors.New("the server did not say where it listens within a minute")
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.stop()
	return nil, err
}

// stop ends the server with SIGTERM (SIGKILL after 30 s), waits for it and
// removes its directory.
func (c *child) stop() error {
	defer os.RemoveAll(c.dir)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(30 * time.Second)
	defer grace.Stop()
	killed := false
	select {
	case <-c.logs:
	case <-grace.C:
		_ = c.cmd.Process.Kill()
		killed = true
		<-c.logs
	}
	err := c.cmd.Wait()
	if killed {
		return errors.New("still running 30 s after SIGTERM; killed")
	}
	return err
}

func (c *child) counts() (warnings, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warnings, c.dropped
}
