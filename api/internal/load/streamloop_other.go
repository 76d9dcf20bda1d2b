//go:build !linux

package load

import (
	"context"
	"errors"
	"net"
)

// streamLoops are Linux's (epoll); elsewhere each subscriber reads its
// stream on a goroutine of its own (rivalSub.read).
type streamLoops struct{}

func newStreamLoops(int) (*streamLoops, error) { return nil, nil }

func (*streamLoops) close() {}

func (*streamLoops) follow(_ context.Context, _ int, conn net.Conn, _ *rawStream) error {
	conn.Close()
	return errors.New("no stream loops on this system")
}
