//go:build unix

package store

import (
	"errors"
	"io"
	"net"
	"syscall"
)

var errUnexpectedData = errors.New("store: an idle database connection has unread data")

// idleConnAlive reads the socket of an idle connection without waiting
// (Go's sockets are non-blocking). Nothing to read means alive; EOF or
// data means PostgreSQL has ended the session (its last words are an
// ErrorResponse such as 57P01). The read consumes what it finds, which
// is fine: the connection is dropped then.
func idleConnAlive(c net.Conn) error {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = t.NetConn() // TLS: look at the socket under it
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var readErr error
	var buf [1]byte
	if err := raw.Read(func(fd uintptr) bool {
		n, readErr = syscall.Read(int(fd), buf[:])
		return true // never wait for readiness
	}); err != nil {
		return err
	}
	switch {
	case n > 0:
		return errUnexpectedData
	case n == 0 && readErr == nil:
		return io.EOF
	case errors.Is(readErr, syscall.EAGAIN), errors.Is(readErr, syscall.EWOULDBLOCK):
		return nil
	default:
		return readErr
	}
}
