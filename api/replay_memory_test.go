package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// Far-behind resumes cost the server a page each, not their whole replay
// (DESIGN.md §3, replay limits). The server is bin/kairan built from this
// tree, as a child process, so its RSS (from /proc) is its own.

const (
	farBoard   = "far"
	farHistory = 10_000 // changes on the board, all kept (--history 10000)
	farBehind  = 9_500  // how far back the resuming clients' cursor is
	farClients = 40
	// farGrowthLimit is the most the server's peak RSS may grow while 40
	// far-behind resumes are served (whole replays grew it by 625 MB).
	farGrowthLimit = 50 << 20
	// farPage is a replay page (DESIGN.md §3): a long poll's answer.
	farPage = 128
)

// TestFarBehindResumesStayBounded opens 40 SSE streams with a cursor 9,500
// changes back that never read a byte (their receive buffers are small, so
// the server's writes block until its write deadline cuts them off), then
// 40 long polls from the same cursor, and checks the server's peak RSS
// growth for each group; a reading stream and the long polls check that
// the paged replay loses, repeats and reorders nothing.
func TestFarBehindResumesStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and writes 10,000 changes; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the server's memory from /proc (Linux only)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "far.db")
	epoch := seedBoard(t, db, farBoard, farHistory)
	bin := buildServer(t, dir)
	cursor := shared.Cursor{Epoch: epoch, Seq: farHistory - farBehind}.String()

	// Each group gets a server of its own, so one's garbage does not pad
	// the next one's peak. One client resumes first and reads: that checks
	// the paged replay and warms the server (its caches fill and the
	// garbage collector's heap goal settles, costs any first request
	// pays), so the peak that follows is the 40 clients' own.
	t.Run("SSE", func(t *testing.T) {
		srv := startChild(t, bin, db)
		start := srv.resetPeak(t)
		readWholeReplay(t, srv.url, cursor)
		before := srv.resetPeak(t)
		for range farClients {
			openStalledStream(t, srv.addr, cursor)
		}
		// Each stream is handed to its own goroutines once subscribed;
		// then its writes block until the write deadline ends it.
		srv.waitMetric(t, `kairan_http_requests_total{code="200",method="get",route="GET /api/boards/{board}/events"}`,
			func(v float64) bool { return v >= farClients+1 })
		srv.waitMetric(t, "kairan_sse_subscribers", func(v float64) bool { return v == 0 })
		srv.wantGrowth(t, start, before)
	})

	t.Run("long polls", func(t *testing.T) {
		srv := startChild(t, bin, db)
		start := srv.resetPeak(t)
		wantFirstPage(t, srv.url, cursor)
		before := srv.resetPeak(t)
		var wg gosync.WaitGroup
		for range farClients {
			wg.Go(func() { wantFirstPage(t, srv.url, cursor) })
		}
		wg.Wait()
		srv.wantGrowth(t, start, before)
	})
}

// seedBoard writes n topics to board in a new SQLite database and returns
// its epoch. Writers run in parallel so the store groups their commits.
func seedBoard(t *testing.T, path, board string, n int) string {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, Target: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const writers = 16
	var wg gosync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				_, err := st.CreateTopic(context.Background(), store.NewTopic{Board: board, Author: "seed",
					Comment: fmt.Sprintf("topic %d: %s", i, strings.Repeat("a far-behind resume pages its replay ", 3))})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return st.Epoch()
}

// child is bin/kairan serving db.
type child struct {
	cmd       *exec.Cmd
	url, addr string
}

