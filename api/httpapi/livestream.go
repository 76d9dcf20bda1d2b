//go:build linux

package httpapi

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/shared/sse"
)

// Live streams without a goroutine each (Linux: hang-ups come from the
// epoll loop of hangup_linux.go). A detached SSE stream is served
// in two parts. Its start — the reset or the replay from its cursor, read
// from the database page by page — runs on the request's own goroutine
// with ordinary blocking writes. Once it has caught up it holds no
// goroutine at all: the hub calls it when a change is queued for it (or
// it ends), the shared heartbeat when a ping may be due, and the hang-up
// loop when its client goes; each call puts it on a run queue that a few
// workers (one per CPU, started on demand, gone when the queue is empty)
// drain. A worker writes without waiting: what the socket will not take
// at once is handed to a goroutine that waits for it under the write
// deadline, so one slow or dead client never holds a worker, and drops
// out as before (its queue overflows and the hub ends it, or the
// deadline passes). An idle stream is its socket, a subscription and this
// struct: a few KiB, instead of a goroutine's stack and a context each.

// liveStream is one detached SSE stream. Exactly one runner touches its
// connection and subscription at a time: the request's goroutine during
// the start, then a worker or a drain goroutine, handed over through
// state.
type liveStream struct {
	a       *api
	conn    net.Conn
	raw     syscall.RawConn
	sub     *hub.Subscription
	board   string
	framing framing
	release func() // the stream-cap slot

	stopWatch func() // ends the hang-up watch; before conn.Close
	state     atomic.Int32
	hungUp    atomic.Bool
	wrote     atomic.Bool // written to since the last heartbeat tick
	pingDue   atomic.Bool // two ticks passed without a write
}

// A stream's state: whether it waits, is queued, or is being run, and
// whether something happened while it was run (then the runner looks
// again before letting go).
const (
	streamIdle int32 = iota
	streamQueued
	streamRunning
	streamRunningAgain
	streamClosed
)

// detachLive serves sub on conn as a live stream; false means the hang-up
// loop cannot watch this connection and nothing was taken over.
func (a *api) detachLive(r *http.Request, conn net.Conn, head []byte, sub *hub.Subscription, release func(), f framing) (taken bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	s := &liveStream{a: a, conn: conn, raw: raw, sub: sub, board: r.PathValue("board"), framing: f, release: release}
	s.state.Store(streamRunning) // this goroutine runs it until it is live
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop, err := a.hangups.watch(conn, func() {
		cancel()
		s.hungUp.Store(true)
		s.schedule()
	})
	if err != nil {
		return false
	}
	s.stopWatch = stop
	a.metrics.streamOpened()
	defer func() {
		if v := recover(); v != nil { // a bug costs one stream, not the process
			a.log.Error("stream panic", "board", s.board, "panic", v, "stack", string(debug.Stack()))
			s.close()
			taken = true // and it is closed: nothing else may serve it
		}
	}()
	if !s.start(ctx, head) {
		s.close()
		return true
	}
	a.live.add(s)
	sub.OnReady(s.schedule)
	s.run() // whatever was queued meanwhile; then it idles
	return true
}

// start writes the response head, the retry hint and the subscription's
// start with blocking writes, until the subscription is live.
func (s *liveStream) start(ctx context.Context, head []byte) bool {
	send := func(b []byte) bool {
		_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := s.conn.Write(b)
		return err == nil
	}
	if !send(sse.AppendRetry(head, retryMillis)) {
		return false
	}
	var buf []byte
	for {
		batch, err := s.sub.Replay(ctx)
		if err != nil {
			s.a.log.DebugContext(ctx, "stream ended", "board", s.board, "cursor", s.sub.Cursor(), "reason", err)
			return false
		}
		if batch.Reset == nil && len(batch.Changes) == 0 {
			break // live
		}
		var ok bool
		if buf, ok = s.framing.appendBatch(buf[:0], batch, send); !ok || !send(buf) {
			return false
		}
		s.a.metrics.delivered(len(batch.Changes))
	}
	s.wrote.Store(true)
	// The runner's writes never wait (see writeNow), and an expired
	// deadline would fail them before they were tried.
	return s.conn.SetWriteDeadline(time.Time{}) == nil
}

