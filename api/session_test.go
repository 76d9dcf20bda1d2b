package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kairan/kairan/api/config"
	"github.com/kairan/kairan/app/board"
	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/fake"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// Board sessions (app/board) against the real server, natively: the tab
// channel, the locks and local storage are the in-process fakes of
// app/fake (the browser's edges); everything else is the real thing.

const sessionWait = 30 * time.Second // only ever a failure deadline

// tab is one session and the views it handed out.
type tab struct {
	s      *board.Session
	latest chan board.View // the newest view only
	last   board.View      // the newest a wait has seen (test goroutine only)
	closed bool
}

type tabEdges struct {
	bus      *fake.Bus
	locks    *fake.Locks
	storage  *fake.Storage
	pictures *fake.Pictures
}

func newEdges() tabEdges {
	return tabEdges{bus: fake.NewBus(), locks: fake.NewLocks(), storage: fake.NewStorage(), pictures: fake.NewPictures()}
}

var tabIDs atomic.Int64

// openTab opens a session of name on base. Without edges.bus the tab
// leads alone, as in a browser without BroadcastChannel.
func openTab(t *testing.T, base, name string, edges tabEdges, tune func(*sync.Engine, *sync.Courier)) *tab {
	t.Helper()
	x := &tab{latest: make(chan board.View, 1)}
	cfg := board.Config{
		Board: name, Client: &client.Client{Base: base}, Storage: edges.storage, Pictures: edges.pictures,
		Elect: edges.locks.Elect, TabID: fmt.Sprint("tab-", tabIDs.Add(1)), Online: true,
		Tune: func(e *sync.Engine, c *sync.Courier) {
			e.OpenTimeout, e.BackoffMin, e.BackoffMax = 3*time.Second, 20*time.Millisecond, 300*time.Millisecond
			c.BackoffMin, c.BackoffMax = 20*time.Millisecond, 300*time.Millisecond
			if tune != nil {
				tune(e, c)
			}
		},
		OnView: func(v board.View) {
			select {
			case <-x.latest:
			default:
			}
			x.latest <- v
		},
	}
	if edges.bus != nil {
		cfg.Channel = func(string) sync.Channel { return edges.bus.Open() }
	}
	x.s = board.Open(cfg)
	t.Cleanup(x.close)
	return x
}

func (x *tab) close() {
	if !x.closed {
		x.closed = true
		x.s.Close()
	}
}

// until waits for a view that satisfies ok.
func (x *tab) until(t *testing.T, what string, ok func(board.View) bool) board.View {
	t.Helper()
	deadline := time.NewTimer(sessionWait)
	defer deadline.Stop()
	if ok(x.last) && x.last.Board != "" {
		return x.last
	}
	for {
		select {
		case v := <-x.latest:
			if x.last = v; ok(v) {
				return v
			}
		case <-deadline.C:
			t.Fatalf("waiting for %s; last view: status %+v online %v leader %v waiting %d topics %s problem %q",
				what, x.last.Status, x.last.Online, x.last.Leader, x.last.Waiting, comments(x.last), x.last.Problem)
		}
	}
}

func live(v board.View) bool { return v.Status.Mode == sync.Live && v.Online }

// comments lists the view's topics as "id:comment".
func comments(v board.View) string {
	var s []string
	for _, t := range v.Topics {
		s = append(s, fmt.Sprintf("%d:%s", t.ID, t.Comment))
	}
	return strings.Join(s, ", ")
}

// shows reports whether v shows comment exactly n times, delivered.
func shows(v board.View, comment string, n int) bool {
	got := 0
	for _, t := range v.Topics {
		if t.Comment == comment && t.State == "" {
			got++
		}
	}
	return got == n && v.Waiting == 0
}

func find(v board.View, comment string) (board.Topic, bool) {
	for _, t := range v.Topics {
		if t.Comment == comment {
			return t, true
		}
	}
	return board.Topic{}, false
}

