package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Main is `kairan load`: it parses the flags, makes one run and prints the
// report on stdout (progress goes to stderr). It returns the exit code: 0
// after a run, 1 when the run could not start, 2 for bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o Options
	var asJSON bool
	fs := flag.NewFlagSet("kairan load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: kairan load [flags]

Drives a kairan server on this machine (loopback only) with SSE and
long-poll subscribers and paced or flat-out posts, and reports delivery
latency of posts and deletes per transport, missed and duplicated
deliveries, per-client cost, write throughput, and with --pid the server's
CPU and memory. Example, 50 + 50 subscribers and 100 posts at 10/s with a
delete of an old topic after every 4th:

  kairan load --sse 50 --poll 50 --seed 150 --posts 100 --rate 10 --delete-every 4 --pid $(pgrep -n kairan)

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
	fs.Float64Var(&o.ConnectRate, "connect-rate", 2000, "subscribers opened per second, so thousands do not flood the listen queue")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kairan load: unexpected argument %q; every setting is a --flag\n", fs.Arg(0))
		return 2
	}
	if err := o.normalize(); err != nil {
		fmt.Fprintln(stderr, "kairan load:", err)
		return 2
	}
	o.Progress = stderr
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "kairan load:", err)
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
		fmt.Fprintln(stderr, "kairan load:", err)
		return 1
	}
	return 0
}
