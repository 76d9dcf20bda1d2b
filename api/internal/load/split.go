package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WorkerEnv, when set in the environment, makes kairan-load (or a test
// binary, from TestMain) a worker process: the variable holds its share of
// the subscribers as JSON, and ServeWorker runs it.
const WorkerEnv = "KAIRAN_LOAD_WORKER"

// descriptorMargin is what a process keeps aside from its open-file limit
// for stdio, the writer's connections, the /metrics scrape and /proc.
const descriptorMargin = 100

// workerSpec is one worker's share of a run.
type workerSpec struct {
	URL         string  `json:"url"`
	Board       string  `json:"board"`
	SSE         int     `json:"sse"`
	Poll        int     `json:"poll"`
	PollWait    int     `json:"poll_wait"`
	ConnectRate float64 `json:"connect_rate"`
	Tag         string  `json:"tag"`
	FirstSource int     `json:"first_source"` // its source addresses start at 127.0.0.1 + this
	Sources     int     `json:"sources"`
	Budget      time.Duration
}

// The lines between a parent and a worker, one per line on the worker's
// stdin and stdout:
//
//	worker → parent  "ready N"      N of its clients had their first reset (or the connect budget ran out)
//	parent → worker  "expect C"     the writers had C changes acknowledged
//	worker → parent  "settled"      every client of the worker has all C
//	parent → worker  "stop"         (or EOF) stop the clients
//	worker → parent  "result JSON"  a workerResult, then the worker exits
type workerResult struct {
	Clients    []clientResult   `json:"clients"`
	Errors     map[string]int64 `json:"errors"`
	CPUSeconds float64          `json:"cpu_s"`
}

// clientResult is a client and its meters at the stop, raw, so the
// parent merges every latency sample, not summaries of them.
type clientResult struct {
	Via        via        `json:"via"`
	Got        [][3]int64 `json:"got"` // key, latency ns, arrival Unix ns
	Dups       int64      `json:"dups"`
	Resets     int64      `json:"resets"`
	Reconnects int64      `json:"reconnects"`
	Ready      bool       `json:"ready"`
	ReadyAt    time.Time  `json:"ready_at"`
	Body       int64      `json:"body"`
	In         int64      `json:"in"`
	Out        int64      `json:"out"`
	Reqs       int64      `json:"reqs"`
	FirstReq   time.Time  `json:"first_req"`
	LastReq    time.Time  `json:"last_req"`
}

func toResult(c *client, m meterState) clientResult {
	r := clientResult{Via: c.via, Dups: c.dups, Resets: c.resets, Reconnects: c.reconnects, Ready: m.ready, ReadyAt: m.readyAt,
		Body: m.body, In: m.in, Out: m.out, Reqs: m.reqs, FirstReq: m.firstReq, LastReq: m.lastReq}
	r.Got = make([][3]int64, len(c.got))
	for i, g := range c.got {
		r.Got[i] = [3]int64{g.key, int64(g.lat), g.at}
	}
	return r
}

func (r clientResult) client() (*client, meterState) {
	c := &client{via: r.Via, dups: r.Dups, resets: r.Resets, reconnects: r.Reconnects, got: make([]delivery, len(r.Got))}
	for i, g := range r.Got {
		c.got[i] = delivery{key: g[0], lat: time.Duration(g[1]), at: g[2]}
	}
	return c, meterState{ready: r.Ready, readyAt: r.ReadyAt, body: r.Body, in: r.In, out: r.Out, reqs: r.Reqs,
		firstReq: r.FirstReq, lastReq: r.LastReq}
}

// ServeWorker runs one worker from its spec (the WorkerEnv value),
// talking to its parent over in and out. It returns the exit code.
func ServeWorker(ctx context.Context, spec string, in io.Reader, out io.Writer, stderr io.Writer) int {
	var s workerSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintf(stderr, "kairan-load worker: unreadable %s: %v\n", WorkerEnv, err)
		return 2
	}
	n := s.SSE + s.Poll
	if _, err := raiseFileLimit(uint64(n + descriptorMargin)); err != nil {
		fmt.Fprintln(stderr, "kairan-load worker:", err)
		return 1
	}
	t := newTracker(n)
	t.tag, t.worker = s.Tag, true
	subs := startLocal(ctx, t, s.URL, s.Board, s.SSE, s.Poll, s.PollWait, s.ConnectRate, newSourceDialer(s.FirstSource, s.Sources))
	defer subs.stop()
	budget := time.NewTimer(s.Budget)
	defer budget.Stop()
	select {
	case <-t.allReady:
	case <-budget.C:
	case <-ctx.Done():
	}
	var mu sync.Mutex // out is shared with the settled line
	say := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(out, line)
	}
	say("ready " + strconv.FormatInt(t.ready.Load(), 10))
	cpu0 := selfCPU()
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		cmd, arg, _ := strings.Cut(lines.Text(), " ")
		if cmd == "stop" {
			break
		}
		if c, err := strconv.ParseInt(arg, 10, 64); cmd == "expect" && err == nil {
			t.expect(c * int64(n))
			wg.Go(func() {
				select {
				case <-t.settled:
					say("settled")
				case <-done:
				}
			})
		}
	}
	f := subs.finish()
	res := workerResult{Errors: t.errs.snapshot(), CPUSeconds: (selfCPU() - cpu0).Seconds()}
	for i, c := range f.clients {
		res.Clients = append(res.Clients, toResult(c, f.meters[i]))
	}
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(stderr, "kairan-load worker:", err)
		return 1
	}
	say("result " + string(b))
	return 0
}

