//go:build linux

package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kairan/kairan/api/hub"
	"github.com/kairan/kairan/api/internal/uring"
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
	a    *api
	conn net.Conn
	raw  syscall.RawConn
	// fd is conn's descriptor, for batched writes (stepBatch.send). It
	// stays valid while the stream is open: only its runner closes conn.
	fd      int
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
	if err := raw.Control(func(fd uintptr) { s.fd = int(fd) }); err != nil {
		return false
	}
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

// run runs the stream on its own (the request's goroutine once it is
// live, a drain goroutine once the socket took the rest), writing with
// write(2).
func (s *liveStream) run() {
	var b stepBatch
	b.run([]*liveStream{s})
}

// stepBatch runs streams in rounds of steps: each round, every stream
// that has something to write frames it, then all of those writes go to
// the kernel together, through ring when there is one (one system call
// for the round), else one write(2) each. A stream leaves the rounds when
// it idles, ends, or is handed to a drain goroutine; one that was
// scheduled while it was being run takes another round.
type stepBatch struct {
	rings     *sendRings  // where a worker's batch gets its ring; nil: write(2) per stream
	ring      *uring.Ring // taken from rings for the first round with two writes
	gen       uint64      // rings' generation when ring was taken
	cur, next []*liveStream
	writes    []uring.Send
	held      []stepWrite // held[i] wrote writes[i]
}

// stepWrite is what a stream's step is writing.
type stepWrite struct {
	s     *liveStream
	bp    *[]byte // the pooled buffer holding the frames
	lives int     // changes in them
}

func (b *stepBatch) run(streams []*liveStream) {
	b.cur = append(b.cur[:0], streams...)
	for len(b.cur) > 0 {
		next := b.next[:0]
		for _, s := range b.cur {
			s.state.Store(streamRunning)
			w, r := s.prepare()
			switch {
			case r == stepEnd:
				s.closeGuarded()
			case w.bp == nil:
				if !s.state.CompareAndSwap(streamRunning, streamIdle) {
					next = append(next, s) // scheduled meanwhile: once more
				}
			default:
				b.writes = append(b.writes, uring.Send{FD: s.fd, Buf: *w.bp})
				b.held = append(b.held, w)
			}
		}
		if len(b.writes) > 0 {
			b.send()
		}
		for i, w := range b.held {
			switch w.s.finish(w, b.writes[i]) {
			case stepEnd:
				w.s.closeGuarded()
			case stepHandedOver:
			default:
				if !w.s.state.CompareAndSwap(streamRunning, streamIdle) {
					next = append(next, w.s)
				}
			}
		}
		// Nothing is held here between rounds: the buffers are back in
		// their pool or with a drain goroutine.
		clear(b.writes)
		clear(b.held)
		b.writes, b.held = b.writes[:0], b.held[:0]
		clear(b.cur)
		b.cur, b.next = next, b.cur[:0]
	}
}

// send makes the round's writes: through the ring when there are two or
// more, else with write(2). A ring that fails is closed, and batches are
// given up for good (see sendRings.failed); the writes it never handed
// over go out by write(2), and the others keep the outcome it reported.
// A panic in here ends the round's streams, not the process, and leaves
// none of them held.
func (b *stepBatch) send() {
	defer func() {
		if v := recover(); v != nil && len(b.held) > 0 {
			b.held[0].s.logPanic(v)
			for i := range b.writes {
				b.writes[i].Err = errPanicked
			}
		}
	}()
	if len(b.writes) > 1 && b.ring == nil && b.rings != nil {
		b.ring, b.gen = b.rings.get()
		b.rings = nil // one try per worker's spell
	}
	if b.ring != nil && len(b.writes) > 1 {
		err := b.ring.SendAll(b.writes)
		if err == nil {
			b.held[0].s.a.metrics.wroteBatch(len(b.writes))
			return
		}
		_ = b.ring.Close()
		b.held[0].s.a.runq.rings.failed(err)
		b.ring = nil
		for i := range b.writes {
			if b.writes[i].Err == uring.ErrNotSent {
				b.writeOne(i)
			}
		}
		return
	}
	for i := range b.writes {
		b.writeOne(i)
	}
}

// errPanicked is a write's outcome when sending its round panicked.
var errPanicked = errors.New("httpapi: a bug while writing the round")

func (b *stepBatch) writeOne(i int) {
	w := &b.writes[i]
	rest, err := b.held[i].s.writeNow(w.Buf)
	w.N, w.Err = len(w.Buf)-len(rest), err
	if err == nil && len(rest) > 0 {
		w.Err = syscall.EAGAIN
	}
}

