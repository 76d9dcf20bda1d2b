package httpapi

import (
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// hangups notices detached streams' clients hanging up. A stream's answer
// says "Connection: close", so the client has nothing more to send: the
// first thing its socket reports — end of stream, a reset, or a byte — is
// the end. One epoll loop watches every stream's socket for that, instead
// of a goroutine per stream blocked in Read (a goroutine and its stack
// were a fifth of an idle subscriber's memory).
//
// The loop runs only while there is a stream to watch: the first watch
// starts it and the last stop ends it, so the loop's owner is the set of
// open streams and an API that serves none holds no goroutine.
type hangups struct {
	mu      sync.Mutex
	loop    *epollLoop // nil while nothing is watched
	watched map[int32]func()
	next    int32
}

// epollLoop is one run of the loop: its epoll instance and the eventfd
// that stops it. The loop's goroutine closes both when it ends.
type epollLoop struct {
	epfd, stopfd int
}

// stopID is the epoll data of the stop eventfd; streams get ids from 1.
const stopID = 0

// watch calls hangUp, once, when conn's client hangs up. stop ends the
// watch: call it before closing conn, so a closed descriptor's number,
// reused by another connection, is never mistaken for this one.
func (h *hangups) watch(conn net.Conn, hangUp func()) (stop func(), err error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, errNotWatchable
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.loop == nil {
		if h.loop, err = startEpollLoop(h); err != nil {
			return nil, err
		}
		h.watched = map[int32]func(){}
	}
	h.next++
	if h.next <= stopID {
		h.next = stopID + 1 // wrapped
	}
	id, loop := h.next, h.loop
	// One-shot: after its first report the socket is not looked at again,
	// so a client that keeps sending cannot make the loop spin.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: id}
	var ctlErr error
	if err := raw.Control(func(fd uintptr) {
		ctlErr = unix.EpollCtl(loop.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}); err != nil {
		ctlErr = err
	}
	if ctlErr != nil {
		h.stopIfIdleLocked()
		return nil, ctlErr
	}
	h.watched[id] = hangUp
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.watched[id]; ok {
			delete(h.watched, id)
			_ = raw.Control(func(fd uintptr) {
				_ = unix.EpollCtl(loop.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
			})
		}
		h.stopIfIdleLocked()
	}, nil
}

// stopIfIdleLocked ends the loop when nothing is watched any more.
func (h *hangups) stopIfIdleLocked() {
	if h.loop == nil || len(h.watched) > 0 {
		return
	}
	one := [8]byte{1} // any non-zero counter increment wakes the loop, whatever the byte order
	_, _ = unix.Write(h.loop.stopfd, one[:])
	h.loop = nil
}

func startEpollLoop(h *hangups) (*epollLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	stopfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: stopID}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, stopfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(stopfd)
		return nil, err
	}
	l := &epollLoop{epfd: epfd, stopfd: stopfd}
	go l.run(h)
	return l, nil
}

// run waits for hang-ups until the stop eventfd is written. It blocks in
// epoll_wait, one OS thread for every stream of the process.
func (l *epollLoop) run(h *hangups) {
	defer unix.Close(l.stopfd)
	defer unix.Close(l.epfd)
	events := make([]unix.EpollEvent, 128)
	for {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Not expected with a valid epoll fd; hang-ups are then noticed
			// by the next failed write (a ping at most ~15 s later).
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd == stopID {
				return
			}
			h.mu.Lock()
			hangUp := h.watched[ev.Fd]
			delete(h.watched, ev.Fd)
			h.mu.Unlock()
			if hangUp != nil {
				hangUp()
			}
		}
	}
}
