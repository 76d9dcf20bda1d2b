package sync_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kairan/kairan/app/fake"
	. "github.com/kairan/kairan/app/sync"
)

// tab is one Tabs under test, with what its callbacks saw.
type tab struct {
	t       *Tabs
	cancel  context.CancelFunc
	done    chan struct{}
	led     chan struct{} // closed when it became the leader
	queued  chan Op       // ops its courier got (as leader)
	states  chan Message  // states it heard (as follower)
	leadCtx chan context.Context
}

func openTab(t *testing.T, bus *fake.Bus, locks *fake.Locks, id string) *tab {
	t.Helper()
	x := &tab{led: make(chan struct{}), queued: make(chan Op, 64), states: make(chan Message, 64), leadCtx: make(chan context.Context, 1)}
	x.t = NewTabs(id, "lobby", bus.Open(), locks.Elect)
	x.t.Lead = func(ctx context.Context) { x.leadCtx <- ctx; close(x.led) }
	x.t.Enqueue = func(op Op, stored func()) {
		x.queued <- op
		if stored != nil {
			stored()
		}
	}
	x.t.Discard = func(string) {}
	x.t.OnState = func(m Message) { x.states <- m }
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel, x.done = cancel, make(chan struct{})
	go func() { defer close(x.done); x.t.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-x.done })
	return x
}

func (x *tab) close() { x.cancel(); <-x.done }

func within[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("waiting for %s", what)
		panic("unreachable")
	}
}

func isLeader(x *tab) bool {
	select {
	case <-x.led:
		return true
	default:
		return false
	}
}

func TestOneTabLeadsAndTheOthersHearIt(t *testing.T) {
	bus, locks := fake.NewBus(), fake.NewLocks()
	first := openTab(t, bus, locks, "first")
	<-first.led
	others := []*tab{openTab(t, bus, locks, "second"), openTab(t, bus, locks, "third")}
	// Each newcomer says hello; the leader answers with its state. Publish
	// a state so there is something to hear.
	r := Replica{Board: "lobby", Cursor: "e.7"}
	s := Status{Mode: Live}
	first.t.Publish(Message{Replica: &r, Status: &s})
	for _, o := range others {
		m := within(t, o.states, "the leader's state")
		if m.From != "first" || m.Replica.Cursor != "e.7" || m.Status.Mode != Live {
			t.Fatalf("follower heard %+v", m)
		}
		if isLeader(o) {
			t.Fatal("a second tab leads")
		}
	}
}

func TestAFollowersWriteReachesTheLeaderOnce(t *testing.T) {
	bus, locks := fake.NewBus(), fake.NewLocks()
	leader := openTab(t, bus, locks, "leader")
	<-leader.led
	follower := openTab(t, bus, locks, "follower")
	follower.t.Write(Op{Key: "k1", Kind: OpPost, Board: "lobby", Comment: "hi"})
	if op := within(t, leader.queued, "the op at the leader"); op.Key != "k1" {
		t.Fatalf("leader got %+v", op)
	}
	select {
	case op := <-leader.queued:
		t.Fatalf("the op arrived twice: %+v", op)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestLeadershipMovesWhenTheLeaderCloses(t *testing.T) {
	bus, locks := fake.NewBus(), fake.NewLocks()
	first := openTab(t, bus, locks, "first")
	<-first.led
	leadCtx := within(t, first.leadCtx, "the first lead context")
	second := openTab(t, bus, locks, "second")
	third := openTab(t, bus, locks, "third")

	first.close()
	if leadCtx.Err() == nil {
		t.Fatal("the closed leader's work goes on")
	}
	var next, other *tab
	select {
	case <-second.led:
		next, other = second, third
	case <-third.led:
		next, other = third, second
	case <-time.After(5 * time.Second):
		t.Fatal("no tab took over")
	}
	if isLeader(other) {
		t.Fatal("two tabs lead")
	}
	// The new leader announces itself; the follower's writes go to it.
	r := Replica{Board: "lobby", Cursor: "e.9"}
	next.t.Publish(Message{Replica: &r, Status: &Status{Mode: Live}})
	if m := within(t, other.states, "the new leader's state"); m.From != next.t.ID {
		t.Fatalf("follower heard %+v", m)
	}
	other.t.Write(Op{Key: "k2", Kind: OpPost, Board: "lobby"})
	if op := within(t, next.queued, "the op at the new leader"); op.Key != "k2" {
		t.Fatalf("new leader got %+v", op)
	}
}

// A write made while no tab leads (the leader just closed) is not lost:
// the follower keeps it until a leader confirms, and hands it over to the
// next leader — or sends it itself if it becomes the leader.
func TestWritesDuringAHandoverAreKept(t *testing.T) {
	bus, locks := fake.NewBus(), fake.NewLocks()
	// Hold the lock outside any tab, as if the leader were closing.
	release, err := locks.Elect(context.Background(), "kairan/lobby")
	if err != nil {
		t.Fatal(err)
	}
	follower := openTab(t, bus, locks, "follower")
	for i := range 3 {
		follower.t.Write(Op{Key: fmt.Sprint("k", i), Kind: OpPost, Board: "lobby"})
	}
	release() // the follower becomes the leader and sends its own writes
	<-follower.led
	for i := range 3 {
		if op := within(t, follower.queued, "a kept write"); op.Key != fmt.Sprint("k", i) {
			t.Fatalf("write %d = %+v", i, op)
		}
	}
}
