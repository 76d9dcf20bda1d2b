package sync

import (
	"context"
	gosync "sync"
)

// MemoryBus and MemoryLocks are the in-process twins of BroadcastChannel
// and Web Locks: tests run several Tabs in one process with them.

// MemoryBus connects channels opened on it.
type MemoryBus struct {
	mu    gosync.Mutex
	peers map[*memoryChannel]struct{}
}

// NewMemoryBus returns an empty bus.
func NewMemoryBus() *MemoryBus { return &MemoryBus{peers: map[*memoryChannel]struct{}{}} }

// Open joins the bus.
func (b *MemoryBus) Open() Channel {
	c := &memoryChannel{bus: b, in: make(chan Message, 256)}
	b.mu.Lock()
	b.peers[c] = struct{}{}
	b.mu.Unlock()
	return c
}

type memoryChannel struct {
	bus *MemoryBus
	in  chan Message
}

func (c *memoryChannel) Send(m Message) {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	for p := range c.bus.peers {
		if p != c {
			select {
			case p.in <- m:
			default: // like a busy tab: messages may be lost, the protocol copes
			}
		}
	}
}

func (c *memoryChannel) Messages() <-chan Message { return c.in }

func (c *memoryChannel) Close() {
	c.bus.mu.Lock()
	delete(c.bus.peers, c)
	c.bus.mu.Unlock()
}

// MemoryLocks grants each name to one holder at a time.
type MemoryLocks struct {
	mu    gosync.Mutex
	names map[string]chan struct{}
}

// NewMemoryLocks returns free locks.
func NewMemoryLocks() *MemoryLocks { return &MemoryLocks{names: map[string]chan struct{}{}} }

// Elect is an Elector.
func (l *MemoryLocks) Elect(ctx context.Context, name string) (func(), error) {
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
