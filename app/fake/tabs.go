// Package fake holds in-process twins of the browser's edges for tests:
// BroadcastChannel and Web Locks (tabs.go) and local storage
// (storage.go). Product code never imports it.
package fake

import (
	"context"
	gosync "sync"

	"github.com/kairan/kairan/app/sync"
)

// Bus and Locks are the in-process twins of BroadcastChannel and Web
// Locks: tests run several tabs in one process with them.

// Bus connects channels opened on it.
type Bus struct {
	mu    gosync.Mutex
	peers map[*memoryChannel]struct{}
	lose  map[string]int // messages of a kind still to lose
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{peers: map[*memoryChannel]struct{}{}} }

// Open joins the bus.
func (b *Bus) Open() sync.Channel {
	c := &memoryChannel{bus: b, in: make(chan sync.Message, 256)}
	b.mu.Lock()
	b.peers[c] = struct{}{}
	b.mu.Unlock()
	return c
}

type memoryChannel struct {
	bus *Bus
	in  chan sync.Message
}

// Lose makes the bus lose the next n messages of kind (a busy tab's
// BroadcastChannel drops messages; the tabs' protocol must cope).
func (b *Bus) Lose(kind string, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lose == nil {
		b.lose = map[string]int{}
	}
	b.lose[kind] += n
}

func (c *memoryChannel) Send(m sync.Message) {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	if c.bus.lose[m.Kind] > 0 {
		c.bus.lose[m.Kind]--
		return
	}
	for p := range c.bus.peers {
		if p != c {
			select {
			case p.in <- m:
			default: // like a busy tab: messages may be lost, the protocol copes
			}
		}
	}
}

func (c *memoryChannel) Messages() <-chan sync.Message { return c.in }

func (c *memoryChannel) Close() {
	c.bus.mu.Lock()
	delete(c.bus.peers, c)
	c.bus.mu.Unlock()
}

// Locks grants each name to one holder at a time.
type Locks struct {
	mu    gosync.Mutex
	names map[string]chan struct{}
}

// NewLocks returns free locks.
func NewLocks() *Locks { return &Locks{names: map[string]chan struct{}{}} }

// Elect is an Elector.
func (l *Locks) Elect(ctx context.Context, name string) (func(), error) {
	l.mu.Lock()
	token, ok := l.names[name]
	if !ok {
		token = make(chan struct{}, 1)
		token <- struct{}{}
		l.names[name] = token
	}
	l.mu.Unlock()
	select {
	case <-token:
		var once gosync.Once
		return func() { once.Do(func() { token <- struct{}{} }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
