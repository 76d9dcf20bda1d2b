package sync

import (
	"context"
	"slices"
	gosync "sync"

	"github.com/kairan/kairan/shared"
)

// A browser allows six connections per host over HTTP/1.1, so seven tabs
// each holding an event stream would hang. The tabs of one board elect one
// leader (Web Locks in the browser): it alone follows the board and
// delivers the outbox, and shares what it has with the others over a
// channel between tabs (BroadcastChannel). When the leader tab closes, its
// lock is released and a waiting tab takes over at once.

// Message travels between the tabs of one board.
type Message struct {
	Kind    string   `json:"kind"` // "hello", "state", "enqueue", "ack", "discard"
	From    string   `json:"from"` // the sending tab
	Replica *Replica `json:"replica,omitempty"`
	Status  *Status  `json:"status,omitempty"`
	Outbox  *Outbox  `json:"outbox,omitempty"`
	Op      *Op      `json:"op,omitempty"`
	Key     string   `json:"key,omitempty"`
	// Changes since Base, when the state carries no whole Replica: a
	// follower whose replica is not at Base asks for the whole (hello).
	Changes []shared.Change `json:"changes,omitempty"`
	Base    string          `json:"base,omitempty"`
	// Tokens counts the leader's saves of owner tokens: a follower reads
	// them from storage again only when it moves.
	Tokens int `json:"tokens,omitempty"`
}

// Channel connects the tabs of one board; a tab does not receive what it
// sends.
type Channel interface {
	Send(Message)
	Messages() <-chan Message
	Close()
}

// Elector blocks until this tab holds the named leadership, or ctx ends;
// release gives it up.
type Elector func(ctx context.Context, name string) (release func(), err error)

// Tabs coordinates one tab with the others of its board.
type Tabs struct {
	ID      string
	Board   string
	Channel Channel
	Elect   Elector

	// Lead is called when this tab becomes the leader: it starts following
	// the board and delivering the outbox, bound to ctx (cancelled when
	// leadership ends), and returns at once.
	Lead func(ctx context.Context)
	// Enqueue hands op to the leader's outbox; stored (nil for this tab's
	// own ops) is to be called once the op is kept, and acknowledges it to
	// the tab that wrote it. Discard reaches the leader's outbox too.
	Enqueue func(op Op, stored func())
	Discard func(key string)
	// OnState shows a follower what the leader says.
	OnState func(Message)
	// OnHello tells the leader a tab joined (or lost track): its next
	// state should carry the whole replica.
	OnHello func()
	// OnAck tells a follower the leader has queued one of its writes.
	OnAck func(key string)

	// Run's goroutine only:
	leader   bool
	state    Message // the leader's last state, for newcomers
	unacked  []Op    // a follower's writes the leader has not confirmed
	lastFrom string  // the leader the follower last heard
	taken    map[string]bool

	mu    gosync.Mutex
	inbox []func(leader bool) // this tab's writes, drops and states, in order
	wake  chan struct{}
}

// NewTabs returns a coordinator; set the callbacks, then Run it.
func NewTabs(id, board string, ch Channel, elect Elector) *Tabs {
	return &Tabs{ID: id, Board: board, Channel: ch, Elect: elect, wake: make(chan struct{}, 1)}
}

// Write queues op through the leader. Safe from any goroutine; it never
// blocks, so the caller may be the one Run's callbacks report to.
func (t *Tabs) Write(op Op) { t.post(func(bool) { t.write(op) }) }

// Drop discards an op through the leader (safe from any goroutine, never blocks).
func (t *Tabs) Drop(key string) { t.post(func(bool) { t.drop(key) }) }

// Hello asks the leader for its whole state (safe from any goroutine,
// never blocks).
func (t *Tabs) Hello() {
	t.post(func(bool) { t.Channel.Send(Message{Kind: "hello", From: t.ID}) })
}

// Publish shares the leader's state with the other tabs; followers' calls
// are ignored (safe from any goroutine, never blocks).
func (t *Tabs) Publish(m Message) {
	t.post(func(leader bool) {
		if leader {
			m.Kind, m.From = "state", t.ID
			t.state = m
			t.Channel.Send(m)
		}
	})
}