// schedule asks for the stream to be run: queued when idle, looked at
// again when being run, nothing more when already queued or closed. It
// never blocks (the hub calls it with its lock held).
func (s *liveStream) schedule() {
	for {
		switch s.state.Load() {
		case streamIdle:
			if s.state.CompareAndSwap(streamIdle, streamQueued) {
				s.a.runq.push(s)
				return
			}
		case streamRunning:
			if s.state.CompareAndSwap(streamRunning, streamRunningAgain) {
				return
			}
		default:
			return
		}
	}
}

// run is the runner's loop: a step, then let go unless something happened
// meanwhile.
func (s *liveStream) run() {
	for {
		s.state.Store(streamRunning)
		switch s.step() {
		case stepEnd:
			s.close()
			return
		case stepHandedOver:
			return
		}
		if s.state.CompareAndSwap(streamRunning, streamIdle) {
			return
		}
	}
}

type stepResult int

const (
	stepDone       stepResult = iota
	stepEnd                   // the stream is over: close it
	stepHandedOver            // a drain goroutine runs it now
)

var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// step writes what the subscription has queued, or a ping when two
// heartbeats passed without a write.
func (s *liveStream) step() stepResult {
	if s.hungUp.Load() {
		return stepEnd
	}
	var local [4]hub.Live
	lives, err := s.sub.PollLive(local[:0])
	if err != nil {
		s.a.log.Debug("stream ended", "board", s.board, "cursor", s.sub.Cursor(), "reason", err)
		return stepEnd
	}
	ping := s.pingDue.Swap(false)
	if len(lives) == 0 && !ping {
		return stepDone
	}
	bp := sendBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, l := range lives {
		buf = s.framing.appendLive(buf, l)
	}
	if len(lives) == 0 {
		buf = sse.AppendComment(buf, "ping")
	}
	s.wrote.Store(true)
	rest, err := s.writeNow(buf)
	if err != nil {
		return stepEnd
	}
	s.a.metrics.delivered(len(lives))
	if len(rest) == 0 {
		if cap(buf) <= 16<<10 { // a burst's big buffer is not kept
			*bp = buf
			sendBufs.Put(bp)
		}
		return stepDone
	}
	// The socket is full: a goroutine waits for it, as long as the
	// deadline allows, and runs the stream on from there.
	go s.drain(rest)
	return stepHandedOver
}

