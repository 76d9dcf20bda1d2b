// Package board is one board in one tab: a Session owns the tab's part in
// following it (leadership among the board's tabs, the sync engine, the
// courier and its outbox), the replica, the owner and moderator tokens and
// the View derived from them. The UI renders Views and calls the session;
// it holds none of this state itself (docs/DESIGN.md §4).
//
// All state lives on one goroutine, the session's loop. Everything else —
// the engine, the courier, the tab coordinator, the person's commands —
// hands it functions to run there (do), so nothing is shared and nothing is
// copied but the View that goes out.
package board

import (
	"context"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/kairan/kairan/app/client"
	"github.com/kairan/kairan/app/sync"
	"github.com/kairan/kairan/shared"
)

// Config is what a session needs from its surroundings.
type Config struct {
	Board   string
	Client  *client.Client
	Storage Storage
	// Pictures keeps the bytes of pictures waiting in the outbox (nil: no
	// pictures can be posted).
	Pictures sync.Pictures
	// Channel opens the channel to the board's other tabs; when it is nil
	// or returns nil, the tab leads alone.
	Channel func(board string) sync.Channel
	Elect   sync.Elector
	TabID   string
	// Online is the device's network when the session opens.
	Online bool
	// Seed is the board as the server rendered it into the page; the
	// session starts from it unless its saved replica is newer.
	Seed shared.Snapshot
	// Tune adjusts the engine and courier before they run (tests).
	Tune func(*sync.Engine, *sync.Courier)
	// OnView observes the board: it gets a fresh View after every change,
	// in order — the first within Open, on its caller's goroutine, the
	// rest on the session's. It must return quickly (hand the View to the
	// UI goroutine).
	OnView func(View)
}

// saveEvery bounds how often the replica is written to storage: a burst
// of changes costs one write, not one per change.
const saveEvery = 2 * time.Second

// Session is one board in one tab. Its methods are safe from any
// goroutine and never block on the network.
type Session struct {
	board   string
	cfg     Config
	ctx     context.Context // ends with Close; bounds every worker
	stop    context.CancelFunc
	inbox   chan func()
	wake    chan struct{} // outboxDirty was set
	quit    chan struct{}
	done    chan struct{} // the loop has returned
	workers gosync.WaitGroup
	closing gosync.Once

	outboxDirty atomic.Bool // the queue changed (set from any goroutine)
	stopping    bool        // Close has begun (loop goroutine only)

	// The loop's own; Close takes them over once the loop has returned.
	replica      sync.Replica
	replicaDirty bool
	status       sync.Status
	online       bool
	tabs         *sync.Tabs
	leader       bool
	queue        *sync.Queue            // the leader's outbox
	remote       sync.Outbox            // a follower's copy of the leader's outbox, as last heard
	handed       []sync.Op              // a follower's writes not yet seen in the leader's outbox
	acked        map[string]bool        // handed writes the leader has kept
	engine       *sync.Engine           // the leader's
	courier      *sync.Courier          // the leader's
	sent         map[int64]shared.Topic // delivered writes the replica does not show yet
	deleted      map[int64]bool
	queuedEdit   map[int64]string // view's scratch: the comment of a queued edit, by topic
	owned        map[int64]string // owner tokens by topic id
	author       string
	tokenSaves   int    // the leader's: saves of owner tokens; a follower's: the last it read after
	draft        string // the draft kept when the session opened
	modToken     string
	mod          Moderation
	modNote      string
	olderBusy    bool            // an older page is on its way (older.go)
	olderErr     string          // why the last one failed, in words
	tombstones   map[int64]bool  // deletes applied while it is on its way
	problems     map[string]bool // storage trouble by what was lost (storage.go)
	dirty        bool            // the view changed
	fullDue      bool            // followers need the whole replica
	delta        []shared.Change // changes followers have not heard
	deltaBase    string          // the cursor delta applies to
}

