//go:build linux

package uring_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/kairan/kairan/api/internal/uring"
)

// open gives a ring, or skips where the kernel refuses io_uring (a
// container's seccomp profile): the server then writes with write(2),
// which the httpapi tests cover.
func open(t *testing.T, entries int) *uring.Ring {
	t.Helper()
	r, err := uring.Open(entries)
	if errors.Is(err, uring.ErrUnsupported) {
		t.Skipf("io_uring is not available here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return r
}

// pair is a loopback TCP connection: the sending end's descriptor and the
// receiving end.
func pair(t *testing.T, ln net.Listener) (int, *net.TCPConn, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return fdOf(t, s.(*net.TCPConn)), s.(*net.TCPConn), c
}

func fdOf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// sendAll is r.SendAll, bounded: a send that waits for its socket would
// hang the test instead of failing it.
func sendAll(t *testing.T, r *uring.Ring, ops []uring.Send) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.SendAll(ops) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("SendAll waited for a socket (a minute)")
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// More sockets than the ring has entries: each gets its own bytes, whole.
func TestSendAllWritesEverySocket(t *testing.T) {
	r, ln := open(t, 8), listen(t)
	const n = 21
	ops := make([]uring.Send, n)
	readers := make([]net.Conn, n)
	for i := range ops {
		fd, _, c := pair(t, ln)
		ops[i] = uring.Send{FD: fd, Buf: fmt.Appendf(nil, "data: frame %d for socket %d\n\n", i*7, i)}
		readers[i] = c
	}
	ops[3].Buf = nil // an empty send is a send of nothing, not an error
	if err := r.SendAll(ops); err != nil {
		t.Fatal(err)
	}
	for i, op := range ops {
		if op.Err != nil || op.N != len(op.Buf) {
			t.Fatalf("send %d: %d of %d bytes, %v", i, op.N, len(op.Buf), op.Err)
		}
		if len(op.Buf) == 0 {
			continue
		}
		got := make([]byte, len(op.Buf))
		if _, err := io.ReadFull(readers[i], got); err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		if !bytes.Equal(got, op.Buf) {
			t.Fatalf("socket %d got %q, want %q", i, got, op.Buf)
		}
	}
	// The ring is used again, as a worker uses it for batch after batch.
	if err := r.SendAll(ops[:2]); err != nil || ops[0].N != len(ops[0].Buf) {
		t.Fatalf("second batch: %v, %+v", err, ops[0])
	}
}

// A socket whose peer does not read fills up: the send takes what fits
// and says EAGAIN, and then takes nothing, without waiting; the other
// sends of the batch are not held up.
func TestSendAllNeverWaitsForAFullSocket(t *testing.T) {
	r, ln := open(t, 4), listen(t)
	fullFD, full, _ := pair(t, ln)
	if err := full.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	okFD, _, okPeer := pair(t, ln)
	big := bytes.Repeat([]byte("x"), 8<<20)
	ops := []uring.Send{{FD: fullFD, Buf: big}, {FD: okFD, Buf: []byte("data: still here\n\n")}}
	sendAll(t, r, ops)
	if ops[0].N <= 0 || ops[0].N >= len(big) || !errors.Is(ops[0].Err, syscall.EAGAIN) {
		t.Fatalf("full socket: %d of %d bytes, %v; want a part and EAGAIN", ops[0].N, len(big), ops[0].Err)
	}
	if ops[1].Err != nil || ops[1].N != len(ops[1].Buf) {
		t.Fatalf("the other socket: %+v", ops[1])
	}
	got := make([]byte, len(ops[1].Buf))
	if _, err := io.ReadFull(okPeer, got); err != nil || !bytes.Equal(got, ops[1].Buf) {
		t.Fatalf("the other socket got %q, %v", got, err)
	}
	// The peer's receive buffer may still take what the send buffer
	// passes on; once both are full, a send takes nothing.
	for try := 0; ; try++ {
		again := []uring.Send{{FD: fullFD, Buf: big}}
		sendAll(t, r, again)
		if !errors.Is(again[0].Err, syscall.EAGAIN) {
			t.Fatalf("full socket again: %d bytes, %v; want EAGAIN", again[0].N, again[0].Err)
		}
		if again[0].N == 0 {
			break
		}
		if try == 1000 {
			t.Fatal("a socket nobody reads kept taking bytes")
		}
	}
}

// Each send reports its own socket's error: a descriptor that is not
// open, one that is not a socket, a peer that reset the connection; the
// good send in between still goes out.
func TestSendAllReportsEachSocketsError(t *testing.T) {
	r, ln := open(t, 8), listen(t)
	goneFD, gone, peer := pair(t, ln)
	peer.(*net.TCPConn).SetLinger(0) // close with a reset
	peer.Close()
	// The reset has arrived once a read says so.
	if _, err := gone.Read(make([]byte, 1)); err == nil {
		t.Fatal("read after the peer's reset succeeded")
	}
	okFD, _, okPeer := pair(t, ln)
	var pipe [2]int
	if err := syscall.Pipe(pipe[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(pipe[0])
	defer syscall.Close(pipe[1])
	msg := []byte("data: x\n\n")
	ops := []uring.Send{{FD: 1 << 20, Buf: msg}, {FD: goneFD, Buf: msg}, {FD: okFD, Buf: msg}, {FD: pipe[1], Buf: msg}}
	if err := r.SendAll(ops); err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{syscall.EBADF, nil, nil, syscall.ENOTSOCK} {
		if i == 1 {
			if !errors.Is(ops[1].Err, syscall.EPIPE) && !errors.Is(ops[1].Err, syscall.ECONNRESET) {
				t.Errorf("reset socket: %v, want EPIPE or ECONNRESET", ops[1].Err)
			}
			continue
		}
		if !errors.Is(ops[i].Err, want) && !(want == nil && ops[i].Err == nil) {
			t.Errorf("send %d: %v, want %v", i, ops[i].Err, want)
		}
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(okPeer, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("the good socket got %q, %v", got, err)
	}
}

// A closed ring refuses a batch and says none of it was sent; closing it
// again does nothing.
func TestClosedRingSendsNothing(t *testing.T) {
	r := open(t, 4) // its cleanup closes it a third time
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	fd, sender, peer := pair(t, listen(t))
	ops := []uring.Send{{FD: fd, Buf: []byte("from the closed ring")}}
	if err := r.SendAll(ops); err == nil || !errors.Is(ops[0].Err, uring.ErrNotSent) || ops[0].N != 0 {
		t.Fatalf("SendAll on a closed ring: %v, %+v; want an error and ErrNotSent", err, ops[0])
	}
	// The first bytes the peer gets are the ones written after it.
	if _, err := sender.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "after" {
		t.Fatalf("the peer got %q, %v", got, err)
	}
}

// BenchmarkFanOut writes one 150-byte frame (a lean change) to each of
// 1,000 loopback sockets, one write(2) each or in batches of 32 through
// the ring: ns/op is per frame. The readers are drained off the clock.
func BenchmarkFanOut(b *testing.B) {
	const sockets, frame, batch = 1000, 150, 32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	fds := make([]int, sockets)
	readers := make([]int, sockets) // the client ends' descriptors
	for i := range fds {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		defer s.Close()
		raw, _ := s.(*net.TCPConn).SyscallConn()
		raw.Control(func(fd uintptr) { fds[i] = int(fd) })
		raw, _ = c.(*net.TCPConn).SyscallConn()
		raw.Control(func(fd uintptr) { readers[i] = int(fd) })
	}
	msg := bytes.Repeat([]byte("x"), frame)
	sink := make([]byte, 64<<10)
	drain := func() {
		b.StopTimer()
		for _, fd := range readers { // non-blocking, as Go opened them
			for {
				if n, _ := syscall.Read(fd, sink); n <= 0 {
					break
				}
			}
		}
		b.StartTimer()
	}
	b.Run("write", func(b *testing.B) {
		for i := range b.N {
			if n, err := syscall.Write(fds[i%sockets], msg); n != frame {
				b.Fatalf("write: %d, %v", n, err)
			}
			if i%(sockets*100) == sockets*100-1 {
				drain()
			}
		}
	})
	b.Run("ring", func(b *testing.B) {
		r, err := uring.Open(batch)
		if err != nil {
			b.Skipf("io_uring is not available here: %v", err)
		}
		defer r.Close()
		ops := make([]uring.Send, batch)
		for i := 0; i < b.N; i += batch {
			n := min(batch, b.N-i)
			for j := range n {
				ops[j] = uring.Send{FD: fds[(i+j)%sockets], Buf: msg}
			}
			if err := r.SendAll(ops[:n]); err != nil {
				b.Fatal(err)
			}
			for _, op := range ops[:n] {
				if op.N != frame {
					b.Fatalf("send: %d, %v", op.N, op.Err)
				}
			}
			if i/(sockets*100) != (i+n)/(sockets*100) {
				drain()
			}
		}
	})
}

// BenchmarkOpenClose is what a ring costs to set up and give back: why
// the live streams' workers keep theirs between busy spells.
func BenchmarkOpenClose(b *testing.B) {
	for range b.N {
		r, err := uring.Open(32)
		if errors.Is(err, uring.ErrUnsupported) {
			b.Skipf("io_uring is not available here: %v", err)
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