func (t *Tabs) post(f func(leader bool)) {
	t.mu.Lock()
	t.inbox = append(t.inbox, f)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Tabs) take() []func(bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fs := t.inbox
	t.inbox = nil
	return fs
}

// Run takes part until ctx is done.
func (t *Tabs) Run(ctx context.Context) {
	defer t.Channel.Close()
	elected := make(chan func())
	go func() {
		release, err := t.Elect(ctx, "kairan/"+t.Board)
		if err != nil {
			return
		}
		select {
		case elected <- release:
		case <-ctx.Done(): // elected as Run ended: give it back, or no tab could lead
			release()
		}
	}()
	release := func() {}
	t.state, t.taken = Message{Kind: "state"}, map[string]bool{}
	leadCtx, stopLead := context.WithCancel(ctx) // the leader's work ends with leadership
	defer func() { stopLead(); release() }()
	t.Channel.Send(Message{Kind: "hello", From: t.ID})
	for {
		select {
		case <-ctx.Done():
			return
		case release = <-elected:
			t.leader = true
			t.Lead(leadCtx)
			for _, op := range t.unacked { // what no leader confirmed is ours to send
				t.enqueue(op, "")
			}
			t.unacked = nil
			t.state.From = t.ID
			t.Channel.Send(t.state) // tell the others who leads now
		case <-t.wake:
			for _, f := range t.take() {
				f(t.leader)
			}
		case m := <-t.Channel.Messages():
			t.receive(m)
		}
	}
}

func (t *Tabs) receive(m Message) {
	switch {
	case t.leader && m.Kind == "hello":
		if t.OnHello != nil {
			t.OnHello() // the next Publish carries the whole state
		} else {
			t.Channel.Send(t.state)
		}
	case t.leader && m.Kind == "enqueue" && m.Op != nil:
		t.enqueue(*m.Op, m.From)
	case t.leader && m.Kind == "discard":
		t.Discard(m.Key)
	case !t.leader && m.Kind == "ack":
		t.unacked = slices.DeleteFunc(t.unacked, func(op Op) bool { return op.Key == m.Key })
		if t.OnAck != nil {
			t.OnAck(m.Key)
		}
	case !t.leader && m.Kind == "state":
		// Hand the leader what it has not confirmed: all of it to a new
		// leader, and to the same one what its outbox lacks (a message
		// between tabs may be lost; the leader takes each op once and
		// acknowledges it again).
		newLeader := m.From != t.lastFrom
		t.lastFrom = m.From
		for _, op := range t.unacked {
			if newLeader || m.Outbox != nil && !m.Outbox.Has(op.Key) {
				t.Channel.Send(Message{Kind: "enqueue", From: t.ID, Op: &op})
			}
		}
		if t.OnState != nil && (m.Replica != nil || m.Status != nil || len(m.Changes) > 0) {
			t.OnState(m)
		}
	}
}

func (t *Tabs) write(op Op) {
	if t.leader {
		t.enqueue(op, "")
		return
	}
	t.unacked = append(t.unacked, op)
	t.Channel.Send(Message{Kind: "enqueue", From: t.ID, Op: &op})
}

func (t *Tabs) drop(key string) {
	if t.leader {
		t.Discard(key)
	} else {
		t.Channel.Send(Message{Kind: "discard", From: t.ID, Key: key})
	}
}

// enqueue hands op to the leader's outbox once, however often a follower
// resends it. A follower's op (from names it) is acknowledged once it is
// kept, so the follower never forgets a write the leader could still lose.
func (t *Tabs) enqueue(op Op, from string) {
	ack := func() { t.Channel.Send(Message{Kind: "ack", From: t.ID, Key: op.Key}) }
	if t.taken[op.Key] {
		if from != "" {
			ack() // kept already (or on its way to be): the first ack was lost
		}
		return
	}
	t.taken[op.Key] = true
	var stored func()
	if from != "" {
		stored = func() { t.post(func(bool) { ack() }) }
	}
	t.Enqueue(op, stored)
}
