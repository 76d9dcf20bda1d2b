package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/internal/pgtest"
	"github.com/kairan/kairan/api/store"
	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// Crash safety: the real binary takes posts from 20 clients as fast as they
// can send them and is killed with SIGKILL in the middle; a second process
// on the same database must still hold every post that was answered 2xx,
// the change log must run 1..head without a gap or a duplicate, and
// subscribers (SSE and long polling) must resume from their cursors with
// exactly the rest of their board's log — no reset, nothing lost, nothing
// twice.

const (
	crashWriters = 20
	crashKillAt  = 400 // acknowledged posts before the SIGKILL
	crashAfter   = 5   // posts per writer on the restarted server
)

// crashBoards: writer w posts to crashBoards[w%2], so the per-board streams
// are a true subset of the global log.
var crashBoards = [2]string{"crash-a", "crash-b"}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "kairan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "crash.db")
		runCrash(t, bin, "sqlite:"+path, store.Options{Dialect: store.SQLite, Target: path})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		runCrash(t, bin, dsn, store.Options{Dialect: store.Postgres, Target: dsn})
	})
}

// crashPost is one attempted post.
type crashPost struct {
	writer  int
	board   string
	author  string
	comment string
	key     string // Idempotency-Key, or ""
	// acked: answered 201 with a complete body (id is the topic's).
	acked bool
	id    int64
	// sawSuccess: a 2xx status line arrived even if the body did not.
	sawSuccess bool
	err        error
}