func TestSessionPostsEditsDeletesAndRemembers(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	edges.bus = nil // alone
	ann := openTab(t, m.URL(), "lobby", edges, nil)
	v := ann.until(t, "the live board", func(v board.View) bool { return live(v) && v.Loaded })
	if len(v.Topics) != 0 || !v.Leader {
		t.Fatalf("a new board: %+v", v)
	}

	// Mistakes are said at once and queue nothing.
	if err := ann.s.Post("ann", "   "); shared.ErrorCode(err) != shared.CodeInvalidComment {
		t.Fatalf("an empty post: %v", err)
	}
	if err := ann.s.Post("ann", strings.Repeat("x", shared.MaxCommentChars+1)); shared.ErrorCode(err) != shared.CodeInvalidComment {
		t.Fatalf("a long post: %v", err)
	}
	if err := ann.s.Post("ann", "hello\xff"); err == nil {
		t.Fatal("invalid UTF-8 was queued")
	}

	if err := ann.s.Post("ann", "hello"); err != nil {
		t.Fatal(err)
	}
	v = ann.until(t, "the post, delivered and owned", func(v board.View) bool {
		tp, ok := find(v, "hello")
		return ok && tp.Owned && shows(v, "hello", 1)
	})
	mine, _ := find(v, "hello")
	if v.Author != "ann" || mine.Author != "ann" {
		t.Fatalf("author: view %q, topic %q", v.Author, mine.Author)
	}
	other := post(t, m.URL(), "lobby", "someone else's")
	ann.until(t, "someone else's post, not owned", func(v board.View) bool {
		tp, ok := find(v, "someone else's")
		return ok && !tp.Owned && tp.ID == other.Topic.ID
	})

	if err := ann.s.Edit(mine.ID, "hello, edited"); err != nil {
		t.Fatal(err)
	}
	ann.until(t, "the edit", func(v board.View) bool { return shows(v, "hello, edited", 1) && !shows(v, "hello", 1) })
	ann.s.Delete(other.Topic.ID, false) // not ours: nothing is queued
	ann.s.Delete(mine.ID, false)
	ann.until(t, "the delete", func(v board.View) bool { _, ok := find(v, "hello, edited"); return !ok && v.Waiting == 0 })
	snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "lobby")
	if err != nil || len(snap.Topics) != 1 || snap.Topics[0].ID != other.Topic.ID {
		t.Fatalf("the server has %+v, %v", snap, err)
	}

	// What outlives the tab: the replica, the name; the next tab starts from them.
	post(t, m.URL(), "lobby", "kept for later")
	ann.until(t, "the last post", func(v board.View) bool { _, ok := find(v, "kept for later"); return ok })
	ann.close()
	edges.storage.Full(false)
	again := openTab(t, "http://127.0.0.1:1", "lobby", edges, nil) // a server out of reach
	v = again.until(t, "the saved board", func(v board.View) bool { return v.Loaded })
	if _, ok := find(v, "kept for later"); !ok || v.Author != "ann" {
		t.Fatalf("a new tab shows %s by %q, want the saved board", comments(v), v.Author)
	}
	again.until(t, "the server out of reach", func(v board.View) bool { return v.Status.Mode == sync.Unreachable })
}

// A follower tab shows what the leader has and hands its writes over;
// when the leader closes, the follower takes over the stream and the
// outbox, and every write arrives once.
func TestSessionFollowerAndHandover(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	a := openTab(t, m.URL(), "lobby", edges, nil)
	a.until(t, "the leader live", func(v board.View) bool { return live(v) && v.Leader })
	b := openTab(t, m.URL(), "lobby", edges, nil)
	b.until(t, "the follower hearing the leader", func(v board.View) bool { return live(v) && !v.Leader && v.Loaded })
	waitStreams(t, m, 1)

	if err := b.s.Post("bob", "from the follower"); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*tab{a, b} {
		x.until(t, "the follower's post in both tabs, owned", func(v board.View) bool {
			tp, ok := find(v, "from the follower")
			return ok && tp.Owned && shows(v, "from the follower", 1)
		})
	}
	// Changes reach the follower as changes (not whole replicas), in order.
	for i := range 5 {
		post(t, m.URL(), "lobby", fmt.Sprint("burst ", i))
	}
	b.until(t, "the burst at the follower", func(v board.View) bool { return shows(v, "burst 4", 1) && len(v.Topics) == 6 })

	a.close()
	b.until(t, "the follower leading", func(v board.View) bool { return live(v) && v.Leader })
	if err := b.s.Post("bob", "after the handover"); err != nil {
		t.Fatal(err)
	}
	b.until(t, "the post after the handover", func(v board.View) bool { return shows(v, "after the handover", 1) })
	waitStreams(t, m, 1)
	for _, c := range []string{"from the follower", "after the handover"} {
		if n := countTopics(t, m.URL(), "lobby", c); n != 1 {
			t.Fatalf("the server has %q %d times", c, n)
		}
	}
}