// Open starts following cfg.Board; Close ends it.
func Open(cfg Config) *Session {
	ctx, stop := context.WithCancel(context.Background())
	st := cfg.Storage
	s := &Session{board: cfg.Board, cfg: cfg, ctx: ctx, stop: stop,
		inbox: make(chan func(), 64), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		online: cfg.Online, sent: map[int64]shared.Topic{}, deleted: map[int64]bool{}, queuedEdit: map[int64]string{},
		problems: map[string]bool{}, acked: map[string]bool{}, dirty: true}
	remember(st, cfg.Board)
	s.replica = loadReplica(st, cfg.Board)
	if cfg.Seed.Board == cfg.Board && newer(cfg.Seed.Cursor, s.replica.Cursor) {
		s.replica.Reset(cfg.Seed)
		s.replica.Complete = len(cfg.Seed.Topics) < shared.DefaultSnapshotLen
		s.replica.SyncedAt, s.replicaDirty = time.Now(), true
	}
	s.status = sync.Status{Mode: sync.Connecting, LastLive: s.replica.SyncedAt}
	var err error
	if s.owned, err = loadTokens(st, cfg.Board); err != nil {
		s.problems[ProblemToken] = true
	}
	st.Get(AuthorKey, &s.author)
	st.Get(draftKey(cfg.Board), &s.draft)
	if st.Get(moderatorKey, &s.modToken); s.modToken != "" {
		s.mod = ModUnverified
	}
	s.remote = loadOutbox(st, cfg.Board) // shown until a leader says more
	// The first view, on the caller's goroutine before the loop starts:
	// the page can show the saved board in the render that opened it.
	if cfg.OnView != nil {
		cfg.OnView(s.view())
	}
	var ch sync.Channel
	if cfg.Channel != nil {
		ch = cfg.Channel(cfg.Board)
	}
	if ch != nil {
		s.tabs = s.newTabs(ch)
	}
	go s.loop()
	if s.tabs == nil {
		s.do(func() { s.lead(ctx) })
	} else {
		s.do(func() { s.spawn(func() { s.tabs.Run(ctx) }) })
	}
	if s.modToken != "" {
		token := s.modToken
		s.do(func() { s.check(token) })
	}
	return s
}

// newer reports whether cursor a is past b: b is empty, a is of another
// database (b's was replaced), or a's sequence is higher.
func newer(a, b string) bool {
	ca, ok := shared.ParseCursor(a)
	if !ok {
		return false
	}
	cb, ok := shared.ParseCursor(b)
	return !ok || ca.Epoch != cb.Epoch || ca.Seq > cb.Seq
}

// Close stops following the board: the stream closes, the leadership
// (if this tab had it) passes to another tab, and the replica is saved.
// It returns once every goroutine of the session has ended.
func (s *Session) Close() {
	s.closing.Do(func() {
		// Workers first, while the loop still takes what they report: a
		// post the server just took must have its owner token kept.
		stopped := make(chan struct{})
		s.do(func() { s.stopping = true; s.stop(); close(stopped) })
		<-stopped
		s.workers.Wait()
		close(s.quit)
		<-s.done
		if s.leader { // the loop has returned: its state is ours now
			s.saveOutbox()
			s.saveReplica()
		}
	})
}

// do runs f on the loop. After Close it drops f: the session is gone.
func (s *Session) do(f func()) {
	select {
	case s.inbox <- f:
	case <-s.quit:
	}
}

// spawn runs f as a worker of the session: Close waits for it. Loop
// goroutine only; once Close has begun, nothing new starts.
func (s *Session) spawn(f func()) {
	if s.stopping {
		return
	}
	s.workers.Add(1)
	go func() { defer s.workers.Done(); f() }()
}

func (s *Session) loop() {
	defer close(s.done)
	save := time.NewTimer(saveEvery)
	save.Stop()
	saving := false
	for {
		if s.dirty {
			s.dirty = false
			s.emit()
		}
		if s.replicaDirty && !saving {
			save.Reset(saveEvery)
			saving = true
		}
		select {
		case f := <-s.inbox:
			f()
			s.drain() // a burst of events makes one view
		case <-s.wake:
			if s.outboxDirty.Swap(false) { // delivered, refused, queued: shown and kept
				s.saveOutbox()
				s.dirty = true
			}
		case <-save.C:
			saving = false
			s.saveReplica()
		case <-s.quit:
			save.Stop()
			return
		}
	}
}

// drain runs what else is waiting, up to a bound so a flood of events
// still lets the view out now and then.
func (s *Session) drain() {
	for range 256 {
		select {
		case f := <-s.inbox:
			f()
		default:
			return
		}
	}
}

// emit hands the View out and, when leading, shares what changed with
// the other tabs.
func (s *Session) emit() {
	if s.cfg.OnView != nil {
		s.cfg.OnView(s.view())
	}
	if !s.leader || s.tabs == nil {
		return
	}
	status, outbox := s.status, s.outbox()
	m := sync.Message{Status: &status, Outbox: &outbox, Tokens: s.tokenSaves}
	switch {
	case s.fullDue:
		r := s.replica.Clone()
		m.Replica = &r
	case len(s.delta) > 0:
		m.Changes, m.Base = s.delta, s.deltaBase
	}
	s.fullDue, s.delta = false, nil
	s.tabs.Publish(m)
}

// outbox is the outbox as this tab knows it: the leader's queue, or for a
// follower what the leader last said plus its own writes not handed over.
func (s *Session) outbox() sync.Outbox {
	if s.queue != nil {
		return s.queue.Outbox()
	}
	o := s.remote.Clone()
	for _, op := range s.handed {
		o.Add(op)
	}
	return o
}