// workerSubs are subscribers spread over worker processes, each a copy of
// this program started with WorkerEnv set.
type workerSubs struct {
	procs   []*workerProc
	ready   chan struct{}
	readyN  atomic.Int64
	settle  chan struct{}
	waiting sync.WaitGroup // the line readers
}

type workerProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	result  *workerResult
	err     error
	isReady bool
}

// startWorkers starts one process per share, dividing sse and poll
// evenly, each with its own sources source addresses.
func startWorkers(ctx context.Context, exe string, shares int, o *Options, tag string, sources int) (*workerSubs, error) {
	w := &workerSubs{ready: make(chan struct{}), settle: make(chan struct{})}
	var readyLeft, settledLeft atomic.Int64
	readyLeft.Store(int64(shares))
	settledLeft.Store(int64(shares))
	for i := range shares {
		s := workerSpec{URL: o.URL, Board: o.Board, PollWait: o.PollWait, Tag: tag, FirstSource: i * sources, Sources: sources,
			SSE: part(o.SSE, shares, i), Poll: part(o.Poll, shares, i), ConnectRate: o.ConnectRate / float64(shares), Budget: o.connectBudget()}
		b, _ := json.Marshal(s)
		cmd := exec.CommandContext(ctx, exe)
		cmd.Env = append(os.Environ(), WorkerEnv+"="+string(b))
		cmd.Stderr = o.Progress
		in, err := cmd.StdinPipe()
		if err != nil {
			w.finish()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			w.finish()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			w.finish()
			return nil, fmt.Errorf("start a worker process (%s): %w", exe, err)
		}
		p := &workerProc{cmd: cmd, in: in}
		w.procs = append(w.procs, p)
		w.waiting.Go(func() {
			r := bufio.NewReaderSize(out, 1<<20)
			markReady := func() {
				if !p.isReady {
					p.isReady = true
					if readyLeft.Add(-1) == 0 {
						close(w.ready)
					}
				}
			}
			defer markReady() // a worker that died counts as done, with none ready
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					if err != io.EOF {
						p.err = err
					}
					return
				}
				cmd, arg, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
				switch cmd {
				case "ready":
					k, _ := strconv.ParseInt(arg, 10, 64)
					w.readyN.Add(k)
					markReady()
				case "settled":
					if settledLeft.Add(-1) == 0 {
						close(w.settle)
					}
				case "result":
					var res workerResult
					if err := json.Unmarshal([]byte(arg), &res); err != nil {
						p.err = fmt.Errorf("unreadable result: %w", err)
					} else {
						p.result = &res
					}
				}
			}
		})
	}
	return w, nil
}

// part is share i of n divided into k as evenly as whole numbers allow.
func part(n, k, i int) int {
	if i < n%k {
		return n/k + 1
	}
	return n / k
}

func (w *workerSubs) allReady() <-chan struct{} { return w.ready }
func (w *workerSubs) readyCount() int           { return int(w.readyN.Load()) }
func (w *workerSubs) settled() <-chan struct{}  { return w.settle }

func (w *workerSubs) expect(changes int64) {
	for _, p := range w.procs {
		fmt.Fprintf(p.in, "expect %d\n", changes)
	}
}

func (w *workerSubs) finish() finished {
	for _, p := range w.procs {
		io.WriteString(p.in, "stop\n")
		p.in.Close()
	}
	w.waiting.Wait()
	var f finished
	f.errs = map[string]int64{}
	for i, p := range w.procs {
		if err := p.cmd.Wait(); err != nil || p.err != nil || p.result == nil {
			f.notes = append(f.notes, fmt.Sprintf("worker %d gave no result (exit: %v, read: %v); its subscribers count as missing", i, err, p.err))
			continue
		}
		for _, r := range p.result.Clients {
			c, m := r.client()
			f.clients = append(f.clients, c)
			f.meters = append(f.meters, m)
		}
		for k, v := range p.result.Errors {
			f.errs[k] += v
		}
		f.cpu += time.Duration(p.result.CPUSeconds * float64(time.Second))
	}
	return f
}