func runCrash(t *testing.T, bin, db string, open store.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	began := time.Now()
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * crashWriters, MaxConnsPerHost: 0}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr}

	// --- first life -------------------------------------------------------
	a := startCrashProc(t, bin, db)
	target := &crashTarget{url: a.url, up: make(chan struct{})}

	subCtx, stopSubs := context.WithCancel(ctx)
	var subsDone sync.WaitGroup
	defer func() { stopSubs(); subsDone.Wait() }()
	subs := []*crashSub{
		newCrashSub("sse-a", crashBoards[0], false),
		newCrashSub("sse-b", crashBoards[1], false),
		newCrashSub("poll-a", crashBoards[0], true),
	}
	for _, s := range subs {
		subsDone.Go(func() { s.run(subCtx, hc, target) })
	}
	for _, s := range subs {
		if err := s.waitFirst(ctx); err != nil {
			t.Fatalf("%s never got its first snapshot: %v", s.name, err)
		}
	}

	var (
		acks     atomic.Int64
		killed   atomic.Bool
		killOnce sync.Once
		killNow  = make(chan struct{})
		mu       sync.Mutex
		posts    []*crashPost // every attempt, in no particular order
		pending  = make([]*crashPost, crashWriters)
	)
	var writers sync.WaitGroup
	for w := range crashWriters {
		writers.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				p := &crashPost{writer: w, board: crashBoards[w%2], author: fmt.Sprint("w", w),
					comment: fmt.Sprintf("c%d-%d", w, n)}
				if w%3 == 0 {
					p.key = fmt.Sprintf("crash-key-0123456789abcdef-%d-%d", w, n)
				}
				status := crashSend(ctx, hc, a.url, p)
				mu.Lock()
				posts = append(posts, p)
				mu.Unlock()
				if p.acked {
					if acks.Add(1) == crashKillAt {
						killOnce.Do(func() { close(killNow) })
					}
					continue
				}
				if p.err == nil {
					t.Errorf("writer %d: post %q answered %d before the kill", w, p.comment, status)
				} else if !killed.Load() && ctx.Err() == nil {
					t.Errorf("writer %d: post %q failed before the kill: %v", w, p.comment, p.err)
				}
				pending[w] = p // the post in flight when the server died
				return
			}
		})
	}

	select {
	case <-killNow:
	case <-ctx.Done():
		writers.Wait()
		t.Fatalf("only %d posts acknowledged before the deadline", acks.Load())
	}
	killed.Store(true)
	ackedAtKill := acks.Load()
	var cursorsAtKill []string
	atKill := map[*crashSub]int64{}
	for _, s := range subs {
		atKill[s] = s.last()
		cursorsAtKill = append(cursorsAtKill, fmt.Sprintf("%s@%d", s.name, atKill[s]))
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	writers.Wait()
	if err := a.wait(); err != nil {
		t.Fatal(err)
	}
	if ws, ok := a.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the first process did not die of our SIGKILL but %v:\n%s", a.cmd.ProcessState, a.logs())
	}
	ackedBefore := acks.Load()
	t.Logf("killed with SIGKILL %v after the start, at %d acknowledged posts (%d by the time every writer noticed); subscribers at %s",
		time.Since(began).Round(time.Millisecond), ackedAtKill, ackedBefore, strings.Join(cursorsAtKill, " "))

	// --- second life ------------------------------------------------------
	b := startCrashProc(t, bin, db)
	if b.epoch != a.epoch {
		t.Errorf("the epoch changed across the crash: %s before, %s after — every client would reset", a.epoch, b.epoch)
	}
	headAfterRestart := crashHead(ctx, t, hc, b.url, a.epoch)
	t.Logf("restarted at %s, head %d", b.url, headAfterRestart)
	target.set(b.url)

	// An unacknowledged keyed post is retried with its key: exactly one
	// topic, whether or not the first attempt had committed.
	var replayed, createdOnRetry int
	for _, p := range pending {
		if p == nil || p.key == "" {
			continue
		}
		retry := *p
		retry.acked, retry.sawSuccess, retry.err = false, false, nil
		status := crashSend(ctx, hc, b.url, &retry)
		if !retry.acked || (status != http.StatusOK && status != http.StatusCreated) {
			t.Errorf("retry of key %s after the restart: status %d, err %v", p.key, status, retry.err)
			continue
		}
		if status == http.StatusOK {
			replayed++
		} else {
			createdOnRetry++
		}
		again := retry
		again.acked, again.sawSuccess = false, false
		if status := crashSend(ctx, hc, b.url, &again); status != http.StatusOK || again.id != retry.id {
			t.Errorf("second retry of key %s: status %d topic %d, want 200 and topic %d", p.key, status, again.id, retry.id)
		}
		p.acked, p.id = true, retry.id
	}

	// New posts after the restart: the counter must go on from the head,
	// and resumed subscribers must get them live.
	for w := range crashWriters {
		writers.Go(func() {
			for n := range crashAfter {
				p := &crashPost{writer: w, board: crashBoards[w%2], author: fmt.Sprint("w", w),
					comment: fmt.Sprintf("after%d-%d", w, n)}
				if status := crashSend(ctx, hc, b.url, p); !p.acked {
					t.Errorf("post %q after the restart: status %d, err %v", p.comment, status, p.err)
				}
				mu.Lock()
				posts = append(posts, p)
				mu.Unlock()
			}
		})
	}
	writers.Wait()
	// A last post on each board, one after the other: once a subscriber
	// has it, it has had everything of its board.
	markers := map[string]int64{}
	for _, board := range crashBoards {
		p := &crashPost{board: board, author: "marker", comment: "marker " + board}
		if status := crashSend(ctx, hc, b.url, p); !p.acked {
			t.Fatalf("marker post on %s: status %d, err %v", board, status, p.err)
		}
		markers[board] = p.id
		posts = append(posts, p)
	}
	head := crashHead(ctx, t, hc, b.url, a.epoch)

	catchUp, cancelCatchUp := context.WithTimeout(ctx, 20*time.Second)
	defer cancelCatchUp()
	for _, s := range subs {
		if err := s.waitTopic(catchUp, markers[s.board]); err != nil {
			t.Errorf("%s stopped at seq %d (head %d) without the last post of %s: %v", s.name, s.last(), head, s.board, err)
		}
	}
	stopSubs()
	subsDone.Wait()

	// A graceful stop, then read the database itself.
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(); err != nil {
		t.Fatal(err)
	}
	if !b.cmd.ProcessState.Success() {
		t.Errorf("the second process exited %v after SIGTERM:\n%s", b.cmd.ProcessState, b.logs())
	}
	st, err := store.Open(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Epoch() != a.epoch {
		t.Errorf("database epoch %s, the servers said %s", st.Epoch(), a.epoch)
	}
	if h, err := st.Head(ctx); err != nil || h != head {
		t.Errorf("database head %d (%v), the server said %d", h, err, head)
	}
	if p, err := st.PrunedThrough(ctx); err != nil || p != 0 {
		t.Errorf("pruned through %d (%v): the log check below needs all of it", p, err)
	}

	// The log: seqs 1..head, each once, each creating a topic of its own.
	all, err := st.ChangesSince(ctx, 0, int(head)+1000)
	if err != nil {
		t.Fatal(err)
	}
	gaps := 0
	topicSeq := map[int64]int64{}
	for i, c := range all {
		cur, ok := shared.ParseCursor(c.Cursor)
		if !ok || cur.Epoch != a.epoch || cur.Seq != int64(i+1) {
			if gaps++; gaps <= 5 {
				t.Errorf("change log entry %d has cursor %s, want %s.%d", i, c.Cursor, a.epoch, i+1)
			}
		}
		if c.Kind != shared.ChangeCreated {
			t.Errorf("change %s is %q; this test only creates", c.Cursor, c.Kind)
		}
		if prev, dup := topicSeq[c.Topic.ID]; dup {
			t.Errorf("topic %d was created twice in the log: seqs %d and %d", c.Topic.ID, prev, cur.Seq)
		}
		topicSeq[c.Topic.ID] = cur.Seq
	}
	if int64(len(all)) != head {
		t.Errorf("the log holds %d changes, head is %d", len(all), head)
	}

	// The topics: everything acknowledged is there, nothing twice.
	topics := map[int64]shared.Topic{}
	byComment := map[string][]int64{}
	for _, board := range crashBoards {
		snap, err := st.Snapshot(ctx, board, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range snap.Topics {
			topics[tp.ID] = tp
			byComment[tp.Comment] = append(byComment[tp.Comment], tp.ID)
			if _, ok := topicSeq[tp.ID]; !ok {
				t.Errorf("topic %d (%q) has no change in the log", tp.ID, tp.Comment)
			}
		}
	}
	if len(topics) != len(all) {
		t.Errorf("%d topics but %d changes", len(topics), len(all))
	}
	for comment, ids := range byComment {
		if len(ids) > 1 {
			t.Errorf("comment %q stored %d times: topics %v", comment, len(ids), ids)
		}
	}
	var acked, lost, inFlightPresent, inFlightAbsent int
	for _, p := range posts {
		switch {
		case p.acked:
			acked++
			got, ok := topics[p.id]
			if !ok || got.Comment != p.comment || got.Author != p.author || got.Board != p.board {
				if lost++; lost <= 10 {
					t.Errorf("acknowledged post %q (topic %d on %s) is missing after the crash; found %+v", p.comment, p.id, p.board, got)
				}
			}
		case p.sawSuccess:
			if len(byComment[p.comment]) != 1 {
				t.Errorf("post %q was answered 2xx but is stored %d times", p.comment, len(byComment[p.comment]))
			}
		case len(byComment[p.comment]) == 1:
			inFlightPresent++
		default:
			inFlightAbsent++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged posts lost", lost, acked)
	}

	// The subscribers: exactly their board's log after their first cursor.
	for _, s := range subs {
		var want []int64
		wantTopic := map[int64]int64{}
		for _, c := range all {
			cur, _ := shared.ParseCursor(c.Cursor)
			if c.Board == s.board && cur.Seq > s.first {
				want = append(want, cur.Seq)
				wantTopic[cur.Seq] = c.Topic.ID
			}
		}
		s.mu.Lock()
		for i, p := range s.problems {
			if i == 10 {
				t.Errorf("%s: and %d more problems", s.name, len(s.problems)-i)
				break
			}
			t.Errorf("%s: %s", s.name, p)
		}
		if !slices.Equal(s.seqs, want) {
			t.Errorf("%s saw %d changes of %s after seq %d, the log has %d; first difference: %s",
				s.name, len(s.seqs), s.board, s.first, len(want), firstDifference(s.seqs, want))
		}
		for i, seq := range s.seqs {
			if wantTopic[seq] != s.topics[i] {
				t.Errorf("%s: change %d carried topic %d, the log says %d", s.name, seq, s.topics[i], wantTopic[seq])
				break
			}
		}
		if atKill[s] == 0 {
			t.Errorf("%s had no change before the kill, so it resumed from nothing", s.name)
		}
		t.Logf("%s: %d changes of %s from seq %d, %d connections", s.name, len(s.seqs), s.board, s.first, s.connects)
		s.mu.Unlock()
	}

	t.Logf("acknowledged %d posts (%d before the kill); unkeyed posts in flight at the kill: %d stored, %d not; keyed ones retried: %d (%d replayed, %d created); head %d after restart, %d at the end; %v",
		acked, ackedBefore, inFlightPresent, inFlightAbsent, replayed+createdOnRetry, replayed, createdOnRetry, headAfterRestart, head, time.Since(began).Round(time.Millisecond))
}

func firstDifference(got, want []int64) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got seq %d, want %d", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra seq %d", got[len(want)])
	}
	if len(want) > len(got) {
		return fmt.Sprintf("missing seq %d", want[len(got)])
	}
	return "none"
}

