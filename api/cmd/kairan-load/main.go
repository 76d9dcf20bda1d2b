// Command kairan-load drives kairan servers on this machine and reports
// what DESIGN.md section 6 promises: `kairan-load load` makes one run
// against a running server, `kairan-load bench` runs the standard set
// against fresh ones. It is a tool beside the product: bin/kairan only
// serves. It only ever connects to loopback.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kairan/kairan/api/internal/load"
)

const usage = `kairan-load: drive kairan servers on this machine (loopback only) and report.

Usage:
  kairan-load load [flags]    drive a running server with subscribers and posts, and report
  kairan-load bench [flags]   run the standard load set against fresh servers and print one table
  kairan-load rivals [flags]  run kairan, Centrifugo and Mercure side by side and print one table
  kairan-load help            show this text
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A big `load` run re-executes this program as worker processes.
	if spec := os.Getenv(load.WorkerEnv); spec != "" {
		os.Exit(load.ServeWorker(ctx, spec, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "load":
		return loadCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "rivals":
		return rivalsCmd(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "kairan-load: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// loadCmd is `kairan-load load`: it parses the flags, makes one run and
// prints the report on stdout (progress goes to stderr). It returns the
// exit code: 0 after a run, 1 when the run could not start, 2 for bad flags.
func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o load.Options
	var asJSON bool
	fs := flag.NewFlagSet("kairan-load load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: kairan-load load [flags]

Drives a kairan server on this machine (loopback only) with SSE and
long-poll subscribers and paced or flat-out posts, and reports delivery
latency of posts and deletes per transport, missed and duplicated
deliveries, per-client cost, write throughput, and with --pid the server's
CPU and memory. Example, 50 + 50 subscribers and 100 posts at 10/s with a
delete of an old topic after every 4th:

  kairan-load load --sse 50 --poll 50 --seed 150 --posts 100 --rate 10 --delete-every 4 --pid $(pgrep -n kairan)

One process holds as many subscribers as its open-file limit allows, less
a margin of 100; beyond that the run starts copies of this program as
worker processes, each with a share of the subscribers, and merges their
every delivery into one report; the posts stay in this process. Each
process spreads its connections over loopback source addresses (127.0.0.1,
127.0.0.2, ...; workers take the next ones), one per 20,000, so the
ephemeral port range of one address is no limit. Run the server with
--max-streams-per-client 0 (and --max-streams 0): its per-client stream
cap counts by source address. 19,000 SSE subscribers, a post a second:

  kairan-load load --sse 19000 --rate 1 --duration 30s --settle 30s --pid $(pgrep -n kairan)

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server's base URL; only 127.0.0.0/8, ::1 and localhost are accepted")
	fs.StringVar(&o.Board, "board", "load", "board to post to and follow")
	fs.IntVar(&o.SSE, "sse", 0, "SSE subscribers")
	fs.IntVar(&o.Poll, "poll", 0, "long-polling subscribers")
	fs.IntVar(&o.PollWait, "poll-wait", 25, "the long poll's wait, in seconds (1 to 30)")
	fs.Float64Var(&o.Rate, "rate", 0, "posts per second overall (0 with --writers: flat out; 0 without: an idle run)")
	fs.IntVar(&o.Posts, "posts", 0, "posts to make (0: until --duration ends); the run stops at whichever comes first")
	fs.DurationVar(&o.Duration, "duration", 0, "how long writes (or an idle run) last, at most 10m (default 30s, or 10m when --posts is set)")
	fs.DurationVar(&o.Settle, "settle", 0, "how long to wait for the last deliveries after the writes, at most 2m (default 10s)")
	fs.IntVar(&o.DeleteEvery, "delete-every", 0, "after every K-th post, delete the oldest topic this run created or seeded (0: no deletes)")
	fs.IntVar(&o.Writers, "writers", 0, "posting goroutines; with --rate 0 they post as fast as the server answers (default 4 with --rate)")
	fs.IntVar(&o.Seed, "seed", 0, "topics to create before subscribers connect; deletes take these first, so with more than 100 they hit topics beyond the first page")
	fs.IntVar(&o.PID, "pid", 0, "the server's process id, to report its CPU seconds and memory from /proc")
	fs.StringVar(&o.Metrics, "metrics", "", "the server's /metrics URL, for its own counts of the run (default: --url's /metrics; the --metrics-addr one when the server has it; off: not read)")
	fs.Float64Var(&o.ConnectRate, "connect-rate", 2000, "subscribers opened per second, so thousands do not flood the listen queue")
	fs.IntVar(&o.Sources, "sources", 0, "loopback source addresses per process, from 127.0.0.1 on, when --url is an IPv4 loopback address (0: one per 20,000 subscribers)")
	fs.IntVar(&o.MaxConnsPerProcess, "per-process", 0, "subscribers one process holds before the run splits them over worker processes (0: the open-file limit less 100)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if err := o.Check(); err != nil {
		fmt.Fprintln(stderr, "kairan-load load:", err)
		return 2
	}
	o.Progress = stderr
	rep, err := load.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "kairan-load load:", err)
		return 1
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "kairan-load load:", err)
		return 1
	}
	return 0
}

// benchCmd is `kairan-load bench`.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kairan-load bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a smoke run: shorter windows, fewer clients and posts")
	writersList := fs.String("writers", "32,64", "comma-separated writer counts for the throughput scenario; the best is kept")
	only := fs.String("only", "", "run only these scenarios, e.g. a,c (a: 50+50 delivery, b: idle, c: 10,000 SSE, d: writes)")
	server := fs.String("server", defaultServer(), "the kairan binary each scenario starts with `serve` (default: kairan beside this program)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: kairan-load bench [flags]

Runs the standard load set on this machine, each scenario against a fresh
server (--server, started on 127.0.0.1 with a temporary SQLite database
and every limit off), and prints one table of figures against DESIGN.md's
targets:

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
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	c := load.BenchConfig{Server: *server, Quick: *quick, Log: stderr}
	for _, f := range strings.Split(*writersList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "kairan-load bench: --writers %q must list whole numbers of 1 or more, such as 32,64\n", *writersList)
			return 2
		}
		c.Writers = append(c.Writers, n)
	}
	if *only != "" {
		for _, k := range strings.Split(strings.ReplaceAll(*only, " ", ""), ",") {
			if !slices.Contains(load.ScenarioKeys, k) {
				fmt.Fprintf(stderr, "kairan-load bench: --only %q names no scenario %q; use letters a to d\n", *only, k)
				return 2
			}
			c.Only = append(c.Only, k)
		}
	}
	if *server == "" {
		fmt.Fprintln(stderr, "kairan-load bench: no server binary: build bin/kairan with `go tool task build`, or pass --server")
		return 2
	}
	if err := load.Bench(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "kairan-load bench:", err)
		return 1
	}
	return 0
}

// rivalsCmd is `kairan-load rivals`.
func rivalsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kairan-load rivals", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := load.RivalsConfig{Binaries: map[string]string{}, Log: stderr}
	kairan := fs.String("kairan", defaultServer(), "the kairan binary (default: kairan beside this program)")
	centrifugo := fs.String("centrifugo", besideSelf("rivals/centrifugo"), "the Centrifugo v6 binary (default: rivals/centrifugo beside this program)")
	mercure := fs.String("mercure", besideSelf("rivals/mercure"), "the Mercure (caddy/mercure) binary (default: rivals/mercure beside this program)")
	only := fs.String("only", strings.Join(load.Contenders, ","), "the servers to run, comma-separated")
	ks := fs.String("subscribers", "1000,10000", "comma-separated subscriber counts (K), one run per server each")
	fs.IntVar(&c.Rounds, "rounds", 3, "interleaved rounds; the table shows medians over them")
	fs.IntVar(&c.Messages, "messages", 30, "messages per run")
	fs.DurationVar(&c.Interval, "interval", time.Second, "time between messages")
	fs.DurationVar(&c.Idle, "idle", time.Minute, "idle time after the last delivery, for the idle CPU, bytes and pings")
	fs.DurationVar(&c.Settle, "settle", 30*time.Second, "how long to wait at most for the last deliveries")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 2000, "subscribers opened per second")
	fs.IntVar(&c.Sources, "sources", 0, "loopback source addresses to spread subscribers over (0: one per 20,000)")
	fs.IntVar(&c.ServerCPUs, "server-cpus", 0, "give each server the last N CPUs and this client the others, as if on two machines (0: all share every CPU)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: kairan-load rivals [flags]

Runs kairan, Centrifugo and Mercure on this machine (127.0.0.1), each
fresh per run with its configuration in a temporary directory, with one
client for all three: K SSE subscribers on one channel, one message a
second for 30 s (latency = receive − send over every subscriber and
message), then 60 s idle. Servers and sizes are interleaved in rounds.
It prints every run, then one table of medians with kairan ÷ the best
rival. docs/BENCHMARKS.md says how to get and build the rivals
(`+"`go tool task bench:rivals`"+` does it all). A full run (3 rounds at
1,000 and 10,000) takes about 30 minutes; a smoke run:

  kairan-load rivals --subscribers 100 --rounds 1 --messages 5 --idle 10s

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	for _, name := range strings.Split(strings.ReplaceAll(*only, " ", ""), ",") {
		if !slices.Contains(load.Contenders, name) {
			fmt.Fprintf(stderr, "kairan-load rivals: --only %q names no server %q; choose from %s\n", *only, name, strings.Join(load.Contenders, ", "))
			return 2
		}
		c.Only = append(c.Only, name)
	}
	c.Binaries["kairan"], c.Binaries["centrifugo"], c.Binaries["mercure"] = *kairan, *centrifugo, *mercure
	for _, f := range strings.Split(*ks, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "kairan-load rivals: --subscribers %q must list whole numbers of 1 or more, such as 1000,10000\n", *ks)
			return 2
		}
		c.Subscribers = append(c.Subscribers, n)
	}
	switch {
	case c.Rounds < 1 || c.Messages < 1:
		fmt.Fprintln(stderr, "kairan-load rivals: --rounds and --messages are 1 or more")
		return 2
	case c.Interval <= 0 || c.Idle <= 0 || c.Settle <= 0 || c.ConnectRate <= 0:
		fmt.Fprintln(stderr, "kairan-load rivals: --interval, --idle, --settle and --connect-rate must be above 0")
		return 2
	case c.Idle > load.MaxDuration || time.Duration(c.Messages)*c.Interval > load.MaxDuration || c.Settle > load.MaxSettle:
		fmt.Fprintf(stderr, "kairan-load rivals: the messages and the idle time each last at most %v, the settle at most %v\n", load.MaxDuration, load.MaxSettle)
		return 2
	case c.Sources < 0 || c.Sources > load.MaxSources:
		fmt.Fprintf(stderr, "kairan-load rivals: --sources is 0 to %d\n", load.MaxSources)
		return 2
	}
	if err := load.Rivals(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "kairan-load rivals:", err)
		return 1
	}
	return 0
}

// defaultServer is the kairan binary beside this one (both are built into
// bin/), or "" when this program's path is unknown.
func defaultServer() string { return besideSelf("kairan") }

// besideSelf is name (a relative path) in this program's directory, or ""
// when this program's path is unknown.
func besideSelf(name string) string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(self), name)
}

// parse reads args into fs; when it cannot (or -h asked for the usage) ok
// is false and code is the exit status.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q; every setting is a --flag\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}
