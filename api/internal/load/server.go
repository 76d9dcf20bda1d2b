package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Child is a kairan server this tool started: `serve` on 127.0.0.1 with a
// new SQLite file in a temporary directory and every limit off, /metrics
// on its public address.
type Child struct {
	URL string

	cmd  *exec.Cmd
	dir  string
	logs chan struct{} // closed when its stderr is drained (the process ended)
}

// servingLine is the one line read from the server's log: where a :0
// port landed is told nowhere else. Everything about the server's state
// during a run comes from /metrics.
var servingLine = regexp.MustCompile(`msg="kairan serving" url=(\S+)`)

// StartServer starts bin as a fresh server and waits until it listens.
// Its log goes to log, prefixed, except the INFO lines (start-up and
// dropped-subscriber notices: the run counts drops from /metrics).
func StartServer(ctx context.Context, bin string, log io.Writer) (*Child, error) {
	return startServerOn(ctx, bin, log, "")
}

// startServerOn is StartServer on the CPUs cpus names ("" for any).
func startServerOn(ctx context.Context, bin string, log io.Writer, cpus string) (*Child, error) {
	// Absolute: the server runs in its temporary directory.
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("the server binary: %w (build it with `go tool task build`, or pass --server)", err)
	}
	dir, err := os.MkdirTemp("", "kairan-bench-")
	if err != nil {
		return nil, err
	}
	// The level is info because the serving line is logged at info.
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "bench.db"),
		"--rate-limit", "0", "--max-streams", "0", "--max-streams-per-client", "0", "--max-topics-per-board", "0",
		"--max-topics", "0", "--max-boards", "0", "--log-level", "info")
	// Settings from this shell's KAIRAN_* variables would make runs
	// differ (or move /metrics); the flags above are the whole configuration.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAIRAN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := onCPUs(cmd, cpus); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return launch(ctx, cmd, dir, log, "server", servingURL, "")
}

// onCPUs makes cmd run on the CPUs cpus names (a taskset list, "1" or
// "2-3"), from its first instruction: a Go server then sizes GOMAXPROCS
// to them, as on a machine of that many cores. "" leaves cmd as it is.
func onCPUs(cmd *exec.Cmd, cpus string) error {
	if cpus == "" {
		return nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Errorf("pinning a server to CPUs %s needs taskset (util-linux): %w", cpus, err)
	}
	cmd.Args = append([]string{"taskset", "-c", cpus, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = taskset
	return nil
}

// servingURL finds where the server listens in one line of its log.
func servingURL(line string) string {
	if m := servingLine.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// launch starts cmd in dir (which Stop removes) and waits until it is
// ready: until urlIn finds its URL in a line of its stderr or, when known
// is set, until known (a URL fixed in its configuration) accepts a TCP
// connection. Up to ten lines other than INFO ones go to log, prefixed
// with "bench: name: ".
func launch(ctx context.Context, cmd *exec.Cmd, dir string, log io.Writer, name string, urlIn func(line string) string, known string) (*Child, error) {
	cmd.Dir = dir
	cmd.SysProcAttr = childAttrs()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	s := &Child{cmd: cmd, dir: dir, logs: make(chan struct{})}
	urls := make(chan string, 1)
	// Drains the server's log until the process exits (the pipe closes):
	// a full pipe would block the server.
	go func() {
		defer close(s.logs)
		lines := bufio.NewScanner(stderr)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		shown := 0
		for lines.Scan() {
			line := lines.Text()
			if u := urlIn(line); u != "" {
				select {
				case urls <- u:
				default:
				}
			}
			if !strings.Contains(line, "level=INFO") && shown < 10 {
				shown++
				fmt.Fprintf(log, "bench: %s: %s\n", name, line)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	if known != "" {
		probing, stopProbing := context.WithCancel(ctx)
		defer stopProbing()
		go probe(probing, known, urls)
	}
	select {
	case s.URL = <-urls:
		if _, err := CheckURL(s.URL); err != nil {
			s.Stop()
			return nil, err
		}
		return s, nil
	case <-s.logs:
		err = fmt.Errorf("%s exited before it said where it listens", name)
	case <-wait.C:
		err = fmt.Errorf("%s did not say where it listens within a minute", name)
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Stop()
	return nil, err
}

// probe dials base's host and port every 50 ms until one connection
// succeeds, then sends base on found; or until ctx ends.
func probe(ctx context.Context, base string, found chan<- string) {
	u, err := url.Parse(base)
	if err != nil {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := dialLoopback(ctx, "tcp", u.Host); err == nil {
			c.Close()
			select {
			case found <- base:
			default:
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PID is the server's process id, for Options.PID.
func (s *Child) PID() int { return s.cmd.Process.Pid }

// Stop ends the server with SIGTERM (SIGKILL after 30 s), waits for it and
// removes its directory.
func (s *Child) Stop() error {
	defer os.RemoveAll(s.dir)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(30 * time.Second)
	defer grace.Stop()
	killed := false
	select {
	case <-s.logs:
	case <-grace.C:
		_ = s.cmd.Process.Kill()
		killed = true
		<-s.logs
	}
	err := s.cmd.Wait()
	if killed {
		return errors.New("still running 30 s after SIGTERM; killed")
	}
	return err
}
