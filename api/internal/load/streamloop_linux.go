package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// epollET is EPOLLET as the uint32 of an event's mask.
const epollET = 1 << 31

// streamLoops read raw streams (rawstream.go), each stream on one of its
// loops: one epoll instance and one goroutine per loop. The rivals run
// uses one loop (rivals.go says why); more suit a client with more work
// per delivery than a core can do.
type streamLoops struct {
	loops []*streamLoop
	wg    sync.WaitGroup
}

// newStreamLoops starts n loops; close stops them.
func newStreamLoops(n int) (*streamLoops, error) {
	ls := &streamLoops{}
	for range max(n, 1) {
		l, err := newStreamLoop()
		if err != nil {
			ls.close()
			return nil, err
		}
		ls.loops = append(ls.loops, l)
		ls.wg.Go(l.run)
	}
	return ls, nil
}

// close stops every loop and closes the streams they still read; once it
// returns, no loop calls into a stream again.
func (ls *streamLoops) close() {
	for _, l := range ls.loops {
		l.stop()
	}
	ls.wg.Wait()
	for _, l := range ls.loops {
		syscall.Close(l.epfd)
		syscall.Close(l.wakeR)
		syscall.Close(l.wakeW)
	}
}

// follow hands conn's stream to loop i and waits until the stream ends
// (its error) or ctx does (ctx's error). conn is closed either way: the
// loop reads a descriptor of its own, outside Go's poller. Once follow
// returns, the loop has closed that descriptor and calls into st no more.
func (ls *streamLoops) follow(ctx context.Context, i int, conn net.Conn, st *rawStream) error {
	fd, err := detachFD(conn)
	if err != nil {
		return err
	}
	s := &loopStream{fd: fd, st: st, done: make(chan error, 1)}
	l := ls.loops[i%len(ls.loops)]
	l.add(s)
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		l.drop(s)
		<-s.done
		return ctx.Err()
	}
}

// detachFD returns a duplicate of conn's descriptor and closes conn, so
// that the socket is left in this package's epoll set alone (a descriptor
// in Go's too would wake Go's poller for every delivery).
func detachFD(conn net.Conn) (int, error) {
	defer conn.Close()
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%T has no descriptor", conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	err = rc.Control(func(f uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r) // non-blocking, as the file it shares with conn's descriptor
	})
	return fd, errors.Join(err, derr)
}

// errLoopStopped ends the streams a loop holds when it stops, and
// errDropped a stream whose follower stopped following it.
var (
	errLoopStopped = errors.New("stream loop stopped")
	errDropped     = errors.New("stream dropped")
)

// loopStream is one stream on a loop: its descriptor, its parser, and
// where its end is reported.
type loopStream struct {
	fd   int
	st   *rawStream
	done chan error // gets the stream's one end
}

// close closes s's descriptor and reports err as its end; a stream in an
// epoll set leaves it first (streamLoop.end).
func (s *loopStream) close(err error) {
	syscall.Close(s.fd)
	s.done <- err
}

// streamLoop reads the streams added to it on one goroutine: an epoll
// wait, then a read(2) of each ready socket, usually one. Adds and the stop come through a pipe
// in the same epoll set.
type streamLoop struct {
	epfd         int
	wakeR, wakeW int

	mu      sync.Mutex
	pending []*loopStream // to add
	drops   []*loopStream // to end, if still held
	stopped bool

	// The loop goroutine's own.
	streams []*loopStream // by descriptor
	buf     []byte
}

// newStreamLoop makes a loop's epoll set, with the read end of its wake
// pipe in it; run then serves it.
func newStreamLoop() (*streamLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	l := &streamLoop{epfd: epfd, wakeR: p[0], wakeW: p[1], buf: make([]byte, 64<<10)}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return l, nil
}

// add gives s to the loop, or ends it at once if the loop has stopped.
func (l *streamLoop) add(s *loopStream) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		s.close(errLoopStopped)
		return
	}
	l.pending = append(l.pending, s)
	l.mu.Unlock()
	l.wake()
}