// waitStreams waits until the server counts n open event streams.
func waitStreams(t *testing.T, m *Main, n int) {
	t.Helper()
	deadline := time.Now().Add(sessionWait)
	last := -1
	for time.Now().Before(deadline) {
		if last = sseSubscribers(t, m.URL()); last == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server counts %d open streams, want %d", last, n)
}

func sseSubscribers(t *testing.T, base string) int {
	t.Helper()
	return serverCounter(t, base, "kairan_sse_subscribers")
}

// silentProxy forwards TCP to a server until it is muted: then every
// connection, open or new, stays open and carries nothing either way — a
// phone behind a dead Wi-Fi, a proxy that lost its upstream.
type silentProxy struct {
	ln    net.Listener
	muted atomic.Bool
	mu    stdsync.Mutex
	wake  chan struct{} // closed on unmute
}

func newSilentProxy(t *testing.T, target string) *silentProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &silentProxy{ln: ln, wake: make(chan struct{})}
	var conns stdsync.WaitGroup
	t.Cleanup(func() { ln.Close(); p.setMuted(false); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); p.serve(c, target) }()
		}
	}()
	return p
}

func (p *silentProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *silentProxy) setMuted(m bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.muted.Load() && !m {
		close(p.wake)
		p.wake = make(chan struct{})
	}
	p.muted.Store(m)
}

// waitUnmuted blocks while the proxy is muted.
func (p *silentProxy) waitUnmuted() {
	p.mu.Lock()
	wake, muted := p.wake, p.muted.Load()
	p.mu.Unlock()
	if muted {
		<-wake
	}
}

func (p *silentProxy) serve(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.waitUnmuted() // muted: hold the bytes, keep the connection
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
}

// startServerWithHeartbeat is startServer with a short keep-alive tick, so
// a quiet board's stream carries pings well within the client's Silence.
func startServerWithHeartbeat(t *testing.T, beat time.Duration) *Main {
	t.Helper()
	cfg := config.Default()
	cfg.Addr, cfg.DB = "127.0.0.1:0", filepath.Join(t.TempDir(), "kairan.db")
	unlimited(&cfg)
	m := &Main{Config: cfg, heartbeat: beat,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// A connection held open and silent must not read as live: the engine
// notices the missing pings (SSE) or the long poll that outlives its wait
// (polling), says so, and recovers every change when the path clears.
func TestSessionLeavesLiveOnASilentConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		tune func(*sync.Engine, *sync.Courier)
	}{
		{"sse", func(e *sync.Engine, c *sync.Courier) { e.Silence = 1500 * time.Millisecond }},
		{"polling", func(e *sync.Engine, c *sync.Courier) {
			e.Stream = func(context.Context, string, sync.StreamEvents) error {
				return fmt.Errorf("%w: no SSE here", sync.ErrStreamRefused)
			}
			e.PollWait, e.PollMargin = 1, time.Second
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := startServerWithHeartbeat(t, 100*time.Millisecond) // pings every ~200 ms of quiet
			proxy := newSilentProxy(t, m.ln.Addr().String())
			edges := newEdges()
			edges.bus = nil
			x := openTab(t, proxy.URL(), "lobby", edges, tc.tune)
			x.until(t, "live", func(v board.View) bool { return live(v) && v.Loaded })
			// Quiet but healthy: still live a while later (the server's pings
			// or answered polls keep it so).
			time.Sleep(3 * time.Second)
			if v := x.until(t, "a view", func(board.View) bool { return true }); !live(v) {
				t.Fatalf("a quiet, healthy connection left live: %+v", v.Status)
			}

			proxy.setMuted(true)
			var want []string
			for i := range 3 {
				want = append(want, post(t, m.URL(), "lobby", fmt.Sprint("while silent ", i)).Topic.Comment)
			}
			v := x.until(t, "leaving live", func(v board.View) bool { return v.Status.Mode != sync.Live })
			if _, ok := find(v, want[0]); ok {
				t.Fatal("a change crossed the muted proxy")
			}
			proxy.setMuted(false)
			v = x.until(t, "every change, live again", func(v board.View) bool {
				return live(v) && shows(v, want[0], 1) && shows(v, want[1], 1) && shows(v, want[2], 1)
			})
			snap, err := (&client.Client{Base: m.URL()}).Snapshot(context.Background(), "lobby")
			if err != nil {
				t.Fatal(err)
			}
			var got, server []int64
			for _, tp := range v.Topics {
				got = append(got, tp.ID)
			}
			for _, tp := range snap.Topics {
				server = append(server, tp.ID)
			}
			if !slices.Equal(got, server) {
				t.Fatalf("the tab shows %v, the server has %v", got, server)
			}
		})
	}
}