// writeNow writes as much of b as the socket takes without waiting and
// returns the rest. It writes under Control, not RawConn.Write: Control
// holds the descriptor open as Write does, and skips what Write adds for
// a writer that may wait for the poller (its write lock and the poller's
// reset, 5 % of the server's CPU under fan-out). Nothing else writes
// meanwhile: the stream has one runner at a time, and the drain goroutine
// (conn.Write, which waits) is that runner.
func (s *liveStream) writeNow(b []byte) ([]byte, error) {
	var werr error
	err := s.raw.Control(func(fd uintptr) {
		for len(b) > 0 {
			n, err := syscall.Write(int(fd), b)
			if n > 0 {
				b = b[n:]
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil && err != syscall.EAGAIN {
				werr = err
			}
			if err != nil || n <= 0 {
				break
			}
		}
	})
	if err != nil {
		return b, err
	}
	return b, werr
}

// drain writes rest under the write deadline, then runs the stream on.
func (s *liveStream) drain(rest []byte) {
	defer func() {
		if v := recover(); v != nil {
			s.a.log.Error("stream panic", "board", s.board, "panic", v, "stack", string(debug.Stack()))
			s.close()
		}
	}()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.conn.Write(rest)
	if err != nil || s.conn.SetWriteDeadline(time.Time{}) != nil {
		s.close()
		return
	}
	if s.state.CompareAndSwap(streamRunning, streamIdle) {
		return
	}
	s.run()
}

// close ends the stream. Its runner calls it; a second call (a recover
// after a panic in the first) does nothing, and the slot and the count
// are given back even if a step before them panics.
func (s *liveStream) close() {
	if s.state.Swap(streamClosed) == streamClosed {
		return
	}
	defer s.a.detached.Done()
	defer s.release()
	defer s.a.metrics.streamClosed()
	defer s.a.live.remove(s)
	defer s.sub.Close()
	defer func() { _ = s.conn.Close() }()
	s.stopWatch() // before the close: see hangups.watch
}

// runQueue holds the streams waiting for a worker. Workers are started as
// streams are queued, up to one per CPU (their writes never wait, so more
// would only take turns), and end when the queue is empty.
type runQueue struct {
	mu      sync.Mutex
	queue   []*liveStream
	head    int // queue[:head] are taken
	workers int
	max     int // GOMAXPROCS when the first worker of a busy spell started
}

func (q *runQueue) push(s *liveStream) {
	q.mu.Lock()
	if q.head > 1024 && q.head > len(q.queue)/2 {
		// Never empty for long under a sustained load: move the rest to
		// the front instead of growing the array behind what was taken.
		n := copy(q.queue, q.queue[q.head:])
		clear(q.queue[n:])
		q.queue, q.head = q.queue[:n], 0
	}
	q.queue = append(q.queue, s)
	if q.workers == 0 {
		q.max = runtime.GOMAXPROCS(0) // it takes the scheduler's lock: not per push
	}
	start := q.workers < q.max
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if start {
		go q.work()
	}
}

// workBatch is how many streams a worker takes per turn of the lock, so
// the hub's fan-out and the workers do not take turns on it for every
// stream.
const workBatch = 32

func (q *runQueue) work() {
	var batch [workBatch]*liveStream
	for {
		q.mu.Lock()
		if q.head == len(q.queue) {
			q.queue, q.head = q.queue[:0], 0
			q.workers--
			q.mu.Unlock()
			return
		}
		n := copy(batch[:], q.queue[q.head:])
		clear(q.queue[q.head : q.head+n])
		q.head += n
		q.mu.Unlock()
		for i, s := range batch[:n] {
			batch[i] = nil
			s.runGuarded()
		}
	}
}

// runGuarded is run for a worker: a bug costs one stream, not the process.
func (s *liveStream) runGuarded() {
	defer func() {
		if v := recover(); v != nil {
			s.a.log.Error("stream panic", "board", s.board, "panic", v, "stack", string(debug.Stack()))
			s.close()
		}
	}()
	s.run()
}

// liveStreams is the set of live streams, for the heartbeat: one
// goroutine waits for the hub's shared tick and runs only the streams
// that have been silent for two ticks (2 × 7 s), to write a ping; it runs
// only while there are streams.
type liveStreams struct {
	mu   sync.Mutex
	all  map[*liveStream]struct{}
	stop chan struct{} // closed to end the heartbeat goroutine; nil when none runs
}

func (l *liveStreams) add(s *liveStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.all = map[*liveStream]struct{}{}
	}
	l.all[s] = struct{}{}
	if l.stop == nil {
		l.stop = make(chan struct{})
		go l.beat(s.a.feed, l.stop)
	}
}

func (l *liveStreams) remove(s *liveStream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.all[s]; !ok {
		return
	}
	delete(l.all, s)
	if len(l.all) == 0 && l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
}

func (l *liveStreams) beat(feed Feed, stop chan struct{}) {
	var marked []*liveStream
	for {
		select {
		case <-feed.Heartbeat():
		case <-stop:
			return
		}
		l.mu.Lock()
		marked = marked[:0]
		for s := range l.all {
			// Written to since the last tick: not silent yet.
			if !s.wrote.Swap(false) {
				marked = append(marked, s)
			}
		}
		l.mu.Unlock()
		for _, s := range marked {
			s.pingDue.Store(true)
			s.schedule()
		}
		clear(marked)
	}
}