var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// prepare is a step's first half: it takes what the subscription has
// queued, or a ping when two heartbeats passed without a write, and
// frames it. A zero stepWrite (and stepDone) means nothing to write.
func (s *liveStream) prepare() (w stepWrite, r stepResult) {
	defer func() {
		if v := recover(); v != nil { // a bug costs one stream, not the batch
			s.logPanic(v)
			w, r = stepWrite{}, stepEnd
		}
	}()
	if s.hungUp.Load() {
		return stepWrite{}, stepEnd
	}
	var local [4]hub.Live
	lives, err := s.sub.PollLive(local[:0])
	if err != nil {
		s.a.log.Debug("stream ended", "board", s.board, "cursor", s.sub.Cursor(), "reason", err)
		return stepWrite{}, stepEnd
	}
	ping := s.pingDue.Swap(false)
	if len(lives) == 0 && !ping {
		return stepWrite{}, stepDone
	}
	bp := sendBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, l := range lives {
		buf = s.framing.appendLive(buf, l)
	}
	if len(lives) == 0 {
		buf = sse.AppendComment(buf, "ping")
	}
	*bp = buf
	s.wrote.Store(true)
	return stepWrite{s: s, bp: bp, lives: len(lives)}, stepDone
}

// finish is a step's second half, once the socket took sent.N bytes of
// the frames: the buffer goes back to its pool, or, when the socket was
// full, the rest goes to a goroutine that waits for it, as long as the
// deadline allows, and runs the stream on from there.
func (s *liveStream) finish(w stepWrite, sent uring.Send) (r stepResult) {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(v)
			r = stepEnd
		}
	}()
	if sent.Err != nil && sent.Err != syscall.EAGAIN {
		return stepEnd
	}
	s.a.metrics.delivered(w.lives)
	buf := *w.bp
	if sent.N == len(buf) {
		if cap(buf) <= 16<<10 { // a burst's big buffer is not kept
			sendBufs.Put(w.bp)
		}
		return stepDone
	}
	go s.drain(buf[sent.N:])
	return stepHandedOver
}

type stepResult int

const (
	stepDone       stepResult = iota
	stepEnd                   // the stream is over: close it
	stepHandedOver            // a drain goroutine runs it now
)

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
			s.logPanic(v)
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
	rings   sendRings
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
	b := stepBatch{rings: &q.rings}
	defer func() { q.rings.put(b.ring, b.gen) }()
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
		b.run(batch[:n])
		clear(batch[:n])
	}
}

// logPanic reports a bug in serving s; the caller ends the stream.
func (s *liveStream) logPanic(v any) {
	s.a.log.Error("stream panic", "board", s.board, "panic", v, "stack", string(debug.Stack()))
}

// closeGuarded closes s for a worker: a bug costs one stream, not the
// process (close gives back what it holds even while panicking).
func (s *liveStream) closeGuarded() {
	defer func() {
		if v := recover(); v != nil {
			s.logPanic(v)
		}
	}()
	s.close()
}

// sendRings keeps the workers' io_uring rings between busy spells
// (opening one costs ~77 µs, docs/BENCHMARKS.md "Writes in batches"; a
// spell may be one change to a few streams): at most one per worker,
// taken for the first round with two writes, all closed when the last
// live stream ends or a ring fails (failed). Where io_uring is off,
// missing or failed, workers write with write(2).
type sendRings struct {
	mu   sync.Mutex
	off  bool // turned off (--io-uring=false), missing here, or failed
	log  *slog.Logger
	free []*uring.Ring
	gen  uint64 // drop's count: a ring taken before the last drop is closed when given back
}

// configure sets up the workers' writes: batched through io_uring unless
// oneByOne (or unavailable).
func (q *runQueue) configure(oneByOne bool, log *slog.Logger) {
	q.rings.off, q.rings.log = oneByOne, log
}

func (p *sendRings) get() (*uring.Ring, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off {
		return nil, p.gen
	}
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free[n-1], p.free = nil, p.free[:n-1]
		return r, p.gen
	}
	r, err := uring.Open(workBatch)
	switch {
	case errors.Is(err, uring.ErrUnsupported):
		p.off = true
		p.log.Info("live streams write one system call per subscriber: io_uring is not available", "err", err)
		return nil, p.gen
	case err != nil: // out of descriptors or memory: this spell writes one by one
		p.log.Warn("live streams write one by one for now: no io_uring ring", "err", err)
		return nil, p.gen
	}
	return r, p.gen
}

// failed turns batches off after a ring failed in use: that is no
// passing shortage, and trying again would cost every busy spell a ring
// and a failure. The pooled rings are closed, as no worker takes one
// again; a ring a worker holds serves to the end of its spell and is
// closed when given back (put).
func (p *sendRings) failed(err error) {
	p.mu.Lock()
	free := p.free
	p.free = nil
	if !p.off {
		p.off = true
		p.log.Warn("batched writes failed; live streams write one system call per subscriber from now on", "err", err)
	}
	p.mu.Unlock()
	for _, r := range free {
		_ = r.Close()
	}
}

func (p *sendRings) put(r *uring.Ring, gen uint64) {
	if r == nil {
		return
	}
	p.mu.Lock()
	if gen == p.gen && !p.off { // once off, no worker takes one again
		p.free, r = append(p.free, r), nil
	}
	p.mu.Unlock()
	if r != nil {
		_ = r.Close()
	}
}

// drop closes the rings no worker holds; the others are closed when
// their workers end.
func (p *sendRings) drop() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.gen++
	p.mu.Unlock()
	for _, r := range free {
		_ = r.Close()
	}
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
		s.a.runq.rings.drop() // no live stream left to write to
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
