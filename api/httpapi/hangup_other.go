//go:build !linux

package httpapi

import "net"

// hangups, off Linux: not available, so detached streams keep a goroutine
// each that waits in Read for the client to hang up (detach.go).
type hangups struct{}

func (h *hangups) watch(net.Conn, func()) (stop func(), err error) { return nil, errNotWatchable }