// drop asks the loop to end s, which it then reports on s.done (as it
// does anyway if s has ended or the loop has stopped).
func (l *streamLoop) drop(s *loopStream) {
	l.mu.Lock()
	defer l.wake()
	defer l.mu.Unlock()
	if !l.stopped {
		l.drops = append(l.drops, s)
	}
}

// stop makes the loop end every stream it holds, and return.
func (l *streamLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.wake()
}

// wake makes the loop's wait return; a full pipe already will.
func (l *streamLoop) wake() {
	syscall.Write(l.wakeW, []byte{1})
}

// run waits for ready descriptors and reads each: the wake pipe means
// streams to add or drop, or the stop; any other is a stream's socket.
func (l *streamLoop) run() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := l.wait(events)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			l.stopAll(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == l.wakeR {
				if !l.takePending() {
					l.stopAll(errLoopStopped)
					return
				}
				continue
			}
			if fd < len(l.streams) && l.streams[fd] != nil {
				// After the peer's close no edge follows the last data:
				// then read on to the end.
				l.read(l.streams[fd], ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
			}
		}
	}
}

// wait returns the ready descriptors. While a fan-out is arriving some
// always are, and asking without waiting is a plain system call; only
// when none is ready does the loop block, in a call that tells Go's
// scheduler (which otherwise hands the loop's P to another thread, and
// back, on every wait).
func (l *streamLoop) wait(events []syscall.EpollEvent) (int, error) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	if r > 0 {
		return int(r), nil
	}
	return syscall.EpollWait(l.epfd, events, -1)
}

// read reads what s's socket holds and parses it. The socket is in the
// set edge-triggered, so it is read until a read comes back short, or,
// with toEnd, until there is nothing more.
func (l *streamLoop) read(s *loopStream, toEnd bool) {
	for {
		// A read of a non-blocking socket never waits: no need to tell
		// the scheduler.
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(s.fd),
			uintptr(unsafe.Pointer(&l.buf[0])), uintptr(len(l.buf)))
		n := int(r)
		var err error
		switch {
		case e == syscall.EAGAIN:
			return
		case e == syscall.EINTR:
			continue
		case e != 0:
			err = e
		case n == 0:
			err = io.ErrUnexpectedEOF // the server closed the stream
		default:
			s.st.in.Add(int64(n))
			if err = s.st.feed(l.buf[:n], time.Now()); err == nil {
				if n < len(l.buf) && !toEnd {
					return // drained: the next bytes raise a new edge
				}
				continue
			}
		}
		l.end(s, err)
		return
	}
}

// takePending puts the streams added since the last wake-up into the
// epoll set and parses what came with their heads; false means stop.
func (l *streamLoop) takePending() bool {
	var b [64]byte
	for {
		if n, _ := syscall.Read(l.wakeR, b[:]); n <= 0 {
			break
		}
	}
	l.mu.Lock()
	pending, drops, stopped := l.pending, l.drops, l.stopped
	l.pending, l.drops = nil, nil
	l.mu.Unlock()
	for _, s := range pending {
		if stopped {
			s.close(errLoopStopped)
			continue
		}
		if s.fd >= len(l.streams) {
			l.streams = append(l.streams, make([]*loopStream, s.fd+1-len(l.streams))...)
		}
		l.streams[s.fd] = s
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(s.fd)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			l.end(s, fmt.Errorf("epoll_ctl: %w", err))
			continue
		}
		if first := s.st.first; len(first) > 0 {
			s.st.first = nil
			if err := s.st.feed(first, s.st.firstAt); err != nil {
				l.end(s, err)
			}
		}
	}
	for _, s := range drops {
		// A stream that ended meanwhile has reported that end already.
		if s.fd < len(l.streams) && l.streams[s.fd] == s {
			l.end(s, errDropped)
		}
	}
	return !stopped
}

// end closes s and reports err as its end.
func (l *streamLoop) end(s *loopStream, err error) {
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, s.fd, nil)
	l.streams[s.fd] = nil
	s.close(err)
}

// stopAll ends every stream the loop holds with err.
func (l *streamLoop) stopAll(err error) {
	for _, s := range l.streams {
		if s != nil {
			l.end(s, err)
		}
	}
	l.mu.Lock()
	l.stopped = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	for _, s := range pending {
		s.close(err)
	}
}
