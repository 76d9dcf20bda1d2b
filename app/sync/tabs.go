package sync

import (
	"context"
	"slices"
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
	// Enqueue and Discard reach the leader's courier.
	Enqueue func(Op)
	Discard func(key string)
	// OnState shows a follower what the leader has.
	OnState func(Message)
	// OnLeader reports that this tab has become the leader.
	OnLeader func()

	writes  chan Op
	drops   chan string
	publish chan Message
}

// NewTabs returns a coordinator; set the callbacks, then Run it.
func NewTabs(id, board string, ch Channel, elect Elector) *Tabs {
	return &Tabs{ID: id, Board: board, Channel: ch, Elect: elect,
		writes: make(chan Op, 64), drops: make(chan string, 16), publish: make(chan Message, 16)}
}

// Write queues op through the leader (safe from any goroutine).
func (t *Tabs) Write(op Op) { t.writes <- op }

// Drop discards an op through the leader (safe from any goroutine).
func (t *Tabs) Drop(key string) { t.drops <- key }

// Publish shares the leader's state with the other tabs; followers' calls
// are ignored (safe from any goroutine).
func (t *Tabs) Publish(m Message) {
	select {
	case t.publish <- m:
	default: // a newer state follows shortly; never block the UI
	}
}

// Run takes part until ctx is done.
func (t *Tabs) Run(ctx context.Context) {
	defer t.Channel.Close()
	elected := make(chan func(), 1)
	go func() {
		if release, err := t.Elect(ctx, "kairan/"+t.Board); err == nil {
			elected <- release
		}
	}()
	var (
		leader   bool
		release  = func() {}
		state    = Message{Kind: "state"}
		unacked  []Op   // a follower's writes the leader has not confirmed
		lastFrom string // the leader the follower last heard
		// taken: keys the leader has queued, so a resent write is not queued twice
		taken = map[string]bool{}
	)
	enqueue := func(op Op) {
		if !taken[op.Key] {
			taken[op.Key] = true
			t.Enqueue(op)
		}
	}
	leadCtx, stopLead := context.WithCancel(ctx) // the leader's work ends with leadership
	defer func() { stopLead(); release() }()
	t.Channel.Send(Message{Kind: "hello", From: t.ID})
	for {
		select {
		case <-ctx.Done():
			return
		case release = <-elected:
			leader = true
			t.Lead(leadCtx)
			if t.OnLeader != nil {
				t.OnLeader()
			}
			for _, op := range unacked { // what no leader confirmed is ours to send
				enqueue(op)
			}
			unacked = nil
			state.From = t.ID
			t.Channel.Send(state) // tell the others who leads now
		case m := <-t.publish:
			if leader {
				m.Kind, m.From = "state", t.ID
				state = m
				t.Channel.Send(m)
			}
		case op := <-t.writes:
			if leader {
				enqueue(op)
				continue
			}
			unacked = append(unacked, op)
			t.Channel.Send(Message{Kind: "enqueue", From: t.ID, Op: &op})
		case key := <-t.drops:
			if leader {
				t.Discard(key)
			} else {
				t.Channel.Send(Message{Kind: "discard", From: t.ID, Key: key})
			}
		case m := <-t.Channel.Messages():
			switch {
			case leader && m.Kind == "hello":
				t.Channel.Send(state)
			case leader && m.Kind == "enqueue" && m.Op != nil:
				enqueue(*m.Op)
				t.Channel.Send(Message{Kind: "ack", From: t.ID, Key: m.Op.Key})
			case leader && m.Kind == "discard":
				t.Discard(m.Key)
			case !leader && m.Kind == "ack":
				unacked = slices.DeleteFunc(unacked, func(op Op) bool { return op.Key == m.Key })
			case !leader && m.Kind == "state":
				if m.From != lastFrom { // a new leader: hand it what is unconfirmed
					lastFrom = m.From
					for _, op := range unacked {
						t.Channel.Send(Message{Kind: "enqueue", From: t.ID, Op: &op})
					}
				}
				if t.OnState != nil && m.Replica != nil {
					t.OnState(m)
				}
			}
		}
	}
}