// The browser's offline event shows at once; a post made offline waits,
// and goes out once when the network is back.
func TestSessionOfflineAndBack(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	x.until(t, "live", live)
	x.s.Network(false)
	x.until(t, "offline at once", func(v board.View) bool { return !v.Online && v.Status.Mode == sync.Offline })
	if err := x.s.Post("ann", "written offline"); err != nil {
		t.Fatal(err)
	}
	v := x.until(t, "the post waiting", func(v board.View) bool { return v.Waiting == 1 && len(v.Posts) == 1 })
	if v.Posts[0].Token != "" || v.Posts[0].Comment != "written offline" {
		t.Fatalf("queued post in the view: %+v", v.Posts[0])
	}
	if n := countTopics(t, m.URL(), "lobby", "written offline"); n != 0 {
		t.Fatalf("sent while offline: %d", n)
	}
	x.s.Network(true)
	x.until(t, "delivered once", func(v board.View) bool { return live(v) && shows(v, "written offline", 1) })
	if n := countTopics(t, m.URL(), "lobby", "written offline"); n != 1 {
		t.Fatalf("the server has the post %d times", n)
	}
}

// Storage that refuses a write is said to the person, never ignored, and
// the message goes once a write works again.
func TestSessionSaysWhenStorageFails(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	x.until(t, "live", live)
	edges.storage.Full(true)
	if err := x.s.Post("ann", "a token not kept"); err != nil {
		t.Fatal(err)
	}
	v := x.until(t, "the problem said", func(v board.View) bool { return v.Problem != "" && shows(v, "a token not kept", 1) })
	if v.Problem != board.ProblemToken {
		t.Fatalf("problem %q, want the owner token's", v.Problem)
	}
	edges.storage.Full(false)
	if err := x.s.Post("ann", "a token kept"); err != nil {
		t.Fatal(err)
	}
	x.until(t, "the problem gone", func(v board.View) bool { return v.Problem == "" && shows(v, "a token kept", 1) })
}