// crashSend posts p and fills in its outcome; it returns the status (0 when
// none arrived).
func crashSend(ctx context.Context, hc *http.Client, base string, p *crashPost) int {
	body, _ := json.Marshal(shared.CreateTopic{Author: p.author, Comment: p.comment})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/boards/"+p.board+"/topics", bytes.NewReader(body))
	if err != nil {
		p.err = err
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if p.key != "" {
		req.Header.Set("Idempotency-Key", p.key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		p.err = err
		return 0
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 {
		p.sawSuccess = true
	}
	if err != nil {
		p.err = err
		return resp.StatusCode
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	var created shared.CreatedTopic
	if err := json.Unmarshal(data, &created); err != nil {
		p.err = fmt.Errorf("answer %s: %w", data, err)
		return resp.StatusCode
	}
	if created.Topic.Comment != p.comment || created.Topic.Board != p.board {
		p.err = fmt.Errorf("answered with another topic: %s", data)
		return resp.StatusCode
	}
	p.acked, p.id = true, created.Topic.ID
	return resp.StatusCode
}

// crashHead reads the head from a snapshot's cursor.
func crashHead(ctx context.Context, t *testing.T, hc *http.Client, base, epoch string) int64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/boards/"+crashBoards[0]+"?limit=1", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap shared.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil || resp.StatusCode != 200 {
		t.Fatalf("snapshot: status %d, %v", resp.StatusCode, err)
	}
	cur, ok := shared.ParseCursor(snap.Cursor)
	if !ok {
		t.Fatalf("snapshot cursor %q", snap.Cursor)
	}
	if cur.Epoch != epoch {
		t.Errorf("snapshot cursor %q, want epoch %s", snap.Cursor, epoch)
	}
	return cur.Seq
}

// crashProc is one run of the binary.
type crashProc struct {
	cmd        *exec.Cmd
	url, epoch string
	exited     chan struct{}

	mu    sync.Mutex
	lines []string
}

var (
	crashServingRE = regexp.MustCompile(`msg="kairan serving" url=(\S+)`)
	crashEpochRE   = regexp.MustCompile(` epoch=([A-Za-z0-9]+)`)
)

func startCrashProc(t *testing.T, bin, db string) *crashProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(cmd.Environ(),
		"KAIRAN_DB="+db,
		"KAIRAN_LOG_LEVEL=info",
		"KAIRAN_HISTORY=1000000", // keep the whole log for the gap check
		"KAIRAN_RATE_LIMIT=0",
		"KAIRAN_MAX_TOPICS_PER_BOARD=1000000",
		"KAIRAN_MAX_STREAMS_PER_CLIENT=0",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &crashProc{cmd: cmd, exited: make(chan struct{})}
	serving := make(chan [2]string, 1)
	go func() {
		// Drain stderr for the life of the process (a full pipe would
		// block its logging), then reap it.
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.mu.Unlock()
			if m := crashServingRE.FindStringSubmatch(line); m != nil {
				e := crashEpochRE.FindStringSubmatch(line)
				if e == nil {
					e = []string{"", ""}
				}
				serving <- [2]string{m[1], e[1]}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("log of pid %d:\n%s", cmd.Process.Pid, p.logs())
		}
	})
	select {
	case s := <-serving:
		p.url, p.epoch = s[0], s[1]
	case <-p.exited:
		t.Fatalf("the server exited before serving: %v\n%s", cmd.ProcessState, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("the server never said where it listens:\n%s", p.logs())
	}
	if p.epoch == "" {
		t.Fatalf("no epoch in the serving line:\n%s", p.logs())
	}
	return p
}

// wait waits for the process to end, at most 30 s.
func (p *crashProc) wait() error {
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("pid %d still running 30 s after the signal\n%s", p.cmd.Process.Pid, p.logs())
	}
}

func (p *crashProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.lines
	if len(lines) > 100 {
		lines = lines[len(lines)-100:]
	}
	return strings.Join(lines, "\n")
}

// crashTarget is where the server currently listens; up is closed when a
// new server takes over.
type crashTarget struct {
	mu  sync.Mutex
	url string
	up  chan struct{}
}

func (c *crashTarget) get() (string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.url, c.up
}

func (c *crashTarget) set(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.url = url
	close(c.up)
	c.up = make(chan struct{})
}

// crashSub follows one board over SSE or long polling, across
// disconnects and the restart, keeping its cursor like a real client.
type crashSub struct {
	name  string
	board string
	poll  bool

	mu       sync.Mutex
	started  bool
	epoch    string
	first    int64 // seq of the first snapshot's cursor
	cursor   string
	seqs     []int64
	topics   []int64 // topic id of each change in seqs
	seen     map[int64]bool
	problems []string
	connects int
	progress chan struct{} // closed and replaced on every change
}

func newCrashSub(name, board string, poll bool) *crashSub {
	return &crashSub{name: name, board: board, poll: poll, progress: make(chan struct{}), seen: map[int64]bool{}}
}

func (s *crashSub) run(ctx context.Context, hc *http.Client, target *crashTarget) {
	for ctx.Err() == nil {
		base, up := target.get()
		once := s.streamOnce
		if s.poll {
			once = s.pollOnce
		}
		if once(ctx, hc, base) || ctx.Err() != nil {
			continue // a stream that ended, or a poll answered: go on from the cursor
		}
		// No usable answer: the server is down; wait for the next one.
		select {
		case <-up:
		case <-ctx.Done():
		}
	}
}

// streamOnce follows one SSE connection until it ends. It reports whether
// the server answered at all (if not, it is down: wait for the next one).
func (s *crashSub) streamOnce(ctx context.Context, hc *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/boards/"+s.board+"/events", nil)
	if err != nil {
		s.problem("%v", err)
		return false
	}
	if c := s.currentCursor(); c != "" {
		req.Header.Set("Last-Event-ID", c)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.problem("GET events answered %d", resp.StatusCode)
		return false
	}
	s.connected()
	dec := sse.NewDecoder(resp.Body, 1<<20)
	for {
		ev, err := dec.Next()
		if err != nil {
			return true // the stream ended (dropped as slow, or the kill): resume from the cursor
		}
		switch ev.Type {
		case "reset":
			var snap shared.Snapshot
			if err := json.Unmarshal([]byte(ev.Data), &snap); err != nil || snap.Cursor != ev.ID {
				s.problem("bad reset event %q id %q: %v", ev.Data, ev.ID, err)
				continue
			}
			s.reset(snap.Cursor)
		case "change":
			var c shared.Change
			if err := json.Unmarshal([]byte(ev.Data), &c); err != nil || c.Cursor != ev.ID {
				s.problem("bad change event %q id %q: %v", ev.Data, ev.ID, err)
				continue
			}
			s.change(c)
		default:
			s.problem("unexpected event type %q", ev.Type)
		}
	}
}

// pollOnce asks the long-poll endpoint once, from the cursor.
func (s *crashSub) pollOnce(ctx context.Context, hc *http.Client, base string) bool {
	u := base + "/api/boards/" + s.board + "/changes?wait=5"
	if c := s.currentCursor(); c != "" {
		u += "&cursor=" + url.QueryEscape(c)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		s.problem("%v", err)
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.problem("GET changes answered %d", resp.StatusCode)
		return false
	}
	var page shared.ChangesPage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return true // cut off by the kill: ask again, from the same cursor
	}
	s.connected()
	if page.Reset != nil {
		if page.Reset.Cursor != page.Cursor {
			s.problem("reset page cursor %s, snapshot cursor %s", page.Cursor, page.Reset.Cursor)
		}
		s.reset(page.Cursor)
		return true
	}
	before := s.currentCursor()
	for _, c := range page.Changes {
		s.change(c)
	}
	if n := len(page.Changes); n > 0 && page.Cursor != page.Changes[n-1].Cursor {
		s.problem("page cursor %s, last change %s", page.Cursor, page.Changes[n-1].Cursor)
	}
	if len(page.Changes) == 0 && page.Cursor != before {
		s.problem("an empty page moved the cursor from %s to %s", before, page.Cursor)
	}
	return true
}