func buildServer(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "kairan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startChild serves db from bin until the test ends.
func startChild(t *testing.T, bin, db string) *child {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", "sqlite:"+db,
		"--rate-limit", "0", "--max-streams-per-client", "0", "--max-topics-per-board", "0")
	cmd.Env = append(cmd.Environ(), "KAIRAN_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	c := &child{cmd: cmd}
	for c.url == "" && lines.Scan() {
		if m := regexp.MustCompile(`msg="kairan serving" url=(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			c.url = m[1]
		}
	}
	drained := make(chan struct{})
	go func() { // keeps the log pipe from filling; ends when the child exits
		defer close(drained)
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		exited := make(chan struct{})
		go func() { <-drained; _ = cmd.Wait(); close(exited) }()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second): // only bounds a broken shutdown
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	if c.url == "" {
		t.Fatal("the server never said where it listens")
	}
	c.addr = strings.TrimPrefix(c.url, "http://")
	return c
}

// resetPeak makes the kernel's peak RSS (VmHWM) the current RSS and
// returns that, so a later peak is this test's alone.
func (c *child) resetPeak(t *testing.T) int64 {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", c.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the server's peak RSS: %v", err)
	}
	rss, _ := c.memory(t)
	return rss
}

// memory is the server's RSS now and its peak since the last resetPeak.
func (c *child) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	kb := func(key string) int64 {
		m := regexp.MustCompile(`(?m)^` + key + `:\s+(\d+) kB$`).FindSubmatch(status)
		if m == nil {
			t.Fatalf("no %s in /proc/PID/status", key)
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return n << 10
	}
	return kb("VmRSS"), kb("VmHWM")
}

// wantGrowth checks the server's peak RSS since before (after the
// warm-up) and logs it against start (a fresh server) too.
func (c *child) wantGrowth(t *testing.T, start, before int64) {
	t.Helper()
	rss, peak := c.memory(t)
	t.Logf("server RSS %.1f MB fresh, %.1f MB warm; peak %.1f MB (+%.1f MB on warm, +%.1f MB on fresh) with %d far-behind clients; %.1f MB after",
		mb(start), mb(before), mb(peak), mb(peak-before), mb(peak-start), farClients, mb(rss))
	if peak-before > farGrowthLimit {
		t.Errorf("peak RSS grew %.1f MB, more than %.0f MB", mb(peak-before), mb(farGrowthLimit))
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// waitMetric polls /metrics until the series named by line (name and
// labels as the exposition prints them) satisfies ok.
func (c *child) waitMetric(t *testing.T, line string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // only bounds a broken run
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for last := ""; ; <-tick.C {
		resp, err := http.Get(c.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for l := range strings.Lines(string(body)) {
			if v, found := strings.CutPrefix(strings.TrimSpace(l), line+" "); found {
				last = v
				if f, err := strconv.ParseFloat(v, 64); err == nil && ok(f) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %q after 2 minutes", line, cmp.Or(last, "absent"))
		}
	}
}

// openStalledStream asks for the board's events from cursor and never
// reads: its receive buffer is as small as the kernel allows, so the
// server's writes block at once.
func openStalledStream(t *testing.T, addr, cursor string) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET /api/boards/%s/events?cursor=%s HTTP/1.1\r\nHost: %s\r\n\r\n", farBoard, cursor, addr); err != nil {
		t.Fatal(err)
	}
}

// readWholeReplay follows the stream from cursor until the board's head
// and checks every change after the cursor came once, in order.
func readWholeReplay(t *testing.T, url, cursor string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/boards/"+farBoard+"/events?cursor="+cursor, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sse.NewDecoder(resp.Body, 64<<10)
	want := int64(farHistory - farBehind)
	for want < farHistory {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("stream ended after seq %d of %d: %v", want, farHistory, err)
		}
		if ev.Type != "change" {
			t.Fatalf("event %q after seq %d, want a change", ev.Type, want)
		}
		var c shared.Change
		if err := json.Unmarshal([]byte(ev.Data), &c); err != nil {
			t.Fatal(err)
		}
		want++
		if got, _ := shared.ParseCursor(c.Cursor); got.Seq != want || ev.ID != c.Cursor {
			t.Fatalf("change %s (id %s), want seq %d", c.Cursor, ev.ID, want)
		}
	}
}

// wantFirstPage long-polls from cursor and checks the answer is a page of
// the changes right after it, in order.
func wantFirstPage(t *testing.T, url, cursor string) {
	resp, err := http.Get(url + "/api/boards/" + farBoard + "/changes?wait=0&cursor=" + cursor)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	var page shared.ChangesPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("long poll: %d %v", resp.StatusCode, err)
		return
	}
	if page.Reset != nil || len(page.Changes) == 0 || len(page.Changes) > farPage {
		t.Errorf("long poll from %s: reset %v, %d changes", cursor, page.Reset != nil, len(page.Changes))
		return
	}
	from, _ := shared.ParseCursor(cursor)
	for i, c := range page.Changes {
		if got, _ := shared.ParseCursor(c.Cursor); got.Seq != from.Seq+int64(i)+1 {
			t.Errorf("change %d of the answer is %s, want seq %d", i, c.Cursor, from.Seq+int64(i)+1)
			return
		}
	}
	if page.Cursor != page.Changes[len(page.Changes)-1].Cursor {
		t.Errorf("answer cursor %s, last change %s", page.Cursor, page.Changes[len(page.Changes)-1].Cursor)
	}
}