// Replicas of boards not opened recently are evicted; owner tokens never.
func TestSessionKeepsTheTenMostRecentReplicas(t *testing.T) {
	m := startServer(t, unlimited)
	edges := newEdges()
	edges.bus = nil
	var names []string
	for i := range board.KeptReplicas + 2 {
		name := fmt.Sprint("board-", i)
		names = append(names, name)
		x := openTab(t, m.URL(), name, edges, nil)
		x.until(t, "live "+name, live)
		if err := x.s.Post("ann", "on "+name); err != nil {
			t.Fatal(err)
		}
		x.until(t, "the post on "+name, func(v board.View) bool { return shows(v, "on "+name, 1) })
		x.close()
	}
	keys := edges.storage.Keys()
	for i, name := range names {
		kept := slices.Contains(keys, "kairan/board/"+name)
		if want := i >= 2; kept != want {
			t.Errorf("replica of %s (opened %d of %d) kept = %v, want %v", name, i+1, len(names), kept, want)
		}
		if !slices.Contains(keys, "kairan/tokens/"+name) {
			t.Errorf("the owner tokens of %s were evicted", name)
		}
	}
}

// The moderator token is checked when it is entered; a wrong one is said
// at once and kept nowhere.
func TestSessionChecksTheModeratorToken(t *testing.T) {
	const token = "the-moderator-token-0123456789"
	m := startServer(t, func(c *config.Config) { c.ModeratorTokenEnv = token })
	theirs := post(t, m.URL(), "lobby", "spam")
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	x.until(t, "live", func(v board.View) bool { return live(v) && len(v.Topics) == 1 })

	x.s.Moderate("not-the-token")
	x.until(t, "the wrong token refused", func(v board.View) bool { return v.Moderation == board.ModRefused })
	var kept string
	if found, _ := edges.storage.Get("kairan/moderator", &kept); found {
		t.Fatalf("a refused token was kept: %q", kept)
	}
	x.s.Delete(theirs.Topic.ID, true) // refused: nothing is queued
	x.s.StopModerating()
	x.until(t, "moderation off", func(v board.View) bool { return v.Moderation == board.ModOff && v.Waiting == 0 })

	x.s.Moderate(token)
	x.until(t, "moderating", func(v board.View) bool { return v.Moderation == board.ModOn })
	x.s.Delete(theirs.Topic.ID, true)
	x.until(t, "the spam gone", func(v board.View) bool { return len(v.Topics) == 0 && v.Waiting == 0 })

	// Another tab of the browser starts moderating with the kept token,
	// checked again.
	y := openTab(t, m.URL(), "elsewhere", edges, nil)
	y.until(t, "moderating on another board", func(v board.View) bool { return v.Moderation == board.ModOn })
}

// A follower's write survives its leader closing at once (the leader
// acknowledges a write only once it is kept), and messages between tabs
// that are lost — the write handed over, the acknowledgement — are made
// good: every write arrives once.
func TestSessionFollowerWritesSurviveLostMessagesAndAClosingLeader(t *testing.T) {
	m := startServer(t)
	edges := newEdges()
	a := openTab(t, m.URL(), "lobby", edges, nil)
	a.until(t, "the leader live", func(v board.View) bool { return live(v) && v.Leader })
	b := openTab(t, m.URL(), "lobby", edges, nil)
	b.until(t, "the follower", func(v board.View) bool { return live(v) && !v.Leader })

	edges.bus.Lose("enqueue", 1)
	if err := b.s.Post("bob", "handed over, lost once"); err != nil {
		t.Fatal(err)
	}
	edges.bus.Lose("ack", 1)
	if err := b.s.Post("bob", "acknowledgement lost"); err != nil {
		t.Fatal(err)
	}
	post(t, m.URL(), "lobby", "a change, so the leader speaks") // a state makes the follower resend
	for _, x := range []*tab{a, b} {
		x.until(t, "both posts in both tabs", func(v board.View) bool {
			return shows(v, "handed over, lost once", 1) && shows(v, "acknowledgement lost", 1) && len(v.Posts) == 0
		})
	}

	if err := b.s.Post("bob", "written as the leader leaves"); err != nil {
		t.Fatal(err)
	}
	a.close() // at once: the write is kept by the follower or by the leader's saved outbox
	b.until(t, "the follower leading, the write delivered", func(v board.View) bool {
		return v.Leader && live(v) && shows(v, "written as the leader leaves", 1)
	})
	for _, c := range []string{"handed over, lost once", "acknowledgement lost", "written as the leader leaves"} {
		if n := countTopics(t, m.URL(), "lobby", c); n != 1 {
			t.Fatalf("the server has %q %d times", c, n)
		}
	}
}