func (s *crashSub) currentCursor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

func (s *crashSub) connected() {
	s.mu.Lock()
	s.connects++
	s.mu.Unlock()
}

func (s *crashSub) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *crashSub) reset(cursor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := shared.ParseCursor(cursor)
	switch {
	case !ok:
		s.problems = append(s.problems, fmt.Sprintf("reset to malformed cursor %q", cursor))
	case s.started:
		// Starting over would hide lost or doubled changes, and after the
		// restart means the epoch or the log did not survive.
		s.problems = append(s.problems, fmt.Sprintf("reset to %s after %d changes from cursor %s", cursor, len(s.seqs), s.cursor))
	default:
		s.started, s.epoch, s.first = true, cur.Epoch, cur.Seq
	}
	s.cursor = cursor
	close(s.progress)
	s.progress = make(chan struct{})
}

func (s *crashSub) change(c shared.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := shared.ParseCursor(c.Cursor)
	last := s.first
	if n := len(s.seqs); n > 0 {
		last = s.seqs[n-1]
	}
	switch {
	case !ok || cur.Epoch != s.epoch:
		s.problems = append(s.problems, fmt.Sprintf("change with cursor %q, epoch %s", c.Cursor, s.epoch))
	case !s.started:
		s.problems = append(s.problems, fmt.Sprintf("change %s before any snapshot", c.Cursor))
	case c.Board != s.board || c.Topic.Board != s.board:
		s.problems = append(s.problems, fmt.Sprintf("change %s of board %s on %s's stream", c.Cursor, c.Board, s.board))
	case cur.Seq <= last:
		s.problems = append(s.problems, fmt.Sprintf("change %d after %d: a duplicate or out of order", cur.Seq, last))
	}
	s.seqs = append(s.seqs, cur.Seq)
	s.topics = append(s.topics, c.Topic.ID)
	s.seen[c.Topic.ID] = true
	s.cursor = c.Cursor
	close(s.progress)
	s.progress = make(chan struct{})
}

// last is the seq the subscriber stands at.
func (s *crashSub) last() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _ := shared.ParseCursor(s.cursor)
	return cur.Seq
}

func (s *crashSub) waitFirst(ctx context.Context) error {
	return s.until(ctx, func() bool { return s.started })
}

// waitTopic waits until the subscriber has had a change of topic id.
func (s *crashSub) waitTopic(ctx context.Context, id int64) error {
	return s.until(ctx, func() bool { return s.seen[id] })
}

func (s *crashSub) until(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		ok, progress := done(), s.progress
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