// A write the server refuses for good shows as refused, with the server's
// reason, at once; discarding it empties the outbox.
func TestSessionShowsARefusedPostAtOnce(t *testing.T) {
	words := filepath.Join(t.TempDir(), "blocklist")
	if err := os.WriteFile(words, []byte("spam\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := startServer(t, func(c *config.Config) { c.BlocklistFile = words })
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	x.until(t, "live", live)
	if err := x.s.Post("ann", "cheap spam"); err != nil {
		t.Fatal(err)
	}
	v := x.until(t, "the refusal", func(v board.View) bool { return len(v.Posts) == 1 && v.Posts[0].Failed != "" })
	if v.Waiting != 0 {
		t.Fatalf("a refused post counts as waiting: %d", v.Waiting)
	}
	x.s.Discard(v.Posts[0].Key)
	x.until(t, "the outbox empty", func(v board.View) bool { return len(v.Posts) == 0 })
	var saved sync.Outbox
	if found, _ := edges.storage.Get("kairan/outbox/lobby", &saved); found && len(saved.Ops) != 0 {
		t.Fatalf("the saved outbox still holds %+v", saved.Ops)
	}
}

// Every topic is reachable: Older pages to the oldest of 250; a live edit
// and delete of an older topic show; a tab that loses topics to deletes
// fills back up to a page.
func TestSessionReachesTheOldestTopicAndRefills(t *testing.T) {
	m := startServer(t, unlimited)
	api := &client.Client{Base: m.URL()}
	var made []shared.CreatedTopic
	for i := range 250 {
		made = append(made, post(t, m.URL(), "lobby", fmt.Sprint("topic ", i)))
	}
	edges := newEdges()
	edges.bus = nil
	x := openTab(t, m.URL(), "lobby", edges, nil)
	v := x.until(t, "the newest page", func(v board.View) bool { return live(v) && len(v.Topics) == 100 })
	if v.Complete || v.Topics[0].Comment != "topic 249" {
		t.Fatalf("first page: complete %v, newest %q", v.Complete, v.Topics[0].Comment)
	}
	x.s.Older()
	x.until(t, "two pages", func(v board.View) bool { return len(v.Topics) == 200 && !v.OlderBusy })
	x.s.Older()
	v = x.until(t, "the oldest", func(v board.View) bool { return len(v.Topics) == 250 && v.Complete })
	for i, tp := range v.Topics {
		if want := fmt.Sprint("topic ", 249-i); tp.Comment != want {
			t.Fatalf("topic %d is %q, want %q", i, tp.Comment, want)
		}
	}
	// Changes of older topics arrive like any other.
	if _, err := api.Edit(context.Background(), "lobby", made[3].Topic.ID, "topic 3, edited", made[3].OwnerToken); err != nil {
		t.Fatal(err)
	}
	if err := api.Delete(context.Background(), "lobby", made[5].Topic.ID, made[5].OwnerToken); err != nil {
		t.Fatal(err)
	}
	x.until(t, "the older edit and delete", func(v board.View) bool {
		_, deleted := find(v, "topic 5")
		return shows(v, "topic 3, edited", 1) && !deleted && len(v.Topics) == 249
	})
	x.close()

	// A new tab starts from the newest page; deletes among it refill it.
	y := openTab(t, m.URL(), "lobby", edges, nil)
	y.until(t, "the newest page", func(v board.View) bool { return live(v) && len(v.Topics) >= 100 })
	for _, c := range made[245:] {
		if err := api.Delete(context.Background(), "lobby", c.Topic.ID, c.OwnerToken); err != nil {
			t.Fatal(err)
		}
	}
	v = y.until(t, "a full page again", func(v board.View) bool {
		_, gone := find(v, "topic 249")
		return !gone && len(v.Topics) >= 100 && !v.OlderBusy
	})
	if v.Topics[0].Comment != "topic 244" {
		t.Fatalf("newest after the deletes: %q", v.Topics[0].Comment)
	}
}
